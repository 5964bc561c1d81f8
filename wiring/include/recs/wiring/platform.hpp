#pragma once

#include <memory>

#include "recs/api/server.hpp"
#include "recs/core/config.hpp"
#include "recs/scheduler/scheduler.hpp"
#include "recs/workers/worker.hpp"

namespace recs::store {
class ArtifactStore;
class PgPool;
class PoolRegistry;
class RedisClient;
class SettingsRepository;
}  // namespace recs::store

namespace recs::core {
class PredictionPool;
}

namespace recs::wiring {

/// Which roles run in this process.
struct Roles {
    bool api = false;
    bool scheduler = false;
    bool worker = false;
};

/// The composition root of one process: connects once and builds every store the roles use,
/// each kind of traffic on connections of its own so that none starves another (requests on
/// `pg`; leases, heartbeats and the scheduler on control connections; training scans on job
/// connections; blocking pops on Redis connections of their own). The roles receive
/// interfaces and construct no store object themselves. Must outlive the roles.
class Platform {
public:
    /// Connects (throws core::Error(kUnavailable) with one clear line when a dependency
    /// cannot be reached). Applies nothing: migrations are cmd/'s first step.
    Platform(const core::Config& config, Roles roles);
    ~Platform();
    Platform(const Platform&) = delete;
    Platform& operator=(const Platform&) = delete;

    store::PgPool& pg();
    store::RedisClient& redis();
    store::SettingsRepository& settings();
    store::ArtifactStore& artifacts();
    store::PoolRegistry& registry();

    api::ServerStores api_stores();
    scheduler::SchedulerStores scheduler_stores();
    /// `serve`: the worker announces itself in the registry and serves its pool.
    workers::WorkerStores worker_stores(bool serve);

    /// `recsplane api` without an in-process worker: a client of the pools' members found in
    /// the registry (null when RECS_INTERNAL_TOKEN is not set).
    core::PredictionPool* remote_pool();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace recs::wiring
