#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth.hpp"
#include "event_ingestor.hpp"
#include "http/metrics.hpp"
#include "recs/core/config.hpp"
#include "recs/core/prediction_pool.hpp"
#include "recs/store/canary_store.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/experiment_store.hpp"
#include "recs/store/feature_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"
#include "recs/store/page.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/quota_store.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/tenant_store.hpp"
#include "recs/store/webhook_store.hpp"

namespace recs::api {

/// Probes PostgreSQL and Redis once a second on its own thread, over connections of its own
/// with one-second bounds (never through the pools that requests use, so that a stall or an
/// exhausted pool shows up as "down" instead of freezing the probe). /health answers from the
/// latest snapshot, in memory, and treats a snapshot older than a few seconds as down.
class HealthMonitor {
public:
    HealthMonitor(std::string pg_dsn,
                  std::string redis_url,
                  std::function<nlohmann::json()> workers);
    ~HealthMonitor();
    void Start();
    void Stop();
    struct Report {
        nlohmann::json checks;  ///< {"postgres": {...}, "redis": {...}, "workers": {...}}
        bool up = false;        ///< every check up, and the snapshot fresh
        int64_t age_ms = 0;     ///< how old the snapshot is
    };
    Report Snapshot() const;

private:
    void CheckOnce();
    double PingPostgres();
    double PingRedis();
    std::string pg_dsn_;
    std::string redis_url_;
    std::unique_ptr<store::PgPool> pg_;
    std::unique_ptr<store::RedisClient> redis_;
    std::function<nlohmann::json()> workers_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    nlohmann::json checks_ = nlohmann::json::object();
    bool up_ = false;
    std::chrono::steady_clock::time_point taken_{};
    bool stop_ = false;
    std::thread thread_;
};

/// Everything handlers reach: repositories and process-wide services.
struct Services {
    core::Config config;
    store::TenantRepository* tenants = nullptr;
    store::KeyRepository* keys = nullptr;
    store::IdempotencyRepository* idempotency = nullptr;
    std::unique_ptr<Authenticator> auth;
    store::EventRepository* events = nullptr;
    store::EventStream* event_stream = nullptr;
    std::unique_ptr<StreamRelay> relay;
    std::unique_ptr<EventIngestor> ingestor;
    store::FeatureRepository* features = nullptr;
    store::ModelRepository* models = nullptr;
    store::JobRepository* jobs = nullptr;
    core::PredictionPool* pool = nullptr;
    std::function<void(const std::string&, const nlohmann::json&)> validate_model;
    store::CanaryRepository* canaries = nullptr;
    std::unique_ptr<class ServingResolver> resolver;
    std::unique_ptr<class ModelService> model_service;
    std::unique_ptr<class PredictService> predict_service;
    /// After the services it calls back (model_service): destroyed, and stopped, before them.
    std::unique_ptr<class CanaryMonitor> canary_monitor;
    std::unique_ptr<class TenantService> tenant_service;
    std::unique_ptr<class KeyService> key_service;
    std::unique_ptr<class FeatureService> feature_service;
    std::unique_ptr<class JobService> job_service;
    store::ExperimentRepository* experiments = nullptr;
    std::unique_ptr<class ExposureLog> exposures;
    std::unique_ptr<class ExperimentService> experiment_service;
    store::WebhookRepository* webhooks = nullptr;
    std::unique_ptr<class WebhookService> webhook_service;
    store::QuotaRepository* quota_repo = nullptr;
    std::unique_ptr<class QuotaService> quota_service;
    store::AuditRepository* audit = nullptr;
    std::unique_ptr<HealthMonitor> health;
    Metrics metrics;
    std::atomic<bool> draining{false};
};

/// Reads `limit` (1..500, default 50) and `cursor` query parameters.
store::PageRequest ParsePage(const Request& req);

/// Serialises a page as {"items": [...], "next_cursor": ...} with `to_json(item)`.
template <typename T, typename F>
std::string PageJson(const store::Page<T>& page, F to_json) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& it : page.items) items.push_back(to_json(it));
    nlohmann::json j = {{"items", std::move(items)}};
    j["next_cursor"] = page.next_cursor ? nlohmann::json(*page.next_cursor) : nlohmann::json();
    return j.dump();
}

}  // namespace recs::api
