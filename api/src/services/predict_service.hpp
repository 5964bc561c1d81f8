#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "recs/core/prediction_pool.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::store {
class FeatureRepository;
}

namespace recs::api {

class ServingResolver;
class CanaryMonitor;

/// A predict request, decoded once at the edge (POST /predict, GET /users/{id}, and each item
/// of POST /batch/predict). DecodePredict throws core::Error(kUnprocessable) naming the field.
struct PredictRequest {
    core::RankRequest rank;  ///< user, limit, candidates, exclusions
    nlohmann::json filters;  ///< item-feature filters (null: none), validated
    std::string model;       ///< "" = the tenant's default model
    std::string surface;     ///< routes by the surface's running experiment when no model
    std::string session_id;  ///< `context.session_id`: the unit of session experiments
    std::string pool;        ///< set by routing: the variant's pool ("" = the deployment's)
    bool return_scores = true;
    bool explain = false;
};

PredictRequest DecodePredict(const nlohmann::json& body);

/// What a prediction served: the version that ranked, and its ranking.
struct PredictOutcome {
    core::ServingTarget target;
    core::RankResult result;
    bool canary = false;  ///< served by the model's canary version
};

/// The rules of predictions above the pool: which version serves (the resolver), and the
/// item-feature filters, applied to a bounded slate (finding H3: a filter never ranks or
/// fetches the features of the whole catalogue; a filter that keeps fewer than `limit` of the
/// best kMaxFilterSlate items returns fewer items).
class PredictService {
public:
    static constexpr size_t kMaxFilterSlate = 5000;

    /// `pool` may be null (no pool attached: predictions answer 503); `canaries` may be null
    /// (canary predictions are not watched).
    PredictService(ServingResolver& resolver,
                   store::FeatureRepository& features,
                   core::PredictionPool* pool,
                   CanaryMonitor* canaries = nullptr);

    PredictOutcome Predict(const core::TenantId& tenant, const PredictRequest& request);

    core::PredictionPool& pool();

private:
    void Rank(const core::TenantId& tenant,
              const PredictRequest& r,
              PredictOutcome& out,
              bool* pool_failed);

    ServingResolver& resolver_;
    store::FeatureRepository& features_;
    core::PredictionPool* pool_;
    CanaryMonitor* canaries_;
};

}  // namespace recs::api
