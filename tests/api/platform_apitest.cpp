// The foundation over HTTP: health, metrics, errors, tenants, keys, auth, keep-alive.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "recs/api/server.hpp"
#include "recs/store/testing.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using testing::HttpResponse;
using testing::TestServer;

class PlatformApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        RECS_REQUIRE_SERVICES();
        testing::TestDatabase::Get().Truncate();
        srv_ = std::make_unique<TestServer>();
    }
    TestServer& srv() { return *srv_; }
    const std::string& admin() { return srv_->admin_key(); }
    void ExpectProblem(const HttpResponse& r, int status, const std::string& field = "") {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.Header("content-type"), "application/problem+json") << r.body;
        auto j = srv().Json(r);
        EXPECT_EQ(j.value("status", 0), status) << r.body;
        EXPECT_FALSE(j.value("title", "").empty());
        EXPECT_FALSE(j.value("detail", "").empty());
        EXPECT_FALSE(j.value("type", "").empty());
        if (!field.empty()) EXPECT_EQ(j.value("field", ""), field) << r.body;
    }
    std::unique_ptr<TestServer> srv_;
};

TEST_F(PlatformApiTest, HealthReportsDependenciesAndVersion) {
    auto r = srv().Call("GET", "/v1/recs/health", "");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = srv().Json(r);
    EXPECT_EQ(j["status"], "ok");
    EXPECT_EQ(j["checks"]["postgres"]["status"], "up");
    EXPECT_EQ(j["checks"]["redis"]["status"], "up");
    EXPECT_EQ(j["checks"]["workers"]["status"], "up");
    EXPECT_FALSE(j["version"].get<std::string>().empty());
    EXPECT_FALSE(r.Header("x-request-id").empty());
}

TEST_F(PlatformApiTest, RequestIdIsEchoed) {
    auto r = srv().Call("GET", "/v1/recs/health", "", "", {{"X-Request-Id", "abc-123"}});
    EXPECT_EQ(r.Header("x-request-id"), "abc-123");
    auto p = srv().Call("GET", "/v1/recs/nothing", "", "", {{"X-Request-Id", "req-9"}});
    EXPECT_EQ(p.Header("x-request-id"), "req-9");
}

TEST_F(PlatformApiTest, MetricsCountRequestsByRouteAndStatus) {
    srv().Call("GET", "/v1/recs/admin/tenants", "wrong-key");
    auto r = srv().Call("GET", "/metrics", "");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("recs_http_requests_total{method=\"GET\",route=\"/v1/recs/admin/"
                          "tenants\",status=\"401\"} 1"),
              std::string::npos)
        << r.body;
    EXPECT_NE(r.body.find("recs_http_request_duration_seconds_bucket"), std::string::npos);
    EXPECT_NE(r.body.find("process_resident_memory_bytes"), std::string::npos);
}

TEST_F(PlatformApiTest, KeepAliveWithoutConnectionHeader) {
    testing::HttpClient c(srv().port());
    auto a = c.Send("GET", "/v1/recs/health", "", {}, /*keep_alive=*/true);
    ASSERT_EQ(a.status, 200);
    ASSERT_FALSE(c.closed()) << "server closed an HTTP/1.1 connection without being asked";
    int fd = c.fd();
    auto b = c.Send("GET", "/v1/recs/nothing", "", {}, true);
    EXPECT_EQ(b.status, 404);
    auto d = c.Send("GET", "/v1/recs/health", "", {}, true);
    EXPECT_EQ(d.status, 200);
    EXPECT_EQ(c.fd(), fd);  // same connection throughout
}

TEST_F(PlatformApiTest, UnknownRouteAndWrongMethod) {
    ExpectProblem(srv().Call("GET", "/v1/recs/nothing", admin()), 404);
    auto r = srv().Call("PUT", "/v1/recs/admin/tenants", admin(), "{}");
    ExpectProblem(r, 405);
    EXPECT_NE(r.Header("allow").find("POST"), std::string::npos);
}

TEST_F(PlatformApiTest, AuthenticationAndScopes) {
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants", ""), 401);
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants", "rk_nope_nope"), 401);
    auto r = srv().Call("GET", "/v1/recs/keys", "", "", {{"Authorization", "Basic Zm9vOmJhcg=="}});
    ExpectProblem(r, 401);
    EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
    auto t = srv().CreateTenant("acme");
    auto tenant_admin = srv().CreateKey(t, {"admin"});
    auto predict_only = srv().CreateKey(t, {"predict"});
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants", tenant_admin), 403);
    ExpectProblem(srv().Call("GET", "/v1/recs/keys", predict_only), 403);
    EXPECT_EQ(srv().Call("GET", "/v1/recs/keys", tenant_admin).status, 200);
    // The platform admin acts on a tenant through X-Tenant-ID.
    ExpectProblem(srv().Call("GET", "/v1/recs/keys", admin()), 422, "X-Tenant-ID");
    ExpectProblem(srv().Call("GET", "/v1/recs/keys", admin(), "",
                             {{"X-Tenant-ID", "00000000-0000-4000-8000-000000000000"}}),
                  404);
    EXPECT_EQ(srv().Call("GET", "/v1/recs/keys", admin(), "", {{"X-Tenant-ID", t}}).status, 200);
}

TEST_F(PlatformApiTest, TenantLifecycle) {
    auto r = srv().Call("POST", "/v1/recs/admin/tenants", admin(), R"({"name":"acme"})");
    ASSERT_EQ(r.status, 201) << r.body;
    auto t = srv().Json(r);
    EXPECT_EQ(t["name"], "acme");
    EXPECT_EQ(t["status"], "active");
    EXPECT_FALSE(t["created_at"].get<std::string>().empty());
    std::string id = t["id"];
    ExpectProblem(srv().Call("POST", "/v1/recs/admin/tenants", admin(), R"({"name":"acme"})"), 409,
                  "name");
    EXPECT_EQ(srv().Json(srv().Call("GET", "/v1/recs/admin/tenants/" + id, admin()))["name"],
              "acme");
    auto p = srv().Call("PATCH", "/v1/recs/admin/tenants/" + id, admin(),
                        R"({"name":"acme2","status":"suspended"})");
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(srv().Json(p)["status"], "suspended");
    ExpectProblem(srv().Call("PATCH", "/v1/recs/admin/tenants/" + id, admin(), R"({})"), 422);
    ExpectProblem(
        srv().Call("PATCH", "/v1/recs/admin/tenants/" + id, admin(), R"({"status":"gone"})"), 422,
        "status");
    EXPECT_EQ(srv().Call("DELETE", "/v1/recs/admin/tenants/" + id, admin()).status, 204);
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants/" + id, admin()), 404);
    ExpectProblem(srv().Call("DELETE", "/v1/recs/admin/tenants/" + id, admin()), 404);
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants/not-a-uuid", admin()), 404);
}

TEST_F(PlatformApiTest, TenantListPagesWithCursor) {
    for (int i = 0; i < 5; ++i) srv().CreateTenant("t" + std::to_string(i));
    std::vector<std::string> names;
    std::string path = "/v1/recs/admin/tenants?limit=2";
    for (int guard = 0; guard < 10; ++guard) {
        auto j = srv().Json(srv().Call("GET", path, admin()));
        for (auto& t : j["items"]) names.push_back(t["name"]);
        if (j["next_cursor"].is_null()) break;
        path = "/v1/recs/admin/tenants?limit=2&cursor=" + j["next_cursor"].get<std::string>();
    }
    EXPECT_EQ(names.size(), 5u);
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants?limit=0", admin()), 422, "limit");
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants?limit=abc", admin()), 422, "limit");
    ExpectProblem(srv().Call("GET", "/v1/recs/admin/tenants?cursor=zz", admin()), 422, "cursor");
}

TEST_F(PlatformApiTest, KeyLifecycleAndRevocation) {
    auto t = srv().CreateTenant("acme");
    auto tenant_admin = srv().CreateKey(t, {"admin"});
    auto r = srv().Call(
        "POST", "/v1/recs/keys", tenant_admin,
        R"({"name":"ingest","scopes":["events:write","events:read"],"expires_in":3600})");
    ASSERT_EQ(r.status, 201) << r.body;
    auto k = srv().Json(r);
    std::string plaintext = k["key"], id = k["id"];
    EXPECT_EQ(plaintext.rfind("rk_" + k["prefix"].get<std::string>(), 0), 0u);
    EXPECT_FALSE(k["expires_at"].is_null());
    auto g = srv().Call("GET", "/v1/recs/keys/" + id, tenant_admin);
    ASSERT_EQ(g.status, 200);
    EXPECT_EQ(g.body.find(plaintext), std::string::npos);  // shown once only
    EXPECT_FALSE(srv().Json(g).contains("key"));
    auto list = srv().Json(srv().Call("GET", "/v1/recs/keys", tenant_admin));
    EXPECT_EQ(list["items"].size(), 2u);
    // A key may not manage keys without `admin`; after revocation it is refused.
    ExpectProblem(srv().Call("GET", "/v1/recs/keys", plaintext), 403);
    EXPECT_EQ(srv().Call("DELETE", "/v1/recs/keys/" + id, tenant_admin).status, 204);
    ExpectProblem(srv().Call("GET", "/v1/recs/keys", plaintext), 401);
    ExpectProblem(srv().Call("DELETE", "/v1/recs/keys/" + id, tenant_admin), 404);
    EXPECT_FALSE(
        srv().Json(srv().Call("GET", "/v1/recs/keys/" + id, tenant_admin))["revoked_at"].is_null());
}

TEST_F(PlatformApiTest, ExpiredKeysAndSuspendedTenantsAreRefused) {
    auto t = srv().CreateTenant("acme");
    std::string key_id;
    auto key = srv().CreateKey(t, {"admin"}, &key_id);
    EXPECT_EQ(srv().Call("GET", "/v1/recs/keys", key).status, 200);
    store::QueryForTesting(srv().pg(),
                           "UPDATE api_keys SET expires_at = now() - interval '1 s' "
                           "WHERE id = '" +
                               key_id + "' RETURNING 1");
    ExpectProblem(srv().Call("GET", "/v1/recs/keys", key), 401);
    auto key2 = srv().CreateKey(t, {"admin"});
    srv().Call("PATCH", "/v1/recs/admin/tenants/" + t, admin(), R"({"status":"suspended"})");
    ExpectProblem(srv().Call("GET", "/v1/recs/keys", key2), 403);
}

// Bad input on every route that takes a body: never a 500, always the field.
TEST_F(PlatformApiTest, BadInputOnEveryBodyRoute) {
    auto t = srv().CreateTenant("acme");
    auto ka = srv().CreateKey(t, {"admin"});
    struct Route {
        std::string method, path, key;
    };
    std::vector<Route> routes = {{"POST", "/v1/recs/admin/tenants", admin()},
                                 {"PATCH", "/v1/recs/admin/tenants/" + t, admin()},
                                 {"POST", "/v1/recs/keys", ka}};
    for (const auto& r : routes) {
        SCOPED_TRACE(r.method + " " + r.path);
        ExpectProblem(srv().Call(r.method, r.path, r.key, "{\"name\": "), 400);
        ExpectProblem(srv().Call(r.method, r.path, r.key, "[1,2]"), 422);
        ExpectProblem(srv().Call(r.method, r.path, r.key, "\"str\""), 422);
        ExpectProblem(srv().Call(r.method, r.path, r.key, R"({"name": 42})"), 422, "name");
        ExpectProblem(srv().Call(r.method, r.path, r.key, R"({"name":"x","bogus":1})"), 422,
                      "bogus");
        std::string huge = R"({"name":")" + std::string(2 * 1024 * 1024, 'a') + "\"}";
        EXPECT_EQ(srv().Call(r.method, r.path, r.key, huge).status, 413);
    }
    ExpectProblem(srv().Call("POST", "/v1/recs/admin/tenants", admin(), "{}"), 422, "name");
    ExpectProblem(srv().Call("POST", "/v1/recs/admin/tenants", admin(),
                             R"({"name":")" + std::string(200, 'a') + "\"}"),
                  422, "name");
    ExpectProblem(srv().Call("POST", "/v1/recs/keys", ka, R"({"name":"k"})"), 422, "scopes");
    ExpectProblem(srv().Call("POST", "/v1/recs/keys", ka, R"({"name":"k","scopes":[]})"), 422,
                  "scopes");
    ExpectProblem(srv().Call("POST", "/v1/recs/keys", ka, R"({"name":"k","scopes":"admin"})"), 422,
                  "scopes");
    ExpectProblem(srv().Call("POST", "/v1/recs/keys", ka, R"({"name":"k","scopes":["root"]})"), 422,
                  "scopes[0]");
    ExpectProblem(srv().Call("POST", "/v1/recs/keys", ka,
                             R"({"name":"k","scopes":["admin"],"expires_in":5})"),
                  422, "expires_in");
    ExpectProblem(srv().Call("POST", "/v1/recs/keys", ka,
                             R"({"name":"k","scopes":["admin"],"expires_in":"soon"})"),
                  422, "expires_in");
    // Nothing half-written: only the test's admin key exists.
    EXPECT_EQ(srv().Json(srv().Call("GET", "/v1/recs/keys", ka))["items"].size(), 1u);
}

// Pistache alone answers a huge Content-Length with a 500 carrying the exception text and
// reads "abc" as 0; every malformed value must be a 400 problem naming the header.
TEST_F(PlatformApiTest, MalformedContentLengthIsBadRequest) {
    for (const std::string value :
         {"-1", "99999999999999999999999", "18446744073709551616", "abc", "1e3", "12x", ""}) {
        SCOPED_TRACE("Content-Length: " + value);
        testing::HttpClient c(srv().port());
        auto r = c.SendRaw(
            "POST /v1/recs/admin/tenants HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + admin() +
            "\r\nContent-Type: application/json\r\nContent-Length: " + value + "\r\n\r\n{}");
        ExpectProblem(r, 400, "Content-Length");
        EXPECT_EQ(r.body.find("stoull"), std::string::npos) << r.body;
    }
    testing::HttpClient c(srv().port());
    auto ok =
        c.SendRaw("POST /v1/recs/admin/tenants HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                  admin() + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    ExpectProblem(ok, 422, "name");
    EXPECT_EQ(srv().Call("GET", "/v1/recs/health", "").status, 200);
}

// For every tenant-scoped route: tenant B's key gets 404 on tenant A's resources, and a key
// without the route's scope gets 403.
TEST_F(PlatformApiTest, CrossTenantMatrix) {
    srv_.reset();
    srv_ = std::make_unique<TestServer>(TestServer::DefaultConfig(), /*roles=*/true);
    auto a = srv().CreateTenant("a");
    auto b = srv().CreateTenant("b");
    std::string a_key_id;
    srv().CreateKey(a, {"predict"}, &a_key_id);
    auto b_admin = srv().CreateKey(b, {"admin"});
    auto a_admin = srv().CreateKey(a, {"admin"});
    // Keys with a scope no route of the kind needs (experiment routes need experiments:*).
    auto a_noscope = srv().CreateKey(a, {"experiments:read"});
    auto a_noscope_exp = srv().CreateKey(a, {"events:read"});
    // Tenant A owns one of everything: an event, item features, a trained model version, a job.
    ASSERT_EQ(srv()
                  .Call("POST", "/v1/recs/events/bulk", a_admin, testing::ClusterEvents(10).dump())
                  .status,
              200);
    ASSERT_EQ(srv()
                  .Call("POST", "/v1/recs/features/entities/item/a1", a_admin,
                        R"({"features":{"category":"x"}})")
                  .status,
              200);
    auto [model_id, version_id] = testing::TrainAndDeploy(srv(), a_admin, "m", "popularity");
    ASSERT_FALSE(version_id.empty());
    ASSERT_EQ(srv()
                  .Call("PATCH", "/v1/recs/models/" + model_id, a_admin, R"({"is_default":true})")
                  .status,
              200);
    // A second version, served as a canary beside the first.
    auto second = srv().Json(
        srv().Call("POST", "/v1/recs/jobs/train", a_admin, json{{"model_id", model_id}}.dump()));
    auto trained = testing::WaitJob(srv(), a_admin, second["job_id"]);
    ASSERT_EQ(trained["status"], "succeeded") << trained.dump();
    ASSERT_EQ(srv()
                  .Call("POST",
                        "/v1/recs/models/" + model_id + "/versions/" +
                            trained["result"]["version_id"].get<std::string>() + "/deploy",
                        a_admin, R"({"traffic_pct":10})")
                  .status,
              200);
    auto jobs = srv().Json(srv().Call("GET", "/v1/recs/jobs", a_admin));
    std::string job_id = jobs["items"][0]["id"];
    auto exp = srv().Call("POST", "/v1/recs/experiments", a_admin,
                          R"({"name":"x","surface":"home","variants":[{"id":"a","model":"m"},)"
                          R"({"id":"b","model":"m"}]})");
    ASSERT_EQ(exp.status, 201) << exp.body;
    std::string experiment_id = srv().Json(exp)["id"];
    ASSERT_EQ(srv()
                  .Call("POST", "/v1/recs/exploration/bandit", a_admin,
                        json{{"experiment", experiment_id}}.dump())
                  .status,
              201);
    auto hook = srv().Call("POST", "/v1/recs/webhooks", a_admin,
                           R"({"url":"https://h.example/a","events":["job.failed"]})");
    ASSERT_EQ(hook.status, 201) << hook.body;
    std::string webhook_id = srv().Json(hook)["id"];
    auto ping = srv().Call("POST", "/v1/recs/webhooks/" + webhook_id + "/test", a_admin);
    ASSERT_EQ(ping.status, 202) << ping.body;
    std::string delivery_id = srv().Json(ping)["delivery_id"];
    std::map<std::string, std::string> a_resources = {
        {"{webhook_id}", webhook_id}, {"{delivery_id}", delivery_id},
        {"{key_id}", a_key_id},       {"{event_id}", "e-0-1"},
        {"{entity_type}", "item"},    {"{entity_id}", "a1"},
        {"{model_id}", model_id},     {"{version_id}", version_id},
        {"{job_id}", job_id},         {"{user_id}", "u0"},
        {"{item_id}", "a1"},          {"{experiment_id}", experiment_id}};
    int checked = 0;
    for (const auto& [method, path] : srv().server().Routes()) {
        if (path.find("/admin/") != std::string::npos || path == "/v1/recs/health" ||
            path == "/metrics")
            continue;
        SCOPED_TRACE(method + " " + path);
        std::string concrete = path;
        bool has_param = false;
        for (size_t open; (open = concrete.find('{')) != std::string::npos;) {
            size_t close = concrete.find('}', open);
            std::string param = concrete.substr(open, close - open + 1);
            ASSERT_TRUE(a_resources.count(param)) << "no resource of tenant A for " << param;
            concrete.replace(open, close - open + 1, a_resources[param]);
            has_param = true;
        }
        std::string body = method == "POST" || method == "PATCH" ? "{}" : "";
        // An upsert by B of an entity id A also uses writes B's own entity: not A's resource
        // (its GET twin checks that B cannot read A's).
        bool upsert = method == "POST" && path.find("/features/entities/") != std::string::npos;
        if (has_param && !upsert) {
            auto r = srv().Call(method, concrete, b_admin, body);
            EXPECT_EQ(r.status, 404) << r.body;
            auto own = srv().Call(method == "DELETE" ? "GET" : method, concrete, a_admin, body);
            EXPECT_NE(own.status, 404) << "A cannot see its own resource: " << own.body;
        }
        bool experiments = path.rfind("/v1/recs/experiments", 0) == 0 ||
                           path.rfind("/v1/recs/exploration", 0) == 0;
        auto denied = srv().Call(method, concrete, experiments ? a_noscope_exp : a_noscope, body);
        // Any key may read its own quotas and rate limits.
        bool own_limits = path == "/v1/recs/quotas" || path == "/v1/recs/rate-limits";
        EXPECT_EQ(denied.status, own_limits ? 200 : 403) << denied.body;
        ++checked;
    }
    EXPECT_GE(checked, 25);
    // Lists of B never show A's resources.
    for (const char* list : {"/v1/recs/keys", "/v1/recs/models", "/v1/recs/jobs",
                             "/v1/recs/experiments", "/v1/recs/webhooks", "/v1/recs/audit/logs"}) {
        auto l = srv().Json(srv().Call("GET", list, b_admin));
        for (auto& k : l["items"]) {
            EXPECT_NE(k["id"], a_key_id);
            EXPECT_NE(k["id"], model_id);
            EXPECT_NE(k["id"], job_id);
            EXPECT_NE(k["id"], experiment_id);
            EXPECT_NE(k["id"], webhook_id);
            if (k.contains("tenant_id")) EXPECT_NE(k["tenant_id"], a);
        }
    }
}

TEST_F(PlatformApiTest, LogsAreJsonLinesWithoutSecrets) {
    char path[] = "/tmp/recs-log-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    dup2(fd, 2);
    auto t = srv().CreateTenant("acme");
    auto key = srv().CreateKey(t, {"admin"});
    srv().Call("GET", "/v1/recs/keys", key);
    srv().Call("GET", "/v1/recs/keys", "rk_guess_secret-guess");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    std::ifstream f(path);
    std::string line;
    int lines = 0;
    bool saw_tenant = false;
    while (std::getline(f, line)) {
        ++lines;
        auto j = json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << line;
        EXPECT_EQ(line.find(key), std::string::npos);
        EXPECT_EQ(line.find(key.substr(12)), std::string::npos);  // not even the secret part
        EXPECT_EQ(line.find("secret-guess"), std::string::npos);
        EXPECT_EQ(line.find(srv().admin_key()), std::string::npos);
        if (j.value("tenant", "") == t) saw_tenant = true;
    }
    unlink(path);
    EXPECT_GE(lines, 3);
    EXPECT_TRUE(saw_tenant);
}

}  // namespace
}  // namespace recs

namespace recs {
namespace {

TEST_F(PlatformApiTest, IdempotencyKeyReplaysCreatesWithoutSecrets) {
    auto a = srv().Call("POST", "/v1/recs/admin/tenants", admin(), R"({"name":"idem"})",
                        {{"Idempotency-Key", "k-1"}});
    ASSERT_EQ(a.status, 201);
    auto b = srv().Call("POST", "/v1/recs/admin/tenants", admin(), R"({"name":"idem"})",
                        {{"Idempotency-Key", "k-1"}});
    EXPECT_EQ(b.status, 201);
    EXPECT_EQ(srv().Json(a)["id"], srv().Json(b)["id"]);  // replayed, not a 409
    EXPECT_EQ(b.Header("idempotent-replayed"), "true");
    ExpectProblem(srv().Call("POST", "/v1/recs/admin/tenants", admin(), R"({"name":"other"})",
                             {{"Idempotency-Key", "k-1"}}),
                  422, "Idempotency-Key");
    std::string t = srv().Json(a)["id"];
    auto k1 = srv().Call("POST", "/v1/recs/keys", admin(), R"({"name":"k","scopes":["predict"]})",
                         {{"X-Tenant-ID", t}, {"Idempotency-Key", "key-1"}});
    auto k2 = srv().Call("POST", "/v1/recs/keys", admin(), R"({"name":"k","scopes":["predict"]})",
                         {{"X-Tenant-ID", t}, {"Idempotency-Key", "key-1"}});
    ASSERT_EQ(k1.status, 201);
    EXPECT_EQ(srv().Json(k1)["id"], srv().Json(k2)["id"]);
    EXPECT_TRUE(srv().Json(k1).contains("key"));
    EXPECT_FALSE(srv().Json(k2).contains("key"));  // the secret is shown once, never replayed
    auto stored = store::QueryForTesting(srv().pg(), "SELECT body FROM idempotency_keys");
    for (const auto& body : stored)
        EXPECT_EQ(body.find(srv().Json(k1)["key"].get<std::string>()), std::string::npos);
}

}  // namespace
}  // namespace recs
