// The contract of the Redis side: the ready-jobs queue and the tenants' event streams.
#include <chrono>
#include <future>
#include <thread>

#include "contract/contract.hpp"
#include "recs/core/crypto.hpp"

namespace recs::contract {
namespace {

using Clock = std::chrono::steady_clock;

class QueueContract : public ContractTest {};
RECS_CONTRACT_SIDES(QueueContract);

TEST_P(QueueContract, PushNeverDuplicatesAWaitingId) {
    queue().Push({"a", "b"});
    Advance(5);  // later pushes have later scores
    queue().Push({"a", "b", "c"});
    Advance(5);
    queue().Push({"a"});
    queue().Push({});
    EXPECT_EQ(queue().Depth(), 3);
    EXPECT_EQ(queue().Pop(100), "a");
    EXPECT_EQ(queue().Pop(100), "b");
    EXPECT_EQ(queue().Pop(100), "c");
    EXPECT_EQ(queue().Depth(), 0);
    // A popped id waits no more: pushing it again adds it.
    queue().Push({"a"});
    EXPECT_EQ(queue().Depth(), 1);
    EXPECT_EQ(queue().Pop(100), "a");
}

TEST_P(QueueContract, PopOfAnEmptyQueueTimesOut) {
    auto start = Clock::now();
    EXPECT_FALSE(queue().Pop(100));
    auto waited = Clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(80));
    EXPECT_LT(waited, std::chrono::milliseconds(1000));
    EXPECT_EQ(queue().Depth(), 0);
}

TEST_P(QueueContract, EarlierPushesPopFirstAndABatchPopsInIdOrder) {
    queue().Push({"z"});
    Advance(5);
    queue().Push({"y", "x"});  // one push: one score, ties in id order
    EXPECT_EQ(queue().Pop(100), "z");
    EXPECT_EQ(queue().Pop(100), "x");
    EXPECT_EQ(queue().Pop(100), "y");
    // A re-push of a waiting id keeps its (earlier) place.
    queue().Push({"m"});
    Advance(5);
    queue().Push({"k"});
    Advance(5);
    queue().Push({"m"});
    EXPECT_EQ(queue().Depth(), 2);
    EXPECT_EQ(queue().Pop(100), "m");
    EXPECT_EQ(queue().Pop(100), "k");
    EXPECT_EQ(queue().Depth(), 0);
}

TEST_P(QueueContract, PopWaitsForAPush) {
    auto start = Clock::now();
    auto popped = std::async(std::launch::async, [&] { return queue().Pop(1500); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    queue().Push({"late"});
    EXPECT_EQ(popped.get(), "late");
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1400));
    EXPECT_EQ(queue().Depth(), 0);
}

TEST_P(QueueContract, StreamsAppendCountAndDeletePerTenant) {
    core::TenantId a{core::RandomUuid()};
    core::TenantId b{core::RandomUuid()};
    EXPECT_EQ(streams().Length(a), 0);
    streams().Append(a, {Ev("e1"), Ev("e2"), Ev("e3", "u1", std::nullopt)});
    streams().Append(b, {Ev("e1")});
    EXPECT_EQ(streams().Length(a), 3);
    EXPECT_EQ(streams().Length(b), 1);
    streams().Append(a, {Ev("e1")});  // appends are not deduplicated: consumers dedupe
    EXPECT_EQ(streams().Length(a), 4);
    streams().Append(a, {});
    EXPECT_EQ(streams().Length(a), 4);
    streams().Delete(a);
    EXPECT_EQ(streams().Length(a), 0);
    EXPECT_EQ(streams().Length(b), 1);
    EXPECT_NO_THROW(streams().Delete(a));  // deleting nothing is fine
    streams().Append(a, {Ev("e9")});
    EXPECT_EQ(streams().Length(a), 1);
    streams().Delete(a);
    streams().Delete(b);
    EXPECT_EQ(streams().Length(b), 0);
}

}  // namespace
}  // namespace recs::contract
