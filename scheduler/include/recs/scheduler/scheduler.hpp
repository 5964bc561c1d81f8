#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "recs/core/config.hpp"

namespace recs::store {
class PgPool;
class RedisClient;
class JobRepository;
class JobQueue;
}  // namespace recs::store

namespace recs::scheduler {

/// The scheduler role: the outbox relay (committed queued jobs → Redis, and re-push of queued
/// jobs that Redis lost), due retries, and reaping of expired leases.
class Scheduler {
public:
    Scheduler(store::PgPool& pg, store::RedisClient& redis, const core::Config& config);
    ~Scheduler();
    void Start();
    void Stop();
    /// One pass of every duty. Returns the number of jobs pushed or reaped.
    int Tick();

private:
    core::Config config_;
    std::unique_ptr<store::JobRepository> jobs_;
    std::unique_ptr<store::JobQueue> queue_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace recs::scheduler
