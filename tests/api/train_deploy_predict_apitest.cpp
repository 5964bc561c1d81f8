// The loop over HTTP: events and features in, models trained by jobs, versions deployed,
// predictions out.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "recs/scheduler/scheduler.hpp"
#include "recs/store/event_store.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/testing.hpp"
#include "recs/wiring/platform.hpp"
#include "recs/workers/worker.hpp"
#include "support/api_fixture.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using testing::HttpResponse;
using testing::TestServer;

class TrainDeployPredictTest : public testing::TenantApiTest {};

TEST_F(TrainDeployPredictTest, SingleEventsAreStoredOnceAndStreamed) {
    store::RedisClient redis(testing::RedisUrl(), 1);
    auto stream = store::MakeRedisEventStream(redis);
    int64_t before = stream->Length(core::TenantId{tenant_});
    auto r = Call(
        "POST", "/v1/recs/events",
        R"({"event_id":"ev1","type":"view","user_id":7,"item_id":"i1","timestamp":"2024-05-01T10:00:00Z","metadata":{"page":"home"}})");
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(J(r)["duplicate"], false);
    auto dup = Call("POST", "/v1/recs/events",
                    R"({"event_id":"ev1","type":"view","user_id":"7","item_id":"i1"})");
    EXPECT_EQ(J(dup)["duplicate"], true);
    auto g = J(Call("GET", "/v1/recs/events/ev1"));
    EXPECT_EQ(g["user_id"], "7");  // a JSON integer id means its decimal string
    EXPECT_EQ(g["timestamp"], "2024-05-01T10:00:00.000Z");
    EXPECT_EQ(g["metadata"]["page"], "home");
    // No event_id: one is assigned; epoch millis accepted.
    auto gen =
        J(Call("POST", "/v1/recs/events",
               R"({"type":"purchase","user_id":"u","item_id":"i","timestamp":1714557600000})"));
    EXPECT_FALSE(gen["event_id"].get<std::string>().empty());
    // The relay appends to the stream after the acknowledgement (it never waits on Redis).
    for (int i = 0; i < 200 && stream->Length(core::TenantId{tenant_}) - before < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(stream->Length(core::TenantId{tenant_}) - before, 2);
    ExpectProblem(Call("GET", "/v1/recs/events/nope"), 404);
    // A restart does not forget ids.
    Start(true);
    EXPECT_EQ(
        J(Call("POST", "/v1/recs/events",
               R"({"event_id":"ev1","type":"view","user_id":"7","item_id":"i1"})"))["duplicate"],
        true);
}

TEST_F(TrainDeployPredictTest, BadEventsNameTheField) {
    ExpectProblem(Call("POST", "/v1/recs/events", R"({"type":"view","item_id":"i"})"), 422,
                  "user_id");
    ExpectProblem(
        Call("POST", "/v1/recs/events", R"({"type":"teleport","user_id":"u","item_id":"i"})"), 422,
        "type");
    ExpectProblem(Call("POST", "/v1/recs/events", R"({"type":"view","user_id":"u"})"), 422,
                  "item_id");
    ExpectProblem(
        Call("POST", "/v1/recs/events", R"({"type":"rating","user_id":"u","item_id":"i"})"), 422,
        "value");
    ExpectProblem(Call("POST", "/v1/recs/events",
                       R"({"type":"view","user_id":"u","item_id":"i","timestamp":"yesterday"})"),
                  422, "timestamp");
    ExpectProblem(
        Call("POST", "/v1/recs/events", R"({"type":"view","user_id":"u","item_id":"i","extra":1})"),
        422, "extra");
    ExpectProblem(
        Call("POST", "/v1/recs/events", R"({"type":"view","user_id":{"a":1},"item_id":"i"})"), 422,
        "user_id");
    ExpectProblem(Call("POST", "/v1/recs/events", R"({"type":)"), 400);
    ExpectProblem(Call("POST", "/v1/recs/events/bulk", R"({"type":"view"})"), 422);
    std::string huge = "[" + std::string(2 * 1024 * 1024, ' ') + "]";
    EXPECT_EQ(Call("POST", "/v1/recs/events/bulk", huge).status, 413);
}

TEST_F(TrainDeployPredictTest, BulkStoresValidEventsAndReportsTheRest) {
    auto r = Call("POST", "/v1/recs/events/bulk", R"([
        {"event_id":"b1","type":"click","user_id":"u1","item_id":"i1"},
        {"event_id":"b2","type":"bogus","user_id":"u1","item_id":"i1"},
        {"event_id":"b3","type":"click","item_id":"i1"},
        {"event_id":"b1","type":"click","user_id":"u1","item_id":"i1"},
        {"event_id":"b4","type":"rating","user_id":"u2","item_id":"i2","value":4.5}])");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = J(r);
    EXPECT_EQ(j["accepted"], 2);
    EXPECT_EQ(j["duplicates"], 1);
    ASSERT_EQ(j["rejected"].size(), 2u);
    EXPECT_EQ(j["rejected"][0]["index"], 1);
    EXPECT_EQ(j["rejected"][0]["field"], "type");
    EXPECT_EQ(j["rejected"][1]["index"], 2);
    EXPECT_EQ(j["rejected"][1]["field"], "user_id");
    auto nd = Call("POST", "/v1/recs/events/bulk",
                   "{\"event_id\":\"n1\",\"type\":\"like\",\"user_id\":\"u3\",\"item_id\":\"i3\"}\n"
                   "not json\n\n"
                   "{\"event_id\":\"b4\",\"type\":\"rating\",\"user_id\":\"u2\",\"item_id\":\"i2\","
                   "\"value\":4.5}\n",
                   {{"Content-Type", "application/x-ndjson"}});
    auto n = J(nd);
    EXPECT_EQ(n["accepted"], 1);
    EXPECT_EQ(n["duplicates"], 1);
    EXPECT_EQ(n["rejected"][0]["index"], 1);
    auto stored = store::QueryForTesting(srv().pg(), "SELECT count(*) FROM events");
    EXPECT_EQ(stored.at(0), "3");
}

TEST_F(TrainDeployPredictTest, FeaturesUpsertReadAndBulk) {
    auto r = Call("POST", "/v1/recs/features/entities/item/i1",
                  R"({"features":{"category":"shoes","price":20}})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto g = J(Call("GET", "/v1/recs/features/entities/item/i1"));
    EXPECT_EQ(g["features"]["category"], "shoes");
    ExpectProblem(Call("GET", "/v1/recs/features/entities/item/nope"), 404);
    ExpectProblem(Call("GET", "/v1/recs/features/entities/shop/i1"), 422, "entity_type");
    ExpectProblem(Call("POST", "/v1/recs/features/entities/item/i1", R"({"features":[1]})"), 422,
                  "features");
    auto b = J(Call("POST", "/v1/recs/features/bulk",
                    R"([{"entity_type":"item","entity_id":"i2","features":{"price":5}},
                        {"entity_type":"item","entity_id":"i3"},
                        {"entity_type":"user","entity_id":9,"features":{"tier":"gold"}}])"));
    EXPECT_EQ(b["accepted"], 2);
    EXPECT_EQ(b["rejected"][0]["index"], 1);
    EXPECT_EQ(J(Call("GET", "/v1/recs/features/entities/user/9"))["features"]["tier"], "gold");
}

TEST_F(TrainDeployPredictTest, ModelValidation) {
    ExpectProblem(Call("POST", "/v1/recs/models", R"({"name":"m","algorithm":"magic"})"), 422,
                  "algorithm");
    ExpectProblem(Call("POST", "/v1/recs/models",
                       R"({"name":"m","algorithm":"ease","hyperparameters":{"lambda":-1}})"),
                  422, "hyperparameters.lambda");
    ExpectProblem(Call("POST", "/v1/recs/models",
                       R"({"name":"m","algorithm":"ease","hyperparameters":{"nope":1}})"),
                  422, "hyperparameters.nope");
    ExpectProblem(Call("POST", "/v1/recs/models", R"({"name":"bad name","algorithm":"ease"})"), 422,
                  "name");
    ExpectProblem(
        Call("POST", "/v1/recs/models", R"({"name":"m","type":"ranker","algorithm":"ease"})"), 422,
        "type");
    ASSERT_EQ(Call("POST", "/v1/recs/models", R"({"name":"m","algorithm":"ease"})").status, 201);
    ExpectProblem(Call("POST", "/v1/recs/models", R"({"name":"m","algorithm":"ease"})"), 409,
                  "name");
    ExpectProblem(Call("POST", "/v1/recs/jobs/train",
                       R"({"model_id":"00000000-0000-4000-8000-000000000000"})"),
                  404);
    ExpectProblem(Call("POST", "/v1/recs/jobs/train", R"({})"), 422, "model_id");
}

TEST_F(TrainDeployPredictTest, TrainDeployPredictRollback) {
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(40).dump()).status, 200);
    Call("POST", "/v1/recs/features/bulk",
         R"([{"entity_type":"item","entity_id":"a0","features":{"color":"red","price":10}},
             {"entity_type":"item","entity_id":"a3","features":{"color":"red","price":30}},
             {"entity_type":"item","entity_id":"a6","features":{"color":"blue","price":5}}])");
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"knn","algorithm":"item_knn"})"));
    std::string model_id = m["id"];
    ExpectProblem(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"knn"})"), 409);
    auto job =
        J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", model_id}, {"holdout", 0.2}}.dump(),
               {{"Idempotency-Key", "train-1"}}));
    ASSERT_EQ(job["status"], "queued");
    auto again =
        J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", model_id}, {"holdout", 0.2}}.dump(),
               {{"Idempotency-Key", "train-1"}}));
    EXPECT_EQ(again["job_id"], job["job_id"]);  // same job for the same key
    auto done = testing::WaitJob(srv(), key_, job["job_id"]);
    ASSERT_EQ(done["status"], "succeeded") << done.dump();
    EXPECT_EQ(done["progress"], 1.0);
    EXPECT_EQ(done["attempts"], 1);
    std::string v1 = done["result"]["version_id"];
    auto versions = J(Call("GET", "/v1/recs/models/" + model_id + "/versions"));
    ASSERT_EQ(versions["items"].size(), 1u);
    EXPECT_EQ(versions["items"][0]["status"], "ready");
    EXPECT_GT(versions["items"][0]["metrics"]["ndcg"].get<double>(), 0.0);
    EXPECT_GT(J(Call("GET",
                     "/v1/recs/models/" + model_id + "/metrics"))["versions"][0]["metrics"]["users"]
                  .get<int>(),
              0);

    auto dep = Call("POST", "/v1/recs/models/" + model_id + "/versions/" + v1 + "/deploy", "{}");
    ASSERT_EQ(dep.status, 200) << dep.body;
    EXPECT_EQ(J(dep)["status"], "deployed");

    auto p = J(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"knn","limit":4})"));
    EXPECT_EQ(p["model"], "knn@v1");
    ASSERT_EQ(p["items"].size(), 4u);
    for (auto& it : p["items"]) {
        std::string id = it["item_id"];
        EXPECT_EQ(id[0], 'a') << "u0 is in cluster a: " << p.dump();
        EXPECT_TRUE(it.contains("score"));
    }
    EXPECT_FALSE(p["request_id"].get<std::string>().empty());
    // Seen items are excluded by default: u0 clicked a1, a2, a4, a5, a7, a8.
    for (auto& it : p["items"]) EXPECT_NE(it["item_id"], "a1");
    auto seen = J(Call("POST", "/v1/recs/predict",
                       R"({"user_id":"u0","model":"knn","exclude_seen":false,"limit":20})"));
    bool has_seen = false;
    for (auto& it : seen["items"]) has_seen = has_seen || it["item_id"] == "a1";
    EXPECT_TRUE(has_seen);
    // exclude_ids, candidate_ids, filters, return_scores.
    auto ex = J(
        Call("POST", "/v1/recs/predict",
             R"({"user_id":"u0","model":"knn","exclude_ids":["a0","a3"],"return_scores":false})"));
    for (auto& it : ex["items"]) {
        EXPECT_NE(it["item_id"], "a0");
        EXPECT_NE(it["item_id"], "a3");
        EXPECT_FALSE(it.contains("score"));
    }
    auto cand = J(Call("POST", "/v1/recs/predict",
                       R"({"user_id":"u0","model":"knn","candidate_ids":["b1","a6"]})"));
    ASSERT_EQ(cand["items"].size(), 2u);
    EXPECT_EQ(cand["items"][0]["item_id"], "a6");
    auto red = J(Call("POST", "/v1/recs/predict",
                      R"({"user_id":"u0","model":"knn","filters":{"color":"red"}})"));
    ASSERT_EQ(red["items"].size(), 2u) << red.dump();
    auto cheap = J(Call("POST", "/v1/recs/predict",
                        R"({"user_id":"u0","model":"knn","filters":{"price":{"lte":10}}})"));
    for (auto& it : cheap["items"])
        EXPECT_TRUE(it["item_id"] == "a0" || it["item_id"] == "a6") << cheap.dump();
    ExpectProblem(Call("POST", "/v1/recs/predict",
                       R"({"user_id":"u0","model":"knn","filters":{"price":{"near":1}}})"),
                  422, "filters.price");
    // Unknown user: popularity, flagged.
    auto cold = J(Call("POST", "/v1/recs/predict", R"({"user_id":"stranger","model":"knn"})"));
    EXPECT_EQ(cold["cold_start"], true);
    EXPECT_EQ(cold["items"][0]["reason"], "cold_start:popularity");
    // Bad input and unknowns.
    ExpectProblem(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"knn","limit":501})"),
                  422, "limit");
    ExpectProblem(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"knn","limit":0})"),
                  422, "limit");
    ExpectProblem(Call("POST", "/v1/recs/predict", R"({"model":"knn"})"), 422, "user_id");
    ExpectProblem(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"nope"})"), 404);
    ExpectProblem(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"knn@7"})"), 404);
    ExpectProblem(Call("POST", "/v1/recs/predict", R"({"user_id":"u0"})"), 404);  // no default yet
    ExpectProblem(
        Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"knn","candidate_ids":"a1"})"),
        422, "candidate_ids");
    // Default model, users route, score, related, batch.
    ASSERT_EQ(Call("PATCH", "/v1/recs/models/" + model_id, R"({"is_default":true})").status, 200);
    auto def = J(Call("POST", "/v1/recs/predict", R"({"user_id":"u1"})"));
    EXPECT_EQ(def["model"], "knn@v1");
    EXPECT_EQ(J(Call("GET", "/v1/recs/users/u1?limit=3"))["items"].size(), 3u);
    auto sc = J(Call(
        "POST", "/v1/recs/score",
        R"({"user_id":"u0","candidates":[{"item_id":"b1"},{"item_id":"a0"},{"item_id":"zzz"}],"return_sorted":true})"));
    ASSERT_EQ(sc["items"].size(), 3u);
    EXPECT_EQ(sc["items"][0]["item_id"], "a0");
    EXPECT_TRUE(sc["items"][2]["score"].is_null());
    auto rel = J(Call("GET", "/v1/recs/item/a1/related?limit=4"));
    ASSERT_EQ(rel["items"].size(), 4u);
    for (auto& it : rel["items"]) EXPECT_EQ(it["item_id"].get<std::string>()[0], 'a');
    auto batch =
        J(Call("POST", "/v1/recs/batch/predict",
               R"({"requests":[{"user_id":"u0"},{"user_id":"u1","limit":2},{"limit":3}]})"));
    ASSERT_EQ(batch["results"].size(), 3u);
    EXPECT_EQ(batch["results"][1]["response"]["items"].size(), 2u);
    EXPECT_EQ(batch["results"][2]["status"], 422);

    // A second version, deployed, then rolled back.
    auto job2 =
        J(Call("POST", "/v1/recs/jobs/train",
               json{{"model_id", model_id}, {"hyperparameters", {{"neighbors", 5}}}}.dump()));
    auto done2 = testing::WaitJob(srv(), key_, job2["job_id"]);
    ASSERT_EQ(done2["status"], "succeeded") << done2.dump();
    std::string v2 = done2["result"]["version_id"];
    ExpectProblem(
        Call("POST", "/v1/recs/models/" + model_id + "/versions/" + v2 + "/rollback", "{}"), 409);
    ASSERT_EQ(
        Call("POST", "/v1/recs/models/" + model_id + "/versions/" + v2 + "/deploy", "{}").status,
        200);
    EXPECT_EQ(J(Call("POST", "/v1/recs/predict", R"({"user_id":"u0"})"))["model"], "knn@v2");
    EXPECT_EQ(J(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"knn@v1"})"))["model"],
              "knn@v1");
    auto rb = Call("POST", "/v1/recs/models/" + model_id + "/versions/" + v2 + "/rollback", "{}");
    ASSERT_EQ(rb.status, 200) << rb.body;
    EXPECT_EQ(J(rb)["id"], v1);
    EXPECT_EQ(J(Call("POST", "/v1/recs/predict", R"({"user_id":"u0"})"))["model"], "knn@v1");
    EXPECT_EQ(J(Call("GET", "/v1/recs/models/" + model_id))["deployed_version"], 1);
}

TEST_F(TrainDeployPredictTest, AJobThatAlwaysFailsEndsDeadWithItsError) {
    auto cfg = TestServer::DefaultConfig();
    cfg.data_dir = "/dev/null/not-a-dir";  // every attempt fails to write its artifact
    cfg.job_max_attempts = 3;
    Start(true, cfg);
    Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(6).dump());
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"pop","algorithm":"popularity"})"));
    auto job =
        J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", m["id"]}, {"holdout", 0}}.dump()));
    auto done = testing::WaitJob(srv(), key_, job["job_id"]);
    EXPECT_EQ(done["status"], "dead") << done.dump();
    EXPECT_EQ(done["attempts"], 3);
    EXPECT_NE(done["error"].get<std::string>().find("artifact"), std::string::npos) << done.dump();
    ExpectProblem(Call("DELETE", "/v1/recs/jobs/" + job["job_id"].get<std::string>() + "/cancel"),
                  409);
    // A dead job can be redriven from its first attempt (finding L9).
    auto again = Call("POST", "/v1/recs/jobs/" + job["job_id"].get<std::string>() + "/retry", "");
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(J(again)["attempts"], 0);
    EXPECT_TRUE(J(again)["error"].is_null());
    EXPECT_EQ(testing::WaitJob(srv(), key_, job["job_id"])["status"], "dead");
}

TEST_F(TrainDeployPredictTest, QueuedJobsCanBeCancelledAndListed) {
    Start(false);  // no worker: the job stays queued
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"pop","algorithm":"popularity"})"));
    auto job = J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", m["id"]}}.dump()));
    std::string id = job["job_id"];
    auto c = Call("DELETE", "/v1/recs/jobs/" + id + "/cancel");
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(J(c)["status"], "cancelled");
    EXPECT_EQ(J(Call("GET", "/v1/recs/jobs?status=cancelled"))["items"].size(), 1u);
    EXPECT_EQ(J(Call("GET", "/v1/recs/jobs?status=queued"))["items"].size(), 0u);
    ExpectProblem(Call("GET", "/v1/recs/jobs?status=weird"), 422, "status");
    ExpectProblem(Call("GET", "/v1/recs/jobs/not-a-job"), 404);
}

// Redis flushed while jobs are queued: every committed job still runs (the reconciliation
// sweep pushes queued jobs that Redis lost).
TEST_F(TrainDeployPredictTest, RedisFlushedWhileJobsAreQueued) {
    Start(false);
    Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(10).dump());
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"pop","algorithm":"popularity"})"));
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i)
        ids.push_back(J(Call("POST", "/v1/recs/jobs/train",
                             json{{"model_id", m["id"]}, {"holdout", 0}}.dump()))["job_id"]);
    auto cfg = TestServer::DefaultConfig();
    scheduler::Scheduler relay(srv().platform().scheduler_stores(), cfg);
    EXPECT_EQ(relay.Tick().pushed, 3);  // pushed to Redis
    srv().redis().Command({"FLUSHALL"});
    workers::Worker worker(srv().platform().worker_stores(/*serve=*/false), "default", cfg);
    worker.Start();
    relay.Start();
    for (const auto& id : ids)
        EXPECT_EQ(testing::WaitJob(srv(), key_, id, 60)["status"], "succeeded");
    relay.Stop();
    worker.Stop();
}

}  // namespace
}  // namespace recs
