#include "recs/engine/eval.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "recs/core/error.hpp"
#include "recs/engine/interaction_matrix.hpp"
#include "test_data.hpp"

namespace recs::engine {
namespace {

TEST(ParseTest, CsvWithHeaderAndBadLines) {
    std::istringstream in(
        "userId,movieId,rating,timestamp\n1,10,4.0,100\n1,11,x,100\n\n2,10,3.5,200\nbroken\n");
    ReadStats st;
    auto data = ParseInteractions(in, &st);
    ASSERT_EQ(data.size(), 2u);
    EXPECT_EQ(st.bad, 2u);
    EXPECT_EQ(data[1].user, "2");
    EXPECT_EQ(data[1].item, "10");
    EXPECT_FLOAT_EQ(data[1].weight, 3.5f);
    EXPECT_EQ(data[1].timestamp, 200);
}

TEST(ParseTest, TabSeparatedWithoutHeader) {
    std::istringstream in("196\t242\t3\t881250949\r\n186\t302\t3\t891717742\n");
    ReadStats st;
    auto data = ParseInteractions(in, &st);
    ASSERT_EQ(data.size(), 2u);
    EXPECT_EQ(st.bad, 0u);
    EXPECT_EQ(data[0].user, "196");
    EXPECT_EQ(data[0].timestamp, 881250949);
}

TEST(SplitTest, ItemStratifiedKeepsRoundedShareOfEveryItem) {
    auto data = testing::ClusteredData(100, 30);
    auto s = Split(data, {SplitKind::kItemStratified, 0.75, 42});
    EXPECT_EQ(s.train.size() + s.test.size(), data.size());
    std::map<std::string, int> total, train;
    for (const auto& x : data) ++total[x.item];
    for (const auto& x : s.train) ++train[x.item];
    for (const auto& [item, n] : total) {
        EXPECT_EQ(train[item], static_cast<int>(std::nearbyint(0.75 * n))) << item;
    }
    auto again = Split(data, {SplitKind::kItemStratified, 0.75, 42});
    ASSERT_EQ(again.test.size(), s.test.size());
    for (size_t i = 0; i < s.test.size(); ++i) {
        EXPECT_EQ(again.test[i].user + again.test[i].item, s.test[i].user + s.test[i].item);
    }
    auto other = Split(data, {SplitKind::kItemStratified, 0.75, 43});
    bool differs = false;
    for (size_t i = 0; i < std::min(other.test.size(), s.test.size()); ++i) {
        differs |= other.test[i].user != s.test[i].user;
    }
    EXPECT_TRUE(differs);
}

TEST(SplitTest, TemporalHoldsOutTheLatest) {
    std::vector<Interaction> data;
    for (int t = 0; t < 8; ++t) data.push_back({"u", "i" + std::to_string(t), 1.f, 100 - t});
    auto s = Split(data, {SplitKind::kTemporal, 0.75, 1});
    ASSERT_EQ(s.test.size(), 2u);
    for (const auto& x : s.test) EXPECT_GE(x.timestamp, 99);
    EXPECT_THROW(Split(data, {SplitKind::kTemporal, 1.5, 1}), core::Error);
}

TEST(EvaluateTest, MetricsMatchHandComputedValues) {
    // Popularity: i0 (3 users) > i1 (2) > i2 (1). User "a" saw i0 in train; test {i1, i3}.
    std::vector<Interaction> train{{"a", "i0"}, {"b", "i0"}, {"c", "i0"}, {"b", "i1"},
                                   {"c", "i1"}, {"c", "i2"}, {"d", "i3"}};
    std::vector<Interaction> test{{"a", "i1"}, {"a", "i3"}, {"zz", "i2"}};
    auto model = Train("popularity", {}, train);
    Metrics m = Evaluate(*model, train, test, 2, 1);
    // Recommendations for a: [i1, i2] (i0 excluded; i2 and i3 tie at 1, i2 came first).
    EXPECT_EQ(m.users, 1u);
    EXPECT_DOUBLE_EQ(m.precision, 0.5);
    EXPECT_DOUBLE_EQ(m.recall, 0.5);
    EXPECT_DOUBLE_EQ(m.map, 0.5);  // (1/1) / 2 relevant
    EXPECT_DOUBLE_EQ(m.ndcg, 1.0 / (1.0 + 1.0 / std::log2(3.0)));
    EXPECT_DOUBLE_EQ(m.hit_rate, 1.0);
    EXPECT_DOUBLE_EQ(m.mrr, 1.0);
    EXPECT_DOUBLE_EQ(m.coverage, 0.5);
}

TEST(EvaluateTest, NoUsersGivesZeros) {
    auto model = Train("popularity", {}, {});
    Metrics m = Evaluate(*model, {}, {{"x", "y"}}, 10);
    EXPECT_EQ(m.users, 0u);
    EXPECT_EQ(m.ndcg, 0.0);
}

TEST(SearchTest, PicksTheBestGridPointOnValidation) {
    auto data = testing::ClusteredData(60, 30);
    auto r = SearchHyperparameters("item_knn", nlohmann::json::object(), {{"neighbors", {1, 10}}},
                                   data, {}, 5);
    ASSERT_EQ(r.trials.size(), 2u);
    EXPECT_TRUE(r.best.contains("neighbors"));
    EXPECT_GT(r.best_score, 0.0);
    auto limited =
        SearchHyperparameters("ease", {{"lambda", 1}}, {{"lambda", {1, 10, 100}}}, data, {}, 5, 2);
    EXPECT_EQ(limited.trials.size(), 2u);
}

TEST(MatrixTest, MergesDuplicatesAndMapsIds) {
    std::vector<Interaction> data{{"u1", "a", 1.f},
                                  {"u1", "a", 2.f},
                                  {"u2", "b", 1.f},
                                  {"u2", "c", 0.f},
                                  {"u1", "b", 1.f, 0, "buy"}};
    MatrixOptions o;
    o.binary = false;
    o.event_weights["buy"] = 3.f;
    auto m = InteractionMatrix::Build(data, o);
    EXPECT_EQ(m.users.size(), 2u);
    EXPECT_EQ(m.items.size(), 2u);  // "c" had zero weight
    EXPECT_EQ(m.by_user.nnz(), 3u);
    EXPECT_TRUE(m.by_user.Valid());
    EXPECT_TRUE(m.by_item.Valid());
    EXPECT_FLOAT_EQ(m.by_user.values[0], 3.f);  // u1-a merged
    EXPECT_FLOAT_EQ(m.by_user.values[1], 3.f);  // u1-b buy
    EXPECT_EQ(m.items.Find("b"), 1);
    EXPECT_EQ(m.items.Find("zzz"), -1);
    EXPECT_EQ(m.by_item.RowSize(1), 2u);
}

}  // namespace
}  // namespace recs::engine
