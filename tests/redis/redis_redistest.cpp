#include <gtest/gtest.h>

#include "recs/core/error.hpp"
#include "recs/store/redis.hpp"
#include "support/test_env.hpp"

namespace recs::store {
namespace {

class RedisTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (testing::RedisUrl().empty()) GTEST_SKIP() << "RECS_TEST_REDIS_URL not set";
    }
};

TEST_F(RedisTest, PingAndCommands) {
    RedisClient r(testing::RedisUrl(), 2);
    EXPECT_GE(r.Ping(), 0.0);
    r.Command({"DEL", "recs:test:k"});
    EXPECT_EQ(r.Command({"SET", "recs:test:k", std::string("a\0b", 3)}).str, "OK");
    auto got = r.Command({"GET", "recs:test:k"});
    EXPECT_EQ(got.str, std::string("a\0b", 3));  // binary safe
    EXPECT_TRUE(r.Command({"GET", "recs:test:absent"}).IsNil());
    auto err = r.Command({"INCR", "recs:test:k"});
    EXPECT_EQ(err.type, RedisReply::Type::kError);
}

TEST_F(RedisTest, ReconnectsAfterTheServerDropsTheConnection) {
    RedisClient r(testing::RedisUrl(), 1);
    r.Command({"CLIENT", "SETNAME", "recs-reconnect-test"});
    RedisClient killer(testing::RedisUrl(), 1);
    killer.Command({"CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal"});
    EXPECT_GE(r.Ping(), 0.0);  // the pooled connection was dead; the client made a new one
}

TEST_F(RedisTest, UnreachableIsUnavailable) {
    try {
        RedisClient r("redis://127.0.0.1:1", 1);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
    }
}

}  // namespace
}  // namespace recs::store
