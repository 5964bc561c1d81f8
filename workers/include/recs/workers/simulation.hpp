#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>

#include "recs/core/job.hpp"

namespace recs::store {
class EventRepository;
}

namespace recs::workers {

/// Runs a simulate job: splits the tenant's interactions into what came before and the held-out
/// rest (the payload's `from`/`to` epoch-ms range, or per user the latest `holdout` share),
/// trains each variant's algorithm with its hyperparameters on the part before, replays the
/// held-out interactions through it, and reports nDCG, recall and coverage at k per variant
/// with 95% intervals from a paired bootstrap over users, the chance that each variant is the
/// best on nDCG, and the likely winner. Nothing is stored but the job's result. Throws
/// core::Error(kUnprocessable) when there is nothing to replay.
nlohmann::json RunSimulateJob(const core::Job& job,
                              store::EventRepository& events,
                              size_t memory_budget_bytes,
                              const std::function<void(double)>& progress,
                              const std::atomic<bool>* cancel);

}  // namespace recs::workers
