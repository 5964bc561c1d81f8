#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/store/event_store.hpp"

namespace recs::api {

/// Appends stored events to the tenants' Redis streams off the request path: the
/// acknowledgement of an event never waits on Redis. A batch that cannot be appended (Redis
/// down, refusing, or the queue full) stays in PostgreSQL's stream outbox, which the
/// scheduler's repair appends later; a batch appended is acknowledged there.
class StreamRelay {
public:
    StreamRelay(store::EventRepository& events, store::EventStream& stream);
    ~StreamRelay();
    StreamRelay(const StreamRelay&) = delete;
    StreamRelay& operator=(const StreamRelay&) = delete;

    /// Queues the events of outbox row `outbox_id` (never blocks).
    void Enqueue(int64_t outbox_id, const core::TenantId& tenant, std::vector<core::Event> events);
    /// Stops after the batches queued so far are tried (bounded by Redis's timeouts).
    void Stop();

private:
    struct Batch {
        int64_t outbox_id;
        core::TenantId tenant;
        std::vector<core::Event> events;
    };
    void Run();

    store::EventRepository& events_;
    store::EventStream& stream_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Batch> queue_;
    size_t queued_events_ = 0;
    bool stop_ = false;
    std::thread thread_;
    static constexpr size_t kMaxQueuedEvents = 500000;
};

/// Stores events durably (with their stream outbox row) and hands them to the StreamRelay.
/// Small batches of concurrent callers are coalesced: up to kMaxLeaders callers at a time
/// write one bounded round of what is pending, one statement per tenant, then return (a
/// leader never works on for others once its own events are stored). A batch of at least
/// kDirectBatch events is written by its own caller, so that no small request waits behind
/// another tenant's bulk.
class EventIngestor {
public:
    EventIngestor(store::EventRepository& events, StreamRelay& relay)
        : events_(events), relay_(relay) {}

    /// Blocks until the events are stored (bounded: kUnavailable after kMaxWait). Throws
    /// core::Error (kUnavailable) when the database is down; nothing is reported stored then.
    store::InsertResult Submit(const core::TenantId& tenant, std::vector<core::Event> events);

private:
    struct Pending {
        core::TenantId tenant;
        std::vector<core::Event> events;
        bool done = false;
        store::InsertResult result;
        std::exception_ptr error;
    };
    using Round = std::vector<std::shared_ptr<Pending>>;
    /// Writes one round; sets every Pending's result or error (never throws).
    void Write(Round& round);
    store::InsertResult Store(const core::TenantId& tenant, const std::vector<core::Event>& events);

    store::EventRepository& events_;
    StreamRelay& relay_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Pending>> pending_;
    int leaders_ = 0;
    static constexpr int kMaxLeaders = 2;
    static constexpr size_t kDirectBatch = 200;
    static constexpr size_t kMaxRoundEvents = 5000;
    static constexpr auto kMaxWait = std::chrono::seconds(30);
};

}  // namespace recs::api
