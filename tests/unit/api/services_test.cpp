// The api's services (deploy orchestration, predict filters, typed request decoding) on the
// in-memory fakes of the stores, which pass the same contract suite as PostgreSQL and Redis
// (tests/contract), and on a scripted prediction pool.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/fakes.hpp"
#include "recs/store/feature_store.hpp"
#include "recs/store/job_store.hpp"
#include "recs/store/model_store.hpp"
#include "recs/store/tenant_store.hpp"
#include "services/feature_service.hpp"
#include "services/job_service.hpp"
#include "services/key_service.hpp"
#include "services/model_service.hpp"
#include "services/predict_service.hpp"
#include "services/tenant_service.hpp"
#include "serving_resolver.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

/// A pool that records what it is asked and ranks items i0, i1, ... by descending score.
class ScriptedPool final : public core::PredictionPool {
public:
    std::vector<std::string> preloaded;  ///< "version@pool"
    std::vector<size_t> rank_limits;
    std::vector<std::string> evicted;  ///< tenant ids
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
    void Evict(const std::string& tenant_id) override { evicted.push_back(tenant_id); }
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
    core::Actor actor_{"platform_admin", "admin", "", ""};
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

TEST_F(ServicesTest, DeletingATenantCleansWhatLivesOutsidePostgres) {
    ScriptedPool pool;
    std::vector<std::string> forgotten;
    TenantService svc(*stores_.tenants, stores_.streams.get(), &pool,
                      [&](const core::TenantId& t) { forgotten.push_back(t.value); });
    core::Event e;
    e.event_id = "e1";
    e.user_id = "u";
    e.item_id = "i";
    e.type = "view";
    stores_.streams->Append(tenant_, {e});
    stores_.streams->Append(other_, {e});
    ASSERT_EQ(stores_.streams->Length(tenant_), 1);

    svc.Delete(actor_, tenant_.value);
    EXPECT_FALSE(stores_.tenants->Find(tenant_.value));
    EXPECT_EQ(forgotten, std::vector<std::string>{tenant_.value});
    EXPECT_EQ(pool.evicted, std::vector<std::string>{tenant_.value});
    EXPECT_EQ(stores_.streams->Length(tenant_), 0);
    EXPECT_EQ(stores_.streams->Length(other_), 1);  // the other tenant keeps its stream

    // Deleting it again is a 404 and touches nothing more.
    EXPECT_EQ(CodeOf([&] { svc.Delete(actor_, tenant_.value); }), core::ErrorCode::kNotFound);
    EXPECT_EQ(forgotten.size(), 1u);
    EXPECT_EQ(pool.evicted.size(), 1u);
}

TEST_F(ServicesTest, TenantRequestsAreTypedAndConflictsNameTheField) {
    TenantService svc(*stores_.tenants, nullptr, nullptr, nullptr);
    std::string field;
    EXPECT_EQ(CodeOf(
                  [&] {
                      svc.Create(actor_, DecodeCreateTenant(json{{"name", "t"}}));
                  },
                  &field),
              core::ErrorCode::kConflict);
    EXPECT_EQ(field, "name");
    auto u = DecodeUpdateTenant(json{{"status", "suspended"}});
    ASSERT_TRUE(u.status);
    EXPECT_EQ(*u.status, core::TenantStatus::kSuspended);
    EXPECT_EQ(svc.Update(actor_, tenant_.value, u).status, core::TenantStatus::kSuspended);
    EXPECT_EQ(stores_.tenants->Find(tenant_.value)->status, core::TenantStatus::kSuspended);
    field.clear();
    EXPECT_EQ(
        CodeOf(
            [&] {
                svc.Update(actor_, tenant_.value, DecodeUpdateTenant(json{{"name", "other"}}));
            },
            &field),
        core::ErrorCode::kConflict);
    EXPECT_EQ(field, "name");

    for (const auto& [body, want] : std::vector<std::pair<json, std::string>>{
             {json{{"status", "deleted"}}, "status"},
             {json{{"status", 1}}, "status"},
             {json{{"name", "x"}, {"plan", "pro"}}, "plan"},
             {json{{"name", std::string("a\0b", 3)}}, "name"}}) {
        field.clear();
        EXPECT_EQ(CodeOf([&] { DecodeUpdateTenant(body); }, &field),
                  core::ErrorCode::kUnprocessable)
            << body.dump();
        EXPECT_EQ(field, want) << body.dump();
    }
    EXPECT_EQ(CodeOf([&] { DecodeUpdateTenant(json::object()); }), core::ErrorCode::kUnprocessable);
    EXPECT_EQ(CodeOf([&] { DecodeTenantStatusFilter("gone"); }, &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "status");
    EXPECT_FALSE(DecodeTenantStatusFilter(std::nullopt));
}

TEST_F(ServicesTest, KeysAreStoredAsHashesAndRevokedOnlyByTheirTenant) {
    KeyService svc(*stores_.keys);
    auto r = DecodeCreateKey(
        json{{"name", "ci"}, {"scopes", {"events:write", "models:read", "events:write"}}});
    EXPECT_EQ(r.scopes, (std::vector<std::string>{"events:write", "models:read"}));
    auto created = svc.Create(actor_, tenant_, r);
    auto rec = stores_.keys->FindByHash(core::Sha256Hex(created.plaintext));
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->key.id, created.key.id);
    EXPECT_EQ(rec->key.tenant_id, tenant_.value);
    EXPECT_EQ(created.plaintext.rfind("rk_" + created.key.prefix, 0), 0u);

    EXPECT_EQ(CodeOf([&] { svc.Revoke(actor_, other_, created.key.id); }),
              core::ErrorCode::kNotFound);
    EXPECT_TRUE(stores_.keys->FindByHash(core::Sha256Hex(created.plaintext)));
    svc.Revoke(actor_, tenant_, created.key.id);
    EXPECT_FALSE(stores_.keys->FindByHash(core::Sha256Hex(created.plaintext)));

    std::string field;
    EXPECT_EQ(CodeOf(
                  [&] {
                      DecodeCreateKey(json{{"name", "k"}, {"scopes", {"admin", "root"}}});
                  },
                  &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "scopes[1]");
    EXPECT_EQ(
        CodeOf(
            [&] {
                DecodeCreateKey(json{{"name", "k"}, {"scopes", {"admin"}}, {"expires_in", 5}});
            },
            &field),
        core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "expires_in");
}

TEST_F(ServicesTest, FeatureWritesCountDistinctEntitiesAndStayInTheirTenant) {
    FeatureService svc(*stores_.features);
    std::vector<FeatureWrite> writes = {
        DecodeFeatureBulkItem(
            json{{"entity_type", "item"}, {"entity_id", "a"}, {"features", {{"c", 1}}}}),
        DecodeFeatureBulkItem(
            json{{"entity_type", "user"}, {"entity_id", "a"}, {"features", {{"c", 2}}}}),
        DecodeFeatureBulkItem(
            json{{"entity_type", "item"}, {"entity_id", "a"}, {"features", {{"c", 3}}}})};
    EXPECT_EQ(svc.PutMany(tenant_, writes), 2u);
    EXPECT_EQ(svc.Get(tenant_, "item", "a").features, (json{{"c", 3}}));  // the last one wins
    EXPECT_EQ(svc.Get(tenant_, "user", "a").features, (json{{"c", 2}}));
    EXPECT_EQ(CodeOf([&] { svc.Get(other_, "item", "a"); }), core::ErrorCode::kNotFound);
    EXPECT_EQ(svc.PutMany(tenant_, {}), 0u);

    svc.Put(tenant_, DecodeFeatureWrite("item", "b", json{{"features", {{"price", 9}}}}));
    EXPECT_EQ(svc.Get(tenant_, "item", "b").features, (json{{"price", 9}}));

    std::string field;
    for (const auto& [item, want] : std::vector<std::pair<json, std::string>>{
             {json{{"entity_type", "thing"}, {"entity_id", "a"}, {"features", json::object()}},
              "entity_type"},
             {json{{"entity_type", "item"}, {"features", json::object()}}, "entity_id"},
             {json{{"entity_type", "item"}, {"entity_id", "a"}, {"features", {1, 2}}}, "features"},
             {json{{"entity_type", "item"},
                   {"entity_id", "a"},
                   {"features", {{"blob", std::string(70000, 'x')}}}},
              "features"}}) {
        field.clear();
        EXPECT_EQ(CodeOf([&] { DecodeFeatureBulkItem(item); }, &field),
                  core::ErrorCode::kUnprocessable);
        EXPECT_EQ(field, want);
    }
    EXPECT_EQ(CodeOf(
                  [&] {
                      DecodeFeatureWrite("items", "a", json{{"features", json::object()}});
                  },
                  &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "entity_type");
}

TEST_F(ServicesTest, TrainJobsAreCheckedAgainstTheirModelBeforeTheyQueue) {
    auto [m, v] = Model("m", 0);
    std::vector<json> validated;
    JobService svc(
        *stores_.jobs, *stores_.models,
        [&](const std::string& algorithm, const json& hp) {
            EXPECT_EQ(algorithm, "popularity");
            if (hp.value("window_days", 0) < 0)
                core::ThrowUnprocessable("window_days must be >= 0", "hyperparameters");
            validated.push_back(hp);
        },
        5);
    auto count = [&] {
        return stores_.jobs->List(tenant_, {}, std::nullopt, std::nullopt).items.size();
    };

    auto job = svc.SubmitTrain(
        tenant_, DecodeTrainJob(json{{"model_id", m.id}, {"holdout", 0.2}}, nullptr), false);
    EXPECT_EQ(job.status, core::JobStatus::kQueued);
    EXPECT_EQ(job.max_attempts, 5);
    EXPECT_EQ(job.payload, (json{{"model_id", m.id}, {"holdout", 0.2}}));
    EXPECT_TRUE(validated.empty());  // nothing overridden, nothing to validate

    // Another tenant's model is not found, and nothing is queued.
    auto plain = DecodeTrainJob(json{{"model_id", m.id}}, nullptr);
    EXPECT_EQ(CodeOf([&] { svc.SubmitTrain(other_, plain, true); }), core::ErrorCode::kNotFound);
    EXPECT_TRUE(stores_.jobs->List(other_, {}, std::nullopt, std::nullopt).items.empty());

    // Overrides need models:write, and must pass validation merged over the model's.
    auto over = DecodeTrainJob(json{{"model_id", m.id}, {"hyperparameters", {{"window_days", 7}}}},
                               nullptr);
    std::string field;
    EXPECT_EQ(CodeOf([&] { svc.SubmitTrain(tenant_, over, false); }, &field),
              core::ErrorCode::kForbidden);
    EXPECT_EQ(field, "hyperparameters");
    EXPECT_EQ(count(), 1u);
    auto bad = DecodeTrainJob(json{{"model_id", m.id}, {"hyperparameters", {{"window_days", -1}}}},
                              nullptr);
    EXPECT_EQ(CodeOf([&] { svc.SubmitTrain(tenant_, bad, true); }),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(count(), 1u);
    auto ok = svc.SubmitTrain(tenant_, over, true);
    EXPECT_EQ(ok.payload["hyperparameters"], (json{{"window_days", 7}}));
    ASSERT_FALSE(validated.empty());
    EXPECT_EQ(validated.back()["window_days"], 7);

    // The same Idempotency-Key returns the first job.
    std::string key = "k-1";
    auto a = svc.SubmitTrain(tenant_, DecodeTrainJob(json{{"model_id", m.id}}, &key), false);
    auto b = svc.SubmitTrain(tenant_, DecodeTrainJob(json{{"model_id", m.id}}, &key), false);
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(count(), 3u);

    for (const auto& [body, want] : std::vector<std::pair<json, std::string>>{
             {json{{"model_id", m.id}, {"holdout", 0.6}}, "holdout"},
             {json{{"model_id", m.id}, {"hyperparameters", "fast"}}, "hyperparameters"},
             {json{{"model", m.id}}, "model"},
             {json::object(), "model_id"}}) {
        field.clear();
        EXPECT_EQ(CodeOf([&] { DecodeTrainJob(body, nullptr); }, &field),
                  core::ErrorCode::kUnprocessable);
        EXPECT_EQ(field, want) << body.dump();
    }
    std::string empty;
    EXPECT_EQ(CodeOf(
                  [&] {
                      DecodeTrainJob(json{{"model_id", m.id}}, &empty);
                  },
                  &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "Idempotency-Key");
    EXPECT_EQ(CodeOf([&] { DecodeJobFilter("done", std::nullopt); }, &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "status");
    EXPECT_EQ(CodeOf([&] { DecodeJobFilter(std::nullopt, "export"); }, &field),
              core::ErrorCode::kUnprocessable);
    EXPECT_EQ(field, "kind");
    auto f = DecodeJobFilter("dead", "train");
    EXPECT_EQ(*f.status, core::JobStatus::kDead);
    EXPECT_EQ(*f.kind, core::JobKind::kTrain);
}

}  // namespace
}  // namespace recs::api
