// Worker pools in their own processes: `recsplane api` + `scheduler` + workers of two pools,
// real processes against a PostgreSQL and Redis of the test's own.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing::HttpResponse;

class Topology {
public:
    /// `artifacts`: RECS_ARTIFACT_STORE of every process. With "postgres" each process has a
    /// data folder of its own (no shared volume: members fetch artifacts from PostgreSQL).
    explicit Topology(std::string artifacts = "fs") : artifacts_(std::move(artifacts)) {
        char tmpl[] = "/tmp/recs-pools-XXXXXX";
        data_ = mkdtemp(tmpl);
        port_ = testing::FreePort();
        base_ = {{"RECS_DATABASE_URL", svc_.pg_dsn()},
                 {"RECS_REDIS_URL", svc_.redis_url()},
                 {"RECS_ADMIN_KEY", admin_},
                 {"RECS_INTERNAL_TOKEN", token_},
                 {"RECS_DATA_DIR", data_},
                 {"RECS_JOB_HEARTBEAT_MS", "200"},
                 {"RECS_SCHEDULER_TICK_MS", "100"},
                 {"RECS_LOG_LEVEL", "warn"},
                 {"RECS_ARTIFACT_STORE", artifacts_}};
        auto env = Own(base_, "api");
        env.push_back({"RECS_HTTP_PORT", std::to_string(port_)});
        env.push_back({"RECS_HTTP_HOST", "127.0.0.1"});
        api_ = testing::SpawnRecsplane({"api"}, env, data_ + "-api.log");
        scheduler_ = testing::SpawnRecsplane({"scheduler"}, Own(base_, "scheduler"),
                                             data_ + "-scheduler.log");
        for (int i = 0; i < 300; ++i) {
            try {
                if (testing::Http(port_, "GET", "/v1/recs/health").status != 0) break;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ~Topology() {
        for (pid_t p : workers_) Stop(p);
        Stop(scheduler_);
        Stop(api_);
        std::system(("rm -rf " + data_ + " " + data_ + "-*.log").c_str());
    }
    pid_t Worker(const std::string& pool) {
        auto env = Own(base_, "worker-" + std::to_string(workers_.size()));
        env.push_back({"RECS_SERVE_PORT", "0"});
        pid_t p =
            testing::SpawnRecsplane({"worker", "--pool", pool}, env,
                                    data_ + "-worker-" + std::to_string(workers_.size()) + ".log");
        workers_.push_back(p);
        return p;
    }
    void Kill(pid_t p) {
        kill(p, SIGKILL);
        waitpid(p, nullptr, 0);
        workers_.erase(std::remove(workers_.begin(), workers_.end(), p), workers_.end());
    }
    HttpResponse Call(const std::string& m,
                      const std::string& path,
                      const std::string& key,
                      const std::string& body = "",
                      std::vector<std::pair<std::string, std::string>> h = {}) {
        h.emplace_back("Authorization", "Bearer " + key);
        try {
            testing::HttpClient c(port_, 10000);
            return c.Send(m, path, body, h);
        } catch (const std::exception&) {
            return HttpResponse{};
        }
    }
    /// Waits until GET /pools shows `n` live members in `pool`.
    bool WaitMembers(const std::string& key, const std::string& pool, size_t n) {
        for (int i = 0; i < 300; ++i) {
            auto r = Call("GET", "/v1/recs/pools", key);
            auto j = json::parse(r.body, nullptr, false);
            if (!j.is_discarded())
                for (const auto& p : j.value("items", json::array()))
                    if (p["name"] == pool && p["members"].size() == n) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }
    const std::string& admin() const { return admin_; }
    int port() const { return port_; }

private:
    /// The environment of one process: its own data folder when artifacts are in PostgreSQL.
    std::vector<std::pair<std::string, std::string>> Own(
        std::vector<std::pair<std::string, std::string>> env, const std::string& name) const {
        if (artifacts_ != "postgres") return env;
        for (auto& [k, v] : env)
            if (k == "RECS_DATA_DIR") v = data_ + "/" + name;
        return env;
    }
    static void Stop(pid_t p) {
        if (p <= 0) return;
        kill(p, SIGTERM);
        int st = 0;
        testing::WaitExit(p, &st, std::chrono::seconds(20));
    }
    testing::PrivateServices svc_;
    std::string artifacts_;
    std::string data_, admin_ = "pools-admin-key-0123456789abcdef0123456789",
                       token_ = "pools-internal-token-0123456789abcdef0123";
    int port_ = 0;
    std::vector<std::pair<std::string, std::string>> base_;
    pid_t api_ = -1, scheduler_ = -1;
    std::vector<pid_t> workers_;
};

/// A tenant with events, and its admin key.
std::pair<std::string, std::string> Tenant(Topology& t) {
    auto tenant =
        json::parse(
            t.Call("POST", "/v1/recs/admin/tenants", t.admin(), R"({"name":"p"})").body)["id"]
            .get<std::string>();
    auto key = json::parse(t.Call("POST", "/v1/recs/keys", t.admin(),
                                  R"({"name":"k","scopes":["admin"]})", {{"X-Tenant-ID", tenant}})
                               .body)["key"]
                   .get<std::string>();
    EXPECT_EQ(t.Call("POST", "/v1/recs/events/bulk", key, testing::ClusterEvents(20).dump()).status,
              200);
    return {tenant, key};
}

/// Trains a model through a job; returns {model id, version id}.
std::pair<std::string, std::string> Train(Topology& t,
                                          const std::string& key,
                                          const std::string& name) {
    auto m = json::parse(t.Call("POST", "/v1/recs/models", key,
                                json{{"name", name}, {"algorithm", "item_knn"}}.dump())
                             .body);
    std::string model = m.value("id", "");
    auto job = json::parse(
        t.Call("POST", "/v1/recs/jobs/train", key, json{{"model_id", model}, {"holdout", 0}}.dump())
            .body);
    for (int i = 0; i < 600; ++i) {
        auto j = json::parse(t.Call("GET", "/v1/recs/jobs/" + job.value("job_id", ""), key).body,
                             nullptr, false);
        if (!j.is_discarded() && j.value("status", "") == "succeeded")
            return {model, j["result"]["version_id"]};
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return {model, ""};
}

TEST(Pools, TwoPoolsInTheirOwnProcessesServeTheLoop) {
    Topology t;
    t.Worker("default");
    t.Worker("default");
    pid_t blue = t.Worker("blue");
    auto [tenant, key] = Tenant(t);
    ASSERT_TRUE(t.WaitMembers(key, "default", 2));
    ASSERT_TRUE(t.WaitMembers(key, "blue", 1));
    auto [m1, v1] = Train(t, key, "red-model");
    auto [m2, v2] = Train(t, key, "blue-model");
    ASSERT_FALSE(v1.empty());
    ASSERT_FALSE(v2.empty());
    ASSERT_EQ(
        t.Call("POST", "/v1/recs/models/" + m1 + "/versions/" + v1 + "/deploy", key, "{}").status,
        200);
    auto d2 = t.Call("POST", "/v1/recs/models/" + m2 + "/versions/" + v2 + "/deploy", key,
                     R"({"pool":"blue"})");
    ASSERT_EQ(d2.status, 200) << d2.body;
    // Each deployment's pool has its version loaded (the deploy loaded it on every member).
    auto pools = json::parse(t.Call("GET", "/v1/recs/pools", key).body);
    for (const auto& p : pools["items"])
        for (const auto& m : p["members"]) {
            std::set<std::string> loaded(m["loaded"].begin(), m["loaded"].end());
            if (p["name"] == "blue") {
                EXPECT_TRUE(loaded.count(v2));
                EXPECT_FALSE(loaded.count(v1));
            } else {
                EXPECT_TRUE(loaded.count(v1));
                EXPECT_FALSE(loaded.count(v2));
            }
        }
    for (const char* model : {"red-model", "blue-model"}) {
        auto r = t.Call("POST", "/v1/recs/predict", key,
                        json{{"user_id", "u0"}, {"model", model}}.dump());
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_FALSE(json::parse(r.body)["items"].empty()) << r.body;
    }
    EXPECT_EQ(t.Call("GET", "/v1/recs/item/a1/related?model=blue-model", key).status, 200);
    EXPECT_EQ(t.Call("POST", "/v1/recs/score", key,
                     R"({"user_id":"u0","model":"red-model","candidates":[{"item_id":"a1"}]})")
                  .status,
              200);
    // Pools are platform-wide: the admin key alone reads them too.
    auto listed = t.Call("GET", "/v1/recs/pools", t.admin());
    EXPECT_EQ(listed.status, 200) << listed.body;
    // A pool with no live member answers 503 with Retry-After at once, never a hang.
    t.Kill(blue);
    ASSERT_TRUE(t.WaitMembers(key, "blue", 0));
    // Health tells the pools as they are: blue is down (the api stays ready: events and the
    // other pools still work), default is up with its two members.
    bool seen = false;
    for (int i = 0; i < 100 && !seen; ++i) {
        auto h = json::parse(t.Call("GET", "/v1/recs/health", "").body, nullptr, false);
        const auto pools = h.is_object() ? h["checks"]["workers"]["pools"] : json();
        seen = pools.is_object() &&
               pools.value("blue", json::object()).value("status", "") == "down" &&
               pools.value("default", json::object()).value("status", "") == "up";
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(seen) << "health does not report the pools as they are";
    auto start = Clock::now();
    auto none = t.Call("POST", "/v1/recs/predict", key, R"({"user_id":"u0","model":"blue-model"})");
    auto took = Clock::now() - start;
    EXPECT_EQ(none.status, 503) << none.body;
    EXPECT_FALSE(none.Header("retry-after").empty());
    EXPECT_LT(took, std::chrono::seconds(1));
    EXPECT_EQ(t.Call("POST", "/v1/recs/models/" + m2 + "/versions/" + v2 + "/deploy", key,
                     R"({"pool":"ghost"})")
                  .status,
              503);
}

// Under steady load on a pool of two, one member is SIGKILLed; then a deploy and a rollback.
// Artifacts are in PostgreSQL and no two processes share a folder.
TEST(Pools, AMemberKilledUnderLoadAndDeploysUnderLoad) {
    Topology t("postgres");
    t.Worker("default");
    pid_t second = t.Worker("default");
    auto [tenant, key] = Tenant(t);
    ASSERT_TRUE(t.WaitMembers(key, "default", 2));
    auto [m, v1] = Train(t, key, "m");
    ASSERT_EQ(
        t.Call("POST", "/v1/recs/models/" + m + "/versions/" + v1 + "/deploy", key, "{}").status,
        200);
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::atomic<int64_t> last_fail_ms{0};
    auto t0 = Clock::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
        clients.emplace_back([&] {
            while (!stop) {
                auto r = t.Call("POST", "/v1/recs/predict", key, R"({"user_id":"u1","model":"m"})");
                if (r.status == 200) {
                    ++ok;
                } else {
                    ++failed;
                    last_fail_ms =
                        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
                            .count();
                }
            }
        });
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto killed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    t.Kill(second);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    int failed_after_kill = failed.load();
    // A deploy of a new version of the model, then its rollback, under the same load.
    auto job = json::parse(
        t.Call("POST", "/v1/recs/jobs/train", key, json{{"model_id", m}, {"holdout", 0}}.dump())
            .body);
    std::string v_new;
    for (int i = 0; i < 600 && v_new.empty(); ++i) {
        auto j = json::parse(
            t.Call("GET", "/v1/recs/jobs/" + job["job_id"].get<std::string>(), key).body, nullptr,
            false);
        if (!j.is_discarded() && j.value("status", "") == "succeeded")
            v_new = j["result"]["version_id"];
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(v_new.empty());
    int before_deploy = failed.load();
    EXPECT_EQ(
        t.Call("POST", "/v1/recs/models/" + m + "/versions/" + v_new + "/deploy", key, "{}").status,
        200);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_EQ(t.Call("POST", "/v1/recs/models/" + m + "/versions/" + v_new + "/rollback", key, "{}")
                  .status,
              200);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    stop = true;
    for (auto& c : clients) c.join();
    std::printf(
        "[ figures  ] pool of two, one SIGKILLed under load: %d answered, %d failed (killed at "
        "%lld "
        "ms, last failure at %lld ms); failures during deploy and rollback: %d\n",
        ok.load(), failed.load(), static_cast<long long>(killed_ms),
        static_cast<long long>(last_fail_ms.load()), failed.load() - before_deploy);
    EXPECT_LE(failed_after_kill, 4) << "more failures than requests in flight on the member";
    EXPECT_EQ(failed.load() - before_deploy, 0) << "a deploy or rollback failed predictions";
    EXPECT_GT(ok.load(), 100);
}

}  // namespace
}  // namespace recs
