#include "recs/core/bandit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "recs/core/error.hpp"

namespace recs::core::bandit {
namespace {

// A Bernoulli arm ("click": trials = impressions = units here).
ArmStats Clicks(double impressions, double clicks) {
    return ArmStats{static_cast<std::int64_t>(impressions), impressions, clicks, 0, 0};
}

// A "value" arm with `n` units of the given mean and sample standard deviation.
ArmStats Values(std::int64_t n, double mean, double sd) {
    const double dn = static_cast<double>(n);
    return ArmStats{n, 0, 0, dn * mean, (dn - 1) * sd * sd + dn * mean * mean};
}

Options With(Policy policy, double min_share = 0.01, std::string reward = "click") {
    Options o;
    o.policy = policy;
    o.min_share = min_share;
    o.reward = std::move(reward);
    o.seed = 42;
    return o;
}

double Sum(const std::vector<double>& w) { return std::accumulate(w.begin(), w.end(), 0.0); }

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double LogBeta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

// Exact P(X_B > X_A) for X_A ~ Beta(aa, ba), X_B ~ Beta(ab, bb) with integer ab (Evan Miller,
// "Formulas for Bayesian A/B testing").
double ProbBBeatsA(double aa, double ba, int ab, double bb) {
    double p = 0;
    for (int i = 0; i < ab; ++i) {
        p += std::exp(LogBeta(aa + i, ba + bb) - std::log(bb + i) - LogBeta(1 + i, bb) -
                      LogBeta(aa, ba));
    }
    return p;
}

// ---------------------------------------------------------------------------------------------
// Names.

TEST(BanditPolicy, NamesRoundTrip) {
    for (Policy p : {Policy::kThompson, Policy::kUcb1, Policy::kEpsilonGreedy}) {
        EXPECT_EQ(ParsePolicy(PolicyName(p)), p);
    }
    EXPECT_EQ(PolicyName(Policy::kThompson), "thompson");
    EXPECT_EQ(PolicyName(Policy::kUcb1), "ucb1");
    EXPECT_EQ(PolicyName(Policy::kEpsilonGreedy), "epsilon_greedy");
    EXPECT_EQ(ParsePolicy("Thompson"), std::nullopt);
    EXPECT_EQ(ParsePolicy("ucb"), std::nullopt);
    EXPECT_EQ(ParsePolicy(""), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Burn-in.

TEST(BanditBurnIn, EqualWeightsWhileAnyArmIsShortOfUnits) {
    // Arm 2 is far better, but arm 1 has 99 units < burn_in_units = 100.
    const std::vector<ArmStats> arms = {Clicks(5000, 100), Clicks(99, 2), Clicks(5000, 900)};
    for (Policy p : {Policy::kThompson, Policy::kUcb1, Policy::kEpsilonGreedy}) {
        const auto w = Reallocate(arms, With(p));
        ASSERT_EQ(w.size(), 3u);
        for (double x : w) EXPECT_DOUBLE_EQ(x, 1.0 / 3) << PolicyName(p);
    }
    // With 100 units the burn-in is over and the policy concentrates the traffic (UCB1 on arm
    // 1, whose bonus with 100 trials is large; the others on arm 2).
    const std::vector<ArmStats> done = {Clicks(5000, 100), Clicks(100, 2), Clicks(5000, 900)};
    for (Policy p : {Policy::kThompson, Policy::kUcb1, Policy::kEpsilonGreedy}) {
        const auto w = Reallocate(done, With(p));
        EXPECT_GT(w[p == Policy::kUcb1 ? 1 : 2], 0.9) << PolicyName(p);
    }
}

TEST(BanditBurnIn, ArmsWithoutDataKeepEqualWeights) {
    Options o = With(Policy::kUcb1);
    o.burn_in_units = 0;
    // No impressions on arm 1: no mean to compare.
    EXPECT_EQ(Reallocate({Clicks(100, 5), ArmStats{0, 0, 0, 0, 0}}, o),
              (std::vector<double>{0.5, 0.5}));
    // "value" needs two units per arm for a variance.
    o.reward = "value";
    o.policy = Policy::kThompson;
    EXPECT_EQ(Reallocate({Values(100, 3, 1), ArmStats{1, 0, 0, 2, 4}}, o),
              (std::vector<double>{0.5, 0.5}));
    // burn_in_units = 0 with data everywhere: the policy decides.
    EXPECT_GT(Reallocate({Values(100, 3, 1), Values(100, 5, 1)}, o)[1], 0.98);
}

// ---------------------------------------------------------------------------------------------
// The floor.

TEST(BanditFloor, RaisesLowArmsAndRescalesTheOthers) {
    // Epsilon-greedy with ε = 0.03 over 3 arms: (0.01, 0.98, 0.01) before the floor.
    Options o = With(Policy::kEpsilonGreedy, 0.0);
    o.epsilon = 0.03;
    const std::vector<ArmStats> arms = {Clicks(1000, 10), Clicks(1000, 50), Clicks(1000, 20)};
    auto w = Reallocate(arms, o);
    EXPECT_NEAR(w[0], 0.01, 1e-12);
    EXPECT_NEAR(w[1], 0.98, 1e-12);
    EXPECT_NEAR(w[2], 0.01, 1e-12);
    // A floor of 0.02 lifts the two low arms; the best keeps the rest (not 0.02 + 0.94 · 0.98).
    o.min_share = 0.02;
    w = Reallocate(arms, o);
    EXPECT_NEAR(w[0], 0.02, 1e-12);
    EXPECT_NEAR(w[1], 0.96, 1e-12);
    EXPECT_NEAR(w[2], 0.02, 1e-12);
    // min_share · k = 1 leaves equal weights whatever the policy.
    o.min_share = 1.0 / 3;
    for (double x : Reallocate(arms, o)) EXPECT_NEAR(x, 1.0 / 3, 1e-12);
}

TEST(BanditFloor, EveryWeightAtLeastTheFloorSumOneAndUnflooredRatiosKept) {
    std::mt19937_64 rng(7);
    const auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
    int checked = 0;
    for (int round = 0; round < 300; ++round) {
        const int k = 2 + static_cast<int>(rng() % 5);
        std::vector<ArmStats> arms;
        for (int i = 0; i < k; ++i) {
            const double n = 100 + std::floor(uniform() * 2000);
            arms.push_back(Clicks(n, std::floor(uniform() * 0.15 * n)));
        }
        Options o = With(static_cast<Policy>(round % 3), 0.0);
        o.thompson_draws = 500;
        o.epsilon = uniform() * 0.3;
        o.seed = static_cast<std::uint64_t>(round);
        const std::vector<double> raw = Reallocate(arms, o);
        o.min_share = std::array<double, 4>{0.01, 0.05, 0.1, 1.0 / k}[round % 4];
        const std::vector<double> w = Reallocate(arms, o);
        ASSERT_EQ(w.size(), static_cast<std::size_t>(k));
        EXPECT_NEAR(Sum(raw), 1.0, 1e-12);
        EXPECT_NEAR(Sum(w), 1.0, 1e-12) << "round " << round;
        // Arms above the floor were all scaled by one factor (the same draws: same seed).
        double ratio = std::numeric_limits<double>::quiet_NaN();
        for (int i = 0; i < k; ++i) {
            EXPECT_GE(w[i], o.min_share - 1e-12) << "round " << round << " arm " << i;
            if (w[i] > o.min_share + 1e-12) {
                if (std::isnan(ratio)) ratio = w[i] / raw[i];
                EXPECT_NEAR(w[i] / raw[i], ratio, 1e-9) << "round " << round;
                EXPECT_LE(ratio, 1 + 1e-12);  // the floor only takes mass from them
                ++checked;
            } else {
                EXPECT_NEAR(w[i], o.min_share, 1e-12);
            }
        }
    }
    EXPECT_GT(checked, 300);
}

// ---------------------------------------------------------------------------------------------
// UCB1 and epsilon-greedy.

TEST(BanditUcb, PutsTheMassOnTheHighestIndex) {
    const std::vector<ArmStats> arms = {Clicks(10000, 400), Clicks(10000, 700), Clicks(10000, 500)};
    const auto w = Reallocate(arms, With(Policy::kUcb1, 0.01));
    EXPECT_NEAR(w[0], 0.01, 1e-12);
    EXPECT_NEAR(w[1], 0.98, 1e-12);
    EXPECT_NEAR(w[2], 0.01, 1e-12);
}

TEST(BanditUcb, TheBonusFavoursTheLessTriedArm) {
    // Arm 1's mean is lower (0.09 < 0.10) but with 100 trials its bonus
    // sqrt(2 ln 10100 / 100) = 0.43 beats arm 0's sqrt(2 ln 10100 / 10000) = 0.043.
    const std::vector<ArmStats> arms = {Clicks(10000, 1000), Clicks(100, 9)};
    EXPECT_NEAR(Reallocate(arms, With(Policy::kUcb1, 0.0))[1], 1.0, 1e-12);
    // c = 0 is pure greedy.
    Options greedy = With(Policy::kUcb1, 0.0);
    greedy.ucb_c = 0;
    EXPECT_NEAR(Reallocate(arms, greedy)[0], 1.0, 1e-12);
    // Exact ties split the mass.
    const auto w = Reallocate({Clicks(1000, 50), Clicks(1000, 50)}, With(Policy::kUcb1, 0.0));
    EXPECT_EQ(w, (std::vector<double>{0.5, 0.5}));
}

TEST(BanditEpsilonGreedy, BestMeanGetsOneMinusEpsilonPlusItsShare) {
    Options o = With(Policy::kEpsilonGreedy, 0.01);
    o.epsilon = 0.2;
    const std::vector<ArmStats> arms = {Clicks(200, 20), Clicks(5000, 400), Clicks(300, 40),
                                        Clicks(1000, 90)};
    // Means 0.10, 0.08, 0.133, 0.09: arm 2 is best; 0.2 / 4 = 0.05 each, 0.85 to arm 2.
    const auto w = Reallocate(arms, o);
    EXPECT_NEAR(w[0], 0.05, 1e-12);
    EXPECT_NEAR(w[1], 0.05, 1e-12);
    EXPECT_NEAR(w[2], 0.85, 1e-12);
    EXPECT_NEAR(w[3], 0.05, 1e-12);
    // "value" uses the per-unit mean sum / units.
    o.reward = "value";
    o.epsilon = 0.1;
    const auto v = Reallocate({Values(500, 4.0, 3), Values(500, 4.5, 3), Values(500, 1, 1)}, o);
    EXPECT_NEAR(v[1], 0.9 + 0.1 / 3, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Thompson.

TEST(BanditThompson, ClearlyBetterArmGetsMostOfTheTraffic) {
    // 4% vs 7% CTR over 3000 impressions each: P(arm 1 best) is ~1.
    const std::vector<ArmStats> arms = {Clicks(3000, 120), Clicks(3000, 210), Clicks(3000, 150)};
    const auto w = Reallocate(arms, With(Policy::kThompson));
    EXPECT_GT(w[1], 0.9);
    EXPECT_NEAR(w[1], 0.98, 1e-12);  // the other two at the floor
    // Conversions read the same fields.
    EXPECT_EQ(Reallocate(arms, With(Policy::kThompson, 0.01, "conversion")), w);
}

TEST(BanditThompson, IdenticalArmsGetAboutEqualWeights) {
    const std::vector<ArmStats> arms(3, Clicks(2000, 100));
    const auto w = Reallocate(arms, With(Policy::kThompson));
    // Monte Carlo standard error sqrt(1/3 · 2/3 / 10000) = 0.0047.
    for (double x : w) EXPECT_NEAR(x, 1.0 / 3, 0.02);
}

TEST(BanditThompson, MatchesTheExactBetaProbability) {
    // Beta(51, 951) vs Beta(63, 939).
    const std::vector<ArmStats> arms = {Clicks(1000, 50), Clicks(1000, 62)};
    const double exact = ProbBBeatsA(51, 951, 63, 939);
    ASSERT_GT(exact, 0.8);
    ASSERT_LT(exact, 0.95);
    const auto w = Reallocate(arms, With(Policy::kThompson, 0.0));
    const double se = std::sqrt(exact * (1 - exact) / 10000);
    EXPECT_NEAR(w[1], exact, 4 * se) << "exact " << exact;
    EXPECT_NEAR(w[0], 1 - exact, 4 * se);
    std::printf("[thompson] P(B best): exact %.4f, Monte Carlo %.4f (se %.4f)\n", exact, w[1], se);
}

TEST(BanditThompson, ValueUsesTheGaussianPosteriorOfTheMean) {
    // P(B > A) = Φ((10.5 − 10) / sqrt(16/500 + 25/400)).
    const std::vector<ArmStats> arms = {Values(500, 10, 4), Values(400, 10.5, 5)};
    const double exact = NormalCdf(0.5 / std::sqrt(16.0 / 500 + 25.0 / 400));
    const auto w = Reallocate(arms, With(Policy::kThompson, 0.0, "value"));
    EXPECT_NEAR(w[1], exact, 4 * std::sqrt(exact * (1 - exact) / 10000)) << "exact " << exact;
    // Zero variance: every draw is the mean; equal means tie in every draw and split it.
    const auto tie =
        Reallocate({Values(200, 3, 0), Values(300, 3, 0)}, With(Policy::kThompson, 0.0, "value"));
    EXPECT_EQ(tie, (std::vector<double>{0.5, 0.5}));
}

TEST(BanditThompson, DeterministicGivenTheSeed) {
    const std::vector<ArmStats> arms = {Clicks(800, 40), Clicks(800, 46), Clicks(800, 44)};
    Options o = With(Policy::kThompson, 0.0);
    const auto a = Reallocate(arms, o);
    EXPECT_EQ(Reallocate(arms, o), a);
    o.seed = 43;
    EXPECT_NE(Reallocate(arms, o), a);
}

// ---------------------------------------------------------------------------------------------
// Validation.

void ExpectUnprocessable(const std::function<void()>& f, const std::string& field) {
    try {
        f();
        ADD_FAILURE() << "no error; expected field " << field;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnprocessable) << e.detail();
        EXPECT_EQ(e.field(), field) << e.detail();
    }
}

TEST(BanditValidation, RejectsBadArmsWithTheField) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Options click = With(Policy::kThompson);
    const Options value = With(Policy::kThompson, 0.01, "value");
    const auto run = [](std::vector<ArmStats> arms, Options o) {
        return [arms = std::move(arms), o = std::move(o)] { Reallocate(arms, o); };
    };
    const ArmStats ok = Clicks(500, 20);
    ExpectUnprocessable(run({}, click), "arms");
    ExpectUnprocessable(run({ok, ArmStats{-1, 10, 1, 0, 0}}, click), "units");
    ExpectUnprocessable(run({ok, ArmStats{500, -1, 0, 0, 0}}, click), "trials");
    ExpectUnprocessable(run({ok, ArmStats{500, nan, 0, 0, 0}}, click), "trials");
    ExpectUnprocessable(run({ok, ArmStats{500, 500, -2, 0, 0}}, click), "successes");
    ExpectUnprocessable(run({ok, ArmStats{500, 500, 501, 0, 0}}, click), "successes");
    ExpectUnprocessable(run({ok, ArmStats{500, 500, nan, 0, 0}}, click), "successes");
    ExpectUnprocessable(run({ok, ArmStats{500, 500, 1, 0, 0}}, With(Policy::kUcb1, 0.6)),
                        "min_share");
    ExpectUnprocessable(run({Values(200, 2, 1), ArmStats{200, 0, 0, -1, 10}}, value), "sum");
    ExpectUnprocessable(run({Values(200, 2, 1), ArmStats{200, 0, 0, nan, 10}}, value), "sum");
    ExpectUnprocessable(run({Values(200, 2, 1), ArmStats{200, 0, 0, 10, nan}}, value),
                        "sum_squares");
    // Σx = 400 over 200 units needs Σx² >= 800.
    ExpectUnprocessable(run({Values(200, 2, 1), ArmStats{200, 0, 0, 400, 700}}, value),
                        "sum_squares");
    // Fields a reward does not read are not checked.
    EXPECT_NO_THROW(Reallocate({ok, ArmStats{500, 500, 20, nan, -1}}, click));
    EXPECT_NO_THROW(Reallocate({Values(200, 2, 1), ArmStats{200, nan, -5, 400, 900}}, value));
}

TEST(BanditValidation, RejectsBadOptionsWithTheField) {
    const std::vector<ArmStats> arms = {Clicks(500, 20), Clicks(500, 25)};
    const auto run = [&](const std::function<void(Options&)>& edit) {
        Options o = With(Policy::kThompson);
        edit(o);
        return [&arms, o] { Reallocate(arms, o); };
    };
    ExpectUnprocessable(run([](Options& o) { o.reward = "revenue"; }), "reward");
    ExpectUnprocessable(run([](Options& o) { o.min_share = -0.1; }), "min_share");
    ExpectUnprocessable(run([](Options& o) { o.min_share = 0.51; }), "min_share");
    ExpectUnprocessable(run([](Options& o) { o.min_share = std::nan(""); }), "min_share");
    ExpectUnprocessable(run([](Options& o) { o.burn_in_units = -1; }), "burn_in_units");
    ExpectUnprocessable(run([](Options& o) { o.epsilon = 1.5; }), "epsilon");
    ExpectUnprocessable(run([](Options& o) { o.epsilon = std::nan(""); }), "epsilon");
    ExpectUnprocessable(run([](Options& o) { o.ucb_c = -1; }), "ucb_c");
    ExpectUnprocessable(run([](Options& o) { o.thompson_draws = 0; }), "thompson_draws");
    ExpectUnprocessable(run([](Options& o) { o.policy = static_cast<Policy>(9); }), "policy");
    // min_share · k = 1 exactly is allowed; ValidateOptions alone checks the same rules.
    EXPECT_NO_THROW(run([](Options& o) { o.min_share = 0.5; })());
    ExpectUnprocessable([] { ValidateOptions(Options{}, 0); }, "arms");
    ExpectUnprocessable([] { ValidateOptions(With(Policy::kUcb1, 0.26), 4); }, "min_share");
    EXPECT_NO_THROW(ValidateOptions(With(Policy::kUcb1, 0.25), 4));
}

// ---------------------------------------------------------------------------------------------
// Simulation: 3 arms with true CTRs 0.04, 0.05, 0.07. 40 batches of 500 impressions (20,000);
// each impression is a new unit assigned by the current weights, clicks ~ Bernoulli(CTR of its
// arm); after each batch the weights are reallocated from the cumulative stats (units = trials =
// impressions, successes = clicks; burn_in_units 100, min_share 0.01).

constexpr double kCtr[3] = {0.04, 0.05, 0.07};
constexpr int kBest = 2;
constexpr int kBatch = 500;
constexpr int kBatches = 40;     // 20,000 impressions
constexpr int kTailBatches = 4;  // the share is measured over impressions 18,001–20,000
constexpr int kSeeds = 40;

struct Run {
    double regret = 0;        // Σ over impressions of best CTR − CTR of the assigned arm
    double tail_share = 0;    // share of impressions 18,001–20,000 assigned to the best arm
    double final_weight = 0;  // the best arm's weight after the 20,000th impression
};

Run Simulate(Policy policy, std::uint64_t seed) {
    std::mt19937_64 rng(1000 + seed);
    const auto uniform = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
    Options o = With(policy, 0.01);
    o.burn_in_units = 100;
    o.epsilon = 0.1;
    // 2,000 draws (Monte Carlo se of a weight <= 0.011) keep the file well under 3 s at -O1.
    o.thompson_draws = 2000;
    std::vector<ArmStats> arms(3);
    std::vector<double> weights(3, 1.0 / 3);
    Run run;
    int tail_best = 0;
    for (int batch = 0; batch < kBatches; ++batch) {
        for (int i = 0; i < kBatch; ++i) {
            const double u = uniform();
            int arm = 0;
            double cumulative = weights[0];
            while (arm < 2 && u >= cumulative) cumulative += weights[++arm];
            ArmStats& a = arms[arm];
            a.units += 1;
            a.trials += 1;
            if (uniform() < kCtr[arm]) a.successes += 1;
            run.regret += kCtr[kBest] - kCtr[arm];
            if (batch >= kBatches - kTailBatches && arm == kBest) ++tail_best;
        }
        o.seed = seed * 1000 + static_cast<std::uint64_t>(batch);
        weights = Reallocate(arms, o);
    }
    run.tail_share = tail_best / static_cast<double>(kTailBatches * kBatch);
    run.final_weight = weights[kBest];
    return run;
}

struct Summary {
    double regret = 0;
    double tail_share = 0;
    double min_tail_share = 1;
    double final_weight = 0;
};

Summary SimulateSeeds(Policy policy) {
    Summary s;
    for (int seed = 0; seed < kSeeds; ++seed) {
        const Run r = Simulate(policy, static_cast<std::uint64_t>(seed));
        s.regret += r.regret / kSeeds;
        s.tail_share += r.tail_share / kSeeds;
        s.final_weight += r.final_weight / kSeeds;
        s.min_tail_share = std::min(s.min_tail_share, r.tail_share);
    }
    return s;
}

TEST(BanditSimulation, ThompsonFindsTheBestArmWithLessRegretThanEpsilonGreedy) {
    const Summary ts = SimulateSeeds(Policy::kThompson);
    const Summary eg = SimulateSeeds(Policy::kEpsilonGreedy);
    const Summary ucb = SimulateSeeds(Policy::kUcb1);
    for (const auto& [name, s] :
         {std::pair{"thompson", ts}, {"epsilon_greedy", eg}, {"ucb1", ucb}}) {
        std::printf(
            "[simulation] %-14s mean over %d seeds: regret %6.1f  best-arm share of impressions "
            "18,001-20,000 %.3f (min %.3f)  best-arm weight at 20,000 %.3f\n",
            name, kSeeds, s.regret, s.tail_share, s.min_tail_share, s.final_weight);
    }
    // Asserted: of the impressions 18,001–20,000 (the last 4 batches), ≥ 90% went to the best
    // arm on average over the seeds; and the best arm's weight after 20,000 is ≥ 0.9 on average.
    EXPECT_GE(ts.tail_share, 0.9);
    EXPECT_GE(ts.final_weight, 0.9);
    EXPECT_LT(ts.regret, eg.regret);
}

}  // namespace
}  // namespace recs::core::bandit
