#include "recs/core/canary.hpp"

#include <gtest/gtest.h>

#include <string>

namespace recs::core {
namespace {

TEST(CanaryGuard, TripsOnErrorRateOrP99OnlyWithEnoughRequests) {
    CanaryGuard g;
    g.max_error_rate = 0.05;
    g.max_p99_ms = 100;
    g.window_s = 60;
    g.min_requests = 20;
    WindowStats ok{100, 2, 40}, deployed{1000, 1, 30};
    EXPECT_FALSE(GuardTrips(g, ok, deployed));
    WindowStats errors{100, 10, 40};
    auto why = GuardTrips(g, errors, deployed);
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("error rate 0.100 > 0.050"), std::string::npos) << *why;
    EXPECT_NE(why->find("deployed version 0.001"), std::string::npos) << *why;
    WindowStats slow{100, 0, 250};
    why = GuardTrips(g, slow, deployed);
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("p99 250.00 ms > 100.00 ms"), std::string::npos) << *why;
    // Too few requests to judge: never trips.
    WindowStats few{19, 19, 1000};
    EXPECT_FALSE(GuardTrips(g, few, deployed));
    // A bound that is not set is not checked.
    CanaryGuard only_errors;
    only_errors.max_error_rate = 0.5;
    EXPECT_FALSE(GuardTrips(only_errors, slow, deployed));
}

TEST(CanaryCohort, IsStableGrowsWithTheShareAndDiffersByModel) {
    int in10 = 0, in30 = 0, both_models = 0;
    for (int u = 0; u < 10000; ++u) {
        std::string id = "u" + std::to_string(u);
        bool a = InCanaryCohort("model-a", id, 10), b = InCanaryCohort("model-a", id, 30);
        EXPECT_TRUE(!a || b) << id;  // the 10% cohort stays in at 30%
        in10 += a;
        in30 += b;
        both_models += b && InCanaryCohort("model-b", id, 30);
    }
    EXPECT_NEAR(in10, 1000, 150);
    EXPECT_NEAR(in30, 3000, 250);
    EXPECT_NEAR(both_models, 900, 150);  // independent of each other: about 30% of 30%
    EXPECT_FALSE(InCanaryCohort("m", "u", 0));
    EXPECT_TRUE(InCanaryCohort("m", "u", 100));
    EXPECT_FALSE(InCanaryCohort("m", "", 50));
}

}  // namespace
}  // namespace recs::core
