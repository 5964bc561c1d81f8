#include "exposure_log.hpp"

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::api {

namespace {
constexpr size_t kMaxSeen = 500000;
constexpr size_t kMaxBatch = 5000;
}  // namespace

ExposureLog::ExposureLog(store::ExperimentRepository& repo, int flush_ms, size_t max_pending)
    : repo_(repo), flush_ms_(flush_ms), max_pending_(max_pending) {
    thread_ = std::thread([this] { Loop(); });
}

ExposureLog::~ExposureLog() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void ExposureLog::Add(store::Exposure x) {
    std::string key = x.experiment_id + "|" + x.unit_id;
    std::lock_guard lock(mu_);
    if (seen_.count(key)) return;
    if (pending_.size() >= max_pending_) {
        ++dropped_;
        return;
    }
    if (seen_.size() >= kMaxSeen) seen_.clear();  // the database ignores repeats anyway
    seen_.emplace(std::move(key), x.variant);
    pending_.push_back(std::move(x));
}

std::optional<std::string> ExposureLog::Known(const std::string& experiment_id,
                                              const std::string& unit_id) const {
    std::lock_guard lock(mu_);
    auto it = seen_.find(experiment_id + "|" + unit_id);
    if (it == seen_.end()) return std::nullopt;
    return it->second;
}

void ExposureLog::Flush() {
    while (WriteBatch()) {
    }
}

size_t ExposureLog::dropped() const {
    std::lock_guard lock(mu_);
    return dropped_;
}

bool ExposureLog::WriteBatch() {
    std::lock_guard writing(write_mu_);
    std::vector<store::Exposure> batch;
    {
        std::lock_guard lock(mu_);
        while (!pending_.empty() && batch.size() < kMaxBatch) {
            batch.push_back(std::move(pending_.front()));
            pending_.pop_front();
        }
    }
    if (batch.empty()) return false;
    try {
        repo_.RecordExposures(batch);
        return true;
    } catch (const std::exception& e) {
        // Back to the front of the queue, to be written on the next round; forget the keys of
        // what does not fit, so that those units are queued again when they come back.
        std::lock_guard lock(mu_);
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
            if (pending_.size() >= max_pending_) {
                seen_.erase(it->experiment_id + "|" + it->unit_id);
                ++dropped_;
                continue;
            }
            pending_.push_front(std::move(*it));
        }
        const auto* ce = dynamic_cast<const core::Error*>(&e);
        core::Log(core::LogLevel::kWarn, "exposures not recorded yet",
                  {{"count", batch.size()}, {"error", ce ? ce->detail() : "internal error"}});
        return false;
    }
}

void ExposureLog::Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
        cv_.wait_for(lock, std::chrono::milliseconds(flush_ms_));
        lock.unlock();
        try {
            Flush();
        } catch (...) {
            // WriteBatch handles what the repository throws; nothing else may end the thread.
        }
        lock.lock();
    }
}

}  // namespace recs::api
