#include "services.hpp"

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"

namespace recs::api {

namespace {

constexpr int kProbeTimeoutMs = 1000;
constexpr auto kStaleAfter = std::chrono::seconds(4);

}  // namespace

HealthMonitor::HealthMonitor(std::string pg_dsn,
                             std::string redis_url,
                             std::function<nlohmann::json()> workers)
    : pg_dsn_(std::move(pg_dsn)), redis_url_(std::move(redis_url)), workers_(std::move(workers)) {}

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

double HealthMonitor::PingPostgres() {
    if (pg_dsn_.empty()) throw std::runtime_error("not configured");
    if (!pg_) {
        store::PgPoolOptions o;
        o.size = 1;
        o.acquire_timeout_ms = kProbeTimeoutMs;
        o.connect_timeout_s = 1;
        o.statement_timeout_ms = kProbeTimeoutMs;
        o.client_timeout_ms = kProbeTimeoutMs;
        o.application_name = "recsplane-health";
        pg_ = std::make_unique<store::PgPool>(pg_dsn_, o);
    }
    return pg_->Ping();
}

double HealthMonitor::PingRedis() {
    if (redis_url_.empty()) throw std::runtime_error("not configured");
    if (!redis_) {
        store::RedisOptions o;
        o.size = 1;
        o.connect_timeout_ms = kProbeTimeoutMs;
        o.io_timeout_ms = kProbeTimeoutMs;
        o.acquire_timeout_ms = kProbeTimeoutMs;
        redis_ = std::make_unique<store::RedisClient>(redis_url_, o);
    }
    return redis_->Ping();
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
    probe("postgres", [&] { return PingPostgres(); });
    probe("redis", [&] { return PingRedis(); });
    nlohmann::json w;
    try {
        w = workers_ ? workers_() : nlohmann::json{{"status", "down"}};
    } catch (const std::exception&) {
        w = {{"status", "down"}};
    }
    if (w.value("status", "down") != "up") up = false;
    checks["workers"] = w;
    std::lock_guard lock(mu_);
    checks_ = std::move(checks);
    up_ = up;
    taken_ = std::chrono::steady_clock::now();
}

HealthMonitor::Report HealthMonitor::Snapshot() const {
    std::lock_guard lock(mu_);
    auto age = std::chrono::steady_clock::now() - taken_;
    return {checks_, up_ && age < kStaleAfter,
            std::chrono::duration_cast<std::chrono::milliseconds>(age).count()};
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
