#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "recs/core/experiment.hpp"
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
    /// Replaces the spec of a draft or paused experiment (kConflict otherwise, or when the new
    /// name is taken).
    virtual core::Experiment Update(const core::Actor& actor,
                                    const core::TenantId& tenant,
                                    const std::string& id,
                                    const core::ExperimentSpec& spec) = 0;
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
    /// Per variant and day of first exposure, what the experiment's unforced units did.
    virtual std::vector<ExposureDay> Aggregate(const core::TenantId& tenant,
                                               const core::Experiment& experiment) = 0;
};

std::unique_ptr<ExperimentRepository> MakePgExperimentRepository(PgPool& pool);

}  // namespace recs::store
