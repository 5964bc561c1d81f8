#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "recs/core/config.hpp"

namespace recs::store {
class PgPool;
class RedisClient;
class JobRepository;
class JobQueue;
class EventRepository;
class ModelRepository;
}  // namespace recs::store

namespace recs::workers {

class InProcessPool;

/// A member of a named worker pool: leases jobs from the queue and runs them (with a heart-
/// beat that keeps the lease and carries progress and cancellation), and serves predictions
/// through its in-process pool.
class Worker {
public:
    Worker(store::PgPool& pg,
           store::RedisClient& redis,
           std::string pool_name,
           const core::Config& config);
    ~Worker();
    void Start();
    void Stop();
    /// {"status": "up"|"down", "pools": {name: {...}}} for /health.
    nlohmann::json Status() const;
    InProcessPool& pool() { return *pool_; }

private:
    void Loop(int slot);
    void Run(const std::string& job_id);

    core::Config config_;
    std::string pool_name_;
    std::string owner_;
    std::unique_ptr<store::JobRepository> jobs_;
    std::unique_ptr<store::JobQueue> queue_;
    std::unique_ptr<store::EventRepository> events_;
    std::unique_ptr<store::ModelRepository> models_;
    std::unique_ptr<InProcessPool> pool_;
    std::atomic<bool> stop_{false};
    std::atomic<int> running_jobs_{0};
    std::atomic<bool> started_{false};
    std::vector<std::thread> threads_;
};

}  // namespace recs::workers
