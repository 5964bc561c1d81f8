// Answers of one connection stay in request order (finding M9).
#include "http/connection_order.hpp"

#include <gtest/gtest.h>

namespace recs::api {
namespace {

TEST(ConnectionOrder, WorkWaitsBehindTheConnectionsRequestInFlight) {
    ConnectionOrder order;
    int a = 0, b = 0;
    std::vector<int> ran;
    auto task = [&](int n) {
        return ConnectionOrder::Task{[&ran, n] { ran.push_back(n); }, [] {}, false, 0};
    };
    EXPECT_EQ(order.Enter(&a, task(1)), ConnectionOrder::Admit::kRunNow);
    EXPECT_EQ(order.Enter(&a, task(2)), ConnectionOrder::Admit::kQueued);
    EXPECT_EQ(order.Enter(&a, task(3)), ConnectionOrder::Admit::kQueued);
    EXPECT_EQ(order.Enter(&b, task(9)), ConnectionOrder::Admit::kRunNow);  // another connection
    auto next = order.Done(&a);
    ASSERT_TRUE(next);
    next->run();
    next = order.Done(&a);
    ASSERT_TRUE(next);
    next->run();
    EXPECT_FALSE(order.Done(&a));
    EXPECT_EQ(ran, (std::vector<int>{2, 3}));
    EXPECT_EQ(order.Enter(&a, task(4)), ConnectionOrder::Admit::kRunNow);
    EXPECT_EQ(order.busy(), 2u);
}

TEST(ConnectionOrder, ADeepPipelineIsRefusedAndTheConnectionCloses) {
    ConnectionOrder order;
    int c = 0;
    ConnectionOrder::Task t{[] {}, [] {}, false, 0};
    EXPECT_EQ(order.Enter(&c, t), ConnectionOrder::Admit::kRunNow);
    for (size_t i = 0; i < ConnectionOrder::kMaxQueued; ++i)
        EXPECT_EQ(order.Enter(&c, t), ConnectionOrder::Admit::kQueued);
    EXPECT_EQ(order.Enter(&c, t), ConnectionOrder::Admit::kRefused);
    EXPECT_EQ(order.Enter(&c, t), ConnectionOrder::Admit::kRefused);  // closing: no more
    for (size_t i = 0; i < ConnectionOrder::kMaxQueued; ++i) {
        EXPECT_FALSE(order.Closing(&c));
        ASSERT_TRUE(order.Done(&c));
    }
    EXPECT_TRUE(order.Closing(&c));  // its last answer ends the connection
    order.Forget(&c);
    EXPECT_EQ(order.busy(), 0u);
}

}  // namespace
}  // namespace recs::api
