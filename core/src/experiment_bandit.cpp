#include "recs/core/experiment_bandit.hpp"

#include <algorithm>
#include <map>

namespace recs::core {

using nlohmann::json;

json BanditConfigJson(const ExperimentBandit& b) {
    const auto& o = b.options;
    return {{"policy", bandit::PolicyName(o.policy)},
            {"reward", o.reward},
            {"params", {{"epsilon", o.epsilon}, {"c", o.ucb_c}, {"draws", o.thompson_draws}}},
            {"min_share", o.min_share},
            {"burn_in_units", o.burn_in_units},
            {"update_every", b.update_every_s}};
}

ExperimentBandit BanditFromConfigJson(const json& j) {
    ExperimentBandit b;
    auto& o = b.options;
    o.policy =
        bandit::ParsePolicy(j.value("policy", "thompson")).value_or(bandit::Policy::kThompson);
    o.reward = j.value("reward", "click");
    const json params = j.value("params", json::object());
    o.epsilon = params.value("epsilon", o.epsilon);
    o.ucb_c = params.value("c", o.ucb_c);
    o.thompson_draws = params.value("draws", o.thompson_draws);
    o.min_share = j.value("min_share", o.min_share);
    o.burn_in_units = j.value("burn_in_units", o.burn_in_units);
    b.update_every_s = j.value("update_every", b.update_every_s);
    return b;
}

std::vector<bandit::ArmStats> ArmStatsOf(const Experiment& e,
                                         const std::string& reward,
                                         const std::vector<ExposureDay>& days) {
    std::map<std::string, bandit::ArmStats> by;
    for (const auto& d : days) {
        auto& a = by[d.variant];
        a.units += d.units;
        if (reward == "click") {
            a.trials += d.sum_i;
            a.successes += d.sum_c;
        } else if (reward == "conversion") {
            a.trials += static_cast<double>(d.units);
            a.successes += d.sum_v;
        } else {
            a.sum += d.sum_r;
            a.sum_squares += d.sum_r2;
        }
    }
    std::vector<bandit::ArmStats> out;
    for (const auto& v : e.spec.variants) {
        auto a = by[v.id];
        // An arm's clicks count at most its impressions (a client that sends clicks without
        // impressions): a rate is at most 1.
        a.successes = std::min(a.successes, a.trials);
        out.push_back(a);
    }
    return out;
}

}  // namespace recs::core
