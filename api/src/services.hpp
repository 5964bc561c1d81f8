#pragma once

#include <atomic>
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
#include "recs/store/loop_store.hpp"
#include "recs/store/page.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::api {

/// Pings PostgreSQL and Redis once a second on its own thread, so that /health answers from
/// memory and is never delayed by slow database work.
class HealthMonitor {
public:
    HealthMonitor(store::PgPool* pg,
                  store::RedisClient* redis,
                  std::function<nlohmann::json()> workers);
    ~HealthMonitor();
    void Start();
    void Stop();
    /// The latest snapshot: {"postgres": {...}, "redis": {...}, "workers": {...}}, and whether
    /// every check is up.
    std::pair<nlohmann::json, bool> Snapshot() const;

private:
    void CheckOnce();
    store::PgPool* pg_;
    store::RedisClient* redis_;
    std::function<nlohmann::json()> workers_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    nlohmann::json checks_ = nlohmann::json::object();
    bool up_ = false;
    bool stop_ = false;
    std::thread thread_;
};

/// Everything handlers reach: repositories and process-wide services.
struct Services {
    core::Config config;
    store::PgPool* pg = nullptr;
    store::RedisClient* redis = nullptr;
    std::unique_ptr<store::TenantRepository> tenants;
    std::unique_ptr<store::KeyRepository> keys;
    std::unique_ptr<store::IdempotencyRepository> idempotency;
    std::unique_ptr<Authenticator> auth;
    std::unique_ptr<store::EventRepository> events;
    std::unique_ptr<store::EventStream> event_stream;
    std::unique_ptr<EventIngestor> ingestor;
    std::unique_ptr<store::FeatureRepository> features;
    std::unique_ptr<store::ModelRepository> models;
    std::unique_ptr<store::JobRepository> jobs;
    core::PredictionPool* pool = nullptr;
    std::function<void(const std::string&, const nlohmann::json&)> validate_model;
    std::unique_ptr<class ServingResolver> resolver;
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
