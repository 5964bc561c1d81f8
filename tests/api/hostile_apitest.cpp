// The findings of the reliability review (../shared/reviews/reliability.md), one test each where
// a request shows them: each fails without its fix.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "recs/api/server.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/testing.hpp"
#include "recs/workers/worker.hpp"
#include "support/api_fixture.hpp"
#include "support/http_client.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using testing::HttpResponse;
using testing::TestServer;

/// A raw loopback connection whose reads time out after `timeout_s`; -1 when it fails.
int Connect(int port, int timeout_s) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

class HostileApiTest : public testing::TenantApiTest {
protected:
    void ExpectAlive() { ASSERT_EQ(srv().Call("GET", "/v1/recs/health", "").status, 200); }
};

// C1: the confirmed crash (500,000 nested arrays in a feature value), and deep nesting on every
// body route.
TEST_F(HostileApiTest, DeepNestingIsABadRequestOnEveryBodyRoute) {
    std::string bomb = std::string(500000, '[') + std::string(500000, ']');
    auto r =
        Call("POST", "/v1/recs/features/entities/item/1", R"({"features":{"a":)" + bomb + "}}");
    ExpectProblem(r, 400, "body");
    EXPECT_NE(J(r)["detail"].get<std::string>().find("64"), std::string::npos) << r.body;
    ExpectAlive();
    std::string deep_object;
    for (int i = 0; i < 2000; ++i) deep_object += "{\"a\":";
    deep_object += "1" + std::string(2000, '}');
    int routes = 0;
    for (const auto& [method, path] : srv().server().Routes()) {
        if (method != "POST" && method != "PATCH") continue;
        std::string p = path;
        for (size_t o; (o = p.find('{')) != std::string::npos;)
            p.replace(o, p.find('}', o) - o + 1, "x");
        for (const std::string& body : {"[" + bomb + "]", deep_object}) {
            SCOPED_TRACE(method + " " + path);
            auto key = path.find("/admin/") != std::string::npos ? srv().admin_key() : key_;
            auto res = srv().Call(method, p, key, body);
            EXPECT_EQ(res.status, 400) << res.body;
        }
        ++routes;
    }
    EXPECT_GE(routes, 12);
    ExpectAlive();
}

// M2: NUL in a string is a 422 naming the field; in a bulk it rejects that record only.
TEST_F(HostileApiTest, NulIsRejectedPerFieldAndPerRecord) {
    ExpectProblem(
        Call("POST", "/v1/recs/events", R"({"type":"view","user_id":"a\u0000b","item_id":"i"})"),
        422, "user_id");
    ExpectProblem(srv().Call("POST", "/v1/recs/admin/tenants", "", ""), 401);
    auto t = srv().Call("POST", "/v1/recs/admin/tenants", srv().admin_key(),
                        R"({"name":"acme\u0000x"})");
    ExpectProblem(t, 422, "name");
    std::string nd =
        R"({"event_id":"n1","type":"view","user_id":"u","item_id":"i"})"
        "\n"
        R"({"event_id":"n2","type":"view","user_id":"u","item_id":"i","metadata":{"x":"\u0000"}})"
        "\n\n"
        R"({"event_id":"n3","type":"view","user_id":"u","item_id":"i"})"
        "\n";
    auto b = Call("POST", "/v1/recs/events/bulk", nd, {{"Content-Type", "application/x-ndjson"}});
    ASSERT_EQ(b.status, 200) << b.body;
    EXPECT_EQ(J(b)["accepted"], 2);
    ASSERT_EQ(J(b)["rejected"].size(), 1u);
    EXPECT_EQ(J(b)["rejected"][0]["index"], 1);
    EXPECT_EQ(J(b)["rejected"][0]["line"], 2);
    EXPECT_EQ(J(b)["rejected"][0]["field"], "metadata.x");
    EXPECT_EQ(Call("GET", "/v1/recs/events/n3").status, 200);
    EXPECT_EQ(Call("GET", "/v1/recs/events/n2").status, 404);
    // %00 in a path segment is not truncated into another id.
    ExpectProblem(Call("GET", "/v1/recs/events/n1%00zzz"), 422, "event_id");
}

// M17 (confirmed) and M3: ill-formed UTF-8 and over-long ids in paths and queries.
TEST_F(HostileApiTest, PathAndQueryTextIsChecked) {
    ExpectProblem(Call("GET", "/v1/recs/events/%F0%28%8C%BC"), 400, "event_id");
    ExpectProblem(Call("GET", "/v1/recs/users/u1?model=%FF"), 400, "model");
    ExpectProblem(Call("POST", "/v1/recs/features/entities/item/" + std::string(8000, 'x'),
                       R"({"features":{"a":1}})"),
                  422, "entity_id");
    ExpectProblem(Call("GET", "/v1/recs/jobs?status=" + std::string(2000, 'q')), 422, "status");
    auto r = srv().Call("GET", "/v1/recs/keys", key_, "", {{"X-Tenant-ID", "\xff"}});
    EXPECT_LT(r.status, 500);
    ExpectAlive();
}

TEST_F(HostileApiTest, ContentTypeMustBeJson) {
    ExpectProblem(Call("POST", "/v1/recs/events", R"({"type":"view","user_id":"u","item_id":"i"})",
                       {{"Content-Type", "application/xml"}}),
                  415, "Content-Type");
    // curl -d sends application/x-www-form-urlencoded: read as JSON.
    EXPECT_EQ(Call("POST", "/v1/recs/events", R"({"type":"view","user_id":"u","item_id":"i"})",
                   {{"Content-Type", "application/x-www-form-urlencoded"}})
                  .status,
              202);
}

// H3: a filter is applied to a bounded slate; the whole catalogue is never ranked.
TEST_F(HostileApiTest, FilteredPredictRanksABoundedSlate) {
    // 6,000 items; the least popular one is the only red item.
    json events = json::array();
    for (int i = 0; i < 6000; ++i)
        for (int k = 0; k < (i == 5999 ? 1 : 2 + (6000 - i) / 1000); ++k)
            events.push_back({{"type", "click"},
                              {"user_id", "u" + std::to_string(k)},
                              {"item_id", "i" + std::to_string(i)}});
    for (size_t off = 0; off < events.size(); off += 5000) {
        json part(events.begin() + static_cast<long>(off),
                  events.begin() + static_cast<long>(std::min(events.size(), off + 5000)));
        ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", part.dump()).status, 200);
    }
    ASSERT_EQ(
        Call("POST", "/v1/recs/features/entities/item/i5999", R"({"features":{"c":"red"}})").status,
        200);
    auto [model_id, version_id] = testing::TrainAndDeploy(srv(), key_, "pop", "popularity");
    ASSERT_FALSE(version_id.empty());
    auto r = Call("POST", "/v1/recs/predict",
                  R"({"user_id":"nobody","model":"pop","filters":{"c":"red"}})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(J(r)["items"].size(), 0u) << "the red item ranks past the 5,000-item slate";
    auto batch = json{{"requests", json::array()}};
    for (int i = 0; i < 1000; ++i) batch["requests"].push_back({{"user_id", "x"}, {"limit", 500}});
    ExpectProblem(Call("POST", "/v1/recs/batch/predict", batch.dump()), 422, "requests");
}

// H4: a model deleted while it is being patched or deployed never crashes the process.
TEST_F(HostileApiTest, ConcurrentDeleteDuringUpdates) {
    int problems = 0;
    for (int round = 0; round < 150; ++round) {
        auto m = J(
            Call("POST", "/v1/recs/models",
                 json{{"name", "m" + std::to_string(round)}, {"algorithm", "popularity"}}.dump()));
        std::string id = m["id"];
        auto patch = std::async(std::launch::async, [&] {
            return Call("PATCH", "/v1/recs/models/" + id, R"({"description":"x"})").status;
        });
        auto del = std::async(std::launch::async,
                              [&] { return Call("DELETE", "/v1/recs/models/" + id).status; });
        int p = patch.get(), d = del.get();
        EXPECT_TRUE(p == 200 || p == 404) << p;
        EXPECT_TRUE(d == 204 || d == 404) << d;
        problems += p >= 500 || d >= 500;
    }
    EXPECT_EQ(problems, 0);
    ExpectAlive();
}

// M4: one Idempotency-Key, ten concurrent requests: one key is made.
TEST_F(HostileApiTest, IdempotencyKeyIsClaimedBeforeTheWork) {
    std::vector<std::future<HttpResponse>> calls;
    for (int i = 0; i < 10; ++i)
        calls.push_back(std::async(std::launch::async, [&] {
            return Call("POST", "/v1/recs/keys", R"({"name":"race","scopes":["predict"]})",
                        {{"Idempotency-Key", "same"}});
        }));
    int created = 0, replayed = 0, conflict = 0;
    for (auto& c : calls) {
        auto r = c.get();
        if (r.status == 201 && r.Header("idempotent-replayed").empty()) ++created;
        if (r.status == 201 && !r.Header("idempotent-replayed").empty()) ++replayed;
        if (r.status == 409) ++conflict;
    }
    EXPECT_EQ(created, 1);
    EXPECT_EQ(created + replayed + conflict, 10);
    int race_keys = 0;
    auto list = J(Call("GET", "/v1/recs/keys"));
    for (auto& k : list["items"]) race_keys += k["name"] == "race";
    EXPECT_EQ(race_keys, 1) << list.dump();
    // Expired records are deleted.
    store::QueryForTesting(srv().pg(),
                           "UPDATE idempotency_keys SET expires_at = now() - interval '1 s' "
                           "RETURNING 1");
    auto again = Call("POST", "/v1/recs/keys", R"({"name":"race","scopes":["predict"]})",
                      {{"Idempotency-Key", "same"}});
    EXPECT_EQ(again.status, 201);
    EXPECT_TRUE(again.Header("idempotent-replayed").empty()) << "an expired key was replayed";
}

// M10: two concurrent rollbacks of one version go back one version, not two; a broken
// artifact never becomes the serving one.
TEST_F(HostileApiTest, RollbackIsCheckedUnderTheLockAndPreloads) {
    Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(10).dump());
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"pop","algorithm":"popularity"})"));
    std::string mid = m["id"];
    std::vector<json> versions;
    for (int i = 0; i < 3; ++i) {
        auto job =
            J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", mid}, {"holdout", 0}}.dump()));
        auto done = testing::WaitJob(srv(), key_, job["job_id"]);
        versions.push_back(done["result"]);
        ASSERT_EQ(Call("POST",
                       "/v1/recs/models/" + mid + "/versions/" +
                           done["result"]["version_id"].get<std::string>() + "/deploy",
                       "{}")
                      .status,
                  200);
    }
    std::string v3 = versions[2]["version_id"];
    auto path = "/v1/recs/models/" + mid + "/versions/" + v3 + "/rollback";
    auto a = std::async(std::launch::async, [&] { return Call("POST", path, "{}").status; });
    auto b = std::async(std::launch::async, [&] { return Call("POST", path, "{}").status; });
    int sa = a.get(), sb = b.get();
    EXPECT_EQ(std::min(sa, sb), 200);
    EXPECT_EQ(std::max(sa, sb), 409);
    EXPECT_EQ(J(Call("GET", "/v1/recs/models/" + mid))["deployed_version"], 2);
    // v2's artifact corrupted: rolling back from v3 fails and v3 keeps serving.
    ASSERT_EQ(Call("POST", "/v1/recs/models/" + mid + "/versions/" + v3 + "/deploy", "{}").status,
              200);
    auto v2 = J(Call("GET", "/v1/recs/models/" + mid + "/versions"))["items"][1];
    auto rows =
        store::QueryForTesting(srv().pg(), "SELECT artifact_path FROM model_versions WHERE id = '" +
                                               v2["id"].get<std::string>() + "'");
    {
        std::FILE* f = std::fopen(rows.at(0).c_str(), "r+b");
        ASSERT_NE(f, nullptr);
        std::fseek(f, 40, SEEK_SET);
        std::fputc('X', f);
        std::fclose(f);
    }
    Start(true);  // a fresh pool: v2 is not loaded, so the rollback must load it
    auto fail = Call("POST", path, "{}");
    ExpectProblem(fail, 409);
    EXPECT_EQ(fail.body.find("/tenants/"), std::string::npos) << "a server path leaked";
    EXPECT_EQ(J(Call("GET", "/v1/recs/models/" + mid))["deployed_version"], 3);
    EXPECT_EQ(Call("POST", "/v1/recs/predict", R"({"user_id":"u0","model":"pop"})").status, 200);
}

// M9: pipelined requests are answered in order, or the connection closes after the first.
TEST_F(HostileApiTest, PipelinedRequestsAreAnsweredInOrderOrClosed) {
    std::string create =
        "POST /v1/recs/admin/tenants HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
        srv().admin_key() +
        "\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
        "{\"name\":\"pipe\"}";
    std::string health = "GET /v1/recs/health HTTP/1.1\r\nHost: t\r\n\r\n";
    std::string missing = "GET /v1/recs/nothing HTTP/1.1\r\nHost: t\r\n\r\n";
    auto read_all = [](int fd) {
        std::string out;
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return out + (n == 0 ? "<EOF>" : "<timeout>");
            out.append(buf, static_cast<size_t>(n));
        }
    };
    // The same write: the first is answered, the connection ends (never a silent loss).
    {
        int fd = Connect(srv().port(), 3);
        ASSERT_GE(fd, 0);
        std::string all = create + health + missing;
        ASSERT_EQ(::send(fd, all.data(), all.size(), 0), static_cast<ssize_t>(all.size()));
        auto out = read_all(fd);
        ::close(fd);
        EXPECT_EQ(out.rfind("HTTP/1.1 201", 0), 0u) << out;
        EXPECT_NE(out.find("<EOF>"), std::string::npos) << "the connection was left open";
    }
    // One after another without waiting: the answers come in request order although the first
    // is the slowest (held on a table lock).
    {
        auto lock = std::make_unique<store::TableLockForTesting>(testing::TestDatabase::Get().dsn(),
                                                                 "tenants");
        int fd = Connect(srv().port(), 5);
        ASSERT_GE(fd, 0);
        std::string second = create;
        second.replace(second.find("pipe"), 4, "pip2");
        ::send(fd, second.data(), second.size(), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ::send(fd, health.data(), health.size(), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ::send(fd, missing.data(), missing.size(), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        lock->Release();
        auto out = read_all(fd);
        ::close(fd);
        size_t p201 = out.find("HTTP/1.1 201"), p200 = out.find("HTTP/1.1 200"),
               p404 = out.find("HTTP/1.1 404");
        ASSERT_NE(p201, std::string::npos) << out;
        ASSERT_NE(p200, std::string::npos) << out;
        ASSERT_NE(p404, std::string::npos) << out;
        EXPECT_LT(p201, p200);
        EXPECT_LT(p200, p404);
    }
}

// M9: the handler queue is bounded: past it, a fast 503 with Retry-After.
TEST_F(HostileApiTest, AFullHandlerQueueIsAFast503) {
    auto cfg = TestServer::DefaultConfig();
    cfg.handler_threads = 2;
    cfg.pg_acquire_timeout_ms = 20000;
    Start(false, cfg);
    auto lock =
        std::make_unique<store::TableLockForTesting>(testing::TestDatabase::Get().dsn(), "tenants");
    std::vector<std::future<HttpResponse>> calls;
    for (int i = 0; i < 30; ++i)
        calls.push_back(std::async(std::launch::async, [&, i] {
            return srv().Call("POST", "/v1/recs/admin/tenants", srv().admin_key(),
                              "{\"name\":\"q" + std::to_string(i) + "\"}");
        }));
    int shed = 0;
    for (auto& c : calls) {
        if (c.wait_for(std::chrono::milliseconds(1500)) != std::future_status::ready) continue;
        auto r = c.get();
        if (r.status == 503) {
            ++shed;
            EXPECT_FALSE(r.Header("retry-after").empty());
        }
    }
    lock->Release();
    EXPECT_GE(shed, 30 - 2 - 8) << "requests past the queue bound were not shed";
}

// M8: failed authentication is throttled per address; a known key still works.
TEST_F(HostileApiTest, FailedAuthenticationIsThrottled) {
    auto cfg = TestServer::DefaultConfig();
    cfg.auth_failures_per_minute = 20;
    cfg.key_cache_ttl_ms = 60000;
    Start(false, cfg);
    ASSERT_EQ(Call("GET", "/v1/recs/keys").status, 200);  // cached as valid
    int limited = 0;
    for (int i = 0; i < 40; ++i) {
        auto r = srv().Call("GET", "/v1/recs/keys",
                            "rk_aaaaaaaa_" + std::string(30, 'b') + std::to_string(10 + i));
        if (r.status == 429) {
            ++limited;
            EXPECT_FALSE(r.Header("retry-after").empty());
        } else {
            EXPECT_EQ(r.status, 401);
        }
    }
    EXPECT_GE(limited, 15);
    EXPECT_EQ(Call("GET", "/v1/recs/keys").status, 200) << "a valid key was throttled";
    // The scheme is case-insensitive.
    EXPECT_EQ(
        srv().Call("GET", "/v1/recs/keys", "", "", {{"Authorization", "bearer " + key_}}).status,
        200);
}

// L1 and L2: a deleted tenant's key stops at once, its stream goes; an upper-case X-Tenant-ID
// is the tenant's own canonical id.
TEST_F(HostileApiTest, TenantDeletionAndCanonicalTenantIds) {
    auto upper = tenant_;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto r = srv().Call("POST", "/v1/recs/events", srv().admin_key(),
                        R"({"type":"view","user_id":"u","item_id":"i"})", {{"X-Tenant-ID", upper}});
    ASSERT_EQ(r.status, 202) << r.body;
    auto stream = "recs:t:{" + tenant_ + "}:events";
    for (int i = 0; i < 100 && srv().redis().Command({"XLEN", stream}).integer == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(srv().redis().Command({"XLEN", stream}).integer, 1);
    auto [model_id, version_id] = testing::TrainAndDeploy(srv(), key_, "pop", "popularity");
    ASSERT_FALSE(version_id.empty());
    auto cfg = TestServer::DefaultConfig();
    cfg.key_cache_ttl_ms = 60000;  // the key is cached: deletion must still stop it at once
    Start(false, cfg);
    ASSERT_EQ(Call("GET", "/v1/recs/keys").status, 200);
    ASSERT_EQ(srv().Call("DELETE", "/v1/recs/admin/tenants/" + tenant_, srv().admin_key()).status,
              204);
    auto after = Call("POST", "/v1/recs/events", R"({"type":"view","user_id":"u","item_id":"i"})");
    EXPECT_EQ(after.status, 401) << after.body;
    EXPECT_EQ(srv().redis().Command({"EXISTS", stream}).integer, 0);
    // Its artifacts go with the next collection of files no version refers to.
    namespace fs = std::filesystem;
    auto tenant_dir = fs::path(TestServer::DefaultConfig().data_dir) / "tenants" / tenant_;
    EXPECT_TRUE(fs::exists(tenant_dir)) << tenant_dir;
    srv().worker()->CollectArtifacts(std::chrono::seconds(0));
    EXPECT_FALSE(fs::exists(tenant_dir));
    tenant_.clear();
}

// L6, L9: accounting of bulk features; the events bulk cap; event metadata is bounded.
TEST_F(HostileApiTest, BulkAccountingAndLimits) {
    auto r = Call("POST", "/v1/recs/features/bulk",
                  R"([{"entity_type":"item","entity_id":"a","features":{"x":1}},
                      {"entity_type":"item","entity_id":"a","features":{"x":2}},
                      {"entity_type":"item","entity_id":"b","features":{"x":3}}])");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(J(r)["accepted"], 2);
    EXPECT_EQ(J(Call("GET", "/v1/recs/features/entities/item/a"))["features"]["x"], 2);
    json md = {{"type", "view"}, {"user_id", "u"}, {"item_id", "i"}};
    md["metadata"]["blob"] = std::string(70 * 1024, 'x');
    ExpectProblem(Call("POST", "/v1/recs/events", md.dump()), 422, "metadata");
}

// H1: the database failing when a worker records a job's success does not terminate the process
// (the heartbeat thread used to be joined twice); the job runs again once its lease expires.
TEST_F(HostileApiTest, AFailureAtSucceedDoesNotKillTheWorker) {
    auto cfg = TestServer::DefaultConfig();
    cfg.job_lease_ms = 1500;
    cfg.job_heartbeat_ms = 250;
    cfg.job_max_attempts = 10;
    Start(true, cfg);
    Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(6).dump());
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"pop","algorithm":"popularity"})"));
    store::QueryForTesting(
        srv().pg(),
        "CREATE OR REPLACE FUNCTION recs_fail_succeed() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'simulated outage' USING ERRCODE = '08006'; END $$ LANGUAGE plpgsql; "
        "CREATE TRIGGER recs_fail_succeed BEFORE UPDATE ON jobs FOR EACH ROW WHEN "
        "(NEW.status = 'succeeded') EXECUTE FUNCTION recs_fail_succeed(); SELECT 1");
    auto job =
        J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", m["id"]}, {"holdout", 0}}.dump()));
    std::string id = job["job_id"];
    // Trained, recorded its version, failed to record success at least once.
    bool failed_once = false;
    for (int i = 0; i < 200 && !failed_once; ++i) {
        auto v = J(Call("GET", "/v1/recs/models/" + m["id"].get<std::string>() + "/versions"));
        failed_once = v["items"].size() == 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_TRUE(failed_once);
    ExpectAlive();  // the process is still here
    store::QueryForTesting(srv().pg(),
                           "DROP TRIGGER recs_fail_succeed ON jobs; DROP FUNCTION "
                           "recs_fail_succeed(); SELECT 1");
    auto done = testing::WaitJob(srv(), key_, id, 60);
    EXPECT_EQ(done["status"], "succeeded") << done.dump();
    EXPECT_GE(done["attempts"].get<int>(), 2);
    EXPECT_EQ(J(Call("GET", "/v1/recs/models/" + m["id"].get<std::string>() + "/versions"))["items"]
                  .size(),
              1u);  // the redelivery found its version: not trained twice into two versions
}

// L7: features have scopes of their own (models:* still grant them); overriding a model's
// hyperparameters in a train job needs models:write, not only jobs:write.
TEST_F(HostileApiTest, FeatureScopesAndTrainOverrides) {
    auto features = srv().CreateKey(tenant_, {"features:write", "features:read"});
    auto legacy = srv().CreateKey(tenant_, {"models:write"});
    auto jobs_only = srv().CreateKey(tenant_, {"jobs:write"});
    EXPECT_EQ(
        srv()
            .Call("POST", "/v1/recs/features/entities/item/f1", features, R"({"features":{"a":1}})")
            .status,
        200);
    EXPECT_EQ(srv().Call("GET", "/v1/recs/features/entities/item/f1", features).status, 200);
    EXPECT_EQ(
        srv()
            .Call("POST", "/v1/recs/features/entities/item/f2", legacy, R"({"features":{"a":1}})")
            .status,
        200);
    EXPECT_EQ(srv()
                  .Call("POST", "/v1/recs/models", features,
                        R"({"name":"nope","algorithm":"popularity"})")
                  .status,
              403);
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"pop","algorithm":"popularity"})"));
    auto plain =
        srv().Call("POST", "/v1/recs/jobs/train", jobs_only, json{{"model_id", m["id"]}}.dump());
    EXPECT_EQ(plain.status, 202) << plain.body;
    auto over = srv().Call(
        "POST", "/v1/recs/jobs/train", jobs_only,
        json{{"model_id", m["id"]}, {"hyperparameters", {{"half_life_days", 3}}}}.dump());
    ExpectProblem(over, 403, "hyperparameters");
}

// L3: a job's error never carries raw exception text; L9: a suspended tenant's job waits.
TEST_F(HostileApiTest, SuspendedTenantsJobsWait) {
    Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(6).dump());
    auto m = J(Call("POST", "/v1/recs/models", R"({"name":"pop","algorithm":"popularity"})"));
    ASSERT_EQ(srv()
                  .Call("PATCH", "/v1/recs/admin/tenants/" + tenant_, srv().admin_key(),
                        R"({"status":"suspended"})")
                  .status,
              200);
    // Queued through the admin key (the tenant's own keys are refused while suspended).
    auto job = srv().Json(srv().Call("POST", "/v1/recs/jobs/train", srv().admin_key(),
                                     json{{"model_id", m["id"]}, {"holdout", 0}}.dump(),
                                     {{"X-Tenant-ID", tenant_}}));
    std::string id = job["job_id"];
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    auto state = srv().Json(srv().Call("GET", "/v1/recs/jobs/" + id, srv().admin_key(), "",
                                       {{"X-Tenant-ID", tenant_}}));
    EXPECT_EQ(state["status"], "queued") << state.dump();
    srv().Call("PATCH", "/v1/recs/admin/tenants/" + tenant_, srv().admin_key(),
               R"({"status":"active"})");
    EXPECT_EQ(testing::WaitJob(srv(), key_, id)["status"], "succeeded");
}

// M13: requests that hold every connection of the api's pool do not starve a job's heartbeats
// (they have connections of their own), so its lease holds and it runs once.
TEST_F(HostileApiTest, HeartbeatsHoldUnderASaturatedPool) {
    auto cfg = TestServer::DefaultConfig();
    cfg.job_lease_ms = 1500;
    cfg.job_heartbeat_ms = 250;
    cfg.handler_threads = 32;
    cfg.pg_acquire_timeout_ms = 20000;
    cfg.pg_statement_timeout_ms = 20000;
    Start(true, cfg);
    json events = json::array();
    for (int u = 0; u < 2000; ++u)
        for (int k = 0; k < 10; ++k)
            events.push_back({{"type", "click"},
                              {"user_id", "u" + std::to_string(u)},
                              {"item_id", "i" + std::to_string((u * 7 + k * 13) % 600)}});
    for (size_t off = 0; off < events.size(); off += 5000) {
        json part(events.begin() + static_cast<long>(off),
                  events.begin() + static_cast<long>(std::min(events.size(), off + 5000)));
        ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", part.dump()).status, 200);
    }
    auto m = J(Call(
        "POST", "/v1/recs/models",
        R"({"name":"slow","algorithm":"ials","hyperparameters":{"factors":64,"epochs":150,"threads":1}})"));
    auto job =
        J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", m["id"]}, {"holdout", 0}}.dump()));
    std::string id = job.value("job_id", "");
    ASSERT_FALSE(id.empty()) << job.dump();
    // Every connection of the api's pool stays busy on a lock (of a table the job does not use)
    // while the job runs.
    auto lock = std::make_unique<store::TableLockForTesting>(testing::TestDatabase::Get().dsn(),
                                                             "features");
    std::atomic<bool> done{false};
    std::vector<std::thread> load;
    for (int c = 0; c < 16; ++c)
        load.emplace_back([&, c] {
            for (int i = 0; !done; ++i)
                srv().Call("POST", "/v1/recs/features/entities/item/x" + std::to_string(c),
                           srv().admin_key(), R"({"features":{"a":1}})",
                           {{"X-Tenant-ID", tenant_}});
        });
    store::PgPool check(testing::TestDatabase::Get().dsn(), 1);
    std::vector<std::string> rows;
    for (int i = 0; i < 1200; ++i) {
        rows = store::QueryForTesting(
            check, "SELECT status || ' ' || attempts FROM jobs WHERE id = '" + id + "'");
        if (!rows.empty() && rows[0].rfind("queued", 0) != 0 && rows[0].rfind("running", 0) != 0)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto busy = store::QueryForTesting(
        check, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
    done = true;
    lock->Release();
    for (auto& t : load) t.join();
    EXPECT_GE(std::stoi(busy.at(0)), 4) << "the pool was not saturated";
    EXPECT_EQ(rows.at(0), "succeeded 1") << "the lease expired under load";
}

}  // namespace
}  // namespace recs
