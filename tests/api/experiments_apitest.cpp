// Experiments over HTTP: their life and its conflicts, predictions routed by assignment (the
// same as GrowthBook computes), exposures, forced units, and results from the events after
// exposure, frozen at the stop.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "recs/core/domain.hpp"
#include "recs/core/experiment.hpp"
#include "recs/store/tenant_store.hpp"
#include "recs/store/testing.hpp"
#include "support/api_fixture.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using testing::HttpResponse;

int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class ExperimentsApiTest : public testing::TenantApiTest {
protected:
    void SetUp() override {
        testing::TenantApiTest::SetUp();
        ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(40).dump()).status,
                  200);
        auto a = testing::TrainAndDeploy(srv(), key_, "pop_a", "popularity");
        auto b = testing::TrainAndDeploy(srv(), key_, "pop_b", "popularity");
        ASSERT_FALSE(a.second.empty());
        ASSERT_FALSE(b.second.empty());
        ASSERT_EQ(Call("PATCH", "/v1/recs/models/" + a.first, R"({"is_default":true})").status,
                  200);
    }
    json Created(const json& body) {
        auto r = Call("POST", "/v1/recs/experiments", body.dump());
        EXPECT_EQ(r.status, 201) << r.body;
        return J(r);
    }
    HttpResponse Move(const std::string& id, const std::string& verb) {
        return Call("POST", "/v1/recs/experiments/" + id + "/" + verb, "{}");
    }
    static json TwoArms(const std::string& name, const std::string& surface) {
        return {
            {"name", name},
            {"surface", surface},
            {"variants", {{{"id", "a"}, {"model", "pop_a"}}, {{"id", "b"}, {"model", "pop_b"}}}}};
    }
    json Predict(const std::string& user, const std::string& surface) {
        auto r = Call("POST", "/v1/recs/predict",
                      json{{"user_id", user}, {"surface", surface}, {"limit", 3}}.dump());
        EXPECT_EQ(r.status, 200) << r.body;
        return J(r);
    }
};

TEST_F(ExperimentsApiTest, BadSpecsNameTheirField) {
    auto base = TwoArms("e", "home");
    auto with = [&](const std::function<void(json&)>& f) {
        json b = base;
        f(b);
        return b.dump();
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {with([](json& b) { b["variants"].erase(1); }), "variants"},
        {with([](json& b) { b["variants"][1]["id"] = "a"; }), "variants[1].id"},
        {with([](json& b) { b["variants"][1]["model"] = "nope"; }), "variants[1].model"},
        {with([](json& b) { b["variants"][0]["pipeline"] = "p"; }), "variants[0].pipeline"},
        {with([](json& b) { b["variants"][0]["weight"] = -1; }), "variants[0].weight"},
        {with([](json& b) { b["variants"][0]["weight"] = 1; }), "variants[1].weight"},
        {with([](json& b) { b["variants"][0]["colour"] = 1; }), "variants[0].colour"},
        {with([](json& b) { b["control"] = "z"; }), "control"},
        {with([](json& b) { b["coverage"] = 1.5; }), "coverage"},
        {with([](json& b) { b["unit"] = "device"; }), "unit"},
        {with([](json& b) {
             b["metrics"] = {"ctr", "dwell"};
         }),
         "metrics[1]"},
        {with([](json& b) {
             b["namespace"] = {{"name", "n"}, {"range", {0.6, 0.2}}};
         }),
         "namespace.range"},
        {with([](json& b) {
             b["guardrails"] = {{{"metric", "ctr"}, {"bad_direction", "up"}}};
         }),
         "guardrails[0].bad_direction"},
        {with([](json& b) {
             b["start"] = "2030-01-02T00:00:00Z";
             b["end"] = "2030-01-01T00:00:00Z";
         }),
         "end"},
        {with([](json& b) { b["start"] = "tomorrow"; }), "start"},
        {with([](json& b) { b["end"] = "0000-06-01T00:00:00Z"; }),
         "end"},  // PostgreSQL has no year 0
        {with([](json& b) { b["surface"] = "a b"; }), "surface"},
        {with([](json& b) { b["name"] = std::string("a\0b", 3); }), "name"},
    };
    for (const auto& [body, field] : cases) {
        SCOPED_TRACE(body);
        ExpectProblem(Call("POST", "/v1/recs/experiments", body), 422, field);
    }
    EXPECT_TRUE(J(Call("GET", "/v1/recs/experiments"))["items"].empty());  // nothing half-made
}

TEST_F(ExperimentsApiTest, LifecycleConflictsAndAudit) {
    auto spec = TwoArms("homepage-ab", "home");
    spec["variants"][0]["weight"] = 3;
    spec["variants"][1]["weight"] = 1;
    auto e = Created(spec);
    std::string id = e["id"];
    EXPECT_EQ(e["status"], "draft");
    EXPECT_EQ(e["control"], "a");  // the first variant unless named
    EXPECT_DOUBLE_EQ(e["variants"][0]["weight"].get<double>(), 0.75);
    EXPECT_EQ(e["metrics"], json::array({"ctr"}));
    ExpectProblem(Call("POST", "/v1/recs/experiments", spec.dump()), 409, "name");

    // Drafts change; running ones do not.
    auto p = Call("PATCH", "/v1/recs/experiments/" + id, R"({"coverage":0.5})");
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(J(p)["coverage"], 0.5);
    EXPECT_EQ(J(p)["variants"][0]["weight"], 0.75);  // the rest kept
    ASSERT_EQ(Move(id, "start").status, 200);
    ExpectProblem(Call("PATCH", "/v1/recs/experiments/" + id, R"({"coverage":1})"), 409);
    ExpectProblem(Call("DELETE", "/v1/recs/experiments/" + id), 409);

    // One running experiment per surface, unless they split a namespace.
    auto other = Created(TwoArms("other", "home"));
    ExpectProblem(Move(other["id"], "start"), 409, "surface");
    auto in_ns = [&](const std::string& name, double lo, double hi) {
        auto s = TwoArms(name, "shelf");
        s["namespace"] = {{"name", "shelf-ns"}, {"range", {lo, hi}}};
        return Created(s)["id"].get<std::string>();
    };
    auto left = in_ns("left", 0, 0.5), right = in_ns("right", 0.5, 1), mid = in_ns("mid", 0.4, 0.6);
    EXPECT_EQ(Move(left, "start").status, 200);
    EXPECT_EQ(Move(right, "start").status, 200);
    ExpectProblem(Move(mid, "start"), 409, "surface");

    // The moves, and the ones that are not allowed.
    EXPECT_EQ(J(Move(id, "pause"))["status"], "paused");
    ExpectProblem(Move(id, "pause"), 409);
    EXPECT_EQ(Move(other["id"], "start").status, 200);  // the surface is free while paused
    ExpectProblem(Move(id, "start"), 409, "surface");
    EXPECT_EQ(Move(other["id"], "stop").status, 200);
    EXPECT_EQ(J(Move(id, "start"))["status"], "running");
    auto stopped = J(Move(id, "stop"));
    EXPECT_EQ(stopped["status"], "stopped");
    EXPECT_FALSE(stopped["stopped_at"].is_null());
    ExpectProblem(Move(id, "start"), 409);
    ExpectProblem(Move(id, "stop"), 409);

    // Lists page and filter by status.
    auto running = J(Call("GET", "/v1/recs/experiments?status=running"));
    std::set<std::string> ids;
    for (auto& it : running["items"]) ids.insert(it["id"]);
    EXPECT_EQ(ids, (std::set<std::string>{left, right}));
    auto page = J(Call("GET", "/v1/recs/experiments?limit=2"));
    EXPECT_EQ(page["items"].size(), 2u);
    EXPECT_FALSE(page["next_cursor"].is_null());
    ExpectProblem(Call("GET", "/v1/recs/experiments?status=done"), 422, "status");

    EXPECT_EQ(Call("DELETE", "/v1/recs/experiments/" + id).status, 204);
    ExpectProblem(Call("GET", "/v1/recs/experiments/" + id), 404);

    // Every change wrote an audit row, in order.
    auto audit =
        store::MakePgAuditRepository(testing::TestDatabase::Get().pool())->ListForResource(id);
    std::vector<std::string> actions;
    for (auto& a : audit) actions.push_back(a.action);
    EXPECT_EQ(actions, (std::vector<std::string>{"create", "update", "start", "pause", "start",
                                                 "stop", "delete"}));
}

TEST_F(ExperimentsApiTest, PredictionsAreRoutedByAssignmentAndForcedUnitsGetTheirVariant) {
    auto e = Created(TwoArms("route", "home"));
    std::string id = e["id"];
    // A draft routes nothing: the default model serves.
    EXPECT_FALSE(Predict("u1", "home").contains("experiment"));
    ASSERT_EQ(Move(id, "start").status, 200);

    std::map<std::string, int> seen;
    for (int u = 0; u < 40; ++u) {
        std::string user = "u" + std::to_string(u);
        auto p = Predict(user, "home");
        ASSERT_TRUE(p.contains("variant")) << p.dump();
        EXPECT_EQ(p["experiment"]["id"], id);
        std::string v = p["variant"];
        ++seen[v];
        // The variant's model served it.
        EXPECT_EQ(p["model"].get<std::string>().rfind(v == "a" ? "pop_a@" : "pop_b@", 0), 0u)
            << p.dump();
        // The assignment endpoint and the core's computation agree.
        auto a = J(Call("GET", "/v1/recs/experiments/" + id + "/assignment?unit_id=" + user));
        EXPECT_EQ(a["variant"], v);
        EXPECT_EQ(a["in_experiment"], true);
        core::Experiment ce;
        ce.id = id;
        ce.spec = core::SpecFromJson(e);
        auto mine = core::AssignVariant(ce, user, std::nullopt);
        EXPECT_EQ(ce.spec.variants[mine.variant].id, v);
        EXPECT_DOUBLE_EQ(a["hash"].get<double>(), mine.hash);
        // GET /users/{id} routes the same way.
        auto g = J(Call("GET", "/v1/recs/users/" + user + "?surface=home"));
        EXPECT_EQ(g["variant"], v);
    }
    EXPECT_GT(seen["a"], 5);
    EXPECT_GT(seen["b"], 5);
    // A named model wins over the surface; another surface has no experiment.
    auto named =
        J(Call("POST", "/v1/recs/predict", R"({"user_id":"u1","surface":"home","model":"pop_b"})"));
    EXPECT_FALSE(named.contains("experiment"));
    EXPECT_FALSE(Predict("u1", "elsewhere").contains("experiment"));

    // A forced unit gets its variant, says so, and the assignment endpoint shows it.
    std::string u = "u3";
    std::string natural =
        J(Call("GET", "/v1/recs/experiments/" + id + "/assignment?unit_id=u3"))["variant"];
    std::string flipped = natural == "a" ? "b" : "a";
    auto f = Call("POST", "/v1/recs/experiments/" + id + "/assign",
                  json{{"unit_id", u}, {"variant", flipped}}.dump());
    ASSERT_EQ(f.status, 200) << f.body;
    EXPECT_EQ(J(f)["forced"], true);
    EXPECT_EQ(J(f)["variant"], flipped);
    auto fp = Predict(u, "home");
    EXPECT_EQ(fp["variant"], flipped);
    EXPECT_EQ(fp["forced"], true);
    ExpectProblem(Call("POST", "/v1/recs/experiments/" + id + "/assign",
                       R"({"unit_id":"u3","variant":"zzz"})"),
                  422, "variant");
    ExpectProblem(Call("GET", "/v1/recs/experiments/" + id + "/assignment"), 422, "unit_id");

    // Outside coverage: the surface's default model, no experiment.
    ASSERT_EQ(Move(id, "pause").status, 200);
    ASSERT_EQ(Call("PATCH", "/v1/recs/experiments/" + id, R"({"coverage":0})").status, 200);
    ASSERT_EQ(Move(id, "start").status, 200);
    auto out = Predict("u5", "home");
    EXPECT_FALSE(out.contains("experiment")) << out.dump();
    EXPECT_EQ(out["model"].get<std::string>().rfind("pop_a@", 0), 0u);
    // ...except the forced unit, which QA still sees in its variant.
    EXPECT_EQ(Predict(u, "home")["variant"], flipped);

    // Session experiments use context.session_id; without one, the unit is not in it.
    ASSERT_EQ(Move(id, "stop").status, 200);
    auto se = TwoArms("sessions", "home");
    se["unit"] = "session_id";
    std::string sid = Created(se)["id"];
    ASSERT_EQ(Move(sid, "start").status, 200);
    auto with_session =
        J(Call("POST", "/v1/recs/predict",
               R"({"user_id":"u1","surface":"home","context":{"session_id":"s-42"}})"));
    EXPECT_EQ(with_session["experiment"]["id"], sid);
    auto sa = J(Call("GET", "/v1/recs/experiments/" + sid + "/assignment?unit_id=s-42"));
    EXPECT_EQ(with_session["variant"], sa["variant"]);
    EXPECT_FALSE(Predict("u1", "home").contains("experiment"));
}

TEST_F(ExperimentsApiTest, ResultsCountEventsAfterExposureAndFreezeAtStop) {
    auto spec = TwoArms("results", "home");
    spec["metrics"] = {"ctr", "clicks_per_unit", "conversion_rate", "revenue_per_unit"};
    spec["guardrails"] = {{{"metric", "conversion_rate"}}};
    auto e = Created(spec);
    std::string id = e["id"];
    // Events before the experiment do not count.
    int64_t before = NowMs() - 60000;
    json old = json::array();
    for (int u = 0; u < 200; ++u)
        old.push_back({{"type", "click"},
                       {"user_id", "x" + std::to_string(u)},
                       {"item_id", "a1"},
                       {"timestamp", before}});
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", old.dump()).status, 200);
    ASSERT_EQ(Move(id, "start").status, 200);

    std::map<std::string, std::string> variant_of;
    for (int u = 0; u < 200; ++u) {
        std::string user = "x" + std::to_string(u);
        variant_of[user] = Predict(user, "home")["variant"];
    }
    // One forced unit: excluded from the results.
    ASSERT_EQ(
        Call("POST", "/v1/recs/experiments/" + id + "/assign", R"({"unit_id":"x0","variant":"b"})")
            .status,
        200);
    // After exposure: 10 impressions each; a's users click 0..2 times, b's 2..4; b's buy.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int64_t t = NowMs();
    json events = json::array();
    std::map<std::string, int> units, clicks;
    int n = 0;
    for (const auto& [user, v] : variant_of) {
        int c = (v == "b" ? 2 : 0) + n++ % 3;
        if (user != "x0") {
            ++units[v];
            clicks[v] += c;
        }
        for (int i = 0; i < 10; ++i)
            events.push_back({{"type", "impression"}, {"user_id", user}, {"timestamp", t}});
        for (int i = 0; i < c; ++i)
            events.push_back(
                {{"type", "click"}, {"user_id", user}, {"item_id", "a1"}, {"timestamp", t}});
        if (v == "b")
            events.push_back({{"type", "purchase"},
                              {"user_id", user},
                              {"item_id", "a1"},
                              {"value", 20},
                              {"timestamp", t}});
    }
    auto bulk = Call("POST", "/v1/recs/events/bulk", events.dump());
    ASSERT_EQ(bulk.status, 200) << bulk.body;
    ASSERT_TRUE(J(bulk)["rejected"].empty()) << bulk.body;

    auto r = Call("GET", "/v1/recs/experiments/" + id + "/results");
    ASSERT_EQ(r.status, 200) << r.body;
    auto res = J(r);
    ASSERT_EQ(res["variants"].size(), 2u);
    std::map<std::string, json> by;
    for (auto& v : res["variants"]) by[v["id"]] = v;
    EXPECT_EQ(by["a"]["units"], units["a"]);
    EXPECT_EQ(by["b"]["units"], units["b"]);
    EXPECT_EQ(res["units"], units["a"] + units["b"]);
    double ctr_a = clicks["a"] / (10.0 * units["a"]), ctr_b = clicks["b"] / (10.0 * units["b"]);
    EXPECT_NEAR(by["a"]["metrics"]["ctr"]["mean"].get<double>(), ctr_a, 1e-9);
    EXPECT_NEAR(by["b"]["metrics"]["ctr"]["mean"].get<double>(), ctr_b, 1e-9);
    EXPECT_NEAR(by["a"]["metrics"]["clicks_per_unit"]["mean"].get<double>(),
                clicks["a"] / double(units["a"]), 1e-9);
    EXPECT_NEAR(by["a"]["metrics"]["conversion_rate"]["mean"].get<double>(), 0.0, 1e-9);
    EXPECT_NEAR(by["b"]["metrics"]["conversion_rate"]["mean"].get<double>(), 1.0, 1e-9);
    EXPECT_NEAR(by["b"]["metrics"]["revenue_per_unit"]["mean"].get<double>(), 20.0, 1e-9);
    auto lift = by["b"]["metrics"]["ctr"]["relative_lift"];
    EXPECT_NEAR(lift["estimate"].get<double>(), ctr_b / ctr_a - 1, 1e-9);
    EXPECT_TRUE(lift["significant"].get<bool>()) << lift.dump();
    EXPECT_GT(lift["ci"][0].get<double>(), 0);
    EXPECT_LT(lift["p_value"].get<double>(), 0.001);
    EXPECT_GT(by["b"]["metrics"]["ctr"]["chance_to_beat_control"].get<double>(), 0.99);
    EXPECT_FALSE(by["a"]["metrics"]["ctr"].contains("relative_lift"));  // the control
    // Every unit of a converted and none of b: variance 0 is reported, not a crash.
    EXPECT_EQ(by["b"]["metrics"]["conversion_rate"].value("error", ""), "ZERO_NEGATIVE_VARIANCE")
        << by["b"].dump();
    EXPECT_TRUE(res["sample_ratio"].contains("p_value"));
    EXPECT_EQ(res["timeseries"].size(), 1u);
    EXPECT_EQ(res["guardrails"][0]["variant"], "b");

    // Stopping freezes them: later events change nothing.
    ASSERT_EQ(Move(id, "stop").status, 200);
    auto frozen = J(Call("GET", "/v1/recs/experiments/" + id + "/results"));
    json more = json::array();
    for (const auto& [user, v] : variant_of)
        more.push_back(
            {{"type", "click"}, {"user_id", user}, {"item_id", "a2"}, {"timestamp", NowMs()}});
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", more.dump()).status, 200);
    auto again = J(Call("GET", "/v1/recs/experiments/" + id + "/results"));
    EXPECT_EQ(again, frozen);
    EXPECT_EQ(frozen["status"], "stopped");
    EXPECT_FALSE(frozen["frozen_at"].is_null());
    EXPECT_NEAR(frozen["variants"][1]["metrics"]["ctr"]["mean"].get<double>(), ctr_b, 1e-9);
}

TEST_F(ExperimentsApiTest, AnExperimentRoutesOnlyBetweenItsStartAndEndAndStopsAtItsEnd) {
    auto later = TwoArms("later", "home");
    later["start"] = core::FormatIso8601Ms(NowMs() + 3600 * 1000);
    std::string lid = Created(later)["id"];
    ASSERT_EQ(Move(lid, "start").status, 200);
    EXPECT_FALSE(Predict("u1", "home").contains("experiment"));  // not started yet
    ASSERT_EQ(Move(lid, "stop").status, 200);

    auto soon = TwoArms("soon", "home");
    soon["end"] = core::FormatIso8601Ms(NowMs() + 1500);
    std::string id = Created(soon)["id"];
    ASSERT_EQ(Move(id, "start").status, 200);
    EXPECT_EQ(Predict("u1", "home")["experiment"]["id"], id);
    // The scheduler stops it once its end has passed, and freezes its results.
    json e;
    for (int i = 0; i < 100; ++i) {
        e = J(Call("GET", "/v1/recs/experiments/" + id));
        if (e["status"] == "stopped") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(e["status"], "stopped") << e.dump();
    EXPECT_FALSE(Predict("u1", "home").contains("experiment"));
    auto res = J(Call("GET", "/v1/recs/experiments/" + id + "/results"));
    EXPECT_EQ(res["frozen_at"], soon["end"]);
    EXPECT_EQ(res["units"], 1);
    auto audit =
        store::MakePgAuditRepository(testing::TestDatabase::Get().pool())->ListForResource(id);
    ASSERT_FALSE(audit.empty());
    EXPECT_EQ(audit.back().action, "stop");
    EXPECT_EQ(audit.back().actor_kind, "scheduler");
}

TEST_F(ExperimentsApiTest, ABanditMovesTrafficToTheBestArmAndExposedUnitsKeepTheirs) {
    auto spec = TwoArms("bandit", "home");
    spec["variants"].push_back({{"id", "c"}, {"model", "pop_a"}});
    std::string id = Created(spec)["id"];
    ASSERT_EQ(Move(id, "start").status, 200);
    for (const auto& [body, field] : std::vector<std::pair<json, std::string>>{
             {json{{"experiment", id}, {"policy", "greedy"}}, "policy"},
             {json{{"experiment", id}, {"reward", "dwell"}}, "reward"},
             {json{{"experiment", id}, {"update_every", "soon"}}, "update_every"},
             {json{{"experiment", id}, {"update_every", 0}}, "update_every"},
             {json{{"experiment", id}, {"min_share", 0.4}}, "min_share"},  // 3 × 0.4 > 1
             {json{{"experiment", id}, {"params", {{"epsilon", 2}}}}, "params.epsilon"}}) {
        SCOPED_TRACE(body.dump());
        ExpectProblem(Call("POST", "/v1/recs/exploration/bandit", body.dump()), 422, field);
    }
    ExpectProblem(Call("POST", "/v1/recs/exploration/bandit",
                       json{{"experiment", "00000000-0000-4000-8000-000000000000"}}.dump()),
                  404);
    auto b = Call("POST", "/v1/recs/exploration/bandit",
                  json{{"experiment", id},
                       {"policy", "thompson"},
                       {"reward", "click"},
                       {"burn_in_units", 20},
                       {"min_share", 0.02},
                       {"update_every", "1s"}}
                      .dump());
    ASSERT_EQ(b.status, 201) << b.body;
    EXPECT_EQ(J(b)["policy"], "thompson");
    EXPECT_NEAR(J(b)["weights"]["a"].get<double>(), 1.0 / 3, 1e-9);
    ExpectProblem(Call("POST", "/v1/recs/exploration/bandit", json{{"experiment", id}}.dump()), 409,
                  "experiment");

    // 150 users exposed; c's users click 4 of 10 impressions, the others 1.
    std::map<std::string, std::string> first;
    for (int u = 0; u < 150; ++u) {
        std::string user = "w" + std::to_string(u);
        first[user] = Predict(user, "home")["variant"];
    }
    int64_t t = NowMs() + 10;
    json events = json::array();
    for (const auto& [user, v] : first) {
        for (int i = 0; i < 10; ++i)
            events.push_back({{"type", "impression"}, {"user_id", user}, {"timestamp", t}});
        for (int i = 0; i < (v == "c" ? 4 : 1); ++i)
            events.push_back(
                {{"type", "click"}, {"user_id", user}, {"item_id", "a1"}, {"timestamp", t}});
    }
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", events.dump()).status, 200);

    // The scheduler reallocates within a few seconds.
    json state;
    for (int i = 0; i < 100; ++i) {
        state = J(Call("GET", "/v1/recs/exploration/bandit/" + id));
        if (!state["history"].empty() && state["weights"]["c"].get<double>() > 0.9) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_FALSE(state["history"].empty()) << state.dump();
    EXPECT_GT(state["weights"]["c"].get<double>(), 0.9) << state.dump();
    EXPECT_GE(state["weights"]["a"].get<double>(), 0.02 - 1e-9);  // the floor
    EXPECT_EQ(state["history"].back()["arms"]["c"]["units"],
              std::count_if(first.begin(), first.end(), [](auto& p) { return p.second == "c"; }));
    auto e = J(Call("GET", "/v1/recs/experiments/" + id));
    EXPECT_EQ(e["sticky"], true);
    EXPECT_NEAR(e["variants"][2]["weight"].get<double>(), state["weights"]["c"].get<double>(),
                1e-12);

    // Units already exposed keep their variant (sticky); new ones mostly get c.
    int kept = 0;
    for (const auto& [user, v] : first) kept += Predict(user, "home")["variant"] == v;
    EXPECT_EQ(kept, static_cast<int>(first.size()));
    // The scheduler's change reaches the api's routing cache within its TTL (2 s).
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    int to_c = 0;
    for (int u = 0; u < 100; ++u)
        to_c += Predict("new" + std::to_string(u), "home")["variant"] == "c";
    EXPECT_GT(to_c, 75);

    // ...also after a restart, when only PostgreSQL remembers the first exposures.
    Start(true);
    kept = 0;
    for (const auto& [user, v] : first) kept += Predict(user, "home")["variant"] == v;
    EXPECT_EQ(kept, static_cast<int>(first.size()));

    // Detached: the weights stay.
    EXPECT_EQ(Call("DELETE", "/v1/recs/exploration/bandit/" + id).status, 204);
    ExpectProblem(Call("GET", "/v1/recs/exploration/bandit/" + id), 404);
    EXPECT_NEAR(J(Call("GET", "/v1/recs/experiments/" + id))["variants"][2]["weight"].get<double>(),
                state["weights"]["c"].get<double>(), 1e-12);
}

TEST_F(ExperimentsApiTest, ASimulationReplaysHeldOutInteractionsThroughEachVariant) {
    // item_knn sees the two taste clusters; popularity does not.
    ASSERT_EQ(Call("POST", "/v1/recs/models",
                   R"({"name":"knn","type":"candidate","algorithm":"item_knn"})")
                  .status,
              201);
    // Each user's latest clicks: the items of its cluster it had not clicked, which the other
    // users of the cluster had (the temporal split holds these out).
    json later = json::array();
    for (int u = 0; u < 40; ++u)
        for (int i = 0; i < 10; ++i)
            if ((u + i) % 3 == 0)
                later.push_back(
                    {{"type", "click"},
                     {"user_id", "u" + std::to_string(u)},
                     {"item_id", std::string(1, u % 2 == 0 ? 'a' : 'b') + std::to_string(i)},
                     {"timestamp", 1700000100000LL + i * 1000}});
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", later.dump()).status, 200);
    auto spec = TwoArms("offline", "home");
    spec["variants"][1]["model"] = "knn";
    std::string id = Created(spec)["id"];
    ExpectProblem(
        Call("POST", "/v1/recs/simulate",
             json{{"experiment", id}, {"variants", {{{"id", "a"}, {"model", "pop_a"}}}}}.dump()),
        422, "variants");
    ExpectProblem(Call("POST", "/v1/recs/simulate",
                       R"({"variants":[{"id":"a","model":"pop_a"},{"id":"b","model":"nope"}]})"),
                  422, "variants[1].model");
    ExpectProblem(Call("POST", "/v1/recs/simulate", R"({"experiment":"x","k":0})"), 422, "k");
    ExpectProblem(Call("POST", "/v1/recs/simulate",
                       json{{"experiment", "00000000-0000-4000-8000-000000000000"}}.dump()),
                  404);

    auto r = Call("POST", "/v1/recs/simulate",
                  json{{"experiment", id}, {"k", 5}, {"bootstrap", 200}, {"holdout", 0.3}}.dump());
    ASSERT_EQ(r.status, 202) << r.body;
    auto done = testing::WaitJob(srv(), key_, J(r)["job_id"]);
    ASSERT_EQ(done["status"], "succeeded") << done.dump();
    const auto& res = done["result"];
    EXPECT_EQ(res["k"], 5);
    EXPECT_GT(res["users"].get<int>(), 20);
    ASSERT_EQ(res["variants"].size(), 2u);
    double total = 0;
    for (const auto& v : res["variants"]) {
        for (const char* m : {"ndcg", "recall", "coverage"}) {
            double mean = v[m]["mean"], lo = v[m]["ci"][0], hi = v[m]["ci"][1];
            EXPECT_LE(lo, mean + 1e-9) << v.dump();
            EXPECT_GE(hi, mean - 1e-9) << v.dump();
            EXPECT_GE(lo, 0);
            EXPECT_LE(hi, 1);
        }
        total += v["prob_best"].get<double>();
    }
    EXPECT_NEAR(total, 1.0, 1e-9);
    EXPECT_EQ(res["likely_winner"], "b") << res.dump();
    EXPECT_GT(res["variants"][1]["ndcg"]["mean"].get<double>(),
              res["variants"][0]["ndcg"]["mean"].get<double>());
    EXPECT_EQ(done["kind"], "simulate");
}

}  // namespace
}  // namespace recs
