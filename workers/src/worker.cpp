#include "recs/workers/worker.hpp"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/store/loop_store.hpp"
#include "recs/workers/in_process_pool.hpp"
#include "recs/workers/training.hpp"

namespace recs::workers {

Worker::Worker(store::PgPool& pg,
               store::RedisClient& redis,
               std::string pool_name,
               const core::Config& config)
    : config_(config),
      pool_name_(std::move(pool_name)),
      owner_(pool_name_ + "@" + std::to_string(::getpid()) + "-" + core::RandomToken(6)),
      jobs_(store::MakePgJobRepository(pg)),
      queue_(store::MakeRedisJobQueue(redis)),
      events_(store::MakePgEventRepository(pg)),
      models_(store::MakePgModelRepository(pg)),
      pool_(std::make_unique<InProcessPool>(pool_name_)) {}

Worker::~Worker() { Stop(); }

void Worker::Start() {
    started_ = true;
    for (int i = 0; i < config_.worker_concurrency; ++i)
        threads_.emplace_back([this, i] { Loop(i); });
    core::Log(
        core::LogLevel::kInfo, "worker started",
        {{"pool", pool_name_}, {"owner", owner_}, {"concurrency", config_.worker_concurrency}});
}

void Worker::Stop() {
    stop_ = true;
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
    started_ = false;
}

void Worker::Loop(int) {
    while (!stop_) {
        try {
            auto id = queue_->Pop(500);
            if (id) Run(*id);
        } catch (const core::Error& e) {
            core::Log(core::LogLevel::kWarn, "worker loop error", {{"error", e.detail()}});
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
}

void Worker::Run(const std::string& job_id) {
    auto job = jobs_->Lease(job_id, owner_, config_.job_lease_ms);
    if (!job) return;  // a duplicate push, or another worker has it
    ++running_jobs_;
    core::Log(core::LogLevel::kInfo, "job started",
              {{"job", job->id},
               {"tenant", job->tenant_id},
               {"kind", job->kind},
               {"attempt", job->attempts}});
    std::atomic<bool> cancel{false};
    std::atomic<bool> lease_lost{false};
    std::atomic<double> progress{0};
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::thread heartbeat([&] {
        std::unique_lock lock(mu);
        while (!done) {
            cv.wait_for(lock, std::chrono::milliseconds(config_.job_heartbeat_ms));
            if (done) break;
            lock.unlock();
            try {
                bool cancel_requested = false;
                if (!jobs_->Heartbeat(job->id, owner_, config_.job_lease_ms, progress.load(),
                                      &cancel_requested)) {
                    lease_lost = true;
                    cancel = true;
                }
                if (cancel_requested) cancel = true;
            } catch (const core::Error&) {  // keep trying: the lease outlives a short outage
            }
            lock.lock();
        }
    });
    auto finish = [&] {
        {
            std::lock_guard lock(mu);
            done = true;
        }
        cv.notify_all();
        heartbeat.join();
        --running_jobs_;
    };
    try {
        nlohmann::json result;
        if (job->kind == core::kJobTrain) {
            TrainDeps deps{events_.get(), models_.get(), config_.data_dir};
            result = RunTrainJob(
                *job, deps, [&](double p) { progress = p; }, &cancel);
        } else {
            throw core::Error(core::ErrorCode::kUnprocessable, "unknown job kind " + job->kind);
        }
        finish();
        jobs_->Succeed(job->id, owner_, result);
        core::Log(core::LogLevel::kInfo, "job succeeded", {{"job", job->id}});
    } catch (const core::Error& e) {
        finish();
        if (lease_lost) {
            core::Log(core::LogLevel::kWarn, "job lease lost", {{"job", job->id}});
        } else if (cancel) {
            jobs_->MarkCancelled(job->id, owner_);
            core::Log(core::LogLevel::kInfo, "job cancelled", {{"job", job->id}});
        } else {
            bool retryable = e.code() != core::ErrorCode::kUnprocessable &&
                             e.code() != core::ErrorCode::kNotFound &&
                             e.code() != core::ErrorCode::kInvalidArgument;
            jobs_->Fail(job->id, owner_, e.detail(), retryable, config_.job_backoff_ms);
            core::Log(core::LogLevel::kWarn, "job failed",
                      {{"job", job->id}, {"error", e.detail()}, {"retryable", retryable}});
        }
    } catch (const std::exception& e) {
        finish();
        jobs_->Fail(job->id, owner_, std::string("internal error: ") + e.what(), true,
                    config_.job_backoff_ms);
        core::Log(core::LogLevel::kError, "job crashed", {{"job", job->id}, {"error", e.what()}});
    }
}

nlohmann::json Worker::Status() const {
    bool up = started_.load() && !stop_.load();
    return {{"status", up ? "up" : "down"},
            {"pools",
             {{pool_name_,
               {{"status", up ? "up" : "down"},
                {"workers", config_.worker_concurrency},
                {"running_jobs", running_jobs_.load()},
                {"loaded_models", pool_->loaded()}}}}}};
}

}  // namespace recs::workers
