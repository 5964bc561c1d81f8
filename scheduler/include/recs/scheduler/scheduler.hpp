#pragma once

#include <atomic>
#include <memory>
#include <thread>

namespace recs::store {
class PgPool;
class RedisClient;
}  // namespace recs::store

namespace recs::scheduler {

/// The scheduler role: runs its periodic duties on a background thread until Stop().
class Scheduler {
public:
    Scheduler(store::PgPool& pg, store::RedisClient& redis);
    ~Scheduler();
    void Start();
    void Stop();
    /// One pass of every duty (exposed for tests). Returns the number of jobs it moved.
    int Tick();

private:
    store::PgPool& pg_;
    store::RedisClient& redis_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace recs::scheduler
