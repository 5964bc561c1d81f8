#pragma once

// Statistics behind GET /v1/recs/experiments/{id}/results: pure functions, no I/O.
//
// The formulas follow GrowthBook's gbstats engine (packages/stats/gbstats: models/statistics.py,
// frequentist/tests.py, bayesian/tests.py, utils.py) so figures match an established engine.
//
// Conventions used throughout:
//  - Every comparison takes (control, variant) in that order.
//  - Absolute lift  = mean(variant) − mean(control).
//  - Relative lift  = (mean(variant) − mean(control)) / |mean(control)|, i.e. variant/control − 1
//    when the control mean is positive (gbstats `frequentist_diff`).
//  - Intervals are two-sided with coverage 1 − alpha (alpha = 0.05 by default).
//  - Invalid inputs (alpha outside (0, 1), negative counts, mismatched sizes) throw
//    recs::core::Error(kUnprocessable); data that cannot be compared (zero variance, zero control
//    mean) is not an exception: the result carries `error` and uninformative values, as in gbstats.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace recs::core::stats {

// ---------------------------------------------------------------------------------------------
// Distribution functions (Boost.Math inside the .cpp).

/// Standard normal CDF, P(Z <= x).
double NormalCdf(double x);
/// Standard normal quantile: the x with P(Z <= x) = p, for p in (0, 1).
double NormalQuantile(double p);
/// Student t CDF, P(T <= t), for dof > 0 (dof = +infinity gives the normal).
double StudentTCdf(double t, double dof);
/// Student t quantile: the t with P(T <= t) = p, for p in (0, 1) and dof > 0.
double StudentTQuantile(double p, double dof);
/// Chi-square survival function, P(X > x), for dof > 0 and x >= 0.
double ChiSquareSurvival(double x, double dof);

// ---------------------------------------------------------------------------------------------
// Per-variant summary statistics.

/// What the tests consume for one variant: `n` units, the metric's point estimate `mean`, and
/// the per-unit variance, so that variance / n is the squared standard error of `mean`.
struct MetricSummary {
    std::int64_t n = 0;
    double mean = 0;
    double variance = 0;
};

/// A mean metric (e.g. revenue per user) from per-unit values (gbstats SampleMeanStatistic).
struct MeanStats {
    std::int64_t n = 0;
    double sum = 0;
    double sum_squares = 0;

    /// Adds one unit's value.
    void Add(double value);
    /// Merges another shard or day of the same variant.
    MeanStats& operator+=(const MeanStats& other);
    /// sum / n; 0 when n == 0.
    double Mean() const;
    /// Sample variance with n − 1 in the denominator; 0 when n <= 1.
    double Variance() const;
    MetricSummary Summary() const;
};

/// A proportion metric (e.g. converted or not per user) (gbstats ProportionStatistic).
struct ProportionStats {
    std::int64_t n = 0;
    std::int64_t successes = 0;

    /// Adds one unit.
    void Add(bool success);
    ProportionStats& operator+=(const ProportionStats& other);
    /// successes / n; 0 when n == 0.
    double Mean() const;
    /// p (1 − p), without the n − 1 correction (the gbstats convention).
    double Variance() const;
    MetricSummary Summary() const;
};

/// A ratio metric over units, e.g. CTR = Σ clicks / Σ impressions with one (clicks, impressions)
/// pair per user (gbstats RatioStatistic with sample-mean numerator and denominator).
struct RatioStats {
    std::int64_t n = 0;  ///< units
    double numerator_sum = 0;
    double numerator_sum_squares = 0;
    double denominator_sum = 0;
    double denominator_sum_squares = 0;
    double cross_sum = 0;  ///< Σ numerator × denominator over units

    /// Adds one unit's numerator and denominator (a unit with a zero denominator still counts).
    void Add(double numerator, double denominator);
    RatioStats& operator+=(const RatioStats& other);
    /// numerator_sum / denominator_sum; 0 when denominator_sum == 0.
    double Mean() const;
    /// Sample covariance of per-unit numerator and denominator (n − 1); 0 when n <= 1.
    double Covariance() const;
    /// Delta-method per-unit variance of the ratio of means M̄/D̄:
    /// var_m/d² + var_d·m²/d⁴ − 2·cov·m/d³ (gbstats `variance_of_ratios`); 0 when n <= 1 or d = 0.
    double Variance() const;
    MetricSummary Summary() const;
};

// ---------------------------------------------------------------------------------------------
// Frequentist comparison.

/// A closed interval [lower, upper].
struct Interval {
    double lower = 0;
    double upper = 0;
};

/// One effect estimate of variant against control.
struct Effect {
    double estimate = 0;   ///< absolute or relative lift (see the conventions above)
    double std_error = 0;  ///< standard error of `estimate`
    Interval ci;           ///< two-sided 1 − alpha confidence interval
    double p_value = 1;    ///< two-sided, against "no difference"
    /// The interval excludes 0 (gbstats `is_statistically_significant`).
    bool Significant() const { return ci.lower > 0 || ci.upper < 0; }
};

struct FrequentistOptions {
    double alpha = 0.05;
    /// Always-valid intervals and p-values (safe to look at every day) instead of the
    /// fixed-horizon Welch test.
    bool sequential = false;
    /// Sample size (both arms together) at which the sequential interval is tightest
    /// (gbstats `sequential_tuning_parameter`).
    double sequential_tuning_parameter = 5000;
};

struct FrequentistResult {
    Effect absolute;  ///< mean(variant) − mean(control); variance var_v/n_v + var_c/n_c
    Effect relative;  ///< delta method: variance of the ratio of the two independent means
    /// Welch–Satterthwaite degrees of freedom from the per-unit variances (fixed-horizon only):
    /// (s_v²/n_v + s_c²/n_c)² / (s_v⁴/(n_v²(n_v−1)) + s_c⁴/(n_c²(n_c−1))).
    double dof = 0;
    /// Empty when the comparison is valid; else "ZERO_NEGATIVE_VARIANCE" or
    /// "ZERO_NEGATIVE_BASELINE_VARIATION" (gbstats' codes) with zero effects, CIs [0, 0], p = 1.
    std::string error;
    bool ok() const { return error.empty(); }
};

/// Compares variant with control. Fixed horizon (default): Welch t, p = 2·(1 − F_t(|est/se|)),
/// CI = est ± t_{1−α/2, dof}·se (gbstats TwoSidedTTest). Sequential: normal-mixture confidence
/// sequence (Waudby-Smith et al. 2023 eq. 9) with n = n_c + n_v, ρ from alpha and the tuning
/// parameter, and p = min(1, 1/e-value) (gbstats SequentialTwoSidedTTest).
FrequentistResult CompareFrequentist(const MetricSummary& control,
                                     const MetricSummary& variant,
                                     const FrequentistOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Bayesian comparison (gbstats EffectBayesianABTest: gaussian approximation of the effect).

/// Gaussian prior on the relative lift (gbstats prior_type "relative").
struct GaussianPrior {
    double mean = 0;
    double variance = 1;
};

struct BayesianOptions {
    double alpha = 0.05;           ///< credible interval mass 1 − alpha
    bool relative = true;          ///< effect on the relative (default) or absolute scale
    bool lower_is_better = false;  ///< "win" means the effect is negative (gbstats `inverse`)
    /// Proper prior on the relative lift; nullopt is the improper flat prior (gbstats default).
    std::optional<GaussianPrior> prior = std::nullopt;
};

struct BayesianResult {
    double chance_to_win = 0.5;  ///< posterior P(effect > 0), or P(effect < 0) if lower is better
    double expected = 0;         ///< posterior mean of the effect
    double std_dev = 0;          ///< posterior standard deviation of the effect
    Interval credible_interval;  ///< central 1 − alpha posterior interval
    /// Expected loss of shipping control / the variant, in units of the effect: E[max(X, 0)] and
    /// E[max(−X, 0)] for X the effect (swapped when lower is better).
    double risk_control = 0;
    double risk_variant = 0;
    std::string error;  ///< as in FrequentistResult; chance_to_win is then 0.5
    bool ok() const { return error.empty(); }
};

/// Posterior of the effect from the normal likelihood N(estimate, se²) of the frequentist
/// estimate and the prior (a proper prior on the relative scale is rescaled by |control mean|
/// for absolute effects); chance to win = P(X > 0).
BayesianResult CompareBayesian(const MetricSummary& control,
                               const MetricSummary& variant,
                               const BayesianOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Sample-ratio mismatch.

/// The p-value below which the traffic split is flagged (GrowthBook's DEFAULT_SRM_THRESHOLD).
inline constexpr double kSrmThreshold = 0.001;

struct SrmResult {
    double chi_square = 0;
    double p_value = 1;
    bool mismatch = false;  ///< p_value < threshold
};

/// Chi-square goodness of fit of the units per variant against the expected weights (any
/// positive scale; normalised here), dof = variants − 1; variants with weight <= 0 add no term
/// (gbstats `check_srm`). No units at all gives p = 1. Throws on mismatched sizes, fewer than two
/// variants, negative units or weights, or no positive weight.
SrmResult CheckSampleRatio(const std::vector<std::int64_t>& units,
                           const std::vector<double>& weights,
                           double threshold = kSrmThreshold);

// ---------------------------------------------------------------------------------------------
// Guardrails.

enum class MetricDirection {
    kHigherIsBetter,  ///< a drop is bad (e.g. CTR)
    kLowerIsBetter,   ///< a rise is bad (e.g. latency, unsubscribes)
};

/// Rule: a guardrail fails when the effect is significantly worse than control in its bad
/// direction, i.e. the whole two-sided 1 − alpha interval lies on the bad side of 0
/// (upper < 0 when higher is better, lower > 0 when lower is better). Not significant, or an
/// improvement, never fails.
bool GuardrailFails(const Effect& effect, MetricDirection direction);

/// The rule above on the relative effect; a result with an error never fails (nothing is known).
bool GuardrailFails(const FrequentistResult& result, MetricDirection direction);

}  // namespace recs::core::stats
