#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace recs::core {

/// Process configuration, read from RECS_* environment variables; flags may override.
struct Config {
    std::string database_url;
    std::string redis_url;
    std::optional<std::string> admin_key;
    int http_port = 8080;
    std::string http_host = "0.0.0.0";
    std::string data_dir = "./data";
    std::string log_level = "info";
    int http_threads = 2;      ///< Pistache reactor threads
    int handler_threads = 64;  ///< threads for blocking handler work (cheap while they wait)
    size_t body_limit = 10 * 1024 * 1024;
    int drain_seconds = 20;  ///< bounded wait for in-flight requests on SIGTERM
    int key_cache_ttl_ms = 5000;
    int pg_pool_size = 8;
    // The job queue (see core/job.hpp QueueTiming).
    int64_t job_lease_ms = 30000;
    int64_t job_heartbeat_ms = 5000;
    int64_t job_backoff_ms = 2000;
    int64_t job_repush_ms = 30000;
    int job_max_attempts = 3;
    int worker_concurrency = 1;  ///< jobs one worker process runs at once
    int scheduler_tick_ms = 500;
};

/// Builds a Config from an environment map (injected so that tests need no real environment).
/// Throws core::Error(kInvalidArgument) naming the variable on a bad value.
Config ConfigFromEnv(const std::map<std::string, std::string>& env);

/// Reads the process environment into a map (RECS_* variables only).
std::map<std::string, std::string> ProcessEnv();

}  // namespace recs::core
