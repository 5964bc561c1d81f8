#include "services.hpp"

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"

namespace recs::api {

HealthMonitor::HealthMonitor(store::PgPool* pg,
                             store::RedisClient* redis,
                             std::function<nlohmann::json()> workers)
    : pg_(pg), redis_(redis), workers_(std::move(workers)) {}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Start() {
    CheckOnce();
    thread_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!stop_) {
            cv_.wait_for(lock, std::chrono::seconds(1));
            if (stop_) break;
            lock.unlock();
            CheckOnce();
            lock.lock();
        }
    });
}

void HealthMonitor::Stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void HealthMonitor::CheckOnce() {
    nlohmann::json checks;
    bool up = true;
    auto probe = [&](const char* name, const std::function<double()>& fn) {
        try {
            double ms = fn();
            checks[name] = {{"status", "up"}, {"latency_ms", ms}};
        } catch (const std::exception&) {
            checks[name] = {{"status", "down"}};
            up = false;
        }
    };
    probe("postgres", [&] { return pg_ ? pg_->Ping() : throw std::runtime_error("none"); });
    probe("redis", [&] { return redis_ ? redis_->Ping() : throw std::runtime_error("none"); });
    nlohmann::json w = workers_ ? workers_() : nlohmann::json{{"status", "down"}};
    if (w.value("status", "down") != "up") up = false;
    checks["workers"] = w;
    std::lock_guard lock(mu_);
    checks_ = std::move(checks);
    up_ = up;
}

std::pair<nlohmann::json, bool> HealthMonitor::Snapshot() const {
    std::lock_guard lock(mu_);
    return {checks_, up_};
}

store::PageRequest ParsePage(const Request& req) {
    store::PageRequest p;
    if (auto l = req.Query("limit"))
        p.limit = static_cast<int>(core::ParseIntParam("limit", *l, 1, 500));
    if (auto c = req.Query("cursor")) {
        store::DecodeCursor(*c);  // validates early: 422 naming `cursor`
        p.cursor = *c;
    }
    return p;
}

}  // namespace recs::api
