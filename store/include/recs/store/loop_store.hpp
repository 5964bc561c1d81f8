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

/// Result of storing a batch of events.
struct InsertResult {
    std::vector<bool> inserted;  ///< per input event: false = duplicate event_id
    size_t accepted = 0;
    size_t duplicates = 0;
    int64_t outbox_id = 0;  ///< the stream outbox row of the stored events (0: none stored)
};

/// A compact row for training: what the interaction matrix needs.
struct EventRow {
    std::string user_id;
    std::string item_id;
    std::string type;
    double value = 1.0;
    int64_t timestamp_s = 0;
};

/// Events of tenants, idempotent by (tenant, event_id).
class EventRepository {
public:
    virtual ~EventRepository() = default;
    /// Stores the batch in one statement, with its stream outbox row; duplicates (stored
    /// before or repeated within the batch) are stored once.
    virtual InsertResult Insert(const core::TenantId& tenant,
                                const std::vector<core::Event>& events) = 0;
    virtual std::optional<core::Event> Find(const core::TenantId& tenant,
                                            const std::string& event_id) = 0;
    /// Streams the tenant's events with an item, in batches, to `fn` (for training).
    virtual void ForEachInteraction(const core::TenantId& tenant,
                                    const std::function<void(const EventRow&)>& fn) = 0;
    /// Deletes outbox rows whose events were appended to their streams.
    virtual void AckStreamed(const std::vector<int64_t>& outbox_ids) = 0;
    /// Appends, through `append`, the events of outbox rows older than `older_than_ms` (at most
    /// `limit` rows) and deletes those rows. Returns the number of events appended. Events may
    /// reach a stream twice (a relay that appended but died before its ack): consumers dedupe
    /// by event_id.
    virtual size_t RepairStreams(
        int64_t older_than_ms,
        int limit,
        const std::function<void(const core::TenantId&, const std::vector<core::Event>&)>&
            append) = 0;
};

/// User and item features.
class FeatureRepository {
public:
    virtual ~FeatureRepository() = default;
    /// Upserts (replaces) the features; returns updated_at.
    virtual std::string Upsert(const core::TenantId& tenant,
                               const std::string& entity_type,
                               const std::string& entity_id,
                               const nlohmann::json& features) = 0;
    /// Upserts many in one statement.
    virtual void UpsertMany(const core::TenantId& tenant, const nlohmann::json& rows) = 0;
    /// {features, updated_at} or nullopt.
    virtual std::optional<std::pair<nlohmann::json, std::string>> Find(
        const core::TenantId& tenant,
        const std::string& entity_type,
        const std::string& entity_id) = 0;
    /// Features of many items (missing ones absent from the result).
    virtual std::vector<std::pair<std::string, nlohmann::json>> FindItems(
        const core::TenantId& tenant, const std::vector<std::string>& item_ids) = 0;
};

/// Who may still write a job's results: the worker holding its lease.
struct JobFence {
    std::string job_id;
    std::string owner;
};

/// Models, versions and deployments.
class ModelRepository {
public:
    virtual ~ModelRepository() = default;
    /// Throws kConflict when the name is taken.
    virtual core::ModelDef Create(const core::Actor& actor,
                                  const core::TenantId& tenant,
                                  const core::ModelDef& def) = 0;
    virtual std::optional<core::ModelDef> Find(const core::TenantId& tenant,
                                               const std::string& id) = 0;
    virtual std::optional<core::ModelDef> FindByName(const core::TenantId& tenant,
                                                     const std::string& name) = 0;
    virtual std::optional<core::ModelDef> FindDefault(const core::TenantId& tenant) = 0;
    virtual Page<core::ModelDef> List(const core::TenantId& tenant, const PageRequest& page) = 0;
    /// Applies the set fields; is_default=true clears the flag on the tenant's other models.
    virtual core::ModelDef Update(const core::Actor& actor,
                                  const core::TenantId& tenant,
                                  const std::string& id,
                                  const std::optional<nlohmann::json>& hyperparameters,
                                  const std::optional<std::string>& description,
                                  const std::optional<bool>& is_default) = 0;
    virtual void Delete(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const std::string& id) = 0;

    virtual Page<core::ModelVersion> ListVersions(const core::TenantId& tenant,
                                                  const std::string& model_id,
                                                  const PageRequest& page) = 0;
    virtual std::optional<core::ModelVersion> FindVersion(const core::TenantId& tenant,
                                                          const std::string& model_id,
                                                          const std::string& version_id) = 0;
    /// A version by its number.
    virtual std::optional<core::ModelVersion> FindVersionByNumber(const core::TenantId& tenant,
                                                                  const std::string& model_id,
                                                                  int version) = 0;
    /// The version a training job made, if any (idempotent job handlers).
    virtual std::optional<core::ModelVersion> FindVersionByJob(const core::TenantId& tenant,
                                                               const std::string& job_id) = 0;
    /// The artifact paths of every version of every tenant (artifact garbage collection).
    virtual std::vector<std::string> ArtifactPaths() = 0;
    /// Records a new version (status ready). With a fence, only while the job's lease is still
    /// held by fence->owner (a worker whose lease expired cannot record a version). Throws
    /// kConflict if the job already made one, or the lease is lost.
    virtual core::ModelVersion CreateVersion(const core::TenantId& tenant,
                                             const core::ModelVersion& v,
                                             const std::optional<JobFence>& fence) = 0;
    /// Makes the version the model's deployed one, served by worker pool `pool`. Returns it.
    virtual core::ModelVersion Deploy(const core::Actor& actor,
                                      const core::TenantId& tenant,
                                      const std::string& model_id,
                                      const std::string& version_id,
                                      const std::string& pool) = 0;
    /// Returns to the version deployed before `expected_current`, which must still be the
    /// deployed one (checked under the model's lock). `before_switch` runs on the target
    /// version and the pool of its deployment, before anything changes (it preloads the
    /// artifact; if it throws, nothing changes). kConflict when another version is deployed or
    /// none is earlier.
    virtual core::ModelVersion Rollback(
        const core::Actor& actor,
        const core::TenantId& tenant,
        const std::string& model_id,
        const std::string& expected_current,
        const std::function<void(const core::ModelVersion&, const std::string& pool)>&
            before_switch) = 0;
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

class EventStream {
public:
    virtual ~EventStream() = default;
    /// Appends the events to the tenant's stream (pipelined). Throws kUnavailable when Redis
    /// fails or refuses (an error reply such as OOM).
    virtual void Append(const core::TenantId& tenant, const std::vector<core::Event>& events) = 0;
    virtual int64_t Length(const core::TenantId& tenant) = 0;
    /// Removes the tenant's stream (its deletion).
    virtual void Delete(const core::TenantId& tenant) = 0;
};

std::unique_ptr<EventRepository> MakePgEventRepository(PgPool& pool);
std::unique_ptr<FeatureRepository> MakePgFeatureRepository(PgPool& pool);
std::unique_ptr<ModelRepository> MakePgModelRepository(PgPool& pool);
std::unique_ptr<JobRepository> MakePgJobRepository(PgPool& pool);
std::unique_ptr<JobQueue> MakeRedisJobQueue(RedisClient& redis);
std::unique_ptr<EventStream> MakeRedisEventStream(RedisClient& redis);

}  // namespace recs::store
