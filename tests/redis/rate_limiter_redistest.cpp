// The GCRA script against a real Redis: bursts, the sustained rate (also for rates that do not
// divide a second), all-or-nothing over several limits, reads that consume nothing, and a
// script cache flushed under it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "recs/core/crypto.hpp"
#include "recs/store/rate_limiter.hpp"
#include "recs/store/redis.hpp"
#include "support/test_env.hpp"

namespace recs::store {
namespace {

using Clock = std::chrono::steady_clock;

class RateLimiterTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (testing::RedisUrl().empty()) GTEST_SKIP() << "RECS_TEST_REDIS_URL not set";
        redis_ = std::make_unique<RedisClient>(testing::RedisUrl(), 2);
        limiter_ = MakeRedisRateLimiter(*redis_);
        tenant_ = core::RandomUuid();
    }
    RateLimit Key(int64_t rate, int64_t burst, const std::string& k = "k") {
        return {"key", RateLimitKeyOf(tenant_, k), rate, burst};
    }
    std::unique_ptr<RedisClient> redis_;
    std::unique_ptr<RateLimiter> limiter_;
    std::string tenant_;
};

TEST_F(RateLimiterTest, ABurstThenTheRate) {
    int admitted = 0;
    for (int i = 0; i < 20; ++i) admitted += limiter_->Check({Key(1, 5)}).allowed;
    EXPECT_EQ(admitted, 5);
    auto d = limiter_->Check({Key(1, 5)});
    EXPECT_FALSE(d.allowed);
    EXPECT_GT(d.retry_after_ms, 0);
    EXPECT_LE(d.retry_after_ms, 1000);
    EXPECT_EQ(d.states[0].remaining, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(d.retry_after_ms + 5));
    EXPECT_TRUE(limiter_->Check({Key(1, 5)}).allowed);
}

TEST_F(RateLimiterTest, ARateThatDoesNotDivideASecondHoldsOverTime) {
    // 3/s with a burst of 1 for 2 s: at most 3 * 2 + 1 admitted, and no fewer than 6.
    auto end = Clock::now() + std::chrono::seconds(2);
    int admitted = 0;
    while (Clock::now() < end) {
        admitted += limiter_->Check({Key(3, 1)}).allowed;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_LE(admitted, 7);
    EXPECT_GE(admitted, 6);
}

TEST_F(RateLimiterTest, AllLimitsAdmitOrNoneIsCharged) {
    RateLimit tenant{"tenant", RateLimitTenantKeyOf(tenant_), 1, 2};
    EXPECT_TRUE(limiter_->Check({Key(100, 10, "a"), tenant}).allowed);
    EXPECT_TRUE(limiter_->Check({Key(100, 10, "b"), tenant}).allowed);
    // The tenant's bucket is empty: key "a" is refused and its own bucket is not charged.
    auto d = limiter_->Check({Key(100, 10, "a"), tenant});
    EXPECT_FALSE(d.allowed);
    ASSERT_EQ(d.states.size(), 2u);
    EXPECT_GE(d.states[0].remaining, 9);
    EXPECT_EQ(d.states[1].remaining, 0);
    // Reading consumes nothing.
    for (int i = 0; i < 5; ++i) limiter_->Check({Key(100, 10, "c")}, /*consume=*/false);
    EXPECT_EQ(limiter_->Check({Key(100, 10, "c")}, false).states[0].remaining, 10);
}

TEST_F(RateLimiterTest, SurvivesAFlushedScriptCache) {
    EXPECT_TRUE(limiter_->Check({Key(100, 3)}).allowed);
    redis_->Command({"SCRIPT", "FLUSH"});
    auto d = limiter_->Check({Key(100, 3)});
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.states[0].remaining, 1);
    EXPECT_TRUE(limiter_->Check({Key(100, 3)}).allowed);
    EXPECT_FALSE(limiter_->Check({Key(100, 3)}).allowed);
}

}  // namespace
}  // namespace recs::store
