#include "recs/engine/model.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "recs/core/error.hpp"
#include "test_data.hpp"

namespace recs::engine {
namespace {

// Small but complete hyperparameters so that every test stays fast.
nlohmann::json FastParams(const std::string& alg) {
    if (alg == "ials") {
        return {{"factors", 8}, {"epochs", 5}, {"threads", 2}};
    }
    if (alg == "ease") {
        return {{"lambda", 10}, {"neighbors", 16}};
    }
    if (alg == "blend") {
        return {
            {"generators", {{"ease", {{"lambda", 10}}}, {"item_knn", nlohmann::json::object()}}}};
    }
    if (alg == "ltr") {
        return {{"candidates", 20}, {"rounds", 10}, {"ials", {{"factors", 4}, {"epochs", 2}}}};
    }
    return nlohmann::json::object();
}

class AlgorithmTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AlgorithmTest, RecommendsUnseenItemsOfTheUsersCluster) {
    auto data = testing::ClusteredData();
    auto model = Train(GetParam(), FastParams(GetParam()), data);
    EXPECT_EQ(model->Algorithm(), GetParam());
    EXPECT_EQ(model->NumUsers(), 60u);
    auto seen = model->SeenItems("u0");
    std::unordered_set<std::string> exclude(seen.begin(), seen.end());
    bool cold = true;
    auto recs = model->Recommend("u0", {}, 5, exclude, nullptr, &cold);
    EXPECT_FALSE(cold);
    ASSERT_FALSE(recs.empty());
    for (size_t r = 0; r < recs.size(); ++r) {
        EXPECT_EQ(exclude.count(recs[r].item_id), 0u);
        EXPECT_TRUE(std::isfinite(recs[r].score));
        if (r > 0) {
            EXPECT_GE(recs[r - 1].score, recs[r].score);
        }
    }
    if (GetParam() != "popularity") {
        // u0 is in the even cluster: its best unseen item is even.
        EXPECT_EQ(std::stoi(recs[0].item_id.substr(1)) % 2, 0) << recs[0].item_id;
    }
}

TEST_P(AlgorithmTest, ExcludeSeenEqualsExcludingTheSeenIds) {
    auto model = Train(GetParam(), FastParams(GetParam()), testing::ClusteredData());
    for (const std::string user : {"u0", "u7", "stranger"}) {
        auto seen = model->SeenItems(user);
        std::unordered_set<std::string> exclude(seen.begin(), seen.end());
        auto by_ids = model->Recommend(user, {}, 8, exclude, nullptr, nullptr);
        auto by_flag = model->Recommend(user, {}, 8, {}, nullptr, nullptr, true);
        ASSERT_EQ(by_flag.size(), by_ids.size()) << user;
        for (size_t r = 0; r < by_flag.size(); ++r) {
            EXPECT_EQ(by_flag[r].item_id, by_ids[r].item_id) << user << " rank " << r;
        }
    }
    // Request history counts as seen too.
    for (const auto& r :
         model->Recommend("stranger", {"i1", "i3"}, 20, {}, nullptr, nullptr, true)) {
        EXPECT_NE(r.item_id, "i1");
        EXPECT_NE(r.item_id, "i3");
    }
}

TEST_P(AlgorithmTest, ColdStartAndCandidates) {
    auto model = Train(GetParam(), FastParams(GetParam()), testing::ClusteredData());
    auto popular = Train("popularity", {}, testing::ClusteredData())
                       ->Recommend("x", {}, 1, {}, nullptr, nullptr);
    bool cold = false;
    auto recs = model->Recommend("stranger", {"unknown-item"}, 3, {}, nullptr, &cold);
    EXPECT_TRUE(cold);
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_EQ(recs[0].item_id, popular.at(0).item_id);
    // A new user with history is folded in, not cold.
    recs = model->Recommend("stranger", {"i1", "i3"}, 3, {}, nullptr, &cold);
    EXPECT_FALSE(cold);
    EXPECT_EQ(recs.size(), 3u);
    std::vector<std::string> candidates{"i5", "i7", "nope"};
    recs = model->Recommend("u1", {}, 10, {"i7"}, &candidates, nullptr);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].item_id, "i5");
    auto related = model->Related("i2", 4);
    EXPECT_LE(related.size(), 4u);
    for (const auto& r : related) {
        EXPECT_NE(r.item_id, "i2");
        EXPECT_TRUE(std::isfinite(r.score));
    }
    EXPECT_EQ(model->Related("unknown", 2).size(), 2u);
}

TEST_P(AlgorithmTest, EdgeCasesGiveDefinedAnswers) {
    const auto alg = GetParam();
    auto empty = Train(alg, FastParams(alg), {});
    bool cold = false;
    EXPECT_TRUE(empty->Recommend("u", {"i"}, 10, {}, nullptr, &cold).empty());
    EXPECT_TRUE(cold);
    EXPECT_TRUE(empty->Related("i", 5).empty());
    auto reloaded = LoadModelFromBuffer(empty->Serialize());
    EXPECT_EQ(reloaded->NumItems(), 0u);

    auto single_user = Train(alg, FastParams(alg), {{"u", "a"}, {"u", "b"}, {"u", "c"}});
    auto recs = single_user->Recommend("u", {}, 10, {"a", "b", "c"}, nullptr, nullptr);
    EXPECT_TRUE(recs.empty());
    recs = single_user->Recommend("v", {"a"}, 10, {}, nullptr, nullptr);
    for (const auto& r : recs) {
        EXPECT_TRUE(std::isfinite(r.score));
    }

    auto single_item = Train(alg, FastParams(alg), {{"u", "a"}, {"v", "a"}, {"w", "a", 2.f}});
    recs = single_item->Recommend("u", {}, 10, {}, nullptr, nullptr);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].item_id, "a");
    EXPECT_TRUE(std::isfinite(recs[0].score));
    EXPECT_TRUE(single_item->Recommend("u", {}, 0, {}, nullptr, nullptr).empty());
}

TEST_P(AlgorithmTest, RejectsUnknownHyperparameters) {
    try {
        Train(GetParam(), {{"no_such_parameter", 1}}, testing::ClusteredData());
        FAIL() << "expected an error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable);
        EXPECT_EQ(e.field().value_or(""), "hyperparameters.no_such_parameter");
    }
    EXPECT_THROW(Train(GetParam(), nlohmann::json::array(), {}), core::Error);
}

TEST_P(AlgorithmTest, ReportsProgressAndHonoursCancellation) {
    std::vector<double> seen;
    TrainContext ctx{[&seen](double p) { seen.push_back(p); }, nullptr};
    Train(GetParam(), FastParams(GetParam()), testing::ClusteredData(), ctx);
    ASSERT_FALSE(seen.empty());
    EXPECT_DOUBLE_EQ(seen.back(), 1.0);
    for (double p : seen) {
        EXPECT_GE(p, 0.0);
        EXPECT_LE(p, 1.0);
    }
    std::atomic<bool> cancel{true};
    TrainContext cancelled{{}, &cancel};
    try {
        Train(GetParam(), FastParams(GetParam()), testing::ClusteredData(), cancelled);
        FAIL() << "expected cancellation";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnavailable);
    }
}

TEST_P(AlgorithmTest, ArtifactRoundTripGivesTheSameAnswers) {
    auto model = Train(GetParam(), FastParams(GetParam()), testing::ClusteredData());
    auto loaded = LoadModelFromBuffer(model->Serialize());
    EXPECT_EQ(loaded->Algorithm(), GetParam());
    for (const char* user : {"u0", "u1", "u7"}) {
        auto a = model->Recommend(user, {}, 5, {}, nullptr, nullptr);
        auto b = loaded->Recommend(user, {}, 5, {}, nullptr, nullptr);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            EXPECT_EQ(a[i].item_id, b[i].item_id);
            EXPECT_NEAR(a[i].score, b[i].score, 1e-4);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(All,
                         AlgorithmTest,
                         ::testing::ValuesIn(Algorithms()),
                         [](const auto& info) { return info.param; });

TEST(TrainTest, UnknownAlgorithmIsUnprocessable) {
    try {
        Train("magic", {}, {});
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable);
        EXPECT_EQ(e.field().value_or(""), "algorithm");
    }
}

TEST(TrainTest, ValidatesValues) {
    EXPECT_THROW(Train("ease", {{"lambda", -1}}, {}), core::Error);
    EXPECT_THROW(Train("ials", {{"factors", "many"}}, {}), core::Error);
    EXPECT_THROW(Train("item_knn", {{"similarity", "euclid"}}, {}), core::Error);
    EXPECT_THROW(Train("popularity", {{"event_weights", {{"click", -2}}}}, {}), core::Error);
}

TEST(TrainTest, EaseRefusesLargeCatalogues) {
    try {
        Train("ease", {{"max_items", 10}}, testing::ClusteredData());
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable);
        EXPECT_EQ(e.field().value_or(""), "hyperparameters.max_items");
    }
}

// H6: EASE refuses, before allocating, a catalogue whose dense matrices exceed the training
// memory budget, naming what it would need.
TEST(TrainTest, EaseRefusesCataloguesPastTheMemoryBudget) {
    auto data = testing::ClusteredData();
    TrainContext ctx;
    ctx.memory_budget_bytes = 1024;
    try {
        Train("ease", nlohmann::json::object(), data, ctx);
        FAIL() << "EASE trained past its budget";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::ErrorCode::kUnprocessable);
        EXPECT_EQ(e.field().value_or(""), "hyperparameters.max_items");
        EXPECT_NE(e.detail().find("MiB"), std::string::npos) << e.detail();
    }
    ctx.memory_budget_bytes = size_t{1} << 30;
    EXPECT_NO_THROW(Train("ease", nlohmann::json::object(), data, ctx));
}

TEST(TrainTest, PopularityHonoursEventWeightsAndDecay) {
    std::vector<Interaction> data{{"u1", "old", 1.f, 0, "view"},
                                  {"u2", "old", 1.f, 0, "view"},
                                  {"u3", "new", 1.f, 86400 * 30, "purchase"}};
    auto plain = Train("popularity", {}, data);
    EXPECT_EQ(plain->Recommend("x", {}, 1, {}, nullptr, nullptr)[0].item_id, "old");
    auto weighted =
        Train("popularity", {{"binary", false}, {"event_weights", {{"purchase", 5}}}}, data);
    EXPECT_EQ(weighted->Recommend("x", {}, 1, {}, nullptr, nullptr)[0].item_id, "new");
    auto decayed = Train("popularity", {{"binary", false}, {"half_life_days", 1}}, data);
    EXPECT_EQ(decayed->Recommend("x", {}, 1, {}, nullptr, nullptr)[0].item_id, "new");
}

TEST(TrainTest, EaseDensePruningIsReported) {
    auto dense = Train("ease", {{"lambda", 10}, {"neighbors", 0}}, testing::ClusteredData());
    auto pruned = Train("ease", {{"lambda", 10}, {"neighbors", 5}}, testing::ClusteredData());
    EXPECT_DOUBLE_EQ(dense->Info()["pruning"]["kept_weight_fraction"].get<double>(), 1.0);
    double kept = pruned->Info()["pruning"]["kept_weight_fraction"].get<double>();
    EXPECT_GT(kept, 0.0);
    EXPECT_LT(kept, 1.0);
    EXPECT_LT(pruned->Serialize().size(), dense->Serialize().size());
}

std::vector<std::string> RelatedIds(const Model& m, const std::string& item) {
    std::vector<std::string> out;
    for (const auto& r : m.Related(item, 10)) {
        if (r.score > 0) {
            out.push_back(r.item_id);
        }
    }
    return out;
}

// Six users consume a, b, x1..x4, c in this order, one event per minute.
std::vector<Interaction> Sequences() {
    std::vector<Interaction> data;
    for (int u = 0; u < 6; ++u) {
        int64_t t = 1000 * u;
        for (const char* item : {"a", "b", "x1", "x2", "x3", "x4", "c"}) {
            data.push_back({"u" + std::to_string(u), item, 1.f, t += 60, "view"});
        }
    }
    return data;
}

TEST(TrainTest, ItemKnnWindowCountsOnlyNearbyEvents) {
    auto plain = Train("item_knn", {}, Sequences());
    EXPECT_EQ(RelatedIds(*plain, "a").size(), 6u);
    auto adjacent = Train("item_knn", {{"window", 1}}, Sequences());
    EXPECT_EQ(RelatedIds(*adjacent, "a"), std::vector<std::string>{"b"});
    EXPECT_EQ(RelatedIds(*adjacent, "x2").size(), 2u);  // x1 and x3
    auto decayed = Train("item_knn", {{"window", 6}, {"window_decay", 1}}, Sequences());
    auto related = RelatedIds(*decayed, "a");
    ASSERT_EQ(related.size(), 6u);
    EXPECT_EQ(related.front(), "b");
    EXPECT_EQ(related.back(), "c");
}

TEST(TrainTest, AssocRulesSplitsSessionsAtTimeGaps) {
    // Five users: p and q a minute apart, then r and s ten days later.
    std::vector<Interaction> data;
    for (int u = 0; u < 5; ++u) {
        const std::string id = "u" + std::to_string(u);
        data.push_back({id, "p", 1.f, 0, "purchase"});
        data.push_back({id, "q", 1.f, 60, "purchase"});
        data.push_back({id, "r", 1.f, 86400 * 10, "purchase"});
        data.push_back({id, "s", 1.f, 86400 * 10 + 60, "purchase"});
    }
    auto whole = Train("assoc_rules", {}, data);
    EXPECT_EQ(RelatedIds(*whole, "p").size(), 3u);
    EXPECT_EQ(whole->Info()["baskets"], 5);
    auto sessions = Train("assoc_rules", {{"session_gap_minutes", 30}}, data);
    EXPECT_EQ(RelatedIds(*sessions, "p"), std::vector<std::string>{"q"});
    EXPECT_EQ(RelatedIds(*sessions, "r"), std::vector<std::string>{"s"});
    EXPECT_EQ(sessions->Info()["baskets"], 10);
}

}  // namespace
}  // namespace recs::engine
