#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace recs::core {

/// Process configuration, read from RECS_* environment variables; flags may override.
struct Config {
    std::string database_url;
    std::string redis_url;
    std::optional<std::string> admin_key;
    int http_port = 8080;
    std::string http_host = "0.0.0.0";
    std::string data_dir = "./data";
    /// RECS_ARTIFACT_STORE: "fs" (artifacts under data_dir, a shared volume in a cluster) or
    /// "postgres" (large objects; data_dir is then only each member's local cache).
    std::string artifact_store = "fs";
    std::string log_level = "info";
    int http_threads = 2;      ///< Pistache reactor threads
    int handler_threads = 64;  ///< threads for blocking handler work (cheap while they wait)
    size_t body_limit = 10 * 1024 * 1024;
    int drain_seconds = 20;  ///< bounded wait for in-flight requests on SIGTERM
    int key_cache_ttl_ms = 5000;
    int auth_failures_per_minute = 60;  ///< per client address, then 429
    int pg_pool_size = 8;
    int pg_acquire_timeout_ms = 2000;  ///< wait for a free connection, then 503
    int pg_statement_timeout_ms =
        3000;                     ///< per statement (server side; the client allows 1 s more)
    int redis_timeout_ms = 2000;  ///< connect, reply and pool waits of Redis
    // The job queue (see core/job.hpp).
    int64_t job_lease_ms = 30000;
    int64_t job_heartbeat_ms = 5000;
    int64_t job_backoff_ms = 2000;
    int64_t job_backoff_cap_ms = 600000;  ///< no retry waits longer than this
    int64_t job_repush_ms = 30000;
    int job_max_attempts = 3;
    int worker_concurrency = 1;  ///< jobs one worker process runs at once
    int64_t train_memory_mb =
        4096;  ///< the most one training job may allocate (RECS_TRAIN_MEMORY_MB)
    int64_t pool_memory_mb = 4096;  ///< loaded models' artifacts, per process (RECS_POOL_MEMORY_MB)
    int scheduler_tick_ms = 500;
    // Worker pools in their own processes.
    std::string internal_token;          ///< RECS_INTERNAL_TOKEN: api <-> pool members (32+ chars)
    int serve_port = 0;                  ///< RECS_SERVE_PORT: a worker's serving port (0: any free)
    std::string serve_host = "0.0.0.0";  ///< RECS_SERVE_HOST: the address it binds
    int serve_threads = 4;               ///< RECS_SERVE_THREADS: threads serving the pool
    std::string serve_address = "127.0.0.1";  ///< RECS_SERVE_ADDRESS: the host the api dials
    int pool_request_timeout_ms = 5000;       ///< RECS_POOL_TIMEOUT_MS: api -> member calls
    // Webhook delivery (workers).
    /// RECS_WEBHOOK_SCHEDULE_S: seconds before each retry (a comma list); default 5 s .. 10 h.
    std::vector<int64_t> webhook_schedule_s = {5, 300, 1800, 7200, 18000, 36000, 36000};
    bool webhook_allow_private = false;  ///< RECS_WEBHOOK_ALLOW_PRIVATE=1: private targets too
    int webhook_timeout_ms = 10000;      ///< RECS_WEBHOOK_TIMEOUT_MS: one attempt
    int64_t webhook_lease_ms = 60000;    ///< RECS_WEBHOOK_LEASE_MS: a delivery's lease
    int64_t webhook_disable_after_s = 5 * 86400;  ///< RECS_WEBHOOK_DISABLE_AFTER_S
    int webhook_concurrency = 4;  ///< RECS_WEBHOOK_CONCURRENCY: deliveries a worker sends at once
};

/// The shortest platform admin key accepted (RECS_ADMIN_KEY).
inline constexpr size_t kMinAdminKeyLength = 32;

/// Builds a Config from an environment map (injected so that tests need no real environment).
/// Throws core::Error(kInvalidArgument) naming the variable on a bad value, an admin key shorter
/// than kMinAdminKeyLength, or a heartbeat that does not fit twice in the lease.
Config ConfigFromEnv(const std::map<std::string, std::string>& env);

/// Reads the process environment into a map (RECS_* variables only).
std::map<std::string, std::string> ProcessEnv();

}  // namespace recs::core
