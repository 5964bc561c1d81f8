#include "recs/scheduler/scheduler.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "recs/core/error.hpp"
#include "recs/core/experiment_bandit.hpp"
#include "recs/core/experiment_results.hpp"
#include "recs/core/log.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/experiment_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/leader_lock.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::scheduler {
namespace {

/// Runs one duty; any failure is logged and does not reach the others.
template <typename F>
void Duty(const char* name, F&& fn) {
    try {
        fn();
    } catch (const core::Error& e) {
        core::Log(core::LogLevel::kWarn, "scheduler duty failed",
                  {{"duty", name}, {"error", e.detail()}});
    } catch (const std::exception& e) {
        core::Log(core::LogLevel::kError, "scheduler duty failed",
                  {{"duty", name}, {"error", e.what()}});
    }
}

// Outbox rows older than this are appended by the repair (the api's relay does it in ms).
constexpr int64_t kStreamRepairAfterMs = 10000;

const core::Actor kSchedulerActor{"scheduler", "scheduler", "", ""};

}  // namespace

int Scheduler::EndExperiments() {
    int ended = 0;
    for (auto& e : experiments_->DueToEnd(50)) {
        const core::TenantId tenant{e.tenant_id};
        try {
            // Frozen as of the end: events after it are not counted.
            e.status = core::ExperimentStatus::kStopped;
            e.stopped_at = e.spec.end;
            auto results = core::ComputeResults(e, experiments_->Aggregate(tenant, e));
            results["frozen_at"] = *e.spec.end;
            experiments_->Transition(kSchedulerActor, tenant, e.id,
                                     core::ExperimentStatus::kStopped, results);
            ++ended;
            core::Log(core::LogLevel::kInfo, "experiment reached its end and stopped",
                      {{"tenant", e.tenant_id}, {"experiment", e.id}});
        } catch (const core::Error& err) {
            // kConflict: stopped or paused meanwhile by its owner. Anything else is logged and
            // tried again next tick; the experiments after it are still ended.
            if (err.code() != core::ErrorCode::kConflict)
                core::Log(core::LogLevel::kWarn, "experiment past its end not stopped yet",
                          {{"experiment", e.id}, {"error", err.detail()}});
        } catch (const std::exception& err) {
            core::Log(core::LogLevel::kError, "experiment past its end not stopped yet",
                      {{"experiment", e.id}, {"error", std::string(err.what())}});
        }
    }
    return ended;
}

int Scheduler::UpdateBandits() {
    int updated = 0;
    for (auto& [e, b] : experiments_->DueBandits(20)) {
        const core::TenantId tenant{e.tenant_id};
        try {
            auto arms = core::ArmStatsOf(e, b.options.reward, experiments_->Aggregate(tenant, e));
            auto options = b.options;
            // A new Monte Carlo draw each update, reproducible from the experiment and time.
            options.seed =
                std::hash<std::string>{}(e.id) ^
                static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
            std::vector<double> weights;
            try {
                weights = core::bandit::Reallocate(arms, options);
            } catch (const core::Error& bad) {
                // Stats the policy cannot use: the weights stay, the next update is scheduled.
                if (bad.code() != core::ErrorCode::kUnprocessable) throw;
                core::Log(core::LogLevel::kWarn, "bandit kept the weights",
                          {{"experiment", e.id}, {"error", bad.detail()}});
                for (const auto& v : e.spec.variants) weights.push_back(v.weight);
            }
            nlohmann::json stats = nlohmann::json::object();
            for (size_t i = 0; i < arms.size(); ++i)
                stats[e.spec.variants[i].id] = {{"units", arms[i].units},
                                                {"trials", arms[i].trials},
                                                {"successes", arms[i].successes},
                                                {"sum", arms[i].sum}};
            experiments_->Reweight(kSchedulerActor, tenant, e.id, weights, stats);
            ++updated;
        } catch (const core::Error& err) {
            // kConflict: stopped or changed meanwhile; anything else: logged, tried next time.
            if (err.code() != core::ErrorCode::kConflict)
                core::Log(core::LogLevel::kWarn, "bandit update failed",
                          {{"tenant", e.tenant_id}, {"experiment", e.id}, {"error", err.detail()}});
        } catch (const std::exception& err) {
            core::Log(core::LogLevel::kError, "bandit update failed",
                      {{"experiment", e.id}, {"error", std::string(err.what())}});
        }
    }
    return updated;
}

Scheduler::Scheduler(SchedulerStores s, const core::Config& config)
    : config_(config),
      jobs_(s.jobs),
      queue_(s.queue),
      events_(s.events),
      streams_(s.streams),
      idempotency_(s.idempotency),
      leader_(s.leader),
      experiments_(s.experiments) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
    thread_ = std::thread([this] {
        core::Log(core::LogLevel::kInfo, "scheduler started");
        while (!stop_) {
            try {
                bool lead = leader_->TryAcquire();
                leading_ = lead;
                if (lead) Tick();
            } catch (const std::exception& e) {  // nothing escapes the thread
                core::Log(core::LogLevel::kError, "scheduler tick failed", {{"error", e.what()}});
            }
            int wait = leading_ ? config_.scheduler_tick_ms : 1000;  // a standby polls the lock
            for (int waited = 0; waited < wait && !stop_; waited += 10)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        leader_->Release();
        leading_ = false;
    });
}

void Scheduler::Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

TickReport Scheduler::Tick() {
    TickReport rep;
    core::Backoff backoff{config_.job_backoff_ms, config_.job_backoff_cap_ms};
    Duty("reap", [&] {
        rep.reaped = jobs_->ReapExpired(backoff);
        if (rep.reaped > 0)
            core::Log(core::LogLevel::kWarn, "expired leases reaped", {{"jobs", rep.reaped}});
    });
    Duty("relay", [&] {
        for (;;) {
            // Marked pushed in PostgreSQL first: a crash before the Redis push is repaired by
            // the re-push of queued jobs older than job_repush_ms (the reconciliation sweep).
            auto ids = jobs_->TakeDueForPush(config_.job_repush_ms, 100);
            if (ids.empty()) break;
            queue_->Push(ids);
            rep.pushed += static_cast<int>(ids.size());
            if (ids.size() < 100) break;
        }
        if (rep.pushed > 0)
            core::Log(core::LogLevel::kDebug, "jobs pushed", {{"jobs", rep.pushed}});
    });
    Duty("stream_repair", [&] {
        rep.events_repaired = events_->RepairStreams(
            kStreamRepairAfterMs, 200,
            [&](const core::TenantId& t, const std::vector<core::Event>& ev) {
                streams_->Append(t, ev);
            });
        if (rep.events_repaired > 0)
            core::Log(core::LogLevel::kInfo, "event streams repaired from the outbox",
                      {{"events", rep.events_repaired}});
    });
    Duty("idempotency_expiry", [&] { rep.idempotency_expired = idempotency_->Expire(1000); });
    if (experiments_) {
        Duty("experiment_end", [&] { rep.experiments_ended = EndExperiments(); });
        Duty("bandits", [&] { rep.bandits_updated = UpdateBandits(); });
    }
    return rep;
}

}  // namespace recs::scheduler
