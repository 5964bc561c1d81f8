// Dependencies that fail under load, against the real binary and PostgreSQL and Redis of the
// test's own: PostgreSQL frozen with SIGSTOP, Redis killed and restarted. Every request gets an
// answer in bounded time, nothing acknowledged is lost, and everything recovers unrestarted.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "recs/store/pg_pool.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/testing.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::HttpClient;
using testing::HttpResponse;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

/// One answer seen by a client thread.
struct Seen {
    std::string what;
    int status = 0;  ///< 0: no answer (a hang or a dropped connection)
    double ms = 0;
    bool retry_after = false;
    std::string event_id;  ///< for accepted events
};

class Recorder {
public:
    void Add(Seen s) {
        std::lock_guard lock(mu_);
        seen_.push_back(std::move(s));
    }
    std::vector<Seen> All() {
        std::lock_guard lock(mu_);
        return seen_;
    }

private:
    std::mutex mu_;
    std::vector<Seen> seen_;
};

HttpResponse Timed(int port,
                   const std::string& method,
                   const std::string& path,
                   const std::string& key,
                   const std::string& body,
                   Seen* seen,
                   int timeout_ms = 15000) {
    auto start = Clock::now();
    HttpResponse r;
    try {
        HttpClient c(port, timeout_ms);
        std::vector<std::pair<std::string, std::string>> h;
        if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
        r = c.Send(method, path, body, h);
    } catch (const std::exception& e) {
        r.status = 0;
        static std::atomic<int> shown{0};
        if (shown++ < 3)
            std::fprintf(stderr, "no answer to %s %s: %s\n", method.c_str(), path.c_str(),
                         e.what());
    }
    seen->status = r.status;
    seen->ms = Ms(Clock::now() - start);
    seen->retry_after = !r.Header("retry-after").empty();
    return r;
}

/// A tenant with a deployed popularity model, through the API of a running process.
struct Tenant {
    std::string id, key;
};

Tenant SetUpTenant(testing::RecsplaneProcess& app) {
    auto call = [&](const std::string& m, const std::string& p, const std::string& key,
                    const std::string& body,
                    std::vector<std::pair<std::string, std::string>> h = {}) {
        h.emplace_back("Authorization", "Bearer " + key);
        return testing::Http(app.port(), m, p, body, h);
    };
    Tenant t;
    t.id = json::parse(
        call("POST", "/v1/recs/admin/tenants", app.admin_key(), R"({"name":"t"})").body)["id"];
    t.key = json::parse(call("POST", "/v1/recs/keys", app.admin_key(),
                             R"({"name":"k","scopes":["admin"]})", {{"X-Tenant-ID", t.id}})
                            .body)["key"];
    EXPECT_EQ(call("POST", "/v1/recs/events/bulk", t.key, testing::ClusterEvents(20).dump()).status,
              200);
    auto m = json::parse(
        call("POST", "/v1/recs/models", t.key, R"({"name":"pop","algorithm":"popularity"})").body);
    std::string model_id = m["id"];
    auto job = json::parse(call("POST", "/v1/recs/jobs/train", t.key,
                                json{{"model_id", model_id}, {"holdout", 0}}.dump())
                               .body);
    std::string version_id;
    for (int i = 0; i < 600 && version_id.empty(); ++i) {
        auto j = json::parse(
            call("GET", "/v1/recs/jobs/" + job["job_id"].get<std::string>(), t.key, "").body);
        if (j["status"] == "succeeded") version_id = j["result"]["version_id"];
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_FALSE(version_id.empty());
    EXPECT_EQ(call("POST", "/v1/recs/models/" + model_id + "/versions/" + version_id + "/deploy",
                   t.key, "{}")
                  .status,
              200);
    EXPECT_EQ(call("PATCH", "/v1/recs/models/" + model_id, t.key, R"({"is_default":true})").status,
              200);
    return t;
}

/// Clients that predict and send events until `stop`, each answer recorded.
std::vector<std::thread> StartClients(int port,
                                      const Tenant& t,
                                      int n,
                                      std::atomic<bool>& stop,
                                      Recorder& rec,
                                      std::atomic<int>& counter) {
    std::vector<std::thread> out;
    for (int c = 0; c < n; ++c) {
        out.emplace_back([&, c, port] {
            while (!stop) {
                Seen p{"predict"};
                Timed(port, "POST", "/v1/recs/predict", t.key, R"({"user_id":"u1"})", &p);
                rec.Add(p);
                std::string id = "ev-" + std::to_string(c) + "-" + std::to_string(counter++);
                Seen e{"event"};
                Timed(port, "POST", "/v1/recs/events", t.key,
                      json{{"event_id", id}, {"type", "view"}, {"user_id", "u1"}, {"item_id", "a1"}}
                          .dump(),
                      &e);
                if (e.status == 202) e.event_id = id;
                rec.Add(e);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
    }
    return out;
}

std::set<std::string> StoredEventIds(const std::string& dsn, const std::string& tenant) {
    store::PgPool pg(dsn, 1);
    auto rows = store::QueryForTesting(
        pg, "SELECT event_id FROM events WHERE tenant_id = '" + tenant + "'");
    return {rows.begin(), rows.end()};
}

TEST(Outage, PostgresFrozenForTenSeconds) {
    testing::PrivateServices svc;
    testing::RecsplaneProcess app(svc.pg_dsn(), svc.redis_url());
    auto t = SetUpTenant(app);
    std::atomic<bool> stop{false};
    std::atomic<int> counter{0};
    Recorder rec;
    // Health seen from outside, as a load balancer would.
    struct HealthSample {
        double at_ms;
        int status;
        double took_ms;
        std::string postgres;
    };
    std::vector<HealthSample> health;
    auto t0 = Clock::now();
    std::thread prober([&] {
        while (!stop) {
            Seen s{"health"};
            auto r = Timed(app.port(), "GET", "/v1/recs/health", "", "", &s, 5000);
            std::string pg = "?";
            auto j = json::parse(r.body, nullptr, false);
            if (!j.is_discarded() && j.contains("checks")) pg = j["checks"]["postgres"]["status"];
            health.push_back({Ms(Clock::now() - t0), s.status, s.ms, pg});
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
    auto clients = StartClients(app.port(), t, 6, stop, rec, counter);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto frozen_at = Ms(Clock::now() - t0);
    svc.FreezePostgres();
    std::this_thread::sleep_for(std::chrono::seconds(10));
    svc.ThawPostgres();
    auto thawed_at = Ms(Clock::now() - t0);
    // Recovery without a restart: a predict succeeds again soon after.
    double recovered_ms = -1;
    for (int i = 0; i < 200 && recovered_ms < 0; ++i) {
        Seen s;
        auto r = Timed(app.port(), "POST", "/v1/recs/events", t.key,
                       R"({"type":"view","user_id":"u2","item_id":"a2"})", &s);
        if (r.status == 202) recovered_ms = Ms(Clock::now() - t0) - thawed_at;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::seconds(6));
    stop = true;
    for (auto& c : clients) c.join();
    prober.join();

    auto seen = rec.All();
    size_t ok = 0, unavailable = 0, other = 0, unanswered = 0;
    double longest = 0;
    std::set<std::string> acked;
    for (const auto& s : seen) {
        longest = std::max(longest, s.ms);
        if (s.status == 200 || s.status == 202) {
            ++ok;
            if (!s.event_id.empty()) acked.insert(s.event_id);
        } else if (s.status == 503) {
            ++unavailable;
            EXPECT_TRUE(s.retry_after) << s.what << " 503 without Retry-After";
        } else if (s.status == 0) {
            ++unanswered;
        } else {
            ++other;
            ADD_FAILURE() << s.what << " answered " << s.status;
        }
    }
    // Health: never slow, down while frozen, up again after.
    double health_longest = 0;
    bool saw_down = false, up_after = false;
    for (const auto& h : health) {
        health_longest = std::max(health_longest, h.took_ms);
        if (h.at_ms > frozen_at + 3000 && h.at_ms < thawed_at) {
            EXPECT_EQ(h.status, 503) << "health at " << h.at_ms << " ms";
            saw_down = saw_down || (h.status == 503 && h.postgres == "down");
        }
        if (h.at_ms > thawed_at + 4000 && h.status == 200) up_after = true;
    }
    auto stored = StoredEventIds(svc.pg_dsn(), t.id);
    size_t lost = 0;
    for (const auto& id : acked) lost += stored.count(id) == 0;
    std::printf(
        "[ figures  ] postgres frozen 10 s: %zu requests, %zu answered 2xx, %zu 503, %zu other, "
        "%zu unanswered, longest answer %.0f ms; health longest %.0f ms; events acknowledged "
        "%zu, stored %zu of them; recovered %.0f ms after SIGCONT\n",
        seen.size(), ok, unavailable, other, unanswered, longest, health_longest, acked.size(),
        acked.size() - lost, recovered_ms);
    EXPECT_EQ(unanswered, 0u);
    EXPECT_GT(unavailable, 0u) << "the freeze was not seen";
    EXPECT_LT(longest, 8000) << "an answer took too long";
    EXPECT_LT(health_longest, 1500);
    EXPECT_TRUE(saw_down) << "health never said postgres was down";
    EXPECT_TRUE(up_after) << "health did not recover";
    EXPECT_GE(recovered_ms, 0) << "no request succeeded after SIGCONT";
    EXPECT_EQ(lost, 0u) << "acknowledged events are missing from PostgreSQL";
}

TEST(Outage, RedisKilledAndRestartedUnderEventLoad) {
    testing::PrivateServices svc(/*redis_persistent=*/true);
    testing::RecsplaneProcess app(svc.pg_dsn(), svc.redis_url());
    auto t = SetUpTenant(app);
    std::atomic<bool> stop{false};
    std::atomic<int> counter{0};
    Recorder rec;
    auto clients = StartClients(app.port(), t, 4, stop, rec, counter);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    svc.KillRedis();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    // A job created while Redis is down runs once it is back (the job outbox).
    Seen job_seen;
    auto m = json::parse(testing::Http(app.port(), "GET", "/v1/recs/models", "",
                                       {{"Authorization", "Bearer " + t.key}})
                             .body);
    auto job = Timed(app.port(), "POST", "/v1/recs/jobs/train", t.key,
                     json{{"model_id", m["items"][0]["id"]}, {"holdout", 0}}.dump(), &job_seen);
    EXPECT_EQ(job.status, 202) << job.body;
    svc.StartRedis();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    stop = true;
    for (auto& c : clients) c.join();

    auto seen = rec.All();
    std::set<std::string> acked;
    double longest_event = 0;
    size_t events = 0;
    for (const auto& s : seen) {
        if (s.what != "event") continue;
        ++events;
        longest_event = std::max(longest_event, s.ms);
        EXPECT_TRUE(s.status == 202) << "event answered " << s.status;
        if (!s.event_id.empty()) acked.insert(s.event_id);
    }
    auto stored = StoredEventIds(svc.pg_dsn(), t.id);
    size_t lost_pg = 0;
    for (const auto& id : acked) lost_pg += stored.count(id) == 0;
    // The stream gets every acknowledged event: the relay appended some, the repair the rest.
    store::RedisClient redis(svc.redis_url(), 1);
    std::set<std::string> streamed;
    size_t missing = acked.size();
    auto deadline = Clock::now() + std::chrono::seconds(40);
    while (Clock::now() < deadline && missing > 0) {
        streamed.clear();
        auto r = redis.Command({"XRANGE", "recs:t:{" + t.id + "}:events", "-", "+"});
        for (const auto& entry : r.elements) {
            const auto& fields = entry.elements.at(1).elements;
            for (size_t i = 0; i + 1 < fields.size(); i += 2)
                if (fields[i].str == "event_id") streamed.insert(fields[i + 1].str);
        }
        missing = 0;
        for (const auto& id : acked) missing += streamed.count(id) == 0;
        if (missing > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    json done;
    for (int i = 0; i < 200; ++i) {
        done = json::parse(
            testing::Http(app.port(), "GET",
                          "/v1/recs/jobs/" + json::parse(job.body)["job_id"].get<std::string>(), "",
                          {{"Authorization", "Bearer " + t.key}})
                .body);
        if (done["status"] == "succeeded") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf(
        "[ figures  ] redis killed for 3 s under event load: %zu events sent, %zu acknowledged, "
        "%zu of them stored in PostgreSQL, %zu in the stream after repair; longest event answer "
        "%.0f ms\n",
        events, acked.size(), acked.size() - lost_pg, acked.size() - missing, longest_event);
    EXPECT_GT(acked.size(), 20u);
    EXPECT_EQ(lost_pg, 0u);
    EXPECT_EQ(missing, 0u) << "acknowledged events never reached the stream";
    EXPECT_LT(longest_event, 3000) << "the acknowledgement waited on Redis";
    EXPECT_EQ(done["status"], "succeeded") << done.dump();
}

// With Redis down the rate limiter fails open for predictions and closed for writes, and says
// so in the logs and in /metrics.
TEST(Outage, RateLimiterWithoutRedis) {
    testing::PrivateServices svc;
    testing::RecsplaneProcess app(svc.pg_dsn(), svc.redis_url());
    auto t = SetUpTenant(app);
    auto call = [&](const std::string& m, const std::string& p, const std::string& key,
                    const std::string& body = "") {
        return testing::Http(app.port(), m, p, body, {{"Authorization", "Bearer " + key}});
    };
    ASSERT_EQ(call("PATCH", "/v1/recs/admin/tenants/" + t.id + "/quotas", app.admin_key(),
                   R"({"requests_per_second_per_tenant":1000})")
                  .status,
              200);
    auto ok = call("POST", "/v1/recs/predict", t.key, R"({"user_id":"u1","limit":3})");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_FALSE(ok.Header("ratelimit").empty());
    svc.KillRedis();
    auto open = call("POST", "/v1/recs/predict", t.key, R"({"user_id":"u1","limit":3})");
    EXPECT_EQ(open.status, 200) << "predictions fail open: " << open.body;
    EXPECT_TRUE(open.Header("ratelimit").empty());
    auto closed =
        call("POST", "/v1/recs/models", t.key, R"({"name":"x","algorithm":"popularity"})");
    EXPECT_EQ(closed.status, 503) << "writes fail closed: " << closed.body;
    EXPECT_NE(closed.body.find("rate limiter"), std::string::npos) << closed.body;
    EXPECT_FALSE(closed.Header("retry-after").empty());
    auto metrics = testing::Http(app.port(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("recs_rate_limit_decisions_total{outcome=\"failed_open\"}"),
              std::string::npos);
    EXPECT_NE(metrics.find("recs_rate_limit_decisions_total{outcome=\"failed_closed\"}"),
              std::string::npos);
    svc.StartRedis();
    int status = 0;
    for (int i = 0; i < 100 && status != 201; ++i) {
        status = call("POST", "/v1/recs/models", t.key, R"({"name":"x","algorithm":"popularity"})")
                     .status;
        if (status != 201) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(status, 201) << "writes come back with Redis";
    std::ifstream log(app.log());
    std::string line, all;
    while (std::getline(log, line)) all += line + "\n";
    EXPECT_NE(all.find("rate limiter unavailable"), std::string::npos);
}

}  // namespace
}  // namespace recs
