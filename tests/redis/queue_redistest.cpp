// The Redis side of the queue and the client's bounds (findings M6, M7, M15).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "recs/core/error.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/redis.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"

namespace recs::store {
namespace {

class RedisQueueTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (testing::RedisUrl().empty()) GTEST_SKIP() << "RECS_TEST_REDIS_URL not set";
        RedisClient r(testing::RedisUrl(), 1);
        r.Command({"DEL", "recs:jobs:ready"});
    }
};

// M7: pushing an id that waits already never makes a duplicate.
TEST_F(RedisQueueTest, RepushNeverDuplicates) {
    RedisClient r(testing::RedisUrl(), 2);
    auto q = MakeRedisJobQueue(r);
    q->Push({"a", "b"});
    q->Push({"a", "b", "c"});
    q->Push({"a"});
    EXPECT_EQ(q->Depth(), 3);
    EXPECT_EQ(q->Pop(100), "a");  // first pushed, first out
    EXPECT_EQ(q->Pop(100), "b");
    EXPECT_EQ(q->Pop(100), "c");
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(q->Pop(200));
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
}

// M6: an error reply (here a key of the wrong type) is a failure, not silence.
TEST_F(RedisQueueTest, StreamErrorRepliesAreFailures) {
    RedisClient r(testing::RedisUrl(), 1);
    auto s = MakeRedisEventStream(r);
    core::TenantId t{"wrongtype-tenant"};
    r.Command({"DEL", "recs:t:{wrongtype-tenant}:events"});
    r.Command({"SET", "recs:t:{wrongtype-tenant}:events", "x"});
    core::Event e;
    e.event_id = "e";
    e.type = "view";
    e.user_id = "u";
    EXPECT_THROW(s->Append(t, {e}), core::Error);
    s->Delete(t);
    EXPECT_NO_THROW(s->Append(t, {e}));
    EXPECT_EQ(s->Length(t), 1);
    s->Delete(t);
}

// M15: credentials in the URL are used (AUTH), and a wrong password is one clear error.
TEST_F(RedisQueueTest, PasswordsInTheUrlWork) {
    int port = testing::FreePort();
    std::string dir = "/tmp/recs-redis-auth-" + std::to_string(port);
    std::string start = "mkdir -p " + dir + " && redis-server --port " + std::to_string(port) +
                        " --bind 127.0.0.1 --dir " + dir +
                        " --daemonize yes --save '' --appendonly no --requirepass s3cret "
                        "--pidfile " +
                        dir + "/r.pid --logfile " + dir + "/r.log";
    ASSERT_EQ(std::system(start.c_str()), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string base = "127.0.0.1:" + std::to_string(port);
    {
        RedisClient ok("redis://:s3cret@" + base + "/2", 1);
        EXPECT_GE(ok.Ping(), 0.0);
        EXPECT_EQ(ok.Command({"SET", "k", "v"}).str, "OK");
        RedisClient user("redis://default:s3cret@" + base, 1);
        EXPECT_GE(user.Ping(), 0.0);
    }
    try {
        RedisClient bad("redis://:hunter2x@" + base, 1);
        FAIL() << "a wrong password connected";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
        EXPECT_NE(e.detail().find("AUTH"), std::string::npos) << e.detail();
        EXPECT_EQ(e.detail().find("hunter2x"), std::string::npos) << "the password leaked";
    }
    EXPECT_THROW(RedisClient("rediss://" + base, 1), core::Error);
    std::system(("redis-cli -p " + std::to_string(port) +
                 " -a s3cret shutdown nosave "
                 ">/dev/null 2>&1; rm -rf " +
                 dir)
                    .c_str());
}

}  // namespace
}  // namespace recs::store
