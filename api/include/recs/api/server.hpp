#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "recs/core/config.hpp"

namespace recs::store {
class TenantRepository;
class KeyRepository;
class IdempotencyRepository;
class EventRepository;
class EventStream;
class FeatureRepository;
class ModelRepository;
class JobRepository;
class ExperimentRepository;
class CanaryRepository;
class WebhookRepository;
class QuotaRepository;
class AuditRepository;
class RateLimiter;
}  // namespace recs::store
namespace recs::core {
class PredictionPool;
}

namespace recs::api {

/// The stores the api works on, built by the composition root (cmd/ and wiring/), not owned.
struct ServerStores {
    store::TenantRepository* tenants = nullptr;
    store::KeyRepository* keys = nullptr;
    store::IdempotencyRepository* idempotency = nullptr;
    store::EventRepository* events = nullptr;
    store::EventStream* event_stream = nullptr;
    store::FeatureRepository* features = nullptr;
    store::ModelRepository* models = nullptr;
    store::JobRepository* jobs = nullptr;
    store::ExperimentRepository* experiments = nullptr;
    store::CanaryRepository* canaries = nullptr;
    store::WebhookRepository* webhooks = nullptr;
    store::QuotaRepository* quotas = nullptr;
    store::AuditRepository* audit = nullptr;
    /// Rate limits shared by every api process (Redis); null: no rate limits.
    store::RateLimiter* rate_limiter = nullptr;
};

/// What the server needs from the rest of the process (handed over by cmd/).
struct ServerDeps {
    ServerStores stores;
    /// Status of the worker pools for /health: {"status": "up"|"down", "pools": {...}}.
    std::function<nlohmann::json()> worker_status;
    /// SHA-256 hex of the platform admin key.
    std::string admin_key_hash;
    /// The pool that serves predictions (in-process in `recsplane all`).
    core::PredictionPool* pool = nullptr;
    /// Validates an algorithm and its hyperparameters (the engine's rules; api does not link
    /// the engine). Throws core::Error(kUnprocessable) naming the field.
    std::function<void(const std::string& algorithm, const nlohmann::json& hyperparameters)>
        validate_model;
};

/// The HTTP server of the api role. Start() serves on background threads.
class Server {
public:
    Server(ServerDeps deps, core::Config config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds (port 0 picks a free port) and serves. Returns the bound port.
    int Start();
    /// Fails readiness, waits up to config.drain_seconds for in-flight requests, then stops.
    void DrainAndStop();
    /// Stops at once.
    void Stop();
    int port() const;

    /// (method, path template) of every route, for the contract test.
    std::vector<std::pair<std::string, std::string>> Routes() const;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace recs::api
