// Bounded caches, retry backoff and configuration checks of the core.
#include <gtest/gtest.h>

#include "recs/core/config.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/job.hpp"
#include "recs/core/ttl_cache.hpp"

namespace recs::core {
namespace {

using std::chrono::milliseconds;

TEST(TtlCache, ExpiresEvictsLeastRecentlyUsedAndServesStale) {
    TtlCache<std::string, int> c(milliseconds(100), 3);
    auto t0 = TtlCache<std::string, int>::Clock::now();
    c.Put("a", 1, t0);
    c.Put("b", 2, t0);
    c.Put("c", 3, t0);
    EXPECT_EQ(c.Get("a", t0), 1);  // a is now the most recent
    c.Put("d", 4, t0);             // evicts b, the least recently used: never all at once
    EXPECT_EQ(c.size(), 3u);
    EXPECT_FALSE(c.Get("b", t0));
    EXPECT_EQ(c.Get("a", t0), 1);
    auto later = t0 + milliseconds(150);
    EXPECT_FALSE(c.Get("a", later));                          // expired
    EXPECT_EQ(c.GetStale("a", later, milliseconds(500)), 1);  // but there when the source fails
    EXPECT_FALSE(c.GetStale("a", t0 + milliseconds(600), milliseconds(500)));
    c.EraseIf([](const std::string& k, const int&) { return k == "c"; });
    EXPECT_FALSE(c.GetStale("c", t0, milliseconds(500)));
}

TEST(Backoff, DoublesAndIsCapped) {
    Backoff b{2000, 600000};
    EXPECT_EQ(BackoffMs(1, b), 2000);
    EXPECT_EQ(BackoffMs(3, b), 8000);
    EXPECT_EQ(BackoffMs(100, b), 600000);
    EXPECT_TRUE(IsRetryable(ErrorCode::kUnavailable));
    EXPECT_TRUE(IsRetryable(ErrorCode::kInternal));
    EXPECT_FALSE(IsRetryable(ErrorCode::kUnprocessable));
    EXPECT_FALSE(IsRetryable(ErrorCode::kNotFound));
}

TEST(Config, RefusesWeakAdminKeysAndHeartbeatsThatDoNotFitTheLease) {
    try {
        ConfigFromEnv({{"RECS_ADMIN_KEY", "a"}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.field(), "RECS_ADMIN_KEY");
    }
    EXPECT_NO_THROW(ConfigFromEnv({{"RECS_ADMIN_KEY", std::string(32, 'k')}}));
    try {
        ConfigFromEnv({{"RECS_JOB_LEASE_MS", "1000"}, {"RECS_JOB_HEARTBEAT_MS", "1000"}});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.field(), "RECS_JOB_HEARTBEAT_MS");
    }
    EXPECT_NO_THROW(
        ConfigFromEnv({{"RECS_JOB_LEASE_MS", "1000"}, {"RECS_JOB_HEARTBEAT_MS", "400"}}));
}

// L3: cursors carry a sealed sequence number: opaque, unforgeable, tied to the platform key.
TEST(Seal, RoundTripsAndRefusesForgeries) {
    SetSealKey("00112233445566778899aabbccddeeff");
    auto s = SealU64(42);
    EXPECT_EQ(s.size(), 32u);
    EXPECT_EQ(UnsealU64(s), 42u);
    EXPECT_NE(SealU64(43).substr(0, 8), s.substr(0, 8));  // no visible order
    std::string t = s;
    t[5] = t[5] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(UnsealU64(t));
    EXPECT_FALSE(UnsealU64("zz"));
    EXPECT_FALSE(UnsealU64(std::string(32, 'g')));
    SetSealKey("ffeeddccbbaa99887766554433221100");
    EXPECT_FALSE(UnsealU64(s));  // another platform's cursor
}

}  // namespace
}  // namespace recs::core
