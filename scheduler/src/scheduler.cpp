#include "recs/scheduler/scheduler.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/store/loop_store.hpp"

namespace recs::scheduler {

Scheduler::Scheduler(store::PgPool& pg, store::RedisClient& redis, const core::Config& config)
    : config_(config),
      jobs_(store::MakePgJobRepository(pg)),
      queue_(store::MakeRedisJobQueue(redis)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
    thread_ = std::thread([this] {
        core::Log(core::LogLevel::kInfo, "scheduler started");
        while (!stop_) {
            try {
                Tick();
            } catch (const core::Error& e) {
                core::Log(core::LogLevel::kWarn, "scheduler tick failed", {{"error", e.detail()}});
            }
            for (int waited = 0; waited < config_.scheduler_tick_ms && !stop_; waited += 10)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    });
}

void Scheduler::Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

int Scheduler::Tick() {
    int reaped = jobs_->ReapExpired(config_.job_backoff_ms);
    if (reaped > 0) core::Log(core::LogLevel::kWarn, "expired leases reaped", {{"jobs", reaped}});
    int pushed = 0;
    for (;;) {
        // Marked pushed in PostgreSQL first: a crash before the Redis push is repaired by the
        // re-push of queued jobs older than job_repush_ms (the reconciliation sweep).
        auto ids = jobs_->TakeDueForPush(config_.job_repush_ms, 100);
        if (ids.empty()) break;
        queue_->Push(ids);
        pushed += static_cast<int>(ids.size());
        if (ids.size() < 100) break;
    }
    if (pushed > 0) core::Log(core::LogLevel::kDebug, "jobs pushed", {{"jobs", pushed}});
    return reaped + pushed;
}

}  // namespace recs::scheduler
