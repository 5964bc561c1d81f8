#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "recs/core/config.hpp"

namespace recs::store {
class JobRepository;
class JobQueue;
class EventRepository;
class EventStream;
class IdempotencyRepository;
class LeaderLock;
class ExperimentRepository;
}  // namespace recs::store

namespace recs::scheduler {

/// The stores the scheduler works on, built by the composition root (cmd/ and wiring/).
/// Not owned; each must outlive the Scheduler.
struct SchedulerStores {
    store::JobRepository* jobs = nullptr;
    store::JobQueue* queue = nullptr;
    store::EventRepository* events = nullptr;
    store::EventStream* streams = nullptr;
    store::IdempotencyRepository* idempotency = nullptr;
    store::LeaderLock* leader = nullptr;
    store::ExperimentRepository* experiments = nullptr;  ///< null: no experiment duties
};

/// What one scheduler pass did.
struct TickReport {
    int reaped = 0;              ///< expired leases re-queued, cancelled or dead-lettered
    int pushed = 0;              ///< due queued jobs relayed to Redis
    size_t events_repaired = 0;  ///< events appended to their streams from the outbox
    int idempotency_expired = 0;
    int experiments_ended = 0;  ///< running experiments past their end, stopped and frozen
    int bandits_updated = 0;    ///< experiments whose weights a bandit set
};

/// The scheduler role: the outbox relay (committed queued jobs → Redis, and re-push of queued
/// jobs that Redis lost), due retries, reaping of expired leases, the repair of event streams
/// from the stream outbox, and expiry of idempotency keys. One scheduler is active at a time:
/// the holder of a PostgreSQL advisory lock; a standby takes over within about a second of
/// the leader's death. Each duty runs on its own: one failing does not stop the others.
class Scheduler {
public:
    Scheduler(SchedulerStores stores, const core::Config& config);
    ~Scheduler();
    void Start();
    void Stop();
    /// One pass of every duty (whether or not this process leads; for tests).
    TickReport Tick();
    /// True while this process is the active scheduler.
    bool leading() const { return leading_.load(); }

private:
    int EndExperiments();
    int UpdateBandits();

    core::Config config_;
    store::JobRepository* jobs_;
    store::JobQueue* queue_;
    store::EventRepository* events_;
    store::EventStream* streams_;
    store::IdempotencyRepository* idempotency_;
    store::LeaderLock* leader_;
    store::ExperimentRepository* experiments_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> leading_{false};
    std::thread thread_;
};

}  // namespace recs::scheduler
