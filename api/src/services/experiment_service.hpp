#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "recs/core/experiment.hpp"
#include "recs/core/experiment_bandit.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/core/ttl_cache.hpp"

namespace recs::store {
class ExperimentRepository;
class ModelRepository;
}  // namespace recs::store

namespace recs::api {

class ExposureLog;

/// POST /experiments (base = nullopt) or PATCH /experiments/{id} (base = the current spec,
/// merged field by field), decoded and validated at the edge: variant ids unique, weights
/// normalised to sum 1, the control one of the variants, known metrics, a namespace range
/// inside [0, 1), ISO 8601 start before end. Throws core::Error(kUnprocessable) naming the
/// field by its path (`variants[1].weight`, `namespace.range`).
core::ExperimentSpec DecodeExperimentSpec(const nlohmann::json& body,
                                          const std::optional<core::ExperimentSpec>& base);

/// POST /experiments/{id}/assign.
struct ForceRequest {
    std::string unit_id;
    std::string variant;
};
ForceRequest DecodeForce(const nlohmann::json& body);

/// POST /exploration/bandit: the experiment it drives and how. `update_every` is seconds
/// (1..86400) or a duration such as "30s", "15m", "2h" (default 15 min).
struct BanditRequest {
    std::string experiment_id;
    core::ExperimentBandit bandit;
};
BanditRequest DecodeBandit(const nlohmann::json& body);

/// What a unit gets on a surface: the experiment and variant that serve it.
struct Routed {
    std::string unit_id;
    std::string experiment_id;
    std::string experiment_name;
    core::Variant variant;
    bool forced = false;
};

/// Experiments of tenants: their life (draft → running ⇄ paused → stopped, with the results
/// frozen at the stop), QA overrides, and the routing of predictions by assignment.
class ExperimentService {
public:
    /// `models` checks that the variants' models exist; `exposures` may be null (nothing is
    /// recorded). The routing cache keeps a surface's running experiments `ttl_ms` (changes in
    /// this process invalidate at once).
    ExperimentService(store::ExperimentRepository& experiments,
                      store::ModelRepository& models,
                      ExposureLog* exposures,
                      int ttl_ms);

    core::Experiment Create(const core::Actor& actor,
                            const core::TenantId& tenant,
                            const nlohmann::json& body);
    core::Experiment Require(const core::TenantId& tenant, const std::string& id);
    core::Experiment Update(const core::Actor& actor,
                            const core::TenantId& tenant,
                            const std::string& id,
                            const nlohmann::json& body);
    void Delete(const core::Actor& actor, const core::TenantId& tenant, const std::string& id);
    core::Experiment Start(const core::Actor& actor,
                           const core::TenantId& tenant,
                           const std::string& id);
    core::Experiment Pause(const core::Actor& actor,
                           const core::TenantId& tenant,
                           const std::string& id);
    /// Stops the experiment and freezes its results as of `as_of_ms` (default now: events
    /// after it are not counted).
    core::Experiment Stop(const core::Actor& actor,
                          const core::TenantId& tenant,
                          const std::string& id,
                          std::optional<int64_t> as_of_ms = std::nullopt);
    /// Frozen results once stopped (an experiment past its end is stopped here first); live
    /// ones before.
    nlohmann::json Results(const core::Actor& actor,
                           const core::TenantId& tenant,
                           const std::string& id);
    /// {in_experiment, variant, hash, forced}, logging no exposure.
    nlohmann::json Assignment(const core::TenantId& tenant,
                              const std::string& id,
                              const std::string& unit_id);
    /// Attaches a bandit (kNotFound for another tenant's experiment; 422 when its options do
    /// not fit the experiment's variants; 409 when it has one or is stopped).
    core::ExperimentBandit AttachBandit(const core::Actor& actor,
                                        const core::TenantId& tenant,
                                        const BanditRequest& request);
    /// {experiment_id, config, weights now, next_update_at, history: weights over time}.
    nlohmann::json Bandit(const core::TenantId& tenant, const std::string& experiment_id);
    void DetachBandit(const core::Actor& actor,
                      const core::TenantId& tenant,
                      const std::string& experiment_id);
    void Force(const core::Actor& actor,
               const core::TenantId& tenant,
               const std::string& id,
               const ForceRequest& request);

    /// The variant of the running experiment on `surface` that holds the unit (the user, or
    /// the session for session experiments: "" = none); nullopt when no running experiment
    /// holds it. Call Exposed once the variant has served.
    std::optional<Routed> Route(const core::TenantId& tenant,
                                const std::string& surface,
                                const std::string& user_id,
                                const std::string& session_id);

    /// Records the unit's first exposure to the variant that served it.
    void Exposed(const core::TenantId& tenant, const Routed& routed);

    void Invalidate(const core::TenantId& tenant);

private:
    struct Surface {
        std::vector<core::Experiment> running;
        /// Forced units of each running experiment (by index).
        std::vector<std::unordered_map<std::string, std::string>> forced;
        /// Epoch ms of each one's end (INT64_MAX: none): a cached experiment stops routing
        /// at its end, not when the cache expires.
        std::vector<int64_t> end_ms;
    };
    std::shared_ptr<const Surface> Load(const core::TenantId& tenant, const std::string& surface);
    void CheckModels(const core::TenantId& tenant, const core::ExperimentSpec& spec);

    store::ExperimentRepository& experiments_;
    store::ModelRepository& models_;
    ExposureLog* exposures_;
    core::TtlCache<std::string, std::shared_ptr<const Surface>> cache_;
};

}  // namespace recs::api
