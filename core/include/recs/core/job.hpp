#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace recs::core {

/// The job contract shared by api, scheduler and workers.
///
/// States: queued → running → succeeded | failed (not retryable) | cancelled;
/// running → queued again (lease expired or a retryable error, after a backoff) until
/// max_attempts, then dead.
namespace job_status {
inline constexpr std::string_view kQueued = "queued";
inline constexpr std::string_view kRunning = "running";
inline constexpr std::string_view kSucceeded = "succeeded";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kCancelled = "cancelled";
inline constexpr std::string_view kDead = "dead";
}  // namespace job_status

/// True for the states a job never leaves.
bool IsTerminalJobStatus(std::string_view status);

/// Job kinds.
inline constexpr std::string_view kJobTrain = "train";

/// A job as stored.
struct Job {
    std::string id;
    std::string tenant_id;
    std::string kind;
    std::string status;
    nlohmann::json payload = nlohmann::json::object();
    double progress = 0;
    int attempts = 0;
    int max_attempts = 3;
    std::optional<std::string> error;
    nlohmann::json result;  ///< null until succeeded
    bool cancel_requested = false;
    std::string created_at;
    std::optional<std::string> started_at;
    std::optional<std::string> finished_at;
};

nlohmann::json JobJson(const Job& j);

/// Backoff before attempt `attempt + 1` (attempt >= 1): base * 2^(attempt-1), capped.
int64_t BackoffMs(int attempt, int64_t base_ms, int64_t cap_ms = 10 * 60 * 1000);

/// Timing of the queue (leases, heartbeats, backoff, outbox reconciliation).
struct QueueTiming {
    int64_t lease_ms = 30000;         ///< a running job's lease
    int64_t heartbeat_ms = 5000;      ///< how often a worker extends it
    int64_t backoff_base_ms = 2000;   ///< first retry delay
    int64_t repush_after_ms = 30000;  ///< a queued job not leased for this long is pushed again
};

}  // namespace recs::core
