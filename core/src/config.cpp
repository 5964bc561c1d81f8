#include "recs/core/config.hpp"

#include <charconv>

#include "recs/core/error.hpp"
#include "recs/core/webhook.hpp"

extern char** environ;

namespace recs::core {
namespace {

long ParseInt(const std::string& name, const std::string& value, long lo, long hi) {
    long out = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || ptr != value.data() + value.size() || out < lo || out > hi) {
        ThrowInvalid(name + " must be an integer in [" + std::to_string(lo) + ", " +
                         std::to_string(hi) + "], got '" + value + "'",
                     name);
    }
    return out;
}

}  // namespace

Config ConfigFromEnv(const std::map<std::string, std::string>& env) {
    Config c;
    auto get = [&](const char* k) -> const std::string* {
        auto it = env.find(k);
        return it == env.end() || it->second.empty() ? nullptr : &it->second;
    };
    if (auto* v = get("RECS_DATABASE_URL")) c.database_url = *v;
    if (auto* v = get("RECS_REDIS_URL")) c.redis_url = *v;
    if (auto* v = get("RECS_ADMIN_KEY")) {
        if (v->size() < kMinAdminKeyLength)
            ThrowInvalid("RECS_ADMIN_KEY must be at least " + std::to_string(kMinAdminKeyLength) +
                             " characters (use a random one, e.g. openssl rand -hex 24)",
                         "RECS_ADMIN_KEY");
        c.admin_key = *v;
    }
    if (auto* v = get("RECS_HTTP_PORT"))
        c.http_port = static_cast<int>(ParseInt("RECS_HTTP_PORT", *v, 0, 65535));
    if (auto* v = get("RECS_HTTP_HOST")) c.http_host = *v;
    if (auto* v = get("RECS_DATA_DIR")) c.data_dir = *v;
    if (auto* v = get("RECS_ARTIFACT_STORE")) {
        if (*v != "fs" && *v != "postgres")
            ThrowInvalid("RECS_ARTIFACT_STORE must be fs or postgres", "RECS_ARTIFACT_STORE");
        c.artifact_store = *v;
    }
    if (auto* v = get("RECS_LOG_LEVEL")) {
        if (*v != "debug" && *v != "info" && *v != "warn" && *v != "error")
            ThrowInvalid("RECS_LOG_LEVEL must be debug, info, warn or error", "RECS_LOG_LEVEL");
        c.log_level = *v;
    }
    if (auto* v = get("RECS_HTTP_THREADS"))
        c.http_threads = static_cast<int>(ParseInt("RECS_HTTP_THREADS", *v, 1, 64));
    if (auto* v = get("RECS_HANDLER_THREADS"))
        c.handler_threads = static_cast<int>(ParseInt("RECS_HANDLER_THREADS", *v, 1, 256));
    if (auto* v = get("RECS_BODY_LIMIT"))
        c.body_limit = static_cast<size_t>(ParseInt("RECS_BODY_LIMIT", *v, 1024, 1L << 30));
    if (auto* v = get("RECS_DRAIN_SECONDS"))
        c.drain_seconds = static_cast<int>(ParseInt("RECS_DRAIN_SECONDS", *v, 0, 3600));
    if (auto* v = get("RECS_PG_POOL_SIZE"))
        c.pg_pool_size = static_cast<int>(ParseInt("RECS_PG_POOL_SIZE", *v, 1, 256));
    if (auto* v = get("RECS_AUTH_FAILURES_PER_MINUTE"))
        c.auth_failures_per_minute =
            static_cast<int>(ParseInt("RECS_AUTH_FAILURES_PER_MINUTE", *v, 0, 1000000));
    if (auto* v = get("RECS_PG_ACQUIRE_TIMEOUT_MS"))
        c.pg_acquire_timeout_ms =
            static_cast<int>(ParseInt("RECS_PG_ACQUIRE_TIMEOUT_MS", *v, 10, 600000));
    if (auto* v = get("RECS_PG_STATEMENT_TIMEOUT_MS"))
        c.pg_statement_timeout_ms =
            static_cast<int>(ParseInt("RECS_PG_STATEMENT_TIMEOUT_MS", *v, 100, 3600000));
    if (auto* v = get("RECS_REDIS_TIMEOUT_MS"))
        c.redis_timeout_ms = static_cast<int>(ParseInt("RECS_REDIS_TIMEOUT_MS", *v, 100, 600000));
    if (auto* v = get("RECS_JOB_LEASE_MS"))
        c.job_lease_ms = ParseInt("RECS_JOB_LEASE_MS", *v, 100, 86400000);
    if (auto* v = get("RECS_JOB_HEARTBEAT_MS"))
        c.job_heartbeat_ms = ParseInt("RECS_JOB_HEARTBEAT_MS", *v, 10, 3600000);
    if (auto* v = get("RECS_JOB_BACKOFF_MS"))
        c.job_backoff_ms = ParseInt("RECS_JOB_BACKOFF_MS", *v, 0, 3600000);
    if (auto* v = get("RECS_JOB_BACKOFF_CAP_MS"))
        c.job_backoff_cap_ms = ParseInt("RECS_JOB_BACKOFF_CAP_MS", *v, 0, 86400000);
    if (auto* v = get("RECS_JOB_REPUSH_MS"))
        c.job_repush_ms = ParseInt("RECS_JOB_REPUSH_MS", *v, 100, 86400000);
    if (auto* v = get("RECS_JOB_MAX_ATTEMPTS"))
        c.job_max_attempts = static_cast<int>(ParseInt("RECS_JOB_MAX_ATTEMPTS", *v, 1, 100));
    if (auto* v = get("RECS_WORKER_CONCURRENCY"))
        c.worker_concurrency = static_cast<int>(ParseInt("RECS_WORKER_CONCURRENCY", *v, 1, 64));
    if (auto* v = get("RECS_TRAIN_MEMORY_MB"))
        c.train_memory_mb = ParseInt("RECS_TRAIN_MEMORY_MB", *v, 16, 1 << 24);
    if (auto* v = get("RECS_POOL_MEMORY_MB"))
        c.pool_memory_mb = ParseInt("RECS_POOL_MEMORY_MB", *v, 16, 1 << 24);
    if (auto* v = get("RECS_INTERNAL_TOKEN")) {
        if (v->size() < kMinAdminKeyLength)
            ThrowInvalid("RECS_INTERNAL_TOKEN must be at least " +
                             std::to_string(kMinAdminKeyLength) + " characters",
                         "RECS_INTERNAL_TOKEN");
        c.internal_token = *v;
    }
    if (auto* v = get("RECS_SERVE_PORT"))
        c.serve_port = static_cast<int>(ParseInt("RECS_SERVE_PORT", *v, 0, 65535));
    if (auto* v = get("RECS_SERVE_HOST")) c.serve_host = *v;
    if (auto* v = get("RECS_SERVE_THREADS"))
        c.serve_threads = static_cast<int>(ParseInt("RECS_SERVE_THREADS", *v, 1, 256));
    if (auto* v = get("RECS_SERVE_ADDRESS")) c.serve_address = *v;
    if (auto* v = get("RECS_POOL_TIMEOUT_MS"))
        c.pool_request_timeout_ms =
            static_cast<int>(ParseInt("RECS_POOL_TIMEOUT_MS", *v, 100, 600000));
    if (auto* v = get("RECS_SCHEDULER_TICK_MS"))
        c.scheduler_tick_ms = static_cast<int>(ParseInt("RECS_SCHEDULER_TICK_MS", *v, 10, 60000));
    if (auto* v = get("RECS_WEBHOOK_SCHEDULE_S")) {
        auto sched = ParseWebhookSchedule(*v);
        if (!sched)
            ThrowInvalid(
                "RECS_WEBHOOK_SCHEDULE_S must be 1 to 20 comma-separated positive "
                "numbers of seconds (at most 7 days each)",
                "RECS_WEBHOOK_SCHEDULE_S");
        c.webhook_schedule_s = *sched;
    }
    if (auto* v = get("RECS_WEBHOOK_ALLOW_PRIVATE")) {
        if (*v != "0" && *v != "1")
            ThrowInvalid("RECS_WEBHOOK_ALLOW_PRIVATE must be 0 or 1", "RECS_WEBHOOK_ALLOW_PRIVATE");
        c.webhook_allow_private = *v == "1";
    }
    if (auto* v = get("RECS_WEBHOOK_TIMEOUT_MS"))
        c.webhook_timeout_ms =
            static_cast<int>(ParseInt("RECS_WEBHOOK_TIMEOUT_MS", *v, 100, 600000));
    if (auto* v = get("RECS_WEBHOOK_LEASE_MS"))
        c.webhook_lease_ms = ParseInt("RECS_WEBHOOK_LEASE_MS", *v, 1000, 86400000);
    if (auto* v = get("RECS_WEBHOOK_DISABLE_AFTER_S"))
        c.webhook_disable_after_s = ParseInt("RECS_WEBHOOK_DISABLE_AFTER_S", *v, 1, 365L * 86400);
    if (auto* v = get("RECS_WEBHOOK_CONCURRENCY"))
        c.webhook_concurrency = static_cast<int>(ParseInt("RECS_WEBHOOK_CONCURRENCY", *v, 1, 64));
    if (c.webhook_lease_ms < c.webhook_timeout_ms + 1000)
        ThrowInvalid(
            "RECS_WEBHOOK_LEASE_MS must exceed RECS_WEBHOOK_TIMEOUT_MS by a second at "
            "least, or a slow delivery is sent twice",
            "RECS_WEBHOOK_LEASE_MS");
    if (c.job_heartbeat_ms * 2 > c.job_lease_ms)
        ThrowInvalid("RECS_JOB_HEARTBEAT_MS (" + std::to_string(c.job_heartbeat_ms) +
                         ") must be at most half of RECS_JOB_LEASE_MS (" +
                         std::to_string(c.job_lease_ms) + "), or every lease expires",
                     "RECS_JOB_HEARTBEAT_MS");
    return c;
}

std::map<std::string, std::string> ProcessEnv() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq == std::string::npos || kv.rfind("RECS_", 0) != 0) continue;
        env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return env;
}

}  // namespace recs::core
