#pragma once

// Bandit policies that reallocate an experiment's variant weights from rewards: pure functions,
// no I/O. The scheduler calls Reallocate every `update_every` minutes with each arm's cumulative
// stats; the weights it returns drive bucket assignment of new units only (exposed units keep
// their arm).
//
// Conventions used throughout:
//  - Arms are the experiment's variants, in the spec's order; weights come back in that order.
//  - Weights are >= 0 and sum to 1 (within 1e-12).
//  - The reward kinds and the ArmStats fields they read:
//      "click"      — Bernoulli trials = impressions, successes = clicks (rate in [0, 1]);
//      "conversion" — Bernoulli trials = units, successes = units that converted;
//      "value"      — per-unit non-negative value: units (the n), sum and sum_squares.
//    `units` (exposed units) is read by every kind for the burn-in.
//  - Invalid inputs throw recs::core::Error(kUnprocessable) whose field() names the offending
//    field ("arms", "units", "trials", "successes", "sum", "sum_squares", or the Options field);
//    the detail names the arm index.
//  - Same inputs and the same seed give the same weights on every platform (the sampling uses
//    std::mt19937_64 and its own normal/gamma generators, not the library's distributions).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recs::core::bandit {

/// The allocation rule.
enum class Policy { kThompson, kUcb1, kEpsilonGreedy };
/// "thompson", "ucb1" or "epsilon_greedy".
std::string_view PolicyName(Policy p);
/// The inverse of PolicyName; nullopt for an unknown name.
std::optional<Policy> ParsePolicy(std::string_view name);

/// One arm's cumulative stats since the experiment started (see the file comment for which
/// fields each reward kind reads; the others are ignored).
struct ArmStats {
    std::int64_t units = 0;  ///< units exposed to the arm (all kinds: burn-in; value: the n)
    double trials = 0;       ///< click: impressions; conversion: units
    double successes = 0;    ///< click: clicks; conversion: converted units; <= trials
    double sum = 0;          ///< value: sum of the per-unit values (>= 0)
    double sum_squares = 0;  ///< value: sum of their squares
};

/// How Reallocate allocates.
struct Options {
    Policy policy = Policy::kThompson;
    std::string reward = "click";  ///< "click" | "conversion" | "value"
    /// The floor: every arm keeps at least this share (0 <= min_share, min_share * arms <= 1).
    double min_share = 0.01;
    /// Equal weights while any arm has fewer units than this (>= 0).
    std::int64_t burn_in_units = 100;
    /// Epsilon-greedy: the share spread evenly over all arms (in [0, 1]); the rest goes to the
    /// best empirical mean, so the best arm gets 1 − ε + ε/k before the floor.
    double epsilon = 0.1;
    /// UCB1 exploration constant c (>= 0): index = mean + sqrt(c · ln N / n_i). c = 2 is Auer's
    /// UCB1 for rewards in [0, 1]; for "value" the bonus is in the value's units, so scale c by
    /// the square of the value's range (c = 2 · range²).
    double ucb_c = 2.0;
    /// Thompson: Monte Carlo draws estimating P(arm is best) (>= 1); standard error <=
    /// 0.5/sqrt(draws).
    int thompson_draws = 10000;
    /// Seeds the Monte Carlo; vary it per update (e.g. with the update's time).
    std::uint64_t seed = 0;
};

/// Throws Error(kUnprocessable, field = the Options field, or "arms" for 0 arms) unless `options`
/// is valid for `arm_count` arms (Reallocate calls it; callers may validate a config early).
void ValidateOptions(const Options& options, std::size_t arm_count);

/// New weights for the arms: equal while an arm is in burn-in (fewer than burn_in_units units,
/// or no data: trials == 0, or units < 2 for "value"); else the policy's weights, then floored.
///  - Thompson: P(arm is best) under Beta(1 + successes, 1 + trials − successes) posteriors
///    ("value": Normal(mean, variance / units)), by Monte Carlo; ties in a draw split its credit.
///  - UCB1: everything on the highest mean + sqrt(c · ln N / n_i), n_i = trials ("value":
///    units), N = Σ n_i; exact ties split evenly.
///  - Epsilon-greedy: 1 − ε on the highest empirical mean (ties split), ε spread over all arms.
/// Floor: arms below min_share are raised to it and the others rescaled proportionally
/// (repeatedly, until none falls below), so every weight is >= min_share and the sum is 1.
std::vector<double> Reallocate(const std::vector<ArmStats>& arms, const Options& options);

}  // namespace recs::core::bandit
