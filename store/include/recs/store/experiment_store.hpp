#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "recs/core/experiment.hpp"
#include "recs/core/experiment_bandit.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/page.hpp"

namespace recs::store {

class PgPool;

/// The first time a unit was served a variant of an experiment.
struct Exposure {
    core::TenantId tenant;
    std::string experiment_id;
    std::string unit_id;
    std::string variant;
    bool forced = false;
    int64_t at_ms = 0;  ///< epoch milliseconds
};

using core::ExposureDay;

/// Experiments of a tenant. Every change writes an audit row in the same transaction.
class ExperimentRepository {
public:
    virtual ~ExperimentRepository() = default;
    /// A draft. kConflict when the tenant has an experiment of that name.
    virtual core::Experiment Create(const core::Actor& actor,
                                    const core::TenantId& tenant,
                                    const core::ExperimentSpec& spec) = 0;
    virtual std::optional<core::Experiment> Find(const core::TenantId& tenant,
                                                 const std::string& id) = 0;
    virtual Page<core::Experiment> List(const core::TenantId& tenant,
                                        const PageRequest& page,
                                        const std::optional<core::ExperimentStatus>& status) = 0;
    /// Replaces the spec of a draft or paused experiment (kConflict otherwise, when the new
    /// name is taken, or when `expected_updated_at` is not "" and the row changed since).
    virtual core::Experiment Update(const core::Actor& actor,
                                    const core::TenantId& tenant,
                                    const std::string& id,
                                    const core::ExperimentSpec& spec,
                                    const std::string& expected_updated_at) = 0;
    /// kConflict for a running experiment (stop or pause it first).
    virtual void Delete(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const std::string& id) = 0;
    /// start (draft or paused → running; kConflict when a running experiment on the surface
    /// overlaps it, checked under a lock of the surface), pause (running → paused), stop
    /// (running or paused → stopped, storing `results`). kConflict for any other move.
    virtual core::Experiment Transition(const core::Actor& actor,
                                        const core::TenantId& tenant,
                                        const std::string& id,
                                        core::ExperimentStatus to,
                                        const nlohmann::json& results) = 0;
    /// Running experiments (of any tenant) whose end has passed, oldest end first.
    virtual std::vector<core::Experiment> DueToEnd(int limit) = 0;
    /// The running experiments of a tenant on a surface.
    virtual std::vector<core::Experiment> Running(const core::TenantId& tenant,
                                                  const std::string& surface) = 0;
    /// Forces a unit into a variant (QA): it is served that variant and left out of the
    /// results, from now and for its earlier exposure too.
    virtual void Force(const core::Actor& actor,
                       const core::TenantId& tenant,
                       const std::string& id,
                       const std::string& unit_id,
                       const std::string& variant) = 0;
    /// unit → variant of the experiment's forced units (at most `limit`).
    virtual std::unordered_map<std::string, std::string> Forced(const core::TenantId& tenant,
                                                                const std::string& id,
                                                                int limit) = 0;
    /// Records first exposures; a unit already exposed keeps its first one.
    virtual void RecordExposures(const std::vector<Exposure>& exposures) = 0;
    /// The variant a unit was first exposed to (sticky experiments).
    virtual std::optional<std::string> ExposedVariant(const core::TenantId& tenant,
                                                      const std::string& id,
                                                      const std::string& unit_id) = 0;
    /// Attaches a bandit to a draft, running or paused experiment, which becomes sticky.
    /// kConflict when it has one, or is stopped. The first update is due after update_every.
    virtual core::ExperimentBandit AttachBandit(const core::Actor& actor,
                                                const core::TenantId& tenant,
                                                const std::string& id,
                                                const core::ExperimentBandit& bandit) = 0;
    virtual std::optional<core::ExperimentBandit> FindBandit(const core::TenantId& tenant,
                                                             const std::string& id) = 0;
    /// The weights stay as they are. kNotFound when there is no bandit.
    virtual void DetachBandit(const core::Actor& actor,
                              const core::TenantId& tenant,
                              const std::string& id) = 0;
    /// Bandits (of any tenant) of running experiments whose update is due.
    virtual std::vector<std::pair<core::Experiment, core::ExperimentBandit>> DueBandits(
        int limit) = 0;
    /// Sets the variants' weights (in the spec's order) of a running experiment, keeps them
    /// with `arms` (the stats they came from) in the history, and schedules the next update.
    /// kConflict when it is no longer running (the update is skipped).
    virtual core::Experiment Reweight(const core::Actor& actor,
                                      const core::TenantId& tenant,
                                      const std::string& id,
                                      const std::vector<double>& weights,
                                      const nlohmann::json& arms) = 0;
    /// The weights over time, oldest first: [{at, weights: {variant: w}, arms: {...}}].
    virtual nlohmann::json WeightHistory(const core::TenantId& tenant,
                                         const std::string& id,
                                         int limit) = 0;
    /// Per variant and day of first exposure, what the experiment's unforced units did.
    virtual std::vector<ExposureDay> Aggregate(const core::TenantId& tenant,
                                               const core::Experiment& experiment) = 0;
};

std::unique_ptr<ExperimentRepository> MakePgExperimentRepository(PgPool& pool);

}  // namespace recs::store
