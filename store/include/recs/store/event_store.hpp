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
std::unique_ptr<EventStream> MakeRedisEventStream(RedisClient& redis);

}  // namespace recs::store
