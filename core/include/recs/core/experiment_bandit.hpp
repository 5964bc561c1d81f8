#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recs/core/bandit.hpp"
#include "recs/core/experiment.hpp"

namespace recs::core {

/// A bandit attached to a running experiment: every `update_every_s` the scheduler sums each
/// variant's rewards since the start and sets the experiment's weights from them (units
/// already exposed keep their variant: the experiment becomes sticky).
struct ExperimentBandit {
    std::string experiment_id;
    std::string tenant_id;
    bandit::Options options;
    int64_t update_every_s = 900;
    std::string next_update_at;
    std::string created_at;
    std::string updated_at;
};

/// The configuration as stored and shown ({policy, reward, params, min_share, burn_in_units,
/// update_every}), and back (rows this code wrote).
nlohmann::json BanditConfigJson(const ExperimentBandit& b);
ExperimentBandit BanditFromConfigJson(const nlohmann::json& j);

/// Each variant's arm stats (in the spec's order) from the experiment's exposure sums, for the
/// bandit's reward: click (impressions, clicks; an arm's clicks count at most its
/// impressions), conversion (units, converted units), value (units, revenue sums).
std::vector<bandit::ArmStats> ArmStatsOf(const Experiment& e,
                                         const std::string& reward,
                                         const std::vector<ExposureDay>& days);

}  // namespace recs::core
