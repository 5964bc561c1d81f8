// What only the fakes offer: a clock that tests move (long leases, backoffs and the 60-second /
// 24-hour idempotency rules without waiting), failure injection, and a look into the streams.
// The behaviour itself is the contract's (the other files of this folder).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "recs/core/error.hpp"
#include "recs/store/fakes.hpp"

namespace recs::store {
namespace {

using nlohmann::json;

constexpr int64_t kMinute = 60 * 1000;

struct FakeDatabaseTest : ::testing::Test {
    FakeStores s = MakeFakeStores();
    core::Actor actor{"platform_admin", "admin", "", ""};
    core::TenantId NewTenant(const std::string& name) {
        return core::TenantId{s.tenants->Create(actor, name).id};
    }
};

TEST_F(FakeDatabaseTest, AdvanceExpiresLongLeasesAndBackoffsWithoutWaiting) {
    auto t = NewTenant("a");
    auto job = s.jobs->Create(t, core::JobKind::kTrain, json::object(), 3, std::nullopt);
    ASSERT_TRUE(s.jobs->Lease(job.id, "w1", 10 * kMinute));
    s.db->Advance(9 * kMinute);
    EXPECT_EQ(s.jobs->ReapExpired(core::Backoff{}), 0);
    s.db->Advance(2 * kMinute);
    EXPECT_EQ(s.jobs->ReapExpired(core::Backoff{5 * kMinute, 10 * kMinute}), 1);
    EXPECT_FALSE(s.jobs->Lease(job.id, "w2", kMinute));  // backoff: 5 minutes
    s.db->Advance(5 * kMinute + 1);
    EXPECT_TRUE(s.jobs->Lease(job.id, "w2", kMinute));
}

TEST_F(FakeDatabaseTest, SetClockReplacesTheTimeAndTimestampsFollowIt) {
    s.db->SetClock([] { return int64_t{1714557600000}; });  // 2024-05-01T10:00:00Z
    auto t = s.tenants->Create(actor, "a");
    EXPECT_EQ(t.created_at, "2024-05-01T10:00:00.000Z");
    s.db->Advance(1500);
    auto job = s.jobs->Create(core::TenantId{t.id}, core::JobKind::kTrain, json::object(), 3,
                              std::nullopt);
    EXPECT_EQ(job.created_at, "2024-05-01T10:00:01.500Z");
    // A stopped clock still orders operations: each sees a later instant (by a microsecond), so
    // what happened first stays first.
    EXPECT_EQ(s.db->NowMs(), int64_t{1714557601500});
    auto later = s.jobs->Create(core::TenantId{t.id}, core::JobKind::kTrain, json::object(), 3,
                                std::nullopt);
    EXPECT_EQ(later.created_at, "2024-05-01T10:00:01.500Z");
    auto page = s.jobs->List(core::TenantId{t.id}, PageRequest{}, std::nullopt, std::nullopt);
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[0].id, job.id);
}

TEST_F(FakeDatabaseTest, IdempotencyClaimsAreAbandonedAfterAMinuteAndExpireAfterADay) {
    using Kind = IdempotencyClaim::Kind;
    EXPECT_EQ(s.idempotency->Claim("s", "k", "h").kind, Kind::kClaimed);
    EXPECT_FALSE(s.idempotency->Claim("s", "k", "h").abandoned);
    s.db->Advance(kMinute + 1);
    auto old = s.idempotency->Claim("s", "k", "h");
    EXPECT_EQ(old.kind, Kind::kInFlight);
    EXPECT_TRUE(old.abandoned);
    EXPECT_EQ(s.idempotency->Claim("s", "done", "h").kind, Kind::kClaimed);
    s.idempotency->Complete("s", "done", 201, "{}");
    s.db->Advance(24 * 60 * kMinute);
    EXPECT_EQ(s.idempotency->Claim("s", "done", "other").kind, Kind::kClaimed);  // expired
    EXPECT_EQ(s.idempotency->Expire(10), 1);                                     // "k"
    EXPECT_EQ(s.idempotency->Claim("s", "k", "h2").kind, Kind::kClaimed);
}

TEST_F(FakeDatabaseTest, TheFailureHookFailsOperationsBeforeTheyChangeAnything) {
    auto t = NewTenant("a");
    std::atomic<int> calls{0};
    s.db->SetFailureHook([&](std::string_view op) {
        ++calls;
        if (op == "events.insert" || op == "stream.append")
            throw core::Error(core::ErrorCode::kUnavailable, "down");
    });
    core::Event e;
    e.event_id = "e1";
    e.type = "view";
    e.user_id = "u";
    EXPECT_THROW(s.events->Insert(t, {e}), core::Error);
    EXPECT_THROW(s.streams->Append(t, {e}), core::Error);
    EXPECT_FALSE(s.events->Find(t, "e1"));
    EXPECT_EQ(s.streams->Length(t), 0);
    EXPECT_GE(calls.load(), 4);
    s.db->SetFailureHook(nullptr);
    EXPECT_EQ(s.events->Insert(t, {e}).accepted, 1u);
}

TEST_F(FakeDatabaseTest, StreamEntriesShowWhatWasAppendedAndClearEmptiesEverything) {
    auto t = NewTenant("a");
    core::Event e;
    e.event_id = "e1";
    e.type = "view";
    e.user_id = "u";
    e.item_id = "i";
    e.timestamp_ms = 42;
    e.session_id = "not streamed";
    core::Event no_item = e;
    no_item.event_id = "e2";
    no_item.item_id.reset();
    s.streams->Append(t, {e, no_item});
    auto entries = s.db->StreamEntries(t);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].event_id, "e1");
    EXPECT_EQ(entries[0].item_id, "i");
    EXPECT_EQ(entries[0].timestamp_ms, 42);
    EXPECT_FALSE(entries[0].session_id);
    EXPECT_FALSE(entries[1].item_id);
    s.queue->Push({"j1"});
    s.db->Clear();
    EXPECT_FALSE(s.tenants->Find(t.value));
    EXPECT_TRUE(s.db->StreamEntries(t).empty());
    EXPECT_EQ(s.queue->Depth(), 0);
}

}  // namespace
}  // namespace recs::store
