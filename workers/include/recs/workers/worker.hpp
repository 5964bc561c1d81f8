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
class ArtifactStore;
class JobRepository;
class JobQueue;
class EventRepository;
class ModelRepository;
class PoolRegistry;
class WebhookRepository;
}  // namespace recs::store

namespace recs::workers {

class InProcessPool;
class PoolServer;
class WebhookDispatcher;

/// The stores a worker uses, built by the composition root (cmd/ and wiring/), not owned.
/// Each kind of traffic is on connections of its own so that none starves another: `jobs` on
/// control connections (leases and heartbeats: a busy data pool never delays a heartbeat, so
/// leases do not expire under load), `queue` on blocking ones (their reply timeout exceeds a
/// pop's block), `events` and `models` on data connections (training scans, versions).
struct WorkerStores {
    store::JobRepository* jobs = nullptr;
    store::JobQueue* queue = nullptr;
    store::EventRepository* events = nullptr;
    store::ModelRepository* models = nullptr;
    store::ArtifactStore* artifacts = nullptr;
    /// Where members announce themselves; null: the worker does not serve predictions.
    store::PoolRegistry* registry = nullptr;
    /// The webhook outbox; null: this worker sends no webhooks.
    store::WebhookRepository* webhooks = nullptr;
};

/// A member of a named worker pool: leases jobs from the queue and runs them (with a heart-
/// beat that keeps the lease and carries progress and cancellation), and serves predictions
/// through its in-process pool. No exception leaves its threads. On Stop, running jobs are
/// interrupted and given back to the queue at once, without counting the attempt.
class Worker {
public:
    Worker(WorkerStores stores, std::string pool_name, const core::Config& config);
    ~Worker();
    void Start();
    /// Interrupts running jobs, releases their leases, joins.
    void Stop();
    /// {"status": "up"|"down", "pools": {name: {...}}} for /health.
    nlohmann::json Status() const;
    /// The port predictions are served on (0 when the worker does not serve them).
    int serve_port() const { return serve_port_; }
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
    store::JobRepository* jobs_;  ///< on the control pool
    store::JobQueue* queue_;
    store::EventRepository* events_;
    store::ModelRepository* models_;
    store::ArtifactStore* artifacts_;
    std::unique_ptr<InProcessPool> pool_;
    std::atomic<bool> stop_{false};
    std::atomic<int> running_jobs_{0};
    std::atomic<bool> started_{false};
    std::vector<std::thread> threads_;
    std::thread housekeeping_;
    std::unique_ptr<PoolServer> server_;
    std::unique_ptr<WebhookDispatcher> webhooks_;
    store::PoolRegistry* registry_ = nullptr;
    int serve_port_ = 0;
    std::string member_id_;
    std::mutex announce_mu_;
    void Announce(bool leaving);
    std::mutex stop_mu_;
};

}  // namespace recs::workers
