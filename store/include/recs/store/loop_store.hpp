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
    /// Stores the batch in one statement; duplicates (stored before or repeated within the
    /// batch) are stored once.
    virtual InsertResult Insert(const core::TenantId& tenant,
                                const std::vector<core::Event>& events) = 0;
    virtual std::optional<core::Event> Find(const core::TenantId& tenant,
                                            const std::string& event_id) = 0;
    /// Streams the tenant's events with an item, in batches, to `fn` (for training).
    virtual void ForEachInteraction(const core::TenantId& tenant,
                                    const std::function<void(const EventRow&)>& fn) = 0;
    virtual int64_t Count(const core::TenantId& tenant) = 0;
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
    /// Next version number of a model.
    virtual int NextVersion(const core::TenantId& tenant, const std::string& model_id) = 0;
    /// Records a new version (status ready). Throws kConflict if the job already made one.
    virtual core::ModelVersion CreateVersion(const core::TenantId& tenant,
                                             const core::ModelVersion& v) = 0;
    /// Makes the version the model's deployed one. Returns it.
    virtual core::ModelVersion Deploy(const core::Actor& actor,
                                      const core::TenantId& tenant,
                                      const std::string& model_id,
                                      const std::string& version_id) = 0;
    /// Returns to the version deployed before the current one (kConflict when none).
    virtual core::ModelVersion Rollback(const core::Actor& actor,
                                        const core::TenantId& tenant,
                                        const std::string& model_id) = 0;
    /// The deployed version of a model, if any.
    virtual std::optional<core::ModelVersion> DeployedVersion(const core::TenantId& tenant,
                                                              const std::string& model_id) = 0;
};

/// Jobs: PostgreSQL is their source of truth.
class JobRepository {
public:
    virtual ~JobRepository() = default;
    /// Inserts a queued job. With an idempotency key, a repeat returns the first job.
    virtual core::Job Create(const core::TenantId& tenant,
                             const std::string& kind,
                             const nlohmann::json& payload,
                             int max_attempts,
                             const std::optional<std::string>& idempotency_key) = 0;
    virtual std::optional<core::Job> Find(const core::TenantId& tenant, const std::string& id) = 0;
    virtual Page<core::Job> List(const core::TenantId& tenant,
                                 const PageRequest& page,
                                 const std::optional<std::string>& status,
                                 const std::optional<std::string>& kind) = 0;
    /// Cancels a queued job at once, or asks a running one to stop. kConflict when finished.
    virtual core::Job Cancel(const core::TenantId& tenant, const std::string& id) = 0;

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
    /// Records a failure: retryable → queued again after backoff, or dead at max_attempts;
    /// not retryable → failed.
    virtual void Fail(const std::string& id,
                      const std::string& owner,
                      const std::string& error,
                      bool retryable,
                      int64_t backoff_base_ms) = 0;
    virtual void MarkCancelled(const std::string& id, const std::string& owner) = 0;
    /// Expired leases: re-queued with backoff, or dead at max_attempts. Returns how many.
    virtual int ReapExpired(int64_t backoff_base_ms) = 0;
};

/// The Redis side of the job queue (a list of job ids) and the tenants' event streams.
class JobQueue {
public:
    virtual ~JobQueue() = default;
    virtual void Push(const std::vector<std::string>& job_ids) = 0;
    /// Blocks up to timeout_ms; nullopt on timeout.
    virtual std::optional<std::string> Pop(int timeout_ms) = 0;
};

class EventStream {
public:
    virtual ~EventStream() = default;
    /// Appends the events to the tenant's stream (one pipelined round trip).
    virtual void Append(const core::TenantId& tenant, const std::vector<core::Event>& events) = 0;
    virtual int64_t Length(const core::TenantId& tenant) = 0;
};

std::unique_ptr<EventRepository> MakePgEventRepository(PgPool& pool);
std::unique_ptr<FeatureRepository> MakePgFeatureRepository(PgPool& pool);
std::unique_ptr<ModelRepository> MakePgModelRepository(PgPool& pool);
std::unique_ptr<JobRepository> MakePgJobRepository(PgPool& pool);
std::unique_ptr<JobQueue> MakeRedisJobQueue(RedisClient& redis);
std::unique_ptr<EventStream> MakeRedisEventStream(RedisClient& redis);

}  // namespace recs::store
