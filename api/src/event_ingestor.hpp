#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/store/loop_store.hpp"

namespace recs::api {

/// Stores events durably and appends them to the tenants' Redis streams. Concurrent callers
/// are coalesced: up to kMaxLeaders (2) callers at a time (leaders) each write everything pending
/// in one statement per tenant, so single-event requests under load do not cost one round trip
/// each, and big batches still write in parallel.
class EventIngestor {
public:
    EventIngestor(store::EventRepository& events, store::EventStream& stream)
        : events_(events), stream_(stream) {}

    /// Blocks until the events are stored. Throws core::Error (kUnavailable) when the database
    /// is down; nothing is reported stored then.
    store::InsertResult Submit(const core::TenantId& tenant, std::vector<core::Event> events);

private:
    struct Pending {
        core::TenantId tenant;
        std::vector<core::Event> events;
        std::promise<store::InsertResult> done;
    };
    void Drain();

    store::EventRepository& events_;
    store::EventStream& stream_;
    std::mutex mu_;
    std::vector<std::shared_ptr<Pending>> pending_;
    static constexpr int kMaxLeaders = 2;
    int leaders_ = 0;
};

}  // namespace recs::api
