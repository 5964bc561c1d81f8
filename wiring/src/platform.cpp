#include "recs/wiring/platform.hpp"

#include "recs/pool_client/remote_pool.hpp"
#include "recs/store/artifact_store.hpp"
#include "recs/store/canary_store.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/experiment_store.hpp"
#include "recs/store/feature_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/leader_lock.hpp"
#include "recs/store/model_store.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/pool_registry.hpp"
#include "recs/store/quota_store.hpp"
#include "recs/store/rate_limiter.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/tenant_store.hpp"
#include "recs/store/webhook_store.hpp"

namespace recs::wiring {
namespace {

store::PgPoolOptions PgOptions(const core::Config& cfg, int size, const char* name) {
    store::PgPoolOptions o;
    o.size = size;
    o.acquire_timeout_ms = cfg.pg_acquire_timeout_ms;
    o.statement_timeout_ms = cfg.pg_statement_timeout_ms;
    o.application_name = std::string("recsplane-") + name;
    return o;
}

store::RedisOptions RedisOpts(const core::Config& cfg, int size) {
    store::RedisOptions o;
    o.size = size;
    o.connect_timeout_ms = cfg.redis_timeout_ms;
    o.io_timeout_ms = cfg.redis_timeout_ms;
    o.acquire_timeout_ms = cfg.redis_timeout_ms;
    return o;
}

}  // namespace

struct Platform::Impl {
    core::Config config;
    Roles roles;
    // Connections.
    std::unique_ptr<store::PgPool> pg, pg_control, pg_jobs, pg_webhooks;
    std::unique_ptr<store::RedisClient> redis, redis_blocking;
    // Shared by the roles.
    std::unique_ptr<store::SettingsRepository> settings;
    std::unique_ptr<store::ArtifactStore> artifacts;
    std::unique_ptr<store::PoolRegistry> registry;
    // api (on pg and redis).
    std::unique_ptr<store::TenantRepository> tenants;
    std::unique_ptr<store::KeyRepository> keys;
    std::unique_ptr<store::IdempotencyRepository> idempotency;
    std::unique_ptr<store::EventRepository> events;
    std::unique_ptr<store::EventStream> event_stream;
    std::unique_ptr<store::FeatureRepository> features;
    std::unique_ptr<store::ModelRepository> models;
    std::unique_ptr<store::JobRepository> jobs;
    std::unique_ptr<store::ExperimentRepository> experiments;
    std::unique_ptr<store::CanaryRepository> canaries;
    std::unique_ptr<store::WebhookRepository> webhooks;
    std::unique_ptr<store::QuotaRepository> quotas;
    std::unique_ptr<store::AuditRepository> audit;
    std::unique_ptr<store::RateLimiter> rate_limiter;
    std::unique_ptr<pool_client::RemotePool> remote;
    // scheduler (control connections and redis).
    std::unique_ptr<store::JobRepository> sched_jobs;
    std::unique_ptr<store::JobQueue> sched_queue;
    std::unique_ptr<store::EventRepository> sched_events;
    std::unique_ptr<store::EventStream> sched_streams;
    std::unique_ptr<store::IdempotencyRepository> sched_idempotency;
    std::unique_ptr<store::LeaderLock> leader;
    std::unique_ptr<store::ExperimentRepository> sched_experiments;
    // worker (control for leases, blocking redis for pops, job connections for data).
    std::unique_ptr<store::JobRepository> worker_jobs;
    std::unique_ptr<store::JobQueue> worker_queue;
    std::unique_ptr<store::EventRepository> worker_events;
    std::unique_ptr<store::ModelRepository> worker_models;
    std::unique_ptr<store::WebhookRepository> worker_webhooks;
};

Platform::Platform(const core::Config& cfg, Roles roles) : impl_(std::make_unique<Impl>()) {
    auto& i = *impl_;
    i.config = cfg;
    i.roles = roles;
    i.pg =
        std::make_unique<store::PgPool>(cfg.database_url, PgOptions(cfg, cfg.pg_pool_size, "main"));
    i.redis = std::make_unique<store::RedisClient>(cfg.redis_url, RedisOpts(cfg, 8));
    i.settings = store::MakePgSettingsRepository(*i.pg);
    i.registry = store::MakeRedisPoolRegistry(*i.redis);
    if (roles.worker || roles.scheduler)
        i.pg_control =
            std::make_unique<store::PgPool>(cfg.database_url, PgOptions(cfg, 3, "control"));
    if (roles.worker) {
        i.pg_jobs = std::make_unique<store::PgPool>(
            cfg.database_url, PgOptions(cfg, cfg.worker_concurrency + 2, "jobs"));
        auto o = RedisOpts(cfg, cfg.worker_concurrency);
        o.io_timeout_ms = cfg.redis_timeout_ms + 1000;  // more than a pop's block (500 ms)
        i.redis_blocking = std::make_unique<store::RedisClient>(cfg.redis_url, o);
        i.artifacts = store::MakeArtifactStore(cfg.artifact_store, *i.pg_jobs, cfg.data_dir);
        i.worker_jobs = store::MakePgJobRepository(*i.pg_control);
        i.worker_queue = store::MakeRedisJobQueue(*i.redis_blocking);
        i.worker_events = store::MakePgEventRepository(*i.pg_jobs);
        i.worker_models = store::MakePgModelRepository(*i.pg_jobs);
        // Webhook delivery on connections of its own: a slow receiver never holds a job's.
        i.pg_webhooks = std::make_unique<store::PgPool>(
            cfg.database_url, PgOptions(cfg, cfg.webhook_concurrency, "webhooks"));
        i.worker_webhooks = store::MakePgWebhookRepository(*i.pg_webhooks);
    } else {
        i.artifacts = store::MakeArtifactStore(cfg.artifact_store, *i.pg, cfg.data_dir);
    }
    if (roles.scheduler) {
        i.sched_jobs = store::MakePgJobRepository(*i.pg_control);
        i.sched_queue = store::MakeRedisJobQueue(*i.redis);
        i.sched_events = store::MakePgEventRepository(*i.pg_control);
        i.sched_streams = store::MakeRedisEventStream(*i.redis);
        i.sched_idempotency = store::MakePgIdempotencyRepository(*i.pg_control);
        i.leader = store::MakePgLeaderLock(cfg.database_url, "scheduler");
        i.sched_experiments = store::MakePgExperimentRepository(*i.pg_control);
    }
    if (roles.api) {
        i.tenants = store::MakePgTenantRepository(*i.pg);
        i.keys = store::MakePgKeyRepository(*i.pg);
        i.idempotency = store::MakePgIdempotencyRepository(*i.pg);
        i.events = store::MakePgEventRepository(*i.pg);
        i.event_stream = store::MakeRedisEventStream(*i.redis);
        i.features = store::MakePgFeatureRepository(*i.pg);
        i.models = store::MakePgModelRepository(*i.pg);
        i.jobs = store::MakePgJobRepository(*i.pg);
        i.experiments = store::MakePgExperimentRepository(*i.pg);
        i.canaries = store::MakePgCanaryRepository(*i.pg);
        i.webhooks = store::MakePgWebhookRepository(*i.pg);
        i.quotas = store::MakePgQuotaRepository(*i.pg);
        i.audit = store::MakePgAuditRepository(*i.pg);
        i.rate_limiter = store::MakeRedisRateLimiter(*i.redis);
        if (!roles.worker && !cfg.internal_token.empty())
            i.remote = std::make_unique<pool_client::RemotePool>(
                *i.registry,
                pool_client::RemotePoolOptions{.token = cfg.internal_token,
                                               .request_timeout_ms = cfg.pool_request_timeout_ms});
    }
}

Platform::~Platform() = default;

store::PgPool& Platform::pg() { return *impl_->pg; }
store::RedisClient& Platform::redis() { return *impl_->redis; }
store::SettingsRepository& Platform::settings() { return *impl_->settings; }
store::ArtifactStore& Platform::artifacts() { return *impl_->artifacts; }
store::PoolRegistry& Platform::registry() { return *impl_->registry; }
core::PredictionPool* Platform::remote_pool() { return impl_->remote.get(); }

api::ServerStores Platform::api_stores() {
    auto& i = *impl_;
    return {.tenants = i.tenants.get(),
            .keys = i.keys.get(),
            .idempotency = i.idempotency.get(),
            .events = i.events.get(),
            .event_stream = i.event_stream.get(),
            .features = i.features.get(),
            .models = i.models.get(),
            .jobs = i.jobs.get(),
            .experiments = i.experiments.get(),
            .canaries = i.canaries.get(),
            .webhooks = i.webhooks.get(),
            .quotas = i.quotas.get(),
            .audit = i.audit.get(),
            .rate_limiter = i.rate_limiter.get()};
}

scheduler::SchedulerStores Platform::scheduler_stores() {
    auto& i = *impl_;
    return {.jobs = i.sched_jobs.get(),
            .queue = i.sched_queue.get(),
            .events = i.sched_events.get(),
            .streams = i.sched_streams.get(),
            .idempotency = i.sched_idempotency.get(),
            .leader = i.leader.get(),
            .experiments = i.sched_experiments.get()};
}

workers::WorkerStores Platform::worker_stores(bool serve) {
    auto& i = *impl_;
    return {.jobs = i.worker_jobs.get(),
            .queue = i.worker_queue.get(),
            .events = i.worker_events.get(),
            .models = i.worker_models.get(),
            .artifacts = i.artifacts.get(),
            .registry = serve ? i.registry.get() : nullptr,
            .webhooks = i.worker_webhooks.get()};
}

}  // namespace recs::wiring
