#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/core/job.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/page.hpp"

namespace recs::store {

class PgPool;
class RedisClient;

/// Who may still write a job's results: the worker holding its lease.
struct JobFence {
    std::string job_id;
    std::string owner;
};

/// Jobs: PostgreSQL is their source of truth.
class JobRepository {
public:
    virtual ~JobRepository() = default;
    /// Inserts a queued job. With an idempotency key, a repeat returns the first job.
    virtual core::Job Create(const core::TenantId& tenant,
                             core::JobKind kind,
                             const nlohmann::json& payload,
                             int max_attempts,
                             const std::optional<std::string>& idempotency_key) = 0;
    virtual std::optional<core::Job> Find(const core::TenantId& tenant, const std::string& id) = 0;
    virtual Page<core::Job> List(const core::TenantId& tenant,
                                 const PageRequest& page,
                                 const std::optional<core::JobStatus>& status,
                                 const std::optional<core::JobKind>& kind) = 0;
    /// Cancels a queued job at once, or asks a running one to stop. kConflict when finished.
    virtual core::Job Cancel(const core::TenantId& tenant, const std::string& id) = 0;
    /// Runs a dead or failed job again from its first attempt (queued, due now). kConflict
    /// for a job in any other state.
    virtual core::Job Redrive(const core::TenantId& tenant, const std::string& id) = 0;

    // Queue operations (any tenant: the scheduler and workers serve every tenant).
    /// Ids of queued, due jobs never pushed or pushed longer ago than `repush_after_ms`;
    /// marks them pushed.
    virtual std::vector<std::string> TakeDueForPush(int64_t repush_after_ms, int limit) = 0;
    /// Leases a queued, due job for `owner`; nullopt when it is not leasable (already leased,
    /// finished, cancelled or not due).
    virtual std::optional<core::Job> Lease(const std::string& id,
                                           const std::string& owner,
                                           int64_t lease_ms) = 0;
    /// Extends the lease and stores progress; returns false when the lease was lost, and sets
    /// *cancel when cancellation was requested.
    virtual bool Heartbeat(const std::string& id,
                           const std::string& owner,
                           int64_t lease_ms,
                           double progress,
                           bool* cancel) = 0;
    virtual void Succeed(const std::string& id,
                         const std::string& owner,
                         const nlohmann::json& result) = 0;
    /// Records a failure: a requested cancel → cancelled; retryable → queued again after the
    /// backoff, or dead at max_attempts; not retryable → failed.
    virtual void Fail(const std::string& id,
                      const std::string& owner,
                      const std::string& error,
                      bool retryable,
                      const core::Backoff& backoff) = 0;
    virtual void MarkCancelled(const std::string& id, const std::string& owner) = 0;
    /// Gives a running job back (its worker is stopping): queued and due at once, the attempt
    /// not counted; cancelled instead when a cancel was requested.
    virtual void Release(const std::string& id, const std::string& owner) = 0;
    /// Expired leases (at most 500 per call): re-queued with backoff, cancelled when a cancel
    /// was requested, or dead at max_attempts. Returns how many.
    virtual int ReapExpired(const core::Backoff& backoff) = 0;
};

/// The Redis side of the job queue (a list of job ids) and the tenants' event streams.
class JobQueue {
public:
    virtual ~JobQueue() = default;
    /// Adds the ids (an id already waiting is not added again).
    virtual void Push(const std::vector<std::string>& job_ids) = 0;
    /// Blocks up to timeout_ms; nullopt on timeout.
    virtual std::optional<std::string> Pop(int timeout_ms) = 0;
    /// How many ids wait.
    virtual int64_t Depth() = 0;
};

std::unique_ptr<JobRepository> MakePgJobRepository(PgPool& pool);
std::unique_ptr<JobQueue> MakeRedisJobQueue(RedisClient& redis);

}  // namespace recs::store
