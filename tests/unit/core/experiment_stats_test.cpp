#include "recs/core/experiment_stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <vector>

#include "recs/core/error.hpp"

// Expected figures marked "gbstats" come from GrowthBook's own unit tests
// (github.com/growthbook/growthbook, packages/stats/tests/, snapshot of 2026-08-21, commit
// 8f1db445), which round to 5 decimals (9 in test_gbstats.py); each is cited by file and test.

namespace recs::core::stats {
namespace {

// gbstats compares np.round(x, d) with the expected value: |x − expected| <= half a unit of d.
void ExpectRounded(double actual, double expected, int decimals = 5) {
    EXPECT_NEAR(actual, expected, 0.5 * std::pow(10.0, -decimals) + 1e-12)
        << "expected " << expected << " to " << decimals << " decimals";
}

MetricSummary Proportion(std::int64_t successes, std::int64_t n) {
    return ProportionStats{n, successes}.Summary();
}

MetricSummary SampleMean(double sum, double sum_squares, std::int64_t n) {
    return MeanStats{n, sum, sum_squares}.Summary();
}

// ---------------------------------------------------------------------------------------------
// Distribution functions, against closed forms.

TEST(ExperimentStatsDistributions, MatchClosedForms) {
    for (double x : {-3.0, -1.0, -0.2, 0.0, 0.5, 1.96, 4.0}) {
        EXPECT_NEAR(NormalCdf(x), 0.5 * std::erfc(-x / std::numbers::sqrt2), 1e-15) << x;
        // t with 1 dof is Cauchy; with 2 dof F(t) = 1/2 + t / (2 sqrt(2 + t²)).
        EXPECT_NEAR(StudentTCdf(x, 1), 0.5 + std::atan(x) / std::numbers::pi, 1e-14) << x;
        EXPECT_NEAR(StudentTCdf(x, 2), 0.5 + x / (2 * std::sqrt(2 + x * x)), 1e-14) << x;
        EXPECT_NEAR(StudentTCdf(x, INFINITY), NormalCdf(x), 1e-14) << x;
    }
    for (double p : {0.001, 0.025, 0.3, 0.5, 0.8, 0.975}) {
        EXPECT_NEAR(NormalCdf(NormalQuantile(p)), p, 1e-14) << p;
        EXPECT_NEAR(StudentTQuantile(p, 2), (2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-11) << p;
        EXPECT_NEAR(StudentTQuantile(p, 1), std::tan(std::numbers::pi * (p - 0.5)), 1e-10) << p;
    }
    EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-14);
    for (double x : {0.0, 0.5, 3.0, 10.0, 40.0}) {
        // χ² survival: exp(−x/2) with 2 dof, exp(−x/2)(1 + x/2) with 4, erfc(sqrt(x/2)) with 1.
        EXPECT_NEAR(ChiSquareSurvival(x, 2), std::exp(-x / 2), 1e-15) << x;
        EXPECT_NEAR(ChiSquareSurvival(x, 4), std::exp(-x / 2) * (1 + x / 2), 1e-15) << x;
        EXPECT_NEAR(ChiSquareSurvival(x, 1), std::erfc(std::sqrt(x / 2)), 1e-15) << x;
    }
}

TEST(ExperimentStatsDistributions, RejectOutOfDomainArguments) {
    EXPECT_THROW(NormalQuantile(0), Error);
    EXPECT_THROW(NormalQuantile(1), Error);
    EXPECT_THROW(StudentTQuantile(0.5, 0), Error);
    EXPECT_THROW(StudentTCdf(1, -1), Error);
    EXPECT_THROW(ChiSquareSurvival(-1, 1), Error);
    EXPECT_THROW(ChiSquareSurvival(1, NAN), Error);
}

// ---------------------------------------------------------------------------------------------
// Summary statistics.

TEST(ExperimentStatsSummaries, MeanStatsFromUnits) {
    MeanStats s;
    for (double x : {2.0, 4.0, 9.0}) s.Add(x);
    EXPECT_EQ(s.n, 3);
    EXPECT_DOUBLE_EQ(s.sum, 15);
    EXPECT_DOUBLE_EQ(s.sum_squares, 101);
    EXPECT_DOUBLE_EQ(s.Mean(), 5);
    EXPECT_DOUBLE_EQ(s.Variance(), (9.0 + 1.0 + 16.0) / 2);  // deviations −3, −1, 4
    MeanStats other;
    other.Add(1);
    s += other;
    EXPECT_EQ(s.n, 4);
    EXPECT_DOUBLE_EQ(s.Mean(), 4);
    EXPECT_DOUBLE_EQ(MeanStats{}.Mean(), 0);
    EXPECT_DOUBLE_EQ((MeanStats{1, 3, 9}.Variance()), 0);
}

TEST(ExperimentStatsSummaries, ProportionUsesPopulationVariance) {
    ProportionStats s;
    for (int i = 0; i < 10; ++i) s.Add(i < 3);
    EXPECT_EQ(s.successes, 3);
    EXPECT_DOUBLE_EQ(s.Mean(), 0.3);
    EXPECT_DOUBLE_EQ(s.Variance(), 0.3 * 0.7);
    const MetricSummary m = s.Summary();
    EXPECT_EQ(m.n, 10);
    EXPECT_DOUBLE_EQ(m.mean, 0.3);
}

TEST(ExperimentStatsSummaries, RatioDeltaMethodEqualsLinearisedVariance) {
    // The delta-method variance of M̄/D̄ is the sample variance of (m_i − R d_i) / D̄, R = ΣM/ΣD:
    // an independent way to get the same number.
    const std::vector<std::pair<double, double>> units = {{1, 4}, {0, 2}, {3, 7},
                                                          {0, 0}, {2, 3}, {1, 9}};
    RatioStats s;
    for (auto [m, d] : units) s.Add(m, d);
    const double r = 7.0 / 25.0;
    const double d_bar = 25.0 / 6.0;
    MeanStats lin;
    for (auto [m, d] : units) lin.Add((m - r * d) / d_bar);
    EXPECT_EQ(s.n, 6);
    EXPECT_DOUBLE_EQ(s.Mean(), r);
    EXPECT_NEAR(s.Variance(), lin.Variance(), 1e-13);
    // Sharded accumulation is the same as one pass.
    RatioStats a, b;
    for (size_t i = 0; i < units.size(); ++i) (i % 2 ? a : b).Add(units[i].first, units[i].second);
    a += b;
    EXPECT_NEAR(a.Variance(), s.Variance(), 1e-13);
    EXPECT_DOUBLE_EQ(RatioStats{}.Mean(), 0);
}

// ---------------------------------------------------------------------------------------------
// Frequentist, fixed horizon: gbstats figures.

// gbstats tests/frequentist/test_tests.py, TestTwoSidedTTest.test_two_sided_ttest_binom.
TEST(ExperimentStatsFrequentist, GbstatsTwoProportionTest) {
    const auto r = CompareFrequentist(Proportion(14, 28), Proportion(16, 30));
    ASSERT_TRUE(r.ok()) << r.error;
    ExpectRounded(r.relative.estimate, 0.06667);
    ExpectRounded(r.relative.std_error, 0.2717);
    ExpectRounded(r.relative.ci.lower, -0.47767);
    ExpectRounded(r.relative.ci.upper, 0.61101);
    ExpectRounded(r.relative.p_value, 0.80707);
    EXPECT_FALSE(r.relative.Significant());
    EXPECT_DOUBLE_EQ(r.absolute.estimate, 16.0 / 30 - 0.5);
}

// gbstats tests/frequentist/test_tests.py, TestTwoSidedTTest.test_two_sided_ttest (relative)
// and .test_two_sided_ttest_absolute.
TEST(ExperimentStatsFrequentist, GbstatsWelchMeanTest) {
    const auto r = CompareFrequentist(SampleMean(1396.87, 52377.9767, 3407),
                                      SampleMean(2422.7, 134698.29, 3461));
    ASSERT_TRUE(r.ok()) << r.error;
    ExpectRounded(r.relative.estimate, 0.70732);
    ExpectRounded(r.relative.std_error, 0.37879);
    ExpectRounded(r.relative.ci.lower, -0.03526);
    ExpectRounded(r.relative.ci.upper, 1.44989);
    ExpectRounded(r.relative.p_value, 0.06191);
    ExpectRounded(r.absolute.estimate, 0.29);
    ExpectRounded(r.absolute.std_error, 0.12478);
    ExpectRounded(r.absolute.ci.lower, 0.04538);
    ExpectRounded(r.absolute.ci.upper, 0.53462);
    ExpectRounded(r.absolute.p_value, 0.02016);
    EXPECT_TRUE(r.absolute.Significant());
    EXPECT_FALSE(r.relative.Significant());
}

// gbstats tests/test_gbstats.py, TestAnalyzeMetricDfFrequentist.test_get_metric_dfs_frequentist
// (dimension "one" of MULTI_DIMENSION_STATISTICS_DF, a count metric; "zero" is control).
TEST(ExperimentStatsFrequentist, GbstatsCountMetric) {
    const auto r = CompareFrequentist(SampleMean(270, 848.79, 100), SampleMean(300, 869, 120));
    ASSERT_TRUE(r.ok()) << r.error;
    ExpectRounded(r.relative.estimate, -0.074074074, 9);
    ExpectRounded(r.relative.p_value, 0.145219005, 9);
}

// gbstats tests/test_gbstats.py, TestAnalyzeMetricDfFrequentist.
// test_get_metric_dfs_frequentist_ratio (RATIO_STATISTICS_DF, ratio of two count metrics).
TEST(ExperimentStatsFrequentist, GbstatsRatioMetric) {
    const RatioStats control{100, 270, 848.79, 510, 810, -900};
    const RatioStats variant{120, 300, 869, 500, 800, -905};
    ExpectRounded(control.Mean(), 0.529411765, 9);
    ExpectRounded(variant.Mean(), 0.6, 9);
    const auto r = CompareFrequentist(control.Summary(), variant.Summary());
    ASSERT_TRUE(r.ok()) << r.error;
    ExpectRounded(r.relative.estimate, 0.133333333, 9);
    ExpectRounded(r.relative.p_value, 0.610663339, 9);
}

// gbstats tests/frequentist/test_tests.py, TestTwoSidedTTest.test_two_sided_ttest_missing_variance
// (negative variance from n = 2) and tests/test_gbstats.py test_get_metric_dfs_ratio_zero_denom.
TEST(ExperimentStatsFrequentist, DegenerateInputsGiveUninformativeResult) {
    const auto r =
        CompareFrequentist(SampleMean(1396.87, 52377.9767, 2), SampleMean(2422.7, 134698.29, 3461));
    EXPECT_EQ(r.error, "ZERO_NEGATIVE_VARIANCE");
    EXPECT_DOUBLE_EQ(r.relative.estimate, 0);
    EXPECT_DOUBLE_EQ(r.relative.p_value, 1);
    EXPECT_FALSE(r.relative.Significant());

    const auto zero = CompareFrequentist(Proportion(0, 100), Proportion(5, 100));
    EXPECT_EQ(zero.error, "ZERO_NEGATIVE_VARIANCE");

    const MetricSummary zero_mean{100, 0.0, 1.0};
    const auto baseline = CompareFrequentist(zero_mean, MetricSummary{100, 0.5, 1.0});
    EXPECT_EQ(baseline.error, "ZERO_NEGATIVE_BASELINE_VARIATION");

    EXPECT_THROW(CompareFrequentist(Proportion(5, 10), Proportion(5, 10), {.alpha = 0}), Error);
    EXPECT_THROW(CompareFrequentist(MetricSummary{-1, 1, 1}, Proportion(5, 10)), Error);
}

TEST(ExperimentStatsFrequentist, WelchDegreesOfFreedom) {
    // Equal variances and sizes: Welch–Satterthwaite reduces to 2(n − 1).
    const MetricSummary a{50, 1.0, 4.0};
    const MetricSummary b{50, 1.2, 4.0};
    EXPECT_NEAR(CompareFrequentist(a, b).dof, 98, 1e-9);
    // Alpha widens or narrows the interval as the t quantile says.
    const auto r90 = CompareFrequentist(a, b, {.alpha = 0.10});
    const double width = r90.absolute.ci.upper - r90.absolute.ci.lower;
    EXPECT_NEAR(width, 2 * StudentTQuantile(0.95, 98) * std::sqrt(4.0 / 50 + 4.0 / 50), 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Sequential: gbstats figures.

// gbstats tests/frequentist/test_tests.py, TestSequentialTTest.test_sequential_test_runs.
TEST(ExperimentStatsSequential, GbstatsMeanMetricTuning1000) {
    const auto r = CompareFrequentist(SampleMean(1396.87, 52377.9767, 3000),
                                      SampleMean(2422.7, 134698.29, 3461),
                                      {.sequential = true, .sequential_tuning_parameter = 1000});
    ASSERT_TRUE(r.ok()) << r.error;
    ExpectRounded(r.relative.estimate, 0.50336);
    ExpectRounded(r.relative.std_error, 0.33341);
    ExpectRounded(r.relative.ci.lower, -0.55844);
    ExpectRounded(r.relative.ci.upper, 1.56516);
    ExpectRounded(r.relative.p_value, 1);
}

// gbstats tests/frequentist/test_tests.py, TestSequentialTTest.test_sequential_test_runs_prop
// (default tuning parameter 5000).
TEST(ExperimentStatsSequential, GbstatsProportionDefaultTuning) {
    const auto r =
        CompareFrequentist(Proportion(1396, 3000), Proportion(2422, 3461), {.sequential = true});
    ASSERT_TRUE(r.ok()) << r.error;
    ExpectRounded(r.relative.estimate, 0.50386);
    ExpectRounded(r.relative.std_error, 0.03386);
    ExpectRounded(r.relative.ci.lower, 0.40098);
    ExpectRounded(r.relative.ci.upper, 0.60675);
    ExpectRounded(r.relative.p_value, 0.0);
    EXPECT_TRUE(r.relative.Significant());
}

// gbstats tests/frequentist/test_tests.py, TestSequentialTTest.
// test_sequential_test_tuning_as_expected: the interval is tightest when the tuning parameter is
// near the real sample size (6461 here), and always wider than the fixed-horizon one.
TEST(ExperimentStatsSequential, TuningNearSampleSizeIsTightest) {
    const auto c = SampleMean(1396.87, 52377.9767, 3000);
    const auto v = SampleMean(2422.7, 134698.29, 3461);
    auto width = [&](double tuning) {
        const auto r =
            CompareFrequentist(c, v, {.sequential = true, .sequential_tuning_parameter = tuning});
        return r.relative.ci.upper - r.relative.ci.lower;
    };
    EXPECT_GT(width(10), width(10000));
    EXPECT_GT(width(10), width(6461));
    EXPECT_GT(width(10000), width(6461));
    const auto fixed = CompareFrequentist(c, v);
    EXPECT_GT(width(6461), fixed.relative.ci.upper - fixed.relative.ci.lower);
}

// The p-value and the interval make the same decision: p < alpha exactly when the interval
// excludes 0. Fixed horizon: re-running at alpha = p puts the interval's end on 0. Sequential:
// the e-value p-value (eq. 155) and the confidence sequence (eq. 9) are the same mixture
// boundary for a given rho (rho itself depends on alpha, so the check sweeps the effect instead).
TEST(ExperimentStatsFrequentist, PValueAndIntervalAgree) {
    const auto c = Proportion(500, 5000);
    const auto fixed = CompareFrequentist(c, Proportion(560, 5000));
    for (const Effect* e : {&fixed.absolute, &fixed.relative}) {
        ASSERT_GT(e->p_value, 1e-3);
        ASSERT_LT(e->p_value, 0.5);
        const auto at_p = CompareFrequentist(c, Proportion(560, 5000), {.alpha = e->p_value});
        const Effect& e2 = e == &fixed.absolute ? at_p.absolute : at_p.relative;
        EXPECT_NEAR(e2.ci.lower, 0, 1e-9 * e->std_error);
    }
    for (bool sequential : {false, true}) {
        int significant = 0, total = 0;
        for (std::int64_t k = 500; k <= 700; ++k, ++total) {
            const auto r = CompareFrequentist(c, Proportion(k, 5000), {.sequential = sequential});
            for (const Effect* e : {&r.absolute, &r.relative}) {
                EXPECT_EQ(e->Significant(), e->p_value < 0.05) << sequential << " " << k;
            }
            significant += r.relative.Significant();
        }
        EXPECT_GT(significant, 0) << sequential;  // the sweep crosses the boundary
        EXPECT_LT(significant, total) << sequential;
    }
}

// ---------------------------------------------------------------------------------------------
// Bayesian: gbstats figures.

// gbstats tests/bayesian/test_tests.py, TestBinom.test_bayesian_binomial_ab_test.
TEST(ExperimentStatsBayesian, GbstatsBinomial) {
    const auto r = CompareBayesian(Proportion(49, 100), Proportion(51, 100));
    ASSERT_TRUE(r.ok()) << r.error;
    ExpectRounded(r.chance_to_win, 0.60918);
    ExpectRounded(r.expected, 0.04082);
    ExpectRounded(r.std_dev, 0.14725);
    ExpectRounded(r.credible_interval.lower, -0.24779);
    ExpectRounded(r.credible_interval.upper, 0.32943);
    ExpectRounded(r.risk_control, 0.0814);
    ExpectRounded(r.risk_variant, 0.04058);
}

// gbstats tests/bayesian/test_tests.py, TestNorm.test_bayesian_gaussian_ab_test and
// .test_bayesian_gaussian_ab_test_informative (proper prior N(0.1, 0.1) on the relative lift).
TEST(ExperimentStatsBayesian, GbstatsGaussianFlatAndInformativePrior) {
    const auto c = SampleMean(100, 1002.25, 10);
    const auto v = SampleMean(105, 1111.5, 10);
    const auto flat = CompareBayesian(c, v);
    ASSERT_TRUE(flat.ok()) << flat.error;
    ExpectRounded(flat.chance_to_win, 0.91923);
    ExpectRounded(flat.expected, 0.05);
    ExpectRounded(flat.std_dev, 0.03572);
    ExpectRounded(flat.credible_interval.lower, -0.02);
    ExpectRounded(flat.credible_interval.upper, 0.12);
    ExpectRounded(flat.risk_control, 0.05131);
    ExpectRounded(flat.risk_variant, 0.00131);

    const auto inf = CompareBayesian(c, v, {.prior = GaussianPrior{0.1, 0.1}});
    ASSERT_TRUE(inf.ok()) << inf.error;
    ExpectRounded(inf.chance_to_win, 0.92315);
    ExpectRounded(inf.expected, 0.05063);
    ExpectRounded(inf.std_dev, 0.03549);
    ExpectRounded(inf.credible_interval.lower, -0.01893);
    ExpectRounded(inf.credible_interval.upper, 0.12019);
    ExpectRounded(inf.risk_control, 0.05186);
    ExpectRounded(inf.risk_variant, 0.00123);
}

// gbstats tests/test_gbstats.py, TestAnalyzeMetricDfBayesian.test_get_metric_dfs_new,
// .test_get_metric_dfs_inverse and .test_get_metric_dfs_bayesian_ratio.
TEST(ExperimentStatsBayesian, GbstatsCountInverseAndRatio) {
    const auto c = SampleMean(270, 848.79, 100);
    const auto v = SampleMean(300, 869, 120);
    const auto r = CompareBayesian(c, v);
    ExpectRounded(r.chance_to_win, 0.071834168, 9);
    ExpectRounded(r.expected, -0.074074074, 9);
    ExpectRounded(r.risk_variant, 0.075691131, 9);
    const auto inv = CompareBayesian(c, v, {.lower_is_better = true});
    ExpectRounded(inv.chance_to_win, 1 - 0.071834168, 9);
    ExpectRounded(inv.risk_variant, 0.001617057, 9);

    const RatioStats rc{100, 270, 848.79, 510, 810, -900};
    const RatioStats rv{120, 300, 869, 500, 800, -905};
    const auto ratio = CompareBayesian(rc.Summary(), rv.Summary());
    ExpectRounded(ratio.chance_to_win, 0.694926359, 9);
    ExpectRounded(ratio.expected, 0.133333333, 9);
    ExpectRounded(ratio.risk_variant, 0.050934045, 9);
}

// gbstats tests/bayesian/test_tests.py, TestBinom.test_missing_data.
TEST(ExperimentStatsBayesian, MissingDataIsAToss) {
    const auto r = CompareBayesian(Proportion(0, 0), Proportion(0, 0));
    EXPECT_FALSE(r.ok());
    EXPECT_DOUBLE_EQ(r.chance_to_win, 0.5);
    EXPECT_DOUBLE_EQ(r.expected, 0);
}

TEST(ExperimentStatsBayesian, AbsoluteScaleMatchesNormalTail) {
    const auto c = Proportion(490, 1000);
    const auto v = Proportion(530, 1000);
    const auto r = CompareBayesian(c, v, {.relative = false});
    const double se = std::sqrt(0.49 * 0.51 / 1000 + 0.53 * 0.47 / 1000);
    EXPECT_NEAR(r.expected, 0.04, 1e-12);
    EXPECT_NEAR(r.std_dev, se, 1e-12);
    EXPECT_NEAR(r.chance_to_win, 0.5 * std::erfc(-0.04 / se / std::numbers::sqrt2), 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Sample-ratio mismatch.

TEST(ExperimentStatsSrm, BalancedSplitIsNotFlagged) {
    const auto r = CheckSampleRatio({5000, 5000}, {0.5, 0.5});
    EXPECT_DOUBLE_EQ(r.chi_square, 0);
    EXPECT_DOUBLE_EQ(r.p_value, 1);
    EXPECT_FALSE(r.mismatch);
}

TEST(ExperimentStatsSrm, UnbalancedSplits) {
    // 5000 vs 5300 against 50/50: χ² = 2·150²/5150 = 8.74, p = 0.0031. That is a real imbalance
    // but above the 0.001 threshold, so it is flagged only with a looser threshold.
    const auto r = CheckSampleRatio({5000, 5300}, {0.5, 0.5});
    EXPECT_NEAR(r.chi_square, 2 * 150.0 * 150.0 / 5150, 1e-9);
    EXPECT_NEAR(r.p_value, std::erfc(std::sqrt(r.chi_square / 2)), 1e-15);
    EXPECT_NEAR(r.p_value, 0.00312, 1e-5);
    EXPECT_FALSE(r.mismatch);
    EXPECT_TRUE(CheckSampleRatio({5000, 5300}, {0.5, 0.5}, 0.01).mismatch);
    // 5000 vs 5400: χ² = 15.4, p = 8.8e-5: flagged at the default threshold.
    const auto big = CheckSampleRatio({5000, 5400}, {1, 1});
    EXPECT_LT(big.p_value, kSrmThreshold);
    EXPECT_TRUE(big.mismatch);
}

TEST(ExperimentStatsSrm, UnequalWeightsAndThreeArms) {
    // Weights need not sum to 1; 2 dof gives p = exp(−χ²/2).
    const auto ok = CheckSampleRatio({5000, 2500, 2500}, {2, 1, 1});
    EXPECT_DOUBLE_EQ(ok.chi_square, 0);
    const auto bad = CheckSampleRatio({5000, 2700, 2300}, {0.5, 0.25, 0.25});
    EXPECT_NEAR(bad.chi_square, 2 * 200.0 * 200.0 / 2500, 1e-9);
    EXPECT_NEAR(bad.p_value, std::exp(-bad.chi_square / 2), 1e-15);
    EXPECT_TRUE(bad.mismatch);
    EXPECT_DOUBLE_EQ(CheckSampleRatio({0, 0}, {1, 1}).p_value, 1);
    EXPECT_THROW(CheckSampleRatio({1, 2}, {1}), Error);
    EXPECT_THROW(CheckSampleRatio({1, 2}, {0, 0}), Error);
    EXPECT_THROW(CheckSampleRatio({-1, 2}, {1, 1}), Error);
}

// ---------------------------------------------------------------------------------------------
// Guardrails.

TEST(ExperimentStatsGuardrail, FailsOnlyWhenSignificantlyWorse) {
    const Effect worse{-0.1, 0.02, {-0.14, -0.06}, 0.0001};
    const Effect better{0.1, 0.02, {0.06, 0.14}, 0.0001};
    const Effect unclear{-0.1, 0.1, {-0.3, 0.1}, 0.3};
    EXPECT_TRUE(GuardrailFails(worse, MetricDirection::kHigherIsBetter));
    EXPECT_FALSE(GuardrailFails(worse, MetricDirection::kLowerIsBetter));
    EXPECT_TRUE(GuardrailFails(better, MetricDirection::kLowerIsBetter));
    EXPECT_FALSE(GuardrailFails(better, MetricDirection::kHigherIsBetter));
    EXPECT_FALSE(GuardrailFails(unclear, MetricDirection::kHigherIsBetter));
    EXPECT_FALSE(GuardrailFails(unclear, MetricDirection::kLowerIsBetter));

    // On a whole result: a 20% drop in conversion at 2000 units per arm fails a
    // higher-is-better guardrail; an errored result never fails.
    const auto drop = CompareFrequentist(Proportion(400, 2000), Proportion(320, 2000));
    EXPECT_TRUE(GuardrailFails(drop, MetricDirection::kHigherIsBetter));
    EXPECT_FALSE(GuardrailFails(drop, MetricDirection::kLowerIsBetter));
    const auto none = CompareFrequentist(Proportion(0, 10), Proportion(10, 10));
    EXPECT_FALSE(none.ok());
    EXPECT_FALSE(GuardrailFails(none, MetricDirection::kHigherIsBetter));
    EXPECT_FALSE(GuardrailFails(none, MetricDirection::kLowerIsBetter));
}

// ---------------------------------------------------------------------------------------------
// Simulations with a CTR-like ratio metric: each unit (user) has its own click propensity
// p ~ Beta(2, 18) (mean 0.1), Poisson(2) impressions and Binomial(impressions, p·lift) clicks, so
// clicks are correlated within a unit and only a unit-level (delta-method) variance is right.

struct CtrSimulator {
    std::mt19937_64 rng;
    std::gamma_distribution<double> g_a{2.0, 1.0};
    std::gamma_distribution<double> g_b{18.0, 1.0};
    std::poisson_distribution<int> impressions{2.0};

    explicit CtrSimulator(std::uint64_t seed) : rng(seed) {}

    void AddUnit(RatioStats& stats, double lift) {
        const double x = g_a(rng), y = g_b(rng);
        const double p = std::min(1.0, lift * x / (x + y));
        const int imps = impressions(rng);
        const int clicks = imps == 0 ? 0 : std::binomial_distribution<int>(imps, p)(rng);
        stats.Add(clicks, imps);
    }
};

TEST(ExperimentStatsSimulation, AaFalsePositiveRatesFixedAndSequential) {
    constexpr int kTrials = 200, kUnits = 2000, kLooks = 14;
    CtrSimulator sim(20240521);
    std::bernoulli_distribution coin(0.5);
    int fixed_flags = 0, sequential_flags = 0, peeking_flags = 0, srm_flags = 0;
    for (int t = 0; t < kTrials; ++t) {
        RatioStats arms[2];
        bool sequential_ever = false, peeking_ever = false;
        for (int look = 1; look <= kLooks; ++look) {
            // Units arrive evenly: the cumulative count after day `look`.
            const int until = kUnits * look / kLooks;
            while (arms[0].n + arms[1].n < until) sim.AddUnit(arms[coin(sim.rng)], 1.0);
            const auto seq =
                CompareFrequentist(arms[0].Summary(), arms[1].Summary(), {.sequential = true});
            ASSERT_TRUE(seq.ok()) << seq.error;
            EXPECT_EQ(seq.relative.Significant(), seq.relative.p_value < 0.05);
            sequential_ever |= seq.relative.Significant();
            peeking_ever |=
                CompareFrequentist(arms[0].Summary(), arms[1].Summary()).relative.Significant();
        }
        const auto fixed = CompareFrequentist(arms[0].Summary(), arms[1].Summary());
        ASSERT_TRUE(fixed.ok()) << fixed.error;
        // A significant interval and p < alpha are the same decision in the fixed-horizon test.
        EXPECT_EQ(fixed.relative.Significant(), fixed.relative.p_value < 0.05);
        fixed_flags += fixed.relative.Significant();
        sequential_flags += sequential_ever;
        peeking_flags += peeking_ever;
        srm_flags += CheckSampleRatio({arms[0].n, arms[1].n}, {0.5, 0.5}).mismatch;
    }
    const double fixed_rate = double(fixed_flags) / kTrials;
    const double seq_rate = double(sequential_flags) / kTrials;
    std::printf(
        "[A/A x%d, %d units] fixed-horizon false positives %.1f%%; sequential ever-flagged over "
        "%d looks %.1f%%; fixed test peeked daily %.1f%%; SRM flags %d\n",
        kTrials, kUnits, 100 * fixed_rate, kLooks, 100 * seq_rate, 100.0 * peeking_flags / kTrials,
        srm_flags);
    EXPECT_LE(fixed_rate, 0.08);
    EXPECT_LE(seq_rate, 0.06);
    EXPECT_LE(srm_flags, 2);
}

TEST(ExperimentStatsSimulation, TenPercentCtrLiftIsDetected) {
    constexpr int kSeeds = 20, kUnitsPerArm = 20000;
    int fixed_detected = 0, sequential_detected = 0, bayes_confident = 0;
    for (int s = 0; s < kSeeds; ++s) {
        CtrSimulator sim(1000 + s);
        RatioStats control, variant;
        for (int i = 0; i < kUnitsPerArm; ++i) {
            sim.AddUnit(control, 1.0);
            sim.AddUnit(variant, 1.1);
        }
        const auto r = CompareFrequentist(control.Summary(), variant.Summary());
        ASSERT_TRUE(r.ok()) << r.error;
        fixed_detected += r.relative.Significant() && r.relative.estimate > 0;
        const auto seq =
            CompareFrequentist(control.Summary(), variant.Summary(), {.sequential = true});
        sequential_detected += seq.relative.Significant() && seq.relative.estimate > 0;
        bayes_confident +=
            CompareBayesian(control.Summary(), variant.Summary()).chance_to_win > 0.95;
    }
    std::printf(
        "[+10%% CTR, %d units/arm x%d seeds] detected: fixed-horizon %d/%d, sequential %d/%d; "
        "Bayesian chance to win > 95%%: %d/%d\n",
        kUnitsPerArm, kSeeds, fixed_detected, kSeeds, sequential_detected, kSeeds, bayes_confident,
        kSeeds);
    EXPECT_GE(fixed_detected, 16);  // >= 80%
}

}  // namespace
}  // namespace recs::core::stats
