// The tenant platform: signed webhooks delivered through the outbox (checked by a receiver in
// Node written from the Standard Webhooks specification), quotas and rate limits, usage and
// the audit log, against real PostgreSQL, Redis and HTTP receivers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "recs/store/pg_pool.hpp"
#include "support/api_fixture.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::HttpResponse;

/// tests/api/webhook_receiver.mjs as a child process.
class Receiver {
public:
    Receiver() {
        int out[2];
        if (pipe(out) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], 1);
            close(out[0]);
            std::string script = std::string(RECS_SOURCE_DIR) + "/tests/api/webhook_receiver.mjs";
            execlp("node", "node", script.c_str(), "0", static_cast<char*>(nullptr));
            _exit(127);
        }
        close(out[1]);
        std::string line;
        pollfd p{out[0], POLLIN, 0};
        auto deadline = Clock::now() + std::chrono::seconds(20);
        while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
            if (poll(&p, 1, 200) <= 0) continue;
            char buf[256];
            ssize_t n = read(out[0], buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, static_cast<size_t>(n));
        }
        close(out[0]);
        auto j = json::parse(line.substr(0, line.find('\n')), nullptr, false);
        if (!j.is_object() || !j.contains("listening"))
            throw std::runtime_error("the receiver did not start: " + line);
        port_ = j["listening"].get<int>();
    }
    ~Receiver() {
        kill(pid_, SIGTERM);
        int st = 0;
        testing::WaitExit(pid_, &st, std::chrono::seconds(5));
    }
    int port() const { return port_; }
    std::string url(const std::string& path = "/hook") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    void Control(const json& c) {
        auto r = testing::Http(port_, "POST", "/_control", c.dump(),
                               {{"Content-Type", "application/json"}});
        ASSERT_EQ(r.status, 200) << r.body;
    }
    json Received() { return json::parse(testing::Http(port_, "GET", "/_received").body); }
    /// Waits until `n` deliveries arrived (or the limit passed); returns them all.
    json WaitFor(size_t n, std::chrono::seconds limit = std::chrono::seconds(30)) {
        auto deadline = Clock::now() + limit;
        json r;
        while (Clock::now() < deadline) {
            r = Received();
            if (r.size() >= n) return r;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return r;
    }

private:
    pid_t pid_ = -1;
    int port_ = 0;
};

core::Config PlatformConfig(const std::string& schedule = "1,2,3", bool allow_private = true) {
    auto c = testing::TestServer::DefaultConfig();
    c.webhook_allow_private = allow_private;
    c.webhook_schedule_s.clear();
    for (size_t pos = 0; pos < schedule.size();) {
        size_t comma = schedule.find(',', pos);
        if (comma == std::string::npos) comma = schedule.size();
        c.webhook_schedule_s.push_back(std::stoll(schedule.substr(pos, comma - pos)));
        pos = comma + 1;
    }
    return c;
}

class TenantPlatformTest : public testing::TenantApiTest {
protected:
    void SetUp() override {
        RECS_REQUIRE_SERVICES();
        testing::TestDatabase::Get().Truncate();
        Start(true, PlatformConfig());
    }
    json CreateWebhook(const std::string& url, const json& events, std::string* secret = nullptr) {
        auto r = Call("POST", "/v1/recs/webhooks", json{{"url", url}, {"events", events}}.dump());
        EXPECT_EQ(r.status, 201) << r.body;
        auto j = J(r);
        if (secret) *secret = j.value("secret", "");
        return j;
    }
    json Deliveries(const std::string& webhook_id) {
        return J(Call("GET", "/v1/recs/webhooks/" + webhook_id + "/deliveries"));
    }
    /// Waits until the webhook's newest delivery is in `status`.
    json WaitDelivery(const std::string& webhook_id,
                      const std::string& status,
                      std::chrono::seconds limit = std::chrono::seconds(30)) {
        auto deadline = Clock::now() + limit;
        json d;
        while (Clock::now() < deadline) {
            auto l = Deliveries(webhook_id);
            if (!l["items"].empty()) {
                d = l["items"][0];
                if (d["status"] == status) return d;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return d;
    }
    void SetQuotas(const json& q) {
        auto r = srv().Call("PATCH", "/v1/recs/admin/tenants/" + tenant_ + "/quotas",
                            srv().admin_key(), q.dump());
        ASSERT_EQ(r.status, 200) << r.body;
    }
};

TEST_F(TenantPlatformTest, WebhookCrudAndValidation) {
    std::string secret;
    auto w = CreateWebhook("https://hooks.example.com/recs?x=1",
                           {"job.succeeded", "model.deployed"}, &secret);
    std::string id = w["id"];
    // The secret is shown once: whsec_ + base64 of 32 bytes.
    ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
    EXPECT_EQ(secret.size(), 6u + 44u);
    auto got = J(Call("GET", "/v1/recs/webhooks/" + id));
    EXPECT_FALSE(got.contains("secret"));
    EXPECT_EQ(got["status"], "active");
    EXPECT_EQ(got["events"], json({"job.succeeded", "model.deployed"}));
    auto l = J(Call("GET", "/v1/recs/webhooks"));
    ASSERT_EQ(l["items"].size(), 1u);
    EXPECT_FALSE(l["items"][0].contains("secret"));
    auto p = Call("PATCH", "/v1/recs/webhooks/" + id,
                  R"({"events":["job.failed"],"description":"ops","status":"disabled"})");
    ASSERT_EQ(p.status, 200) << p.body;
    EXPECT_EQ(J(p)["status"], "disabled");
    EXPECT_EQ(J(p)["description"], "ops");
    EXPECT_EQ(J(p)["events"], json({"job.failed"}));
    // A given secret is kept (and not echoed back in reads).
    auto own =
        Call("POST", "/v1/recs/webhooks", R"({"url":"http://h.example/x","events":["ping.nope"]})");
    ExpectProblem(own, 422, "events[0]");
    ExpectProblem(
        Call("POST", "/v1/recs/webhooks", R"({"url":"ftp://h.example/","events":["job.failed"]})"),
        422, "url");
    ExpectProblem(Call("POST", "/v1/recs/webhooks",
                       R"({"url":"http://user@h.example/","events":["job.failed"]})"),
                  422, "url");
    ExpectProblem(Call("POST", "/v1/recs/webhooks", R"({"url":"http://h.example/","events":[]})"),
                  422, "events");
    ExpectProblem(Call("POST", "/v1/recs/webhooks",
                       R"({"url":"http://h.example/","events":["job.failed"],"secret":"nope"})"),
                  422, "secret");
    ExpectProblem(
        Call("POST", "/v1/recs/webhooks",
             json{{"url", "http://h.example/" + std::string(3000, 'a')}, {"events", {"job.failed"}}}
                 .dump()),
        422, "url");
    ExpectProblem(Call("PATCH", "/v1/recs/webhooks/" + id, R"({"status":"paused"})"), 422,
                  "status");
    ExpectProblem(Call("GET", "/v1/recs/webhooks/not-a-uuid"), 404);
    // An Idempotency-Key replay does not show the secret again.
    std::vector<std::pair<std::string, std::string>> h = {{"Idempotency-Key", "wh-1"}};
    auto first = Call("POST", "/v1/recs/webhooks",
                      R"({"url":"http://h.example/i","events":["job.failed"]})", h);
    ASSERT_EQ(first.status, 201);
    EXPECT_TRUE(J(first).contains("secret"));
    auto replay = Call("POST", "/v1/recs/webhooks",
                       R"({"url":"http://h.example/i","events":["job.failed"]})", h);
    EXPECT_EQ(replay.status, 201);
    EXPECT_FALSE(J(replay).contains("secret"));
    EXPECT_EQ(J(replay)["id"], J(first)["id"]);
    // A delivery still pending (example.com cannot be reached here) cannot be retried by hand.
    auto ping = J(Call("POST", "/v1/recs/webhooks/" + id + "/test"));
    ExpectProblem(Call("POST", "/v1/recs/webhooks/" + id + "/deliveries/" +
                                   ping["delivery_id"].get<std::string>() + "/retry"),
                  409);
    ExpectProblem(Call("POST", "/v1/recs/webhooks/" + id +
                                   "/deliveries/00000000-0000-4000-8000-000000000000/retry"),
                  404);
    ASSERT_EQ(Call("DELETE", "/v1/recs/webhooks/" + id).status, 204);
    ExpectProblem(Call("GET", "/v1/recs/webhooks/" + id), 404);
    // The audit log has the changes, without the secret.
    auto audit = J(Call("GET", "/v1/recs/audit/logs?resource=webhook"));
    ASSERT_GE(audit["items"].size(), 3u);
    EXPECT_EQ(audit.dump().find("whsec_"), std::string::npos);
}

// The signatures are checked by the receiver, an implementation of its own (Node's crypto,
// from the specification); a rotation signs with both secrets for a while.
TEST_F(TenantPlatformTest, DeliveriesAreSignedPerStandardWebhooks) {
    Receiver rx;
    std::string secret;
    auto w = CreateWebhook(rx.url(), {"job.cancelled"}, &secret);
    std::string id = w["id"];
    rx.Control({{"secrets", {secret}}});
    auto t = Call("POST", "/v1/recs/webhooks/" + id + "/test");
    ASSERT_EQ(t.status, 202) << t.body;
    auto got = rx.WaitFor(1);
    ASSERT_EQ(got.size(), 1u) << got.dump();
    EXPECT_TRUE(got[0]["verified"]) << got[0].dump();
    EXPECT_EQ(got[0]["id"], J(t)["event_id"]);
    auto body = json::parse(got[0]["body"].get<std::string>());
    EXPECT_EQ(body["type"], "ping");
    EXPECT_EQ(body["data"]["webhook_id"], id);
    EXPECT_TRUE(body.contains("timestamp"));
    EXPECT_EQ(got[0]["content_type"], "application/json");
    // An event from the outbox: a queued job cancelled (the trigger writes it in the same
    // transaction as the status change).
    auto model = Call("POST", "/v1/recs/models", R"({"name":"m","algorithm":"popularity"})");
    ASSERT_EQ(model.status, 201) << model.body;
    srv_.reset();  // no worker: the job stays queued
    Start(false, PlatformConfig());
    auto job = J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", J(model)["id"]}}.dump()));
    ASSERT_EQ(
        Call("DELETE", "/v1/recs/jobs/" + job["job_id"].get<std::string>() + "/cancel").status,
        200);
    Start(true, PlatformConfig());
    got = rx.WaitFor(2);
    ASSERT_EQ(got.size(), 2u) << got.dump();
    EXPECT_TRUE(got[1]["verified"]);
    body = json::parse(got[1]["body"].get<std::string>());
    EXPECT_EQ(body["type"], "job.cancelled");
    EXPECT_EQ(body["data"]["job_id"], job["job_id"]);
    EXPECT_EQ(body["data"]["status"], "cancelled");
    // Rotation: two signatures, each valid under its own secret.
    auto rot = Call("POST", "/v1/recs/webhooks/" + id + "/rotate-secret");
    ASSERT_EQ(rot.status, 200) << rot.body;
    std::string fresh = J(rot)["secret"];
    EXPECT_NE(fresh, secret);
    rx.Control({{"secrets", {fresh}}});
    Call("POST", "/v1/recs/webhooks/" + id + "/test");
    got = rx.WaitFor(3);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[2]["signatures"], 2);
    EXPECT_TRUE(got[2]["verified"]);
    EXPECT_EQ(got[2]["verified_secret_index"], 0);
    rx.Control({{"secrets", {secret}}});
    Call("POST", "/v1/recs/webhooks/" + id + "/test");
    got = rx.WaitFor(4);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_TRUE(got[3]["verified"]) << "the old secret still signs for 24 h";
    rx.Control({{"secrets", {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}});
    Call("POST", "/v1/recs/webhooks/" + id + "/test");
    got = rx.WaitFor(5);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_FALSE(got[4]["verified"]) << "a stranger's secret does not verify";
}

// Each change that is an event reaches the endpoint once, written by the database in the
// change's own transaction: a refused change sends nothing, a deleted model no rollback.
TEST_F(TenantPlatformTest, EveryChangeIsAnEventOnce) {
    Receiver rx;
    std::string secret;
    CreateWebhook(
        rx.url(),
        {"job.succeeded", "job.failed", "job.dead", "model.version.created", "model.deployed",
         "model.rolled_back", "experiment.started", "experiment.completed"},
        &secret);
    rx.Control({{"secrets", {secret}}});
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(10).dump()).status, 200);
    auto [model_id, v1] = testing::TrainAndDeploy(srv(), key_, "m", "popularity");
    ASSERT_FALSE(v1.empty());
    auto job = J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", model_id}}.dump()));
    auto done = testing::WaitJob(srv(), key_, job["job_id"]);
    std::string v2 = done["result"]["version_id"];
    ASSERT_EQ(
        Call("POST", "/v1/recs/models/" + model_id + "/versions/" + v2 + "/deploy", "{}").status,
        200);
    ASSERT_EQ(
        Call("POST", "/v1/recs/models/" + model_id + "/versions/" + v2 + "/rollback", "{}").status,
        200);
    auto exp = J(Call("POST", "/v1/recs/experiments",
                      R"({"name":"x","surface":"home","variants":[{"id":"a","model":"m"},)"
                      R"({"id":"b","model":"m"}]})"));
    std::string e = exp["id"];
    auto clash = J(Call("POST", "/v1/recs/experiments",
                        R"({"name":"y","surface":"home","variants":[{"id":"a","model":"m"},)"
                        R"({"id":"b","model":"m"}]})"));
    ASSERT_EQ(Call("POST", "/v1/recs/experiments/" + e + "/start").status, 200);
    // A start refused (another experiment runs on the surface) raises nothing.
    EXPECT_EQ(
        Call("POST", "/v1/recs/experiments/" + clash["id"].get<std::string>() + "/start").status,
        409);
    ASSERT_EQ(Call("POST", "/v1/recs/experiments/" + e + "/stop").status, 200);
    // A deployed model deleted: its deployment rows go by cascade, which is no rollback.
    auto [other_id, ov] = testing::TrainAndDeploy(srv(), key_, "other", "popularity");
    ASSERT_FALSE(ov.empty());
    ASSERT_EQ(Call("DELETE", "/v1/recs/models/" + other_id).status, 204);
    // 3 trainings: 3 x (job.succeeded, model.version.created, model.deployed); one rollback,
    // one start, one stop.
    auto got = rx.WaitFor(12, std::chrono::seconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // nothing more comes
    got = rx.Received();
    std::map<std::string, int> types;
    std::set<std::string> ids;
    for (auto& g : got) {
        EXPECT_TRUE(g["verified"]);
        ids.insert(g["id"]);
        auto b = json::parse(g["body"].get<std::string>());
        ++types[b["type"]];
        if (b["type"] == "model.rolled_back") {
            EXPECT_EQ(b["data"]["from_version_id"], v2);
            EXPECT_EQ(b["data"]["to_version_id"], v1);
        }
        if (b["type"] == "experiment.completed") EXPECT_EQ(b["data"]["experiment_id"], e);
    }
    EXPECT_EQ(ids.size(), got.size()) << "one id per event";
    EXPECT_EQ(types["job.succeeded"], 3);
    EXPECT_EQ(types["model.version.created"], 3);
    EXPECT_EQ(types["model.deployed"], 3);
    EXPECT_EQ(types["model.rolled_back"], 1);
    EXPECT_EQ(types["experiment.started"], 1);
    EXPECT_EQ(types["experiment.completed"], 1);
    EXPECT_EQ(got.size(), 12u) << got.dump();
}

// Retries follow the schedule (1, 2, 3 s here, with +-10 % jitter), with the same webhook-id
// on every attempt; after the last the delivery is dead, and a manual retry sends it again.
TEST_F(TenantPlatformTest, RetriesFollowTheScheduleThenDie) {
    Receiver rx;
    std::string secret;
    auto w = CreateWebhook(rx.url(), {"job.cancelled"}, &secret);
    std::string id = w["id"];
    rx.Control({{"secrets", {secret}}, {"fail", 3}});
    auto t = J(Call("POST", "/v1/recs/webhooks/" + id + "/test"));
    auto got = rx.WaitFor(4, std::chrono::seconds(40));
    ASSERT_EQ(got.size(), 4u) << got.dump();
    std::vector<double> gaps;
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(got[i]["id"], t["event_id"]) << "attempt " << i;
        EXPECT_TRUE(got[i]["verified"]);
        if (i > 0)
            gaps.push_back((got[i]["received_at_ms"].get<double>() -
                            got[i - 1]["received_at_ms"].get<double>()) /
                           1000.0);
    }
    EXPECT_EQ(got[0]["answered"], 500);
    EXPECT_EQ(got[3]["answered"], 200);
    // Observed gaps against the schedule: each at least 0.9 x its entry, and late by at most
    // a poll and a claim.
    const double schedule[] = {1, 2, 3};
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_GE(gaps[i], schedule[i] * 0.9 - 0.05) << "gap " << i;
        EXPECT_LE(gaps[i], schedule[i] * 1.1 + 1.0) << "gap " << i;
    }
    std::printf(
        "[ figures ] webhook retry gaps observed: %.2f s, %.2f s, %.2f s (schedule 1,2,3)\n",
        gaps[0], gaps[1], gaps[2]);
    auto d = WaitDelivery(id, "succeeded");
    ASSERT_EQ(d["status"], "succeeded") << d.dump();
    ASSERT_EQ(d["attempts"].size(), 4u);
    EXPECT_EQ(d["attempts"][0]["outcome"], "failed");
    EXPECT_EQ(d["attempts"][0]["response_code"], 500);
    EXPECT_EQ(d["attempts"][0]["response_body"], "failing on purpose 1");
    EXPECT_EQ(d["attempts"][3]["outcome"], "succeeded");
    // Failing for good: 1 + 3 attempts, then dead.
    rx.Control({{"fail", 100}});
    auto t2 = J(Call("POST", "/v1/recs/webhooks/" + id + "/test"));
    d = WaitDelivery(id, "dead", std::chrono::seconds(40));
    ASSERT_EQ(d["status"], "dead") << d.dump();
    EXPECT_EQ(d["attempts"].size(), 4u);
    EXPECT_TRUE(d["next_attempt_at"].is_null());
    auto hook = J(Call("GET", "/v1/recs/webhooks/" + id));
    EXPECT_FALSE(hook["failing_since"].is_null());
    // A manual retry of the dead delivery: the same event id, delivered now.
    rx.Control({{"fail", 0}});
    auto retry = Call(
        "POST", "/v1/recs/webhooks/" + id + "/deliveries/" + d["id"].get<std::string>() + "/retry");
    ASSERT_EQ(retry.status, 202) << retry.body;

    d = WaitDelivery(id, "succeeded");
    EXPECT_EQ(d["status"], "succeeded");
    EXPECT_EQ(d["event_id"], t2["event_id"]);
    got = rx.Received();
    EXPECT_EQ(got.back()["id"], t2["event_id"]);
    EXPECT_TRUE(J(Call("GET", "/v1/recs/webhooks/" + id))["failing_since"].is_null());
}

// An endpoint failing past RECS_WEBHOOK_DISABLE_AFTER_S is disabled, and the tenant's other
// endpoints hear of it.
TEST_F(TenantPlatformTest, AFailingEndpointIsDisabled) {
    auto cfg = PlatformConfig("1,1,1,1,1,1");
    cfg.webhook_disable_after_s = 2;
    Start(true, cfg);
    Receiver rx;
    std::string secret;
    auto other = CreateWebhook(rx.url("/other"), {"webhook.disabled"}, &secret);
    rx.Control({{"secrets", {secret}}});
    auto bad = CreateWebhook("http://127.0.0.1:1/never", {"job.failed"});
    Call("POST", "/v1/recs/webhooks/" + bad["id"].get<std::string>() + "/test");
    auto deadline = Clock::now() + std::chrono::seconds(30);
    json hook;
    while (Clock::now() < deadline) {
        hook = J(Call("GET", "/v1/recs/webhooks/" + bad["id"].get<std::string>()));
        if (hook["status"] == "disabled") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ASSERT_EQ(hook["status"], "disabled") << hook.dump();
    EXPECT_FALSE(hook["disabled_reason"].is_null());
    auto got = rx.WaitFor(1);
    ASSERT_EQ(got.size(), 1u);
    auto body = json::parse(got[0]["body"].get<std::string>());
    EXPECT_EQ(body["type"], "webhook.disabled");
    EXPECT_EQ(body["data"]["webhook_id"], bad["id"]);
    EXPECT_TRUE(got[0]["verified"]);
    auto audit = J(Call(
        "GET", "/v1/recs/audit/logs?action=disable&resource_id=" + bad["id"].get<std::string>()));
    ASSERT_EQ(audit["items"].size(), 1u) << audit.dump();
    EXPECT_EQ(audit["items"][0]["actor"]["kind"], "system");
    // Re-enabled by the tenant: failing_since starts over.
    auto p = J(Call("PATCH", "/v1/recs/webhooks/" + bad["id"].get<std::string>(),
                    R"({"status":"active"})"));
    EXPECT_EQ(p["status"], "active");
    EXPECT_TRUE(p["failing_since"].is_null());
    EXPECT_TRUE(p["disabled_reason"].is_null());
}

// Private targets refused after resolution, on the attempt, with the reason.
TEST_F(TenantPlatformTest, SsrfProbesAreRefused) {
    Start(true, PlatformConfig("600", /*allow_private=*/false));
    const std::vector<std::pair<std::string, std::string>> probes = {
        {"http://127.0.0.1:9/x", "loopback address 127.0.0.1"},
        {"http://[::1]:9/x", "loopback address ::1"},
        {"http://169.254.169.254/latest/meta-data/", "cloud metadata address 169.254.169.254"},
        {"http://10.0.0.1/x", "private address 10.0.0.1"},
        {"http://localhost:9/x", "loopback address"},
        {"http://[::ffff:127.0.0.1]:9/x", "IPv4-mapped loopback address ::ffff:127.0.0.1"},
        {"http://100.100.100.200/x", "CGNAT address 100.100.100.200"},
    };
    std::vector<std::string> ids;
    for (const auto& [url, _] : probes) {
        auto w = CreateWebhook(url, {"job.failed"});
        ids.push_back(w["id"]);
        ASSERT_EQ(Call("POST", "/v1/recs/webhooks/" + ids.back() + "/test").status, 202);
    }
    for (size_t i = 0; i < probes.size(); ++i) {
        SCOPED_TRACE(probes[i].first);
        auto deadline = Clock::now() + std::chrono::seconds(20);
        json d;
        while (Clock::now() < deadline) {
            d = Deliveries(ids[i])["items"][0];
            if (!d["attempts"].empty()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ASSERT_FALSE(d["attempts"].empty()) << d.dump();
        EXPECT_EQ(d["attempts"][0]["outcome"], "refused");
        std::string err = d["attempts"][0]["error"];
        EXPECT_NE(err.find(probes[i].second), std::string::npos) << err;
        EXPECT_TRUE(d["attempts"][0]["response_code"].is_null());
        std::printf("[ figures ] SSRF probe %s -> %s\n", probes[i].first.c_str(), err.c_str());
    }
    // Redirects are not followed: a public-looking endpoint redirecting to metadata would be
    // refused anyway; here a private receiver (allowed) answering 302 counts as a failure.
    Start(true, PlatformConfig("600"));
    Receiver rx;
    rx.Control({{"redirect_to", "http://169.254.169.254/"}});
    auto w = CreateWebhook(rx.url(), {"job.failed"});
    Call("POST", "/v1/recs/webhooks/" + w["id"].get<std::string>() + "/test");
    auto got = rx.WaitFor(1);
    ASSERT_EQ(got.size(), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto d = Deliveries(w["id"])["items"][0];
    ASSERT_FALSE(d["attempts"].empty());
    EXPECT_EQ(d["attempts"][0]["outcome"], "failed");
    EXPECT_EQ(d["attempts"][0]["response_code"], 302);
    EXPECT_EQ(rx.Received().size(), 1u);
}

// A worker killed while it delivers: the lease expires, another worker sends the same event
// (same webhook-id), and the receiver can tell it is the same message.
TEST_F(TenantPlatformTest, AWorkerKilledMidDeliveryStillDelivers) {
    Start(false, PlatformConfig());  // no worker in this process
    Receiver rx;
    std::string secret;
    auto w = CreateWebhook(rx.url(), {"job.failed"}, &secret);
    rx.Control({{"secrets", {secret}}, {"hang_ms", 60000}, {"hang_count", 1}});
    auto t = J(Call("POST", "/v1/recs/webhooks/" + w["id"].get<std::string>() + "/test"));
    std::vector<std::pair<std::string, std::string>> env = {{"RECS_WEBHOOK_ALLOW_PRIVATE", "1"},
                                                            {"RECS_WEBHOOK_LEASE_MS", "4000"},
                                                            {"RECS_WEBHOOK_TIMEOUT_MS", "3000"},
                                                            {"RECS_WEBHOOK_SCHEDULE_S", "600"}};
    auto first = std::make_unique<testing::RecsplaneProcess>(testing::TestDatabase::Get().dsn(),
                                                             testing::RedisUrl(), env);
    auto got = rx.WaitFor(1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0]["answered"].is_null()) << "the first attempt is still in flight";
    kill(first->pid(), SIGKILL);  // reaped by its destructor (a zombie holds no socket)
    auto killed_at = Clock::now();
    testing::RecsplaneProcess second(testing::TestDatabase::Get().dsn(), testing::RedisUrl(), env);
    got = rx.WaitFor(2, std::chrono::seconds(30));
    ASSERT_EQ(got.size(), 2u) << got.dump();
    EXPECT_EQ(got[1]["id"], t["event_id"]);
    EXPECT_EQ(got[0]["id"], got[1]["id"]);
    EXPECT_TRUE(got[1]["verified"]);
    EXPECT_EQ(got[1]["answered"], 200);
    std::printf("[ figures ] redelivered %.1f s after the worker was killed (lease 4 s)\n",
                std::chrono::duration<double>(Clock::now() - killed_at).count());
    auto d = WaitDelivery(w["id"], "succeeded");
    EXPECT_EQ(d["status"], "succeeded");
    first.reset();
}

TEST_F(TenantPlatformTest, QuotasAreAdministeredAndShown) {
    auto admin = srv().admin_key();
    auto path = "/v1/recs/admin/tenants/" + tenant_ + "/quotas";
    auto q = srv().Json(srv().Call("GET", path, admin));
    EXPECT_TRUE(q["models"].is_null());
    EXPECT_EQ(q["tenant_id"], tenant_);
    ExpectProblem(srv().Call("PATCH", path, admin, R"({"models":-1})"), 422, "models");
    ExpectProblem(srv().Call("PATCH", path, admin, R"({"nonsense":1})"), 422, "nonsense");
    ExpectProblem(srv().Call("PATCH", path, admin, R"({"requests_per_second_per_key":0})"), 422,
                  "requests_per_second_per_key");
    ExpectProblem(srv().Call("PATCH", path, admin, R"({"models":"3"})"), 422, "models");
    // A tenant key cannot administer quotas, not even its own.
    EXPECT_EQ(Call("PATCH", path, R"({"models":100})").status, 403);
    ExpectProblem(
        srv().Call("GET", "/v1/recs/admin/tenants/00000000-0000-4000-8000-000000000000/quotas",
                   admin),
        404);
    SetQuotas({{"models", 1}, {"events_per_month", 1000}, {"queued_jobs", 5}});
    auto mine = J(Call("GET", "/v1/recs/quotas"));
    EXPECT_EQ(mine["quotas"]["models"], 1);
    EXPECT_EQ(mine["quotas"]["events_per_month"], 1000);
    EXPECT_TRUE(mine["quotas"]["predictions_per_month"].is_null());
    EXPECT_EQ(mine["usage"]["models"], 0);
    EXPECT_TRUE(mine["period"].contains("resets_at"));
    // Count quota: the second model is 403 naming the quota.
    ASSERT_EQ(Call("POST", "/v1/recs/models", R"({"name":"a","algorithm":"popularity"})").status,
              201);
    auto second = Call("POST", "/v1/recs/models", R"({"name":"b","algorithm":"popularity"})");
    ExpectProblem(second, 403, "models");
    EXPECT_EQ(J(second)["quota"], "models");
    EXPECT_EQ(J(second)["limit"], 1);
    // Back to unlimited.
    SetQuotas({{"models", nullptr}});
    EXPECT_EQ(Call("POST", "/v1/recs/models", R"({"name":"b","algorithm":"popularity"})").status,
              201);
    auto audit = J(Call("GET", "/v1/recs/audit/logs?resource=quotas"));
    ASSERT_EQ(audit["items"].size(), 2u);
    EXPECT_EQ(audit["items"][0]["actor"]["kind"], "platform_admin");
    EXPECT_EQ(audit["items"][0]["before"]["models"], 1);
    EXPECT_TRUE(audit["items"][0]["after"]["models"].is_null());
}

// model_versions_kept: a new version prunes the oldest one nothing uses (a deployed one stays).
TEST_F(TenantPlatformTest, VersionsKeptPrunesTheOldestUnused) {
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", testing::ClusterEvents(10).dump()).status, 200);
    SetQuotas({{"model_versions_kept", 1}});
    auto [model_id, v1] = testing::TrainAndDeploy(srv(), key_, "m", "popularity");
    ASSERT_FALSE(v1.empty());
    std::vector<std::string> trained;
    for (int i = 0; i < 2; ++i) {
        auto job = J(Call("POST", "/v1/recs/jobs/train", json{{"model_id", model_id}}.dump()));
        auto done = testing::WaitJob(srv(), key_, job["job_id"]);
        ASSERT_EQ(done["status"], "succeeded") << done.dump();
        trained.push_back(done["result"]["version_id"]);
    }
    auto versions = J(Call("GET", "/v1/recs/models/" + model_id + "/versions"));
    std::set<std::string> ids;
    for (auto& v : versions["items"]) ids.insert(v["id"]);
    EXPECT_EQ(ids, (std::set<std::string>{v1, trained[1]})) << versions.dump();
    auto audit = J(Call("GET", "/v1/recs/audit/logs?action=prune"));
    ASSERT_EQ(audit["items"].size(), 1u) << audit.dump();
    EXPECT_EQ(audit["items"][0]["resource_id"], trained[0]);
    EXPECT_EQ(audit["items"][0]["actor"]["id"], "training");
}

// A monthly event quota reached in the middle of a bulk request: exactly up to the quota is
// stored and the answer says how many; then 429 naming the quota; quota.exceeded once.
TEST_F(TenantPlatformTest, MonthlyEventQuotaStopsMidBulk) {
    Receiver rx;
    std::string secret;
    CreateWebhook(rx.url(), {"quota.exceeded"}, &secret);
    rx.Control({{"secrets", {secret}}});
    SetQuotas({{"events_per_month", 5}});
    json events = json::array();
    for (int i = 0; i < 8; ++i)
        events.push_back({{"event_id", "q" + std::to_string(i)},
                          {"user_id", "u"},
                          {"item_id", "i" + std::to_string(i)},
                          {"type", "view"}});
    auto r = Call("POST", "/v1/recs/events/bulk", events.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = J(r);
    EXPECT_EQ(j["accepted"], 5);
    EXPECT_EQ(j["quota_refused"], 3);
    ASSERT_EQ(j["rejected"].size(), 3u);
    EXPECT_EQ(j["rejected"][0]["index"], 5);
    EXPECT_EQ(j["rejected"][0]["field"], "events_per_month");
    for (int i = 0; i < 8; ++i) {
        auto g = Call("GET", "/v1/recs/events/q" + std::to_string(i));
        EXPECT_EQ(g.status, i < 5 ? 200 : 404) << i;
    }
    auto one = Call("POST", "/v1/recs/events", R"({"user_id":"u","item_id":"z","type":"view"})");
    ExpectProblem(one, 429, "events_per_month");
    EXPECT_EQ(J(one)["quota"], "events_per_month");
    EXPECT_EQ(J(one)["limit"], 5);
    EXPECT_FALSE(J(one)["resets_at"].is_null());
    EXPECT_FALSE(one.Header("retry-after").empty());
    Call("POST", "/v1/recs/events/bulk", events.dump());
    auto got = rx.WaitFor(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    got = rx.Received();
    ASSERT_EQ(got.size(), 1u) << "quota.exceeded fires once per quota and period: " << got.dump();
    auto body = json::parse(got[0]["body"].get<std::string>());
    EXPECT_EQ(body["type"], "quota.exceeded");
    EXPECT_EQ(body["data"]["quota"], "events_per_month");
    EXPECT_EQ(body["data"]["limit"], 5);
    EXPECT_EQ(J(Call("GET", "/v1/recs/quotas"))["usage"]["events_this_month"], 5);
    // Raised by 2: a bulk of a duplicate and three new events admits its first two (the
    // duplicate gives its share back), then one more single event fits, then none.
    SetQuotas({{"events_per_month", 7}});
    json more = json::array({events[0]});
    for (int i = 0; i < 3; ++i)
        more.push_back({{"event_id", "n" + std::to_string(i)},
                        {"user_id", "u"},
                        {"item_id", "i"},
                        {"type", "view"}});
    r = Call("POST", "/v1/recs/events/bulk", more.dump());
    j = J(r);
    EXPECT_EQ(j["duplicates"], 1) << r.body;
    EXPECT_EQ(j["accepted"], 1) << r.body;
    EXPECT_EQ(j["quota_refused"], 2) << r.body;
    EXPECT_EQ(
        Call("POST", "/v1/recs/events", R"({"user_id":"u","item_id":"y","type":"view"})").status,
        202);
    ExpectProblem(Call("POST", "/v1/recs/events", R"({"user_id":"u","item_id":"x","type":"view"})"),
                  429, "events_per_month");
    EXPECT_EQ(J(Call("GET", "/v1/recs/quotas"))["usage"]["events_this_month"], 7);
}

TEST_F(TenantPlatformTest, MonthlyPredictionQuota) {
    SetQuotas({{"predictions_per_month", 3}});
    int limited = 0, other = 0;
    for (int i = 0; i < 6; ++i) {
        auto r = Call("POST", "/v1/recs/predict", R"({"user_id":"u1","k":3})");
        if (r.status == 429) {
            ++limited;
            EXPECT_EQ(J(r)["quota"], "predictions_per_month");
        } else {
            ++other;
        }
    }
    EXPECT_EQ(other, 3);
    EXPECT_EQ(limited, 3);
}

TEST_F(TenantPlatformTest, RateLimitHeadersAndRetryAfter) {
    std::string key_id;
    auto key = srv().CreateKey(tenant_, {"admin"}, &key_id);
    SetQuotas({{"requests_per_second_per_key", 5}, {"burst_per_key", 3}});
    int ok = 0, limited = 0;
    HttpResponse last_limited, last_ok;
    for (int i = 0; i < 12; ++i) {
        auto r = srv().Call("GET", "/v1/recs/models", key);
        if (r.status == 429) {
            ++limited;
            last_limited = r;
        } else if (r.status == 200) {
            ++ok;
            last_ok = r;
        }
    }
    EXPECT_GE(ok, 3);
    EXPECT_LE(ok, 5);
    EXPECT_GT(limited, 0);
    EXPECT_EQ(last_ok.Header("ratelimit-policy"), R"("key";q=5;w=1;burst=3)");
    EXPECT_EQ(last_ok.Header("ratelimit").rfind(R"("key";r=)", 0), 0u)
        << last_ok.Header("ratelimit");
    EXPECT_EQ(last_limited.Header("content-type"), "application/problem+json");
    EXPECT_FALSE(last_limited.Header("retry-after").empty());
    EXPECT_FALSE(last_limited.Header("ratelimit-policy").empty());
    EXPECT_EQ(last_limited.Header("ratelimit").find("r=0"), 6u) << last_limited.Header("ratelimit");
    // The limits in force for the calling key; reading them consumes nothing of the state.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    auto v = srv().Json(srv().Call("GET", "/v1/recs/rate-limits", key));
    EXPECT_EQ(v["key"]["id"], key_id);
    ASSERT_EQ(v["limits"].size(), 1u) << v.dump();
    EXPECT_EQ(v["limits"][0]["name"], "key");
    EXPECT_EQ(v["limits"][0]["limit"], 5);
    EXPECT_EQ(v["limits"][0]["burst"], 3);
    // Another key of the tenant has its own bucket; the platform admin is not limited.
    EXPECT_EQ(Call("GET", "/v1/recs/models").status, 200);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(
            srv()
                .Call("GET", "/v1/recs/models", srv().admin_key(), "", {{"X-Tenant-ID", tenant_}})
                .status,
            200);
}

// N concurrent clients on two api processes sharing Redis against a tenant limit of R/s for
// 10 s: admitted at most R x 10 + burst and at least 95 % of that.
TEST_F(TenantPlatformTest, RateLimitHoldsAcrossTwoApiProcesses) {
    constexpr int kRate = 40, kBurst = 20, kSeconds = 10, kClients = 8;
    std::string k1 = srv().CreateKey(tenant_, {"admin"});
    std::string k2 = srv().CreateKey(tenant_, {"admin"});
    SetQuotas({{"requests_per_second_per_tenant", kRate}, {"burst_per_tenant", kBurst}});
    srv_.reset();
    std::vector<std::pair<std::string, std::string>> env = {{"RECS_LOG_LEVEL", "error"}};
    testing::RecsplaneProcess a(testing::TestDatabase::Get().dsn(), testing::RedisUrl(), env);
    testing::RecsplaneProcess b(testing::TestDatabase::Get().dsn(), testing::RedisUrl(), env);
    std::atomic<int> admitted{0}, limited{0}, other{0};
    std::atomic<bool> go{false};
    auto start = Clock::now() + std::chrono::milliseconds(300);
    auto end = start + std::chrono::seconds(kSeconds);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c)
        clients.emplace_back([&, c] {
            testing::HttpClient client(c % 2 ? a.port() : b.port(), 10000);
            std::string auth = "Bearer " + (c % 2 ? k1 : k2);
            std::this_thread::sleep_until(start);
            while (Clock::now() < end) {
                try {
                    auto r = client.Send("GET", "/v1/recs/rate-limits", "",
                                         {{"Authorization", auth}}, true);
                    if (Clock::now() > end) break;  // answered after the window: not counted
                    if (r.status == 200)
                        ++admitted;
                    else if (r.status == 429)
                        ++limited;
                    else
                        ++other;
                } catch (const std::exception&) {
                    ++other;
                }
            }
        });
    for (auto& t : clients) t.join();
    int cap = kRate * kSeconds + kBurst;
    std::printf(
        "[ figures ] rate limit %d/s burst %d over %d s on 2 api processes, %d clients: "
        "admitted %d (cap %d, %.1f %%), limited %d, other %d, over-admission %d\n",
        kRate, kBurst, kSeconds, kClients, admitted.load(), cap, 100.0 * admitted.load() / cap,
        limited.load(), other.load(), std::max(0, admitted.load() - cap));
    EXPECT_LE(admitted.load(), cap);
    EXPECT_GE(admitted.load(), static_cast<int>(0.95 * cap));
    EXPECT_GT(limited.load(), 0);
    EXPECT_EQ(other.load(), 0);
    (void)go;
}

TEST_F(TenantPlatformTest, UsageCountsSurviveARestart) {
    json events = json::array();
    for (int i = 0; i < 4; ++i)
        events.push_back(
            {{"user_id", "u"}, {"item_id", "i" + std::to_string(i)}, {"type", "view"}});
    ASSERT_EQ(Call("POST", "/v1/recs/events/bulk", events.dump()).status, 200);
    for (int i = 0; i < 3; ++i) Call("GET", "/v1/recs/models");
    Call("POST", "/v1/recs/predict", R"({"user_id":"u"})");
    Start(true, PlatformConfig());  // flushed at stop, read from PostgreSQL after
    auto u = J(Call("GET", "/v1/recs/usage?granularity=hour"));
    ASSERT_GE(u["buckets"].size(), 1u) << u.dump();  // 2 when the test runs across an hour
    EXPECT_EQ(u["totals"]["events"], 4);
    EXPECT_EQ(u["totals"]["requests"]["events"], 1);
    EXPECT_EQ(u["totals"]["requests"]["predict"], 1);
    EXPECT_GE(u["totals"]["requests"]["control"], 3);
    EXPECT_EQ(u["granularity"], "hour");
    auto d = J(Call(
        "GET", "/v1/recs/usage?granularity=day&from=2026-01-01T00:00:00Z&to=2099-01-01T00:00:00Z"));
    ExpectProblem(
        Call("GET",
             "/v1/recs/usage?granularity=day&from=2020-01-01T00:00:00Z&to=2099-01-01T00:00:00Z"),
        422, "from");
    ExpectProblem(Call("GET", "/v1/recs/usage?granularity=week"), 422, "granularity");
    ExpectProblem(Call("GET", "/v1/recs/usage?from=yesterday"), 422, "from");
    // The platform admin reads any tenant's.
    auto admin = srv().Json(
        srv().Call("GET", "/v1/recs/usage", srv().admin_key(), "", {{"X-Tenant-ID", tenant_}}));
    EXPECT_EQ(admin["totals"]["events"], 4);
    (void)d;
}

TEST_F(TenantPlatformTest, AuditLogFiltersPagesAndIsolates) {
    std::string key_id;
    auto key = srv().CreateKey(tenant_, {"admin"}, &key_id);
    for (int i = 0; i < 3; ++i) {
        auto r = srv().Call(
            "POST", "/v1/recs/webhooks", key,
            json{{"url", "https://h.example/" + std::to_string(i)}, {"events", {"job.failed"}}}
                .dump(),
            {{"X-Request-Id", "req-audit-" + std::to_string(i)}});
        ASSERT_EQ(r.status, 201);
    }
    auto mine = J(Call("GET", "/v1/recs/audit/logs?resource=webhook&actor=" + key_id));
    ASSERT_EQ(mine["items"].size(), 3u) << mine.dump();
    auto& first = mine["items"][0];  // newest first
    EXPECT_EQ(first["request_id"], "req-audit-2");
    EXPECT_EQ(first["actor"]["kind"], "api_key");
    EXPECT_EQ(first["actor"]["id"], key_id);
    EXPECT_EQ(first["actor"]["prefix"], key.substr(3, 8));
    EXPECT_EQ(first["action"], "create");
    EXPECT_TRUE(first["before"].is_null());
    EXPECT_EQ(first["after"]["url"], "https://h.example/2");
    // Cursor paging walks every row once.
    std::set<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
        auto p = J(Call(
            "GET", "/v1/recs/audit/logs?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor)));
        for (auto& it : p["items"]) EXPECT_TRUE(seen.insert(it["id"]).second);
        cursor = p["next_cursor"].is_null() ? "" : p["next_cursor"].get<std::string>();
        ++pages;
    } while (!cursor.empty() && pages < 50);
    EXPECT_GE(seen.size(), 5u);  // the tenant, keys, webhooks
    ExpectProblem(Call("GET", "/v1/recs/audit/logs?from=soon"), 422, "from");
    ExpectProblem(Call("GET", "/v1/recs/audit/logs?cursor=zzz"), 422, "cursor");
    auto none = J(Call("GET", "/v1/recs/audit/logs?from=2099-01-01T00:00:00Z"));
    EXPECT_TRUE(none["items"].empty());
    // Another tenant sees none of it; the platform admin sees both, or one by tenant_id.
    auto other = srv().CreateTenant("other");
    auto other_key = srv().CreateKey(other, {"admin"});
    auto theirs = srv().Json(srv().Call("GET", "/v1/recs/audit/logs?limit=500", other_key));
    for (auto& it : theirs["items"]) EXPECT_EQ(it["tenant_id"], other);
    auto all = srv().Json(srv().Call("GET", "/v1/recs/audit/logs?limit=500", srv().admin_key()));
    std::set<std::string> tenants;
    for (auto& it : all["items"])
        if (it["tenant_id"].is_string()) tenants.insert(it["tenant_id"]);
    EXPECT_TRUE(tenants.count(tenant_) && tenants.count(other));
    auto one = srv().Json(
        srv().Call("GET", "/v1/recs/audit/logs?limit=500&tenant_id=" + other, srv().admin_key()));
    for (auto& it : one["items"]) EXPECT_EQ(it["tenant_id"], other);
    EXPECT_EQ(srv().Call("GET", "/v1/recs/audit/logs", key.substr(0, 10)).status, 401);
}

}  // namespace
}  // namespace recs
