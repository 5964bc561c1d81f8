#include "recs/core/experiment_stats.hpp"

#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/complement.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <utility>

#include "recs/core/error.hpp"

namespace recs::core::stats {
namespace {

constexpr char kZeroVariance[] = "ZERO_NEGATIVE_VARIANCE";
constexpr char kZeroBaseline[] = "ZERO_NEGATIVE_BASELINE_VARIATION";

[[noreturn]] void Invalid(std::string detail, std::string field) {
    throw Error(ErrorCode::kUnprocessable, std::move(detail), std::move(field));
}

void CheckProbability(double p, const char* field) {
    if (!(p > 0 && p < 1)) Invalid(std::string(field) + " must be in (0, 1)", field);
}

void CheckDof(double dof) {
    // +infinity is allowed (the normal limit); NaN and non-positive values are not.
    if (!(dof > 0)) Invalid("degrees of freedom must be > 0", "dof");
}

void CheckSummary(const MetricSummary& s, const char* field) {
    if (s.n < 0) Invalid("unit count must be >= 0", field);
    if (!std::isfinite(s.mean) || !std::isfinite(s.variance)) {
        Invalid("mean and variance must be finite", field);
    }
}

// gbstats utils.variance_of_ratios: variance of M/D by the delta method, given the variances of
// M and D and their covariance.
double VarianceOfRatios(double mean_m, double var_m, double mean_d, double var_d, double cov) {
    if (mean_d == 0) return 0;
    const double d2 = mean_d * mean_d;
    return var_m / d2 + var_d * mean_m * mean_m / (d2 * d2) - 2 * cov * mean_m / (d2 * mean_d);
}

// Point estimates and variances of both effects (gbstats EffectMoments), or an error code.
struct Moments {
    double abs_estimate = 0;
    double abs_variance = 0;
    double rel_estimate = 0;
    double rel_variance = 0;
    std::string error;
};

Moments ComputeMoments(const MetricSummary& c, const MetricSummary& v) {
    CheckSummary(c, "control");
    CheckSummary(v, "variant");
    Moments m;
    // A variant with fewer than two units has no usable variance (every statistic above gives 0).
    if (c.n < 2 || v.n < 2 || c.variance <= 0 || v.variance <= 0) {
        m.error = kZeroVariance;
        return m;
    }
    const double se2_c = c.variance / static_cast<double>(c.n);
    const double se2_v = v.variance / static_cast<double>(v.n);
    m.abs_estimate = v.mean - c.mean;
    m.abs_variance = se2_v + se2_c;
    if (!(m.abs_variance > 0)) {
        m.error = kZeroVariance;
        return m;
    }
    if (c.mean == 0) {
        m.error = kZeroBaseline;
        return m;
    }
    m.rel_estimate = (v.mean - c.mean) / std::abs(c.mean);
    m.rel_variance = VarianceOfRatios(v.mean, se2_v, c.mean, se2_c, 0);
    if (!(m.rel_variance > 0)) m.error = kZeroVariance;
    return m;
}

double WelchDof(const MetricSummary& c, const MetricSummary& v) {
    const double nc = static_cast<double>(c.n), nv = static_cast<double>(v.n);
    const double a = v.variance / nv + c.variance / nc;
    return a * a /
           (v.variance * v.variance / (nv * nv * (nv - 1)) +
            c.variance * c.variance / (nc * nc * (nc - 1)));
}

Effect FixedHorizonEffect(double estimate, double variance, double dof, double alpha) {
    Effect e;
    e.estimate = estimate;
    e.std_error = std::sqrt(variance);
    const double t = std::abs(estimate / e.std_error);
    const boost::math::students_t dist(dof);
    e.p_value = 2 * boost::math::cdf(boost::math::complement(dist, t));
    const double half = boost::math::quantile(dist, 1 - alpha / 2) * e.std_error;
    e.ci = {estimate - half, estimate + half};
    return e;
}

// gbstats sequential_rho (eq. 161 of Waudby-Smith et al., arXiv 2103.06476v7), two-sided.
double SequentialRho(double alpha, double tuning) {
    const double l = -2 * std::log(alpha);
    return std::sqrt((l + std::log(l + 1)) / tuning);
}

Effect SequentialEffect(double estimate, double variance, double n, double rho, double alpha) {
    Effect e;
    e.estimate = estimate;
    e.std_error = std::sqrt(variance);
    const double nr2p1 = n * rho * rho + 1;
    // Eq. 9: half-width of the normal-mixture confidence sequence, with the per-observation
    // variance s² = se² · n.
    const double s2 = variance * n;
    const double half = std::sqrt(s2) * std::sqrt(2 * nr2p1 * std::log(std::sqrt(nr2p1) / alpha) /
                                                  ((n * rho) * (n * rho)));
    e.ci = {estimate - half, estimate + half};
    // Eq. 155: p = min(1, 1/e-value), e-value = exp(ρ² n z² / (2(nρ²+1))) / sqrt(nρ²+1);
    // computed as a product with exp(−·) so that a large statistic underflows to 0 rather than
    // overflowing.
    const double st2 = estimate * estimate * n / variance;
    e.p_value = std::min(1.0, std::sqrt(nr2p1) * std::exp(-rho * rho * st2 / (2 * nr2p1)));
    return e;
}

Effect DefaultEffect() { return Effect{}; }

}  // namespace

// ---------------------------------------------------------------------------------------------

double NormalCdf(double x) {
    if (std::isnan(x)) Invalid("x must not be NaN", "x");
    if (std::isinf(x)) return x > 0 ? 1.0 : 0.0;
    return boost::math::cdf(boost::math::normal(), x);
}

double NormalQuantile(double p) {
    CheckProbability(p, "p");
    return boost::math::quantile(boost::math::normal(), p);
}

double StudentTCdf(double t, double dof) {
    CheckDof(dof);
    if (std::isnan(t)) Invalid("t must not be NaN", "t");
    if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
    return boost::math::cdf(boost::math::students_t(dof), t);
}

double StudentTQuantile(double p, double dof) {
    CheckProbability(p, "p");
    CheckDof(dof);
    return boost::math::quantile(boost::math::students_t(dof), p);
}

double ChiSquareSurvival(double x, double dof) {
    if (!(dof > 0) || std::isinf(dof)) Invalid("degrees of freedom must be finite and > 0", "dof");
    if (!(x >= 0)) Invalid("x must be >= 0", "x");
    if (std::isinf(x)) return 0.0;
    return boost::math::cdf(boost::math::complement(boost::math::chi_squared(dof), x));
}

// ---------------------------------------------------------------------------------------------

void MeanStats::Add(double value) {
    ++n;
    sum += value;
    sum_squares += value * value;
}

MeanStats& MeanStats::operator+=(const MeanStats& other) {
    n += other.n;
    sum += other.sum;
    sum_squares += other.sum_squares;
    return *this;
}

double MeanStats::Mean() const { return n == 0 ? 0.0 : sum / static_cast<double>(n); }

double MeanStats::Variance() const {
    if (n <= 1) return 0;
    const double dn = static_cast<double>(n);
    return (sum_squares - sum * sum / dn) / (dn - 1);
}

MetricSummary MeanStats::Summary() const { return {n, Mean(), Variance()}; }

void ProportionStats::Add(bool success) {
    ++n;
    if (success) ++successes;
}

ProportionStats& ProportionStats::operator+=(const ProportionStats& other) {
    n += other.n;
    successes += other.successes;
    return *this;
}

double ProportionStats::Mean() const {
    return n == 0 ? 0.0 : static_cast<double>(successes) / static_cast<double>(n);
}

double ProportionStats::Variance() const {
    const double p = Mean();
    return p * (1 - p);
}

MetricSummary ProportionStats::Summary() const { return {n, Mean(), Variance()}; }

void RatioStats::Add(double numerator, double denominator) {
    ++n;
    numerator_sum += numerator;
    numerator_sum_squares += numerator * numerator;
    denominator_sum += denominator;
    denominator_sum_squares += denominator * denominator;
    cross_sum += numerator * denominator;
}

RatioStats& RatioStats::operator+=(const RatioStats& other) {
    n += other.n;
    numerator_sum += other.numerator_sum;
    numerator_sum_squares += other.numerator_sum_squares;
    denominator_sum += other.denominator_sum;
    denominator_sum_squares += other.denominator_sum_squares;
    cross_sum += other.cross_sum;
    return *this;
}

double RatioStats::Mean() const {
    return denominator_sum == 0 ? 0.0 : numerator_sum / denominator_sum;
}

double RatioStats::Covariance() const {
    if (n <= 1) return 0;
    const double dn = static_cast<double>(n);
    return (cross_sum - numerator_sum * denominator_sum / dn) / (dn - 1);
}

double RatioStats::Variance() const {
    if (n <= 1) return 0;
    const double dn = static_cast<double>(n);
    const double mean_d = denominator_sum / dn;
    if (mean_d == 0) return 0;
    const MeanStats m{n, numerator_sum, numerator_sum_squares};
    const MeanStats d{n, denominator_sum, denominator_sum_squares};
    return VarianceOfRatios(m.Mean(), m.Variance(), mean_d, d.Variance(), Covariance());
}

MetricSummary RatioStats::Summary() const { return {n, Mean(), Variance()}; }

// ---------------------------------------------------------------------------------------------

FrequentistResult CompareFrequentist(const MetricSummary& control,
                                     const MetricSummary& variant,
                                     const FrequentistOptions& options) {
    CheckProbability(options.alpha, "alpha");
    if (options.sequential && !(options.sequential_tuning_parameter > 0 &&
                                std::isfinite(options.sequential_tuning_parameter))) {
        Invalid("sequential_tuning_parameter must be finite and > 0",
                "sequential_tuning_parameter");
    }
    FrequentistResult r;
    const Moments m = ComputeMoments(control, variant);
    if (!m.error.empty()) {
        r.absolute = r.relative = DefaultEffect();
        r.error = m.error;
        return r;
    }
    r.dof = WelchDof(control, variant);
    if (options.sequential) {
        const double n = static_cast<double>(control.n) + static_cast<double>(variant.n);
        const double rho = SequentialRho(options.alpha, options.sequential_tuning_parameter);
        r.absolute = SequentialEffect(m.abs_estimate, m.abs_variance, n, rho, options.alpha);
        r.relative = SequentialEffect(m.rel_estimate, m.rel_variance, n, rho, options.alpha);
    } else {
        r.absolute = FixedHorizonEffect(m.abs_estimate, m.abs_variance, r.dof, options.alpha);
        r.relative = FixedHorizonEffect(m.rel_estimate, m.rel_variance, r.dof, options.alpha);
    }
    return r;
}

BayesianResult CompareBayesian(const MetricSummary& control,
                               const MetricSummary& variant,
                               const BayesianOptions& options) {
    CheckProbability(options.alpha, "alpha");
    if (options.prior && !(std::isfinite(options.prior->mean) && options.prior->variance > 0 &&
                           std::isfinite(options.prior->variance))) {
        Invalid("prior needs a finite mean and a finite variance > 0", "prior");
    }
    BayesianResult r;
    const Moments m = ComputeMoments(control, variant);
    if (!m.error.empty()) {
        r.error = m.error;
        return r;
    }
    const double data_mean = options.relative ? m.rel_estimate : m.abs_estimate;
    const double data_var = options.relative ? m.rel_variance : m.abs_variance;

    double post_mean = data_mean;
    double post_prec = 1 / data_var;
    if (options.prior) {
        // The prior is on the relative scale; for absolute effects rescale it by the control mean.
        double prior_mean = options.prior->mean;
        double prior_var = options.prior->variance;
        if (!options.relative) {
            prior_mean *= std::abs(control.mean);
            prior_var *= control.mean * control.mean;
        }
        post_prec += 1 / prior_var;
        post_mean = (data_mean / data_var + prior_mean / prior_var) / post_prec;
    }
    const double sd = std::sqrt(1 / post_prec);
    r.expected = post_mean;
    r.std_dev = sd;

    const boost::math::normal posterior(post_mean, sd);
    const double p_positive = boost::math::cdf(boost::math::complement(posterior, 0.0));
    r.chance_to_win = options.lower_is_better ? 1 - p_positive : p_positive;
    r.credible_interval = {boost::math::quantile(posterior, options.alpha / 2),
                           boost::math::quantile(posterior, 1 - options.alpha / 2)};

    // Closed forms of gbstats get_risk: E[max(X, 0)] = μΦ(z) + σφ(z), E[max(−X, 0)] =
    // σφ(z) − μΦ(−z), with z = μ/σ.
    const boost::math::normal std_normal;
    const double z = post_mean / sd;
    const double sd_pdf = sd * boost::math::pdf(std_normal, z);
    const double loss_control = post_mean * boost::math::cdf(std_normal, z) + sd_pdf;
    const double loss_variant = sd_pdf - post_mean * boost::math::cdf(std_normal, -z);
    r.risk_control = std::max(0.0, options.lower_is_better ? loss_variant : loss_control);
    r.risk_variant = std::max(0.0, options.lower_is_better ? loss_control : loss_variant);
    return r;
}

// ---------------------------------------------------------------------------------------------

SrmResult CheckSampleRatio(const std::vector<std::int64_t>& units,
                           const std::vector<double>& weights,
                           double threshold) {
    if (units.size() != weights.size()) Invalid("one weight per variant is needed", "weights");
    if (units.size() < 2) Invalid("at least two variants are needed", "units");
    if (!(threshold > 0 && threshold < 1)) Invalid("threshold must be in (0, 1)", "threshold");
    double total_units = 0, total_weight = 0;
    for (size_t i = 0; i < units.size(); ++i) {
        if (units[i] < 0) Invalid("unit counts must be >= 0", "units");
        if (!(weights[i] >= 0) || !std::isfinite(weights[i])) {
            Invalid("weights must be finite and >= 0", "weights");
        }
        total_units += static_cast<double>(units[i]);
        total_weight += weights[i];
    }
    if (!(total_weight > 0)) Invalid("at least one weight must be > 0", "weights");
    SrmResult r;
    if (total_units == 0) return r;
    for (size_t i = 0; i < units.size(); ++i) {
        if (weights[i] <= 0) continue;
        const double expected = weights[i] / total_weight * total_units;
        const double d = static_cast<double>(units[i]) - expected;
        r.chi_square += d * d / expected;
    }
    r.p_value = ChiSquareSurvival(r.chi_square, static_cast<double>(units.size() - 1));
    r.mismatch = r.p_value < threshold;
    return r;
}

// ---------------------------------------------------------------------------------------------

bool GuardrailFails(const Effect& effect, MetricDirection direction) {
    return direction == MetricDirection::kHigherIsBetter ? effect.ci.upper < 0
                                                         : effect.ci.lower > 0;
}

bool GuardrailFails(const FrequentistResult& result, MetricDirection direction) {
    return result.ok() && GuardrailFails(result.relative, direction);
}

}  // namespace recs::core::stats
