#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recs/core/job.hpp"
#include "recs/engine/model.hpp"

namespace recs::store {
class ArtifactStore;
struct EventRow;
class EventRepository;
class ModelRepository;
}  // namespace recs::store

namespace recs::workers {

/// The interaction an event contributes to training, or false when it contributes none
/// (impressions and dislikes are not positive feedback; events without an item).
/// Ratings weigh their stars; every other type weighs 1 (per-type weights are the
/// `event_weights` hyperparameter of the engine).
bool EventToInteraction(const store::EventRow& row, engine::Interaction* out);

/// Dependencies of the train handler.
struct TrainDeps {
    store::EventRepository* events = nullptr;
    store::ModelRepository* models = nullptr;
    store::ArtifactStore* artifacts = nullptr;
    size_t memory_budget_bytes = 0;  ///< the training's large buffers (0: no limit)
    std::string lease_owner;         ///< fences the version: recorded only while the lease holds
};

/// Runs a train job: reads the tenant's events, trains (evaluating on a holdout first when
/// asked), writes the artifact (a name of its own per attempt, fsynced) and records a model
/// version with the artifact's SHA-256, only while this worker still holds the lease.
/// Idempotent: a repeated delivery of a job that already made its version returns that
/// version. Throws core::Error (kUnprocessable / kNotFound: not retryable; others: retryable).
nlohmann::json RunTrainJob(const core::Job& job,
                           const TrainDeps& deps,
                           const std::function<void(double)>& progress,
                           const std::atomic<bool>* cancel);

}  // namespace recs::workers
