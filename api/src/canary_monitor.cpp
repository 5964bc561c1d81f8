#include "canary_monitor.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "recs/core/log.hpp"

namespace recs::api {

namespace {
constexpr size_t kMaxSamples = 20000;
using Clock = std::chrono::steady_clock;
}  // namespace

core::WindowStats CanaryMonitor::Side::Stats() const {
    core::WindowStats s;
    s.requests = requests;
    s.errors = errors;
    if (!latencies_ms.empty()) {
        auto copy = latencies_ms;
        size_t k = std::min(copy.size() - 1, static_cast<size_t>(0.99 * copy.size()));
        std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k), copy.end());
        s.p99_ms = copy[k];
    }
    return s;
}

CanaryMonitor::CanaryMonitor(Trip trip, int check_ms)
    : trip_(std::move(trip)), check_ms_(check_ms) {
    thread_ = std::thread([this] { Loop(); });
}

CanaryMonitor::~CanaryMonitor() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void CanaryMonitor::Record(const core::Canary& c, bool by_canary, bool ok, double ms) {
    if (!c.guard) return;
    auto now = Clock::now();
    std::lock_guard lock(mu_);
    auto [it, fresh] = entries_.try_emplace(c.id);
    Entry& e = it->second;
    if (fresh) {
        e.canary = c;
        e.window_start = now;
    }
    e.last_seen = now;
    Side& side = by_canary ? e.by_canary : e.deployed;
    ++side.requests;
    if (!ok) ++side.errors;
    if (side.latencies_ms.size() < kMaxSamples) {
        side.latencies_ms.push_back(static_cast<float>(ms));
    } else {
        // A cheap reservoir: later samples replace earlier ones at a falling rate.
        uint64_t slot = (++sample_counter_ * 0x9E3779B97F4A7C15ull) % side.requests;
        if (slot < kMaxSamples) side.latencies_ms[slot] = static_cast<float>(ms);
    }
}

std::optional<std::pair<core::WindowStats, core::WindowStats>> CanaryMonitor::Window(
    const std::string& canary_id) const {
    std::lock_guard lock(mu_);
    auto it = entries_.find(canary_id);
    if (it == entries_.end()) return std::nullopt;
    return std::make_pair(it->second.by_canary.Stats(), it->second.deployed.Stats());
}

void CanaryMonitor::Check() {
    std::vector<std::pair<core::Canary, std::string>> trips;
    {
        std::lock_guard lock(mu_);
        auto now = Clock::now();
        for (auto it = entries_.begin(); it != entries_.end();) {
            Entry& e = it->second;
            const auto window = std::chrono::seconds(e.canary.guard->window_s);
            if (now - e.last_seen > 3 * window) {  // no longer served here
                it = entries_.erase(it);
                continue;
            }
            if (!e.tripped && now - e.window_start >= window) {
                if (auto why = core::GuardTrips(*e.canary.guard, e.by_canary.Stats(),
                                                e.deployed.Stats())) {
                    e.tripped = true;
                    trips.emplace_back(e.canary, *why);
                }
                e.by_canary = Side{};
                e.deployed = Side{};
                e.window_start = now;
            }
            ++it;
        }
    }
    for (const auto& [c, why] : trips) {
        try {
            trip_(c, why);
        } catch (const std::exception& err) {
            core::Log(core::LogLevel::kWarn, "canary rollback failed; retried next window",
                      nlohmann::json{{"canary", c.id}, {"error", std::string(err.what())}});
            std::lock_guard lock(mu_);
            if (auto it = entries_.find(c.id); it != entries_.end()) it->second.tripped = false;
        }
    }
}

void CanaryMonitor::Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        cv_.wait_for(lock, std::chrono::milliseconds(check_ms_));
        if (stop_) break;
        lock.unlock();
        try {
            Check();
        } catch (...) {
            // Check handles what the rollback throws; nothing else may end the thread.
        }
        lock.lock();
    }
}

}  // namespace recs::api
