// The api's services (deploy orchestration, predict filters, typed request decoding) on the
// in-memory fakes of the stores, which pass the same contract suite as PostgreSQL and Redis
// (tests/contract), and on a scripted prediction pool.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "recs/core/error.hpp"
#include "recs/store/fakes.hpp"
#include "services/model_service.hpp"
#include "services/predict_service.hpp"
#include "serving_resolver.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

/// A pool that records what it is asked and ranks items i0, i1, ... by descending score.
class ScriptedPool final : public core::PredictionPool {
public:
    std::vector<std::string> preloaded;  ///< "version@pool"
    std::vector<size_t> rank_limits;
    std::optional<core::Error> preload_error;
    size_t catalogue = 10000;

    core::Rollout Preload(const core::ServingTarget& t) override {
        if (preload_error) throw *preload_error;
        preloaded.push_back(t.version_id + "@" + t.pool);
        return {.pool = t.pool, .members = 2, .loaded = 2, .unreachable = {}};
    }
    core::RankResult Rank(const core::ServingTarget&, const core::RankRequest& r) override {
        rank_limits.push_back(r.limit);
        core::RankResult out;
        for (size_t i = 0; i < std::min(r.limit, catalogue); ++i)
            out.items.push_back(
                {"i" + std::to_string(i), 1.0f - static_cast<float>(i) * 1e-4f, "s"});
        return out;
    }
    std::vector<std::optional<float>> Score(const core::ServingTarget&,
                                            const std::string&,
                                            const std::vector<std::string>& items) override {
        return std::vector<std::optional<float>>(items.size(), 0.5f);
    }
    std::vector<core::RankedItem> Related(const core::ServingTarget&,
                                          const std::string&,
                                          size_t) override {
        return {};
    }
    void Evict(const std::string&) override {}
    nlohmann::json Status() override { return {{"status", "up"}}; }
};

class ServicesTest : public ::testing::Test {
protected:
    void SetUp() override {
        tenant_ = core::TenantId{stores_.tenants->Create(actor_, "t").id};
        other_ = core::TenantId{stores_.tenants->Create(actor_, "other").id};
    }
    ModelService Models(core::PredictionPool* pool) {
        return ModelService(*stores_.models, pool, nullptr,
                            [this](const core::TenantId&) { ++invalidations_; });
    }
    /// A model with `n` ready versions; returns {model, version ids}.
    std::pair<core::ModelDef, std::vector<std::string>> Model(const std::string& name, int n) {
        core::ModelDef def;
        def.name = name;
        def.type = "candidate";
        def.algorithm = "popularity";
        auto m = stores_.models->Create(actor_, tenant_, def);
        std::vector<std::string> ids;
        for (int i = 0; i < n; ++i) {
            core::ModelVersion v;
            v.model_id = m.id;
            v.artifact_path = "/a/" + std::to_string(i);
            v.artifact_bytes = 1;
            v.artifact_sha256 = std::string(64, 'a');
            ids.push_back(stores_.models->CreateVersion(tenant_, v, std::nullopt).id);
        }
        return {m, ids};
    }
    core::ErrorCode CodeOf(const std::function<void()>& fn, std::string* field = nullptr) {
        try {
            fn();
        } catch (const core::Error& e) {
            if (field) *field = e.field().value_or("");
            return e.code();
        }
        return core::ErrorCode::kInternal;  // "did not throw"
    }

    store::FakeStores stores_ = store::MakeFakeStores();
    core::Actor actor_{"platform_admin", "admin"};
    core::TenantId tenant_, other_;
    int invalidations_ = 0;
};

TEST_F(ServicesTest, DeployLoadsOnTheNamedPoolBeforeTheSwitch) {
    ScriptedPool pool;
    auto svc = Models(&pool);
    auto [m, v] = Model("m", 2);
    auto out = svc.Deploy(actor_, tenant_, m.id, v[0], DeployRequest{.pool = "blue"});
    EXPECT_EQ(pool.preloaded, std::vector<std::string>{v[0] + "@blue"});
    EXPECT_EQ(out.version.status, "deployed");
    EXPECT_EQ(out.rollout.pool, "blue");
    EXPECT_TRUE(out.rollout.complete());
    auto now = stores_.models->Find(tenant_, m.id);
    EXPECT_EQ(now->deployed_version_id, v[0]);
    EXPECT_EQ(now->deployed_pool, "blue");
    EXPECT_EQ(invalidations_, 1);
}

TEST_F(ServicesTest, AFailedLoadLeavesTheDeploymentUnchanged) {
    ScriptedPool pool;
    auto svc = Models(&pool);
    auto [m, v] = Model("m", 2);
    svc.Deploy(actor_, tenant_, m.id, v[0], {});
    pool.preload_error = core::Error(core::ErrorCode::kConflict, "corrupt artifact");
    EXPECT_EQ(CodeOf([&] { svc.Deploy(actor_, tenant_, m.id, v[1], {}); }),
              core::ErrorCode::kConflict);
    EXPECT_EQ(stores_.models->Find(tenant_, m.id)->deployed_version_id, v[0]);
    EXPECT_EQ(stores_.models->FindVersion(tenant_, m.id, v[1])->status, "ready");
    EXPECT_EQ(invalidations_, 1);  // only the first deploy changed anything
    // Without a pool a deploy is refused (503), never recorded unloaded (finding H5).
    auto none = Models(nullptr);
    EXPECT_EQ(CodeOf([&] { none.Deploy(actor_, tenant_, m.id, v[1], {}); }),
              core::ErrorCode::kUnavailable);
    EXPECT_EQ(stores_.models->Find(tenant_, m.id)->deployed_version_id, v[0]);
}

TEST_F(ServicesTest, RollbackReloadsTheEarlierVersionOnItsOwnPool) {
    ScriptedPool pool;
    auto svc = Models(&pool);
    auto [m, v] = Model("m", 2);
    svc.Deploy(actor_, tenant_, m.id, v[0], DeployRequest{.pool = "blue"});
    svc.Deploy(actor_, tenant_, m.id, v[1], DeployRequest{.pool = "green"});
    auto back = svc.Rollback(actor_, tenant_, m.id, v[1]);
    EXPECT_EQ(back.version.id, v[0]);
    EXPECT_EQ(pool.preloaded.back(), v[0] + "@blue");
    EXPECT_EQ(back.rollout.pool, "blue");
    EXPECT_EQ(stores_.models->Find(tenant_, m.id)->deployed_pool, "blue");
    // Rolling back a version that is no longer deployed is a conflict, and changes nothing.
    EXPECT_EQ(CodeOf([&] { svc.Rollback(actor_, tenant_, m.id, v[1]); }),
              core::ErrorCode::kConflict);
    EXPECT_EQ(stores_.models->Find(tenant_, m.id)->deployed_version_id, v[0]);
}

TEST_F(ServicesTest, AnotherTenantsModelIsNotFound) {
    ScriptedPool pool;
    auto svc = Models(&pool);
    auto [m, v] = Model("m", 1);
    EXPECT_EQ(CodeOf([&] { svc.Deploy(actor_, other_, m.id, v[0], {}); }),
              core::ErrorCode::kNotFound);
    EXPECT_EQ(CodeOf([&] { svc.Rollback(actor_, other_, m.id, v[0]); }),
              core::ErrorCode::kNotFound);
    EXPECT_EQ(CodeOf([&] { svc.Update(actor_, other_, m.id, UpdateModelRequest{}); }),
              core::ErrorCode::kNotFound);
    EXPECT_TRUE(pool.preloaded.empty());
}

TEST_F(ServicesTest, CreateNamesTheConflictingField) {
    ScriptedPool pool;
    auto svc = Models(&pool);
    auto req = DecodeCreateModel(json{{"name", "m"}, {"algorithm", "popularity"}});
    svc.Create(actor_, tenant_, req);
    std::string field;
    EXPECT_EQ(CodeOf([&] { svc.Create(actor_, tenant_, req); }, &field),
              core::ErrorCode::kConflict);
    EXPECT_EQ(field, "name");
    // The same name in another tenant is another model.
    EXPECT_NO_THROW(svc.Create(actor_, other_, req));
}

TEST_F(ServicesTest, DecodersNameTheOffendingField) {
    std::string field;
    EXPECT_EQ(CodeOf(
                  [&] {
                      DecodeDeploy(json{{"pool", "Not A Pool"}});
                  },
                  &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "pool");
    EXPECT_EQ(DecodeDeploy(json::object()).pool, "default");
    EXPECT_EQ(CodeOf([&] { DecodeDeploy(json{{"pools", "x"}}); }), core::ErrorCode::kUnprocessable);
    EXPECT_EQ(CodeOf(
                  [&] {
                      DecodeCreateModel(json{{"name", "a b"}, {"algorithm", "x"}});
                  },
                  &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "name");
    EXPECT_EQ(CodeOf(
                  [&] {
                      DecodePredict(json{{"user_id", "u"}, {"limit", 0}});
                  },
                  &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "limit");
    EXPECT_EQ(CodeOf(
                  [&] {
                      DecodePredict(json{{"user_id", "u"}, {"exclude_ids", {1, true}}});
                  },
                  &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "exclude_ids[1]");
    auto p = DecodePredict(json{{"user_id", 7}, {"limit", 3}, {"model", "m@2"}});
    EXPECT_EQ(p.rank.user_id, "7");
    EXPECT_EQ(p.rank.limit, 3u);
    EXPECT_EQ(p.model, "m@2");
}

TEST_F(ServicesTest, FiltersKeepMatchingItemsInRankOrderOverABoundedSlate) {
    ScriptedPool pool;
    auto svc = Models(&pool);
    auto [m, v] = Model("m", 1);
    svc.Deploy(actor_, tenant_, m.id, v[0], {});
    // Every 7th item is red; and i4000 is the only blue one.
    json rows = json::array();
    for (int i = 0; i < 6000; ++i)
        rows.push_back({{"entity_type", "item"},
                        {"entity_id", "i" + std::to_string(i)},
                        {"features",
                         {{"color", i == 4000    ? "blue"
                                    : i % 7 == 0 ? "red"
                                                 : "grey"}}}});
    stores_.features->UpsertMany(tenant_, rows);
    ServingResolver resolver(*stores_.models, 0);
    PredictService predict(resolver, *stores_.features, &pool);

    auto red = DecodePredict(
        json{{"user_id", "u"}, {"limit", 5}, {"model", "m"}, {"filters", {{"color", "red"}}}});
    auto out = predict.Predict(tenant_, red);
    std::vector<std::string> ids;
    for (auto& it : out.result.items) ids.push_back(it.item_id);
    EXPECT_EQ(ids, (std::vector<std::string>{"i0", "i7", "i14", "i21", "i28"}));
    EXPECT_EQ(pool.rank_limits, std::vector<size_t>{500});  // one pass was enough
    EXPECT_EQ(out.target.version_id, v[0]);

    // A rare value: the slate widens once, to the bound, and never past it.
    pool.rank_limits.clear();
    auto blue = DecodePredict(
        json{{"user_id", "u"}, {"limit", 5}, {"model", "m"}, {"filters", {{"color", "blue"}}}});
    out = predict.Predict(tenant_, blue);
    ASSERT_EQ(out.result.items.size(), 1u);
    EXPECT_EQ(out.result.items[0].item_id, "i4000");
    EXPECT_EQ(pool.rank_limits, (std::vector<size_t>{500, PredictService::kMaxFilterSlate}));

    // Another tenant's request resolves nothing of this tenant's.
    EXPECT_EQ(CodeOf([&] { predict.Predict(other_, red); }), core::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace recs::api
