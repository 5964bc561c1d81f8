#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <set>
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

/// The connections a worker uses, each for one kind of traffic so that none starves another:
/// `data` for training scans and versions, `control` for leases and heartbeats (a busy data
/// pool never delays a heartbeat, so leases do not expire under load), `blocking` for the
/// queue's blocking pops (its reply timeout exceeds the pop's block).
struct WorkerConnections {
    store::PgPool* data = nullptr;
    store::PgPool* control = nullptr;
    store::RedisClient* blocking = nullptr;
};

/// A member of a named worker pool: leases jobs from the queue and runs them (with a heart-
/// beat that keeps the lease and carries progress and cancellation), and serves predictions
/// through its in-process pool. No exception leaves its threads. On Stop, running jobs are
/// interrupted and given back to the queue at once, without counting the attempt.
class Worker {
public:
    Worker(WorkerConnections connections, std::string pool_name, const core::Config& config);
    ~Worker();
    void Start();
    /// Interrupts running jobs, releases their leases, joins.
    void Stop();
    /// {"status": "up"|"down", "pools": {name: {...}}} for /health.
    nlohmann::json Status() const;
    InProcessPool& pool() { return *pool_; }
    /// Deletes artifact files no model version refers to (older than `min_age`); returns how
    /// many. Runs on its own every 10 minutes.
    size_t CollectArtifacts(std::chrono::seconds min_age);

private:
    void Loop(int slot);
    void Run(const std::string& job_id);
    void Housekeeping();

    core::Config config_;
    std::string pool_name_;
    std::string owner_;
    std::unique_ptr<store::JobRepository> jobs_;  ///< on the control pool
    std::unique_ptr<store::JobQueue> queue_;
    std::unique_ptr<store::EventRepository> events_;
    std::unique_ptr<store::ModelRepository> models_;
    std::unique_ptr<InProcessPool> pool_;
    std::atomic<bool> stop_{false};
    std::atomic<int> running_jobs_{0};
    std::atomic<bool> started_{false};
    std::vector<std::thread> threads_;
    std::thread housekeeping_;
    std::mutex stop_mu_;
};

}  // namespace recs::workers
