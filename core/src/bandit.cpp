#include "recs/core/bandit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

#include "recs/core/error.hpp"

namespace recs::core::bandit {
namespace {

enum class Reward { kClick, kConversion, kValue };

[[noreturn]] void Invalid(std::string detail, std::string field) {
    throw Error(ErrorCode::kUnprocessable, std::move(detail), std::move(field));
}

std::optional<Reward> ParseReward(std::string_view name) {
    if (name == "click") return Reward::kClick;
    if (name == "conversion") return Reward::kConversion;
    if (name == "value") return Reward::kValue;
    return std::nullopt;
}

std::string ArmLabel(std::size_t i) { return "arms[" + std::to_string(i) + "]: "; }

void CheckArm(const ArmStats& a, std::size_t i, Reward reward) {
    if (a.units < 0) Invalid(ArmLabel(i) + "units must be >= 0", "units");
    if (reward == Reward::kValue) {
        if (!(std::isfinite(a.sum) && a.sum >= 0)) {
            Invalid(ArmLabel(i) + "sum must be finite and >= 0", "sum");
        }
        if (!(std::isfinite(a.sum_squares) && a.sum_squares >= 0)) {
            Invalid(ArmLabel(i) + "sum_squares must be finite and >= 0", "sum_squares");
        }
        // Cauchy–Schwarz: sum² <= units · sum_squares (a non-negative variance), up to rounding.
        const double n = static_cast<double>(a.units);
        if (a.sum * a.sum > n * a.sum_squares * (1 + 1e-9)) {
            Invalid(ArmLabel(i) + "sum_squares is below sum² / units (negative variance)",
                    "sum_squares");
        }
        return;
    }
    if (!(std::isfinite(a.trials) && a.trials >= 0)) {
        Invalid(ArmLabel(i) + "trials must be finite and >= 0", "trials");
    }
    if (!(std::isfinite(a.successes) && a.successes >= 0)) {
        Invalid(ArmLabel(i) + "successes must be finite and >= 0", "successes");
    }
    if (a.successes > a.trials) Invalid(ArmLabel(i) + "successes must be <= trials", "successes");
}

// An arm the models can say something about: one trial for the Bernoulli kinds, two units for
// "value" (the Gaussian needs a sample variance).
bool HasData(const ArmStats& a, Reward reward) {
    return reward == Reward::kValue ? a.units >= 2 : a.trials > 0;
}

// The sample size n_i of UCB1 and the empirical mean of UCB1 and epsilon-greedy.
double SampleSize(const ArmStats& a, Reward reward) {
    return reward == Reward::kValue ? static_cast<double>(a.units) : a.trials;
}
double EmpiricalMean(const ArmStats& a, Reward reward) {
    return reward == Reward::kValue ? a.sum / static_cast<double>(a.units) : a.successes / a.trials;
}

// Weight 1 on the highest score, split evenly between exact ties.
std::vector<double> ArgmaxWeights(const std::vector<double>& score) {
    const double best = *std::max_element(score.begin(), score.end());
    const auto ties = static_cast<double>(std::count(score.begin(), score.end(), best));
    std::vector<double> w(score.size(), 0.0);
    for (std::size_t i = 0; i < score.size(); ++i)
        if (score[i] == best) w[i] = 1.0 / ties;
    return w;
}

// Samplers on std::mt19937_64 (fully specified by the standard) so that draws do not depend on
// the standard library's distribution algorithms.
class Sampler {
public:
    explicit Sampler(std::uint64_t seed) : rng_(seed) {}

    /// Uniform on (0, 1], 53 random bits.
    double Uniform() { return static_cast<double>((rng_() >> 11) + 1) * 0x1.0p-53; }

    /// Standard normal (Marsaglia's polar method; the second value is kept for the next call).
    double Normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u, v, s;
        do {
            u = 2 * Uniform() - 1;
            v = 2 * Uniform() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        const double f = std::sqrt(-2 * std::log(s) / s);
        spare_ = v * f;
        has_spare_ = true;
        return u * f;
    }

    /// Gamma(shape, 1) for shape >= 1 (Marsaglia & Tsang 2000); `d` = shape − 1/3, `c` =
    /// 1 / sqrt(9 d), precomputed per arm.
    double Gamma(double d, double c) {
        for (;;) {
            const double x = Normal();
            double v = 1 + c * x;
            if (v <= 0) continue;
            v = v * v * v;
            const double u = Uniform();
            const double x2 = x * x;
            if (u < 1 - 0.0331 * x2 * x2) return d * v;
            if (std::log(u) < 0.5 * x2 + d * (1 - v + std::log(v))) return d * v;
        }
    }

private:
    std::mt19937_64 rng_;
    double spare_ = 0;
    bool has_spare_ = false;
};

struct GammaShape {
    double d;
    double c;
    explicit GammaShape(double shape) : d(shape - 1.0 / 3), c(1 / std::sqrt(9 * d)) {}
};

std::vector<double> Thompson(const std::vector<ArmStats>& arms,
                             Reward reward,
                             int draws,
                             std::uint64_t seed) {
    const std::size_t k = arms.size();
    // Per arm: Beta(alpha, beta) as Gamma(alpha) / (Gamma(alpha) + Gamma(beta)), both shapes
    // >= 1; or Normal(mean, se²) for "value".
    std::vector<GammaShape> alpha, beta;
    std::vector<double> mean, se;
    for (const ArmStats& a : arms) {
        if (reward == Reward::kValue) {
            const double n = static_cast<double>(a.units);
            const double variance = std::max(0.0, (a.sum_squares - a.sum * a.sum / n) / (n - 1));
            mean.push_back(a.sum / n);
            se.push_back(std::sqrt(variance / n));
        } else {
            alpha.emplace_back(1 + a.successes);
            beta.emplace_back(1 + a.trials - a.successes);
        }
    }
    Sampler sampler(seed);
    std::vector<double> wins(k, 0.0);
    std::vector<double> draw(k);
    for (int t = 0; t < draws; ++t) {
        std::size_t argmax = 0;
        int ties = 0;
        double best = -std::numeric_limits<double>::infinity();
        for (std::size_t i = 0; i < k; ++i) {
            double x;
            if (reward == Reward::kValue) {
                x = mean[i] + se[i] * sampler.Normal();
            } else {
                const double g = sampler.Gamma(alpha[i].d, alpha[i].c);
                const double h = sampler.Gamma(beta[i].d, beta[i].c);
                x = g / (g + h);
            }
            draw[i] = x;
            if (x > best) {
                best = x;
                argmax = i;
                ties = 1;
            } else if (x == best) {
                ++ties;
            }
        }
        if (ties == 1) {
            wins[argmax] += 1;
        } else {
            for (std::size_t i = 0; i < k; ++i)
                if (draw[i] == best) wins[i] += 1.0 / ties;
        }
    }
    for (double& w : wins) w /= draws;
    return wins;
}

std::vector<double> Ucb1(const std::vector<ArmStats>& arms, Reward reward, double c) {
    double total = 0;
    for (const ArmStats& a : arms) total += SampleSize(a, reward);
    const double log_total = std::max(0.0, std::log(total));  // fractional trials: N may be < 1
    std::vector<double> index;
    for (const ArmStats& a : arms) {
        index.push_back(EmpiricalMean(a, reward) +
                        std::sqrt(c * log_total / SampleSize(a, reward)));
    }
    return ArgmaxWeights(index);
}

std::vector<double> EpsilonGreedy(const std::vector<ArmStats>& arms, Reward reward, double eps) {
    std::vector<double> mean;
    for (const ArmStats& a : arms) mean.push_back(EmpiricalMean(a, reward));
    std::vector<double> w = ArgmaxWeights(mean);
    for (double& x : w) x = (1 - eps) * x + eps / static_cast<double>(w.size());
    return w;
}

// Raises the arms below `floor` to it and rescales the others proportionally into the remaining
// mass, repeating while the rescaling pushes another arm below the floor (at most k rounds).
std::vector<double> ApplyFloor(const std::vector<double>& raw, double floor) {
    const std::size_t k = raw.size();
    std::vector<bool> pinned(k, false);
    std::size_t pinned_count = 0;
    double scale = 1;
    for (;;) {
        double free_raw = 0;
        for (std::size_t i = 0; i < k; ++i)
            if (!pinned[i]) free_raw += raw[i];
        const double free_mass = 1 - static_cast<double>(pinned_count) * floor;
        if (pinned_count == k || free_raw <= 0) {
            // Only possible when min_share · k is 1 up to rounding: all equal.
            return std::vector<double>(k, 1.0 / static_cast<double>(k));
        }
        scale = free_mass / free_raw;
        bool changed = false;
        for (std::size_t i = 0; i < k; ++i) {
            if (!pinned[i] && raw[i] * scale < floor) {
                pinned[i] = true;
                ++pinned_count;
                changed = true;
            }
        }
        if (!changed) break;
    }
    std::vector<double> w(k);
    double sum = 0;
    for (std::size_t i = 0; i < k; ++i) sum += w[i] = pinned[i] ? floor : raw[i] * scale;
    for (double& x : w) x /= sum;  // removes the rounding of the sum (a relative 1e-16)
    return w;
}

}  // namespace

std::string_view PolicyName(Policy p) {
    switch (p) {
        case Policy::kThompson:
            return "thompson";
        case Policy::kUcb1:
            return "ucb1";
        case Policy::kEpsilonGreedy:
            return "epsilon_greedy";
    }
    return "thompson";
}

std::optional<Policy> ParsePolicy(std::string_view name) {
    for (auto p : {Policy::kThompson, Policy::kUcb1, Policy::kEpsilonGreedy})
        if (PolicyName(p) == name) return p;
    return std::nullopt;
}

void ValidateOptions(const Options& o, std::size_t arm_count) {
    if (arm_count == 0) Invalid("at least one arm is required", "arms");
    if (o.policy != Policy::kThompson && o.policy != Policy::kUcb1 &&
        o.policy != Policy::kEpsilonGreedy) {
        Invalid("unknown policy", "policy");
    }
    if (!ParseReward(o.reward)) {
        Invalid("reward must be click, conversion or value, not '" + o.reward + "'", "reward");
    }
    if (!(std::isfinite(o.min_share) && o.min_share >= 0)) {
        Invalid("min_share must be finite and >= 0", "min_share");
    }
    if (o.min_share * static_cast<double>(arm_count) > 1 + 1e-12) {
        Invalid("min_share × arms (" + std::to_string(arm_count) + ") must be <= 1", "min_share");
    }
    if (o.burn_in_units < 0) Invalid("burn_in_units must be >= 0", "burn_in_units");
    if (!(o.epsilon >= 0 && o.epsilon <= 1)) Invalid("epsilon must be in [0, 1]", "epsilon");
    if (!(std::isfinite(o.ucb_c) && o.ucb_c >= 0)) {
        Invalid("ucb_c must be finite and >= 0", "ucb_c");
    }
    if (o.thompson_draws < 1) Invalid("thompson_draws must be >= 1", "thompson_draws");
}

std::vector<double> Reallocate(const std::vector<ArmStats>& arms, const Options& options) {
    ValidateOptions(options, arms.size());
    const Reward reward = *ParseReward(options.reward);
    for (std::size_t i = 0; i < arms.size(); ++i) CheckArm(arms[i], i, reward);

    const std::size_t k = arms.size();
    const bool burn_in = std::any_of(arms.begin(), arms.end(), [&](const ArmStats& a) {
        return a.units < options.burn_in_units || !HasData(a, reward);
    });
    if (burn_in) return std::vector<double>(k, 1.0 / static_cast<double>(k));

    std::vector<double> raw;
    switch (options.policy) {
        case Policy::kThompson:
            raw = Thompson(arms, reward, options.thompson_draws, options.seed);
            break;
        case Policy::kUcb1:
            raw = Ucb1(arms, reward, options.ucb_c);
            break;
        case Policy::kEpsilonGreedy:
            raw = EpsilonGreedy(arms, reward, options.epsilon);
            break;
    }
    return ApplyFloor(raw, options.min_share);
}

}  // namespace recs::core::bandit
