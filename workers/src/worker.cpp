#include "recs/workers/worker.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/store/artifact_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/pool_registry.hpp"
#include "recs/workers/in_process_pool.hpp"
#include "recs/workers/pool_server.hpp"
#include "recs/workers/simulation.hpp"
#include "recs/workers/training.hpp"
#include "recs/workers/webhook_dispatcher.hpp"

namespace recs::workers {
namespace {

namespace fs = std::filesystem;

// A member announces itself every second; its entry lives 4 s past its last announcement.
constexpr int kBeatMs = 1000;
constexpr int kMemberTtlMs = 4000;

/// The heartbeat of one running job: renews the lease on the control connection and reads
/// cancellation. Join() may be called any number of times (finding H1: a second join of a
/// finished thread used to terminate the process).
class Heartbeat {
public:
    Heartbeat(store::JobRepository& jobs,
              const std::string& job_id,
              const std::string& owner,
              const core::Config& cfg,
              std::atomic<double>& progress,
              std::atomic<bool>& cancel,
              std::atomic<bool>& lease_lost)
        : thread_([&, job_id, owner] {
              std::unique_lock lock(mu_);
              while (!done_) {
                  cv_.wait_for(lock, std::chrono::milliseconds(cfg.job_heartbeat_ms));
                  if (done_) break;
                  lock.unlock();
                  try {
                      bool cancel_requested = false;
                      if (!jobs.Heartbeat(job_id, owner, cfg.job_lease_ms, progress.load(),
                                          &cancel_requested)) {
                          lease_lost = true;
                          cancel = true;
                      }
                      if (cancel_requested) cancel = true;
                  } catch (const std::exception&) {
                      // Keep trying: the lease outlives a short outage.
                  }
                  lock.lock();
              }
          }) {}
    ~Heartbeat() { Join(); }
    void Join() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

/// Runs a queue write after a job ended; a failure (the database down) leaves the lease to
/// expire, and the scheduler's reaper then decides.
template <typename F>
void Settle(const char* what, const std::string& job_id, F&& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        core::Log(core::LogLevel::kWarn, "job outcome not recorded; the lease will expire",
                  {{"job", job_id}, {"step", what}, {"error", e.what()}});
    }
}

}  // namespace

Worker::Worker(WorkerStores s, std::string pool_name, const core::Config& config)
    : config_(config),
      pool_name_(std::move(pool_name)),
      owner_(pool_name_ + "@" + std::to_string(::getpid()) + "-" + core::RandomToken(6)),
      jobs_(s.jobs),
      queue_(s.queue),
      events_(s.events),
      models_(s.models),
      artifacts_(s.artifacts),
      pool_(std::make_unique<InProcessPool>(
          pool_name_,
          PoolLimits{.max_bytes = static_cast<size_t>(config.pool_memory_mb) << 20},
          s.artifacts)) {
    if (s.registry && !config.internal_token.empty()) {
        registry_ = s.registry;
        server_ = std::make_unique<PoolServer>(
            *pool_, PoolServerOptions{.host = config.serve_host,
                                      .port = config.serve_port,
                                      .threads = config.serve_threads,
                                      .token = config.internal_token,
                                      .on_loaded = [this] { Announce(false); }});
        member_id_ = owner_;
    }
    if (s.webhooks) webhooks_ = std::make_unique<WebhookDispatcher>(*s.webhooks, config, owner_);
}

Worker::~Worker() { Stop(); }

void Worker::Announce(bool leaving) {
    if (!registry_) return;
    std::lock_guard lock(announce_mu_);  // the heartbeat thread and the serving threads
    core::PoolMember m;
    m.id = member_id_;
    m.pool = pool_name_;
    // An IPv6 host (a pod IP on an IPv6 cluster) is bracketed, as URLs need it.
    const auto& host = config_.serve_address;
    bool v6 = host.find(':') != std::string::npos && host.front() != '[';
    m.address = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(serve_port_);
    m.loaded = pool_->LoadedVersions();
    m.inflight = server_->inflight();
    std::tie(m.p50_ms, m.p99_ms) = server_->LatencyP50P99();
    m.heartbeat_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    try {
        if (leaving)
            registry_->Leave(m);
        else
            registry_->Heartbeat(m, kMemberTtlMs);
    } catch (const std::exception& e) {
        core::Log(core::LogLevel::kWarn, "pool heartbeat failed", {{"error", e.what()}});
    }
}

void Worker::Start() {
    started_ = true;
    if (server_) {
        serve_port_ = server_->Start();
        Announce(false);
        core::Log(core::LogLevel::kInfo, "serving the pool",
                  {{"pool", pool_name_}, {"port", serve_port_}, {"member", member_id_}});
    }
    for (int i = 0; i < config_.worker_concurrency; ++i)
        threads_.emplace_back([this, i] { Loop(i); });
    housekeeping_ = std::thread([this] { Housekeeping(); });
    if (webhooks_) webhooks_->Start();
    core::Log(
        core::LogLevel::kInfo, "worker started",
        {{"pool", pool_name_}, {"owner", owner_}, {"concurrency", config_.worker_concurrency}});
}

void Worker::Stop() {
    if (server_ && started_) {
        Announce(true);  // the api stops picking this member at once
        server_->Stop();
    }
    stop_ = true;
    if (webhooks_) webhooks_->Stop();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
    if (housekeeping_.joinable()) housekeeping_.join();
    started_ = false;
}

void Worker::Loop(int) {
    int failures = 0;
    while (!stop_) {
        try {
            auto id = queue_->Pop(500);
            if (id) Run(*id);
            failures = 0;
        } catch (const std::exception& e) {
            // Nothing escapes the thread; back off while a dependency is down.
            ++failures;
            if (failures == 1 || failures % 50 == 0)
                core::Log(core::LogLevel::kWarn, "worker loop error",
                          {{"error", e.what()}, {"in_a_row", failures}});
            for (int waited = 0; waited < std::min(2000, 100 * failures) && !stop_; waited += 50)
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
}

void Worker::Run(const std::string& job_id) {
    auto job = jobs_->Lease(job_id, owner_, config_.job_lease_ms);
    if (!job) return;  // a duplicate push, or another worker has it
    ++running_jobs_;
    struct Running {
        std::atomic<int>& n;
        ~Running() { --n; }
    } running{running_jobs_};
    core::Log(core::LogLevel::kInfo, "job started",
              {{"job", job->id},
               {"tenant", job->tenant_id},
               {"kind", job->kind},
               {"attempt", job->attempts}});
    std::atomic<bool> cancel{false};
    std::atomic<bool> lease_lost{false};
    std::atomic<double> progress{0};
    Heartbeat heartbeat(*jobs_, job->id, owner_, config_, progress, cancel, lease_lost);
    // Stop() interrupts the job: the engine checks `cancel` at its checkpoints.
    std::atomic<bool> watching{true};
    std::thread stop_watch([&] {
        while (watching && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (stop_) cancel = true;
    });
    auto finish = [&] {
        heartbeat.Join();
        watching = false;
        if (stop_watch.joinable()) stop_watch.join();
    };
    try {
        nlohmann::json result;
        if (job->kind == core::JobKind::kTrain) {
            TrainDeps deps{events_, models_, artifacts_,
                           static_cast<size_t>(config_.train_memory_mb) << 20, owner_};
            result = RunTrainJob(
                *job, deps, [&](double p) { progress = p; }, &cancel);
        } else if (job->kind == core::JobKind::kSimulate) {
            result = RunSimulateJob(
                *job, *events_, static_cast<size_t>(config_.train_memory_mb) << 20,
                [&](double p) { progress = p; }, &cancel);
        } else {
            throw core::Error(core::ErrorCode::kUnprocessable,
                              "unknown job kind " + std::string(core::JobKindName(job->kind)));
        }
        finish();
        Settle("succeed", job->id, [&] { jobs_->Succeed(job->id, owner_, result); });
        core::Log(core::LogLevel::kInfo, "job succeeded", {{"job", job->id}});
    } catch (const std::exception& ex) {
        finish();
        const auto* e = dynamic_cast<const core::Error*>(&ex);
        if (lease_lost) {
            core::Log(core::LogLevel::kWarn, "job lease lost", {{"job", job->id}});
        } else if (stop_) {
            Settle("release", job->id, [&] { jobs_->Release(job->id, owner_); });
            core::Log(core::LogLevel::kInfo, "job given back: the worker is stopping",
                      {{"job", job->id}});
        } else if (cancel) {
            Settle("cancel", job->id, [&] { jobs_->MarkCancelled(job->id, owner_); });
            core::Log(core::LogLevel::kInfo, "job cancelled", {{"job", job->id}});
        } else {
            bool retryable = !e || core::IsRetryable(e->code());
            // Tenants read job.error: only our own messages reach it, never raw exception text.
            std::string detail = e && e->code() != core::ErrorCode::kInternal
                                     ? e->detail()
                                     : "internal error in the worker (logged with the job id)";
            Settle("fail", job->id, [&] {
                jobs_->Fail(job->id, owner_, detail, retryable,
                            core::Backoff{config_.job_backoff_ms, config_.job_backoff_cap_ms});
            });
            core::Log(e ? core::LogLevel::kWarn : core::LogLevel::kError, "job failed",
                      {{"job", job->id}, {"error", ex.what()}, {"retryable", retryable}});
        }
    }
}

void Worker::Housekeeping() {
    auto next = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    auto beat = std::chrono::steady_clock::now();
    while (!stop_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (server_ &&
            std::chrono::steady_clock::now() - beat >= std::chrono::milliseconds(kBeatMs)) {
            beat = std::chrono::steady_clock::now();
            Announce(false);
        }
        if (std::chrono::steady_clock::now() < next) continue;
        next = std::chrono::steady_clock::now() + std::chrono::minutes(10);
        try {
            size_t n = CollectArtifacts(std::chrono::hours(1));
            if (n > 0)
                core::Log(core::LogLevel::kInfo, "unreferenced artifacts deleted", {{"files", n}});
        } catch (const std::exception& e) {
            core::Log(core::LogLevel::kWarn, "artifact collection failed", {{"error", e.what()}});
        }
    }
}

size_t Worker::CollectArtifacts(std::chrono::seconds min_age) {
    return artifacts_->Collect(models_->ArtifactPaths(), min_age);
}

nlohmann::json Worker::Status() const {
    bool up = started_.load() && !stop_.load();
    return {{"status", up ? "up" : "down"},
            {"pools",
             {{pool_name_,
               {{"status", up ? "up" : "down"},
                {"workers", config_.worker_concurrency},
                {"running_jobs", running_jobs_.load()},
                {"loaded_models", pool_->loaded()},
                {"loaded_bytes", pool_->loaded_bytes()}}}}}};
}

}  // namespace recs::workers
