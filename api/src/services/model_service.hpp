#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "recs/core/canary.hpp"
#include "recs/core/domain.hpp"
#include "recs/core/prediction_pool.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::store {
class ModelRepository;
class CanaryRepository;
}  // namespace recs::store

namespace recs::api {

// Requests of the model routes, decoded once at the edge. Each decoder throws
// core::Error(kUnprocessable) naming the offending field, and rejects unknown fields.

struct CreateModelRequest {
    std::string name;
    std::string type = "candidate";
    std::string algorithm;
    nlohmann::json hyperparameters = nlohmann::json::object();
    std::optional<std::string> description;
};

struct UpdateModelRequest {
    std::optional<nlohmann::json> hyperparameters;
    std::optional<std::string> description;
    std::optional<bool> is_default;
};

/// A deploy: to all units (no traffic_pct, or 100: also the promotion of a canary), or a
/// canary to traffic_pct percent of the model's units beside the deployed version, rolled
/// back automatically when its guard trips.
struct DeployRequest {
    std::string pool = "default";
    std::optional<double> traffic_pct;  ///< (0, 100]
    std::optional<core::CanaryGuard> guard;
};

CreateModelRequest DecodeCreateModel(const nlohmann::json& body);
UpdateModelRequest DecodeUpdateModel(const nlohmann::json& body);
/// An empty body (`{}`) deploys to the default pool.
DeployRequest DecodeDeploy(const nlohmann::json& body);

/// What a deploy or a rollback did: the version now serving, and how far its load ahead of
/// the switch got on the pool's members.
struct DeployOutcome {
    core::ModelVersion version;
    core::Rollout rollout;
    std::optional<core::Canary> canary;  ///< the canary started (a canary deploy)
};

/// The rules of models and their deployments, above the repository and the prediction pool:
/// validation of algorithms and hyperparameters, name conflicts, and the deploy orchestration
/// (a version is loaded on every live member of its pool before the switch, so that a broken
/// artifact never becomes the serving one and the first request is not slow; the serving
/// cache of the tenant is invalidated after every change).
class ModelService {
public:
    using Validator =
        std::function<void(const std::string& algorithm, const nlohmann::json& hyperparameters)>;
    using Invalidate = std::function<void(const core::TenantId&)>;

    /// `pool` may be null (no pool attached: deploys answer 503); `canaries` may be null (no
    /// canary deploys: 422 for traffic_pct below 100).
    ModelService(store::ModelRepository& models,
                 core::PredictionPool* pool,
                 Validator validate,
                 Invalidate invalidate,
                 store::CanaryRepository* canaries = nullptr);

    core::ModelDef Create(const core::Actor& actor,
                          const core::TenantId& tenant,
                          const CreateModelRequest& request);
    /// kNotFound for another tenant's model (before any validation error).
    core::ModelDef Update(const core::Actor& actor,
                          const core::TenantId& tenant,
                          const std::string& model_id,
                          const UpdateModelRequest& request);
    void Delete(const core::Actor& actor,
                const core::TenantId& tenant,
                const std::string& model_id);
    /// kNotFound (model or version), kConflict (a failed version, or one the pool cannot
    /// load), kUnavailable (no pool, or no live member). On any error nothing changes.
    DeployOutcome Deploy(const core::Actor& actor,
                         const core::TenantId& tenant,
                         const std::string& model_id,
                         const std::string& version_id,
                         const DeployRequest& request);
    /// Back to the version deployed before `version_id`, on the pool of that deployment.
    DeployOutcome Rollback(const core::Actor& actor,
                           const core::TenantId& tenant,
                           const std::string& model_id,
                           const std::string& version_id);

    core::ModelDef Require(const core::TenantId& tenant, const std::string& model_id);

    /// The model's active or latest canary (kNotFound when it never had one).
    core::Canary Canary(const core::TenantId& tenant, const std::string& model_id);
    /// Rolls a canary back because its guard tripped (`reason` is kept with it, in the audit
    /// log and in the version's status). A canary that ended meanwhile is left alone.
    void CanaryTripped(const core::Canary& canary, const std::string& reason);

private:
    core::PredictionPool& Pool();
    void Validate(const std::string& algorithm, const nlohmann::json& hyperparameters);

    store::ModelRepository& models_;
    core::PredictionPool* pool_;
    Validator validate_;
    Invalidate invalidate_;
    store::CanaryRepository* canaries_;
};

/// The target a pool loads for a version of a model deployed on `pool`.
core::ServingTarget TargetOf(const core::ModelDef& m,
                             const core::ModelVersion& v,
                             const std::string& pool);

}  // namespace recs::api
