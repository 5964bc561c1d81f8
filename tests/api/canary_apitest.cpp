// Canary deploys over HTTP: a version served to a share of the model's units beside the
// deployed one, promoted at 100%, and rolled back by its guard.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "recs/core/canary.hpp"
#include "recs/store/tenant_store.hpp"
#include "recs/store/testing.hpp"
#include "support/api_fixture.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;

class CanaryApiTest : public testing::TenantApiTest {
protected:
    void SetUp() override {
        testing::TenantApiTest::SetUp();
        ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(40).dump()).status,
                  200);
        std::tie(model_, v1_) = testing::TrainAndDeploy(srv(), key_, "m", "popularity");
        ASSERT_FALSE(v1_.empty());
        auto job = J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", model_}}.dump()));
        auto done = testing::WaitJob(srv(), key_, job["job_id"]);
        ASSERT_EQ(done["status"], "succeeded") << done.dump();
        v2_ = done["result"]["version_id"];
    }
    std::string Deploy(const std::string& version) {
        return "/v1/recs/models/" + model_ + "/versions/" + version + "/deploy";
    }
    std::string Served(const std::string& user, bool* canary = nullptr) {
        auto p =
            J(Call("POST", "/v1/recs/predict", json{{"user_id", user}, {"model", "m"}}.dump()));
        if (canary) *canary = p.value("canary", false);
        return p["model"];
    }
    std::string model_, v1_, v2_;
};

TEST_F(CanaryApiTest, ACanaryServesItsShareOfUnitsAndIsPromotedAtOneHundred) {
    for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
             {R"({"traffic_pct":0})", "traffic_pct"},
             {R"({"traffic_pct":150})", "traffic_pct"},
             {R"({"guard":{"max_p99_ms":50}})", "guard"},
             {R"({"traffic_pct":10,"guard":{}})", "guard"},
             {R"({"traffic_pct":10,"guard":{"max_error_rate":2}})", "guard.max_error_rate"},
             {R"({"traffic_pct":10,"guard":{"max_p99_ms":5,"window_s":0}})", "guard.window_s"}}) {
        SCOPED_TRACE(body);
        ExpectProblem(Call("POST", Deploy(v2_), body), 422, field);
    }
    ExpectProblem(Call("POST", Deploy(v1_), R"({"traffic_pct":10})"), 409, "traffic_pct");
    ExpectProblem(Call("GET", "/v1/recs/models/" + model_ + "/canary"), 404);

    auto d = Call("POST", Deploy(v2_), R"({"traffic_pct":30})");
    ASSERT_EQ(d.status, 200) << d.body;
    EXPECT_EQ(J(d)["canary"]["status"], "active");
    EXPECT_EQ(J(d)["canary"]["traffic_pct"], 30);
    EXPECT_EQ(J(Call("GET", "/v1/recs/models/" + model_))["deployed_version"], 1);  // unchanged

    int in_canary = 0;
    for (int u = 0; u < 300; ++u) {
        std::string user = "c" + std::to_string(u);
        bool flagged = false;
        auto label = Served(user, &flagged);
        bool cohort = core::InCanaryCohort(model_, user, 30);
        EXPECT_EQ(label, cohort ? "m@v2" : "m@v1") << user;
        EXPECT_EQ(flagged, cohort);
        in_canary += cohort;
        EXPECT_EQ(Served(user), label);  // the same unit, the same version
    }
    EXPECT_GT(in_canary, 60);
    EXPECT_LT(in_canary, 120);
    // A request naming its version is never moved.
    EXPECT_EQ(J(Call("POST", "/v1/recs/predict", R"({"user_id":"c1","model":"m@1"})"))["model"],
              "m@v1");

    auto promoted = Call("POST", Deploy(v2_), R"({"traffic_pct":100})");
    ASSERT_EQ(promoted.status, 200) << promoted.body;
    EXPECT_FALSE(J(promoted).contains("canary"));
    auto c = J(Call("GET", "/v1/recs/models/" + model_ + "/canary"));
    EXPECT_EQ(c["status"], "promoted");
    EXPECT_FALSE(c["ended_at"].is_null());
    for (int u = 0; u < 50; ++u) EXPECT_EQ(Served("c" + std::to_string(u)), "m@v2");
}

TEST_F(CanaryApiTest, ItsGuardRollsACanaryBackAndSaysWhy) {
    // A p99 bound no prediction can meet: the guard trips at the end of its first window.
    auto d =
        Call("POST", Deploy(v2_),
             R"({"traffic_pct":50,"guard":{"max_p99_ms":0.000001,"window_s":1,"min_requests":5}})");
    ASSERT_EQ(d.status, 200) << d.body;
    json c;
    for (int i = 0; i < 300; ++i) {
        Served("g" + std::to_string(i % 40));
        if (i % 10 == 9) {
            c = J(Call("GET", "/v1/recs/models/" + model_ + "/canary"));
            if (c["status"] != "active") break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(c["status"], "rolled_back") << c.dump();
    EXPECT_NE(c["reason"].get<std::string>().find("p99"), std::string::npos) << c.dump();
    // Everyone is back on the deployed version, and the version says what happened.
    for (int u = 0; u < 40; ++u) EXPECT_EQ(Served("g" + std::to_string(u)), "m@v1");
    auto versions = J(Call("GET", "/v1/recs/models/" + model_ + "/versions"));
    for (auto& v : versions["items"])
        if (v["id"] == v2_) EXPECT_EQ(v["status"], "rolled_back");
    auto audit =
        store::MakePgAuditRepository(testing::TestDatabase::Get().pool())->ListForResource(model_);
    bool logged = false;
    for (auto& a : audit)
        logged |= a.action == "canary_rolled_back" &&
                  a.after_json.find("p99") != std::string::npos && a.actor_id == "canary_guard";
    EXPECT_TRUE(logged);
    // A rolled-back version may still be deployed by hand.
    EXPECT_EQ(Call("POST", Deploy(v2_), "{}").status, 200);
    EXPECT_EQ(Served("g1"), "m@v2");
}

}  // namespace
}  // namespace recs
