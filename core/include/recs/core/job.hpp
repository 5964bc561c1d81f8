#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "recs/core/error.hpp"

namespace recs::core {

/// The job contract shared by api, scheduler and workers.
///
/// States: queued → running → succeeded | failed (not retryable) | cancelled;
/// running → queued again (lease expired or a retryable error, after a backoff) until
/// max_attempts, then dead.
enum class JobStatus : uint8_t { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kDead };

/// The wire and database name of a status ("queued", ...).
std::string_view JobStatusName(JobStatus s);
/// nullopt for a name that is no status.
std::optional<JobStatus> ParseJobStatus(std::string_view name);
/// A status compares equal to its name (tests and logs read better).
inline bool operator==(JobStatus s, std::string_view name) { return JobStatusName(s) == name; }

NLOHMANN_JSON_SERIALIZE_ENUM(JobStatus,
                             {{JobStatus::kQueued, "queued"},
                              {JobStatus::kRunning, "running"},
                              {JobStatus::kSucceeded, "succeeded"},
                              {JobStatus::kFailed, "failed"},
                              {JobStatus::kCancelled, "cancelled"},
                              {JobStatus::kDead, "dead"}})

/// True for the states a job never leaves.
bool IsTerminal(JobStatus status);

/// Job kinds.
/// kSimulate: an offline replay of held-out interactions through an experiment's variants.
enum class JobKind : uint8_t { kTrain, kSimulate };
std::string_view JobKindName(JobKind k);
std::optional<JobKind> ParseJobKind(std::string_view name);
inline bool operator==(JobKind k, std::string_view name) { return JobKindName(k) == name; }
NLOHMANN_JSON_SERIALIZE_ENUM(JobKind,
                             {{JobKind::kTrain, "train"}, {JobKind::kSimulate, "simulate"}})

/// A job as stored.
struct Job {
    std::string id;
    std::string tenant_id;
    JobKind kind = JobKind::kTrain;
    JobStatus status = JobStatus::kQueued;
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

/// Retry backoff: the wait before attempt n + 1 is base * 2^(n - 1), at most cap.
struct Backoff {
    int64_t base_ms = 2000;
    int64_t cap_ms = 10 * 60 * 1000;
};

/// The wait before attempt `attempt + 1` (attempt >= 1) under `b` (what the job queue's SQL
/// computes; the contract's reference implementation).
int64_t BackoffMs(int attempt, const Backoff& b);

/// True when a job that failed with `code` may run again (transient failures: a dependency
/// down, a conflict, an internal error); false for the request's own faults (bad values,
/// a model that no longer exists).
bool IsRetryable(ErrorCode code);

}  // namespace recs::core
