// The real binary: SIGTERM drains in-flight requests; a missing database fails fast.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <future>
#include <thread>

#include "recs/store/pg_pool.hpp"
#include "recs/store/testing.hpp"
#include "support/process.hpp"
#include "support/test_env.hpp"

namespace recs {
namespace {

using Clock = std::chrono::steady_clock;

using testing::FreePort;
using testing::WaitExit;

pid_t Spawn(const std::vector<std::pair<std::string, std::string>>& env,
            const std::string& cmd,
            const std::string& log) {
    return testing::SpawnRecsplane({cmd}, env, log);
}

TEST(Lifecycle, SigtermDrainsInFlightRequests) {
    RECS_REQUIRE_SERVICES();
    auto& db = testing::TestDatabase::Get();
    db.Truncate();
    int port = FreePort();
    std::string admin = "lifecycle-admin-key-of-at-least-32-chars";
    pid_t pid = Spawn({{"RECS_DATABASE_URL", db.dsn()},
                       {"RECS_REDIS_URL", testing::RedisUrl()},
                       {"RECS_ADMIN_KEY", admin},
                       {"RECS_HTTP_PORT", std::to_string(port)},
                       {"RECS_HTTP_HOST", "127.0.0.1"},
                       {"RECS_DATA_DIR", "/tmp"}},
                      "all", "/tmp/recs-lifecycle.log");
    // Wait for readiness.
    bool ready = false;
    for (int i = 0; i < 500 && !ready; ++i) {
        try {
            ready = testing::Http(port, "GET", "/v1/recs/health").status == 200;
        } catch (...) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ASSERT_TRUE(ready) << "server did not become ready";

    // Hold a lock so that a tenant creation stays in flight.
    auto lock = std::make_unique<store::TableLockForTesting>(db.dsn(), "tenants");
    auto inflight = std::async(std::launch::async, [&] {
        return testing::Http(port, "POST", "/v1/recs/admin/tenants", R"({"name":"drain"})",
                             {{"Authorization", "Bearer " + admin}});
    });
    // Until PostgreSQL shows the request waiting on the lock.
    bool waiting = false;
    for (int i = 0; i < 500 && !waiting; ++i) {
        auto n = store::QueryForTesting(
            db.pool(), "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
        waiting = n.at(0) != "0";
        if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(waiting);
    kill(pid, SIGTERM);
    // Readiness fails first while the request is still in flight.
    int health = 0;
    for (int i = 0; i < 200 && health != 503; ++i) {
        health = testing::Http(port, "GET", "/v1/recs/health").status;
        if (health != 503) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(health, 503);
    lock->Release();
    auto resp = inflight.get();
    EXPECT_EQ(resp.status, 201) << resp.body;
    int status = 0;
    ASSERT_TRUE(WaitExit(pid, &status, std::chrono::seconds(20)));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Lifecycle, UnreachableDatabaseFailsFastWithOneLine) {
    std::string log = "/tmp/recs-nodb.log";
    auto start = Clock::now();
    pid_t pid = Spawn({{"RECS_DATABASE_URL", "postgresql://recs@127.0.0.1:1/recs"},
                       {"RECS_REDIS_URL", "redis://127.0.0.1:1"}},
                      "all", log);
    int status = 0;
    ASSERT_TRUE(WaitExit(pid, &status, std::chrono::seconds(15))) << "hung";
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    std::ifstream f(log);
    std::string all((std::istreambuf_iterator<char>(f)), {});
    EXPECT_NE(all.find("PostgreSQL"), std::string::npos) << all;
    EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 1) << all;
}

// M15: without RECS_ADMIN_KEY, the generated key goes to a file only its owner reads, never to
// the log.
TEST(Lifecycle, AGeneratedAdminKeyIsWrittenToAFileNotTheLog) {
    RECS_REQUIRE_SERVICES();
    auto& db = testing::TestDatabase::Get();
    db.Truncate();
    int port = FreePort();
    char tmpl[] = "/tmp/recs-adminkey-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string log = dir + ".log";
    pid_t pid = Spawn({{"RECS_DATABASE_URL", db.dsn()},
                       {"RECS_REDIS_URL", testing::RedisUrl()},
                       {"RECS_ADMIN_KEY", ""},
                       {"RECS_HTTP_PORT", std::to_string(port)},
                       {"RECS_HTTP_HOST", "127.0.0.1"},
                       {"RECS_DATA_DIR", dir}},
                      "api", log);
    bool ready = false;
    for (int i = 0; i < 500 && !ready; ++i) {
        try {
            ready = testing::Http(port, "GET", "/v1/recs/health").status != 0;
        } catch (...) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ASSERT_TRUE(ready);
    std::string path = dir + "/admin_key";
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0) << "no key file";
    EXPECT_EQ(st.st_mode & 0777, 0600);
    std::ifstream f(path);
    std::string key;
    std::getline(f, key);
    EXPECT_GE(key.size(), 32u);
    auto r = testing::Http(port, "GET", "/v1/recs/admin/tenants", "",
                           {{"Authorization", "Bearer " + key}});
    EXPECT_EQ(r.status, 200) << r.body;
    kill(pid, SIGTERM);
    int status = 0;
    WaitExit(pid, &status, std::chrono::seconds(20));
    std::ifstream lf(log);
    std::string all((std::istreambuf_iterator<char>(lf)), {});
    EXPECT_EQ(all.find(key), std::string::npos) << "the admin key is in the log";
    EXPECT_NE(all.find(path), std::string::npos) << "the log does not say where the key is";
    std::system(("rm -rf " + dir + " " + log).c_str());
}

TEST(Lifecycle, MissingConfigurationIsOneClearLine) {
    std::string log = "/tmp/recs-noconf.log";
    pid_t pid = Spawn({{"RECS_DATABASE_URL", ""}}, "api", log);
    int status = 0;
    ASSERT_TRUE(WaitExit(pid, &status, std::chrono::seconds(5)));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    std::ifstream f(log);
    std::string all((std::istreambuf_iterator<char>(f)), {});
    EXPECT_NE(all.find("RECS_DATABASE_URL"), std::string::npos) << all;
}

}  // namespace
}  // namespace recs

namespace recs {
namespace {

// Slow database work never delays health: with requests stuck on a lock, filling handler
// threads, /health still answers (from the monitor's cached snapshot on the reactor).
TEST(Lifecycle, SlowQueriesDoNotDelayHealth) {
    RECS_REQUIRE_SERVICES();
    auto& db = testing::TestDatabase::Get();
    db.Truncate();
    auto cfg = testing::TestServer::DefaultConfig();
    cfg.handler_threads = 4;
    testing::TestServer srv(cfg);
    auto lock = std::make_unique<store::TableLockForTesting>(db.dsn(), "tenants");
    std::vector<std::future<testing::HttpResponse>> stuck;
    for (int i = 0; i < 8; ++i)
        stuck.push_back(std::async(std::launch::async, [&, i] {
            return srv.Call("POST", "/v1/recs/admin/tenants", srv.admin_key(),
                            "{\"name\":\"slow" + std::to_string(i) + "\"}");
        }));
    bool waiting = false;
    for (int i = 0; i < 500 && !waiting; ++i) {
        auto n = store::QueryForTesting(
            db.pool(), "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
        waiting = std::stoi(n.at(0)) >= 4;  // every handler thread is blocked
        if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(waiting);
    for (int i = 0; i < 20; ++i) {
        auto h = srv.Call("GET", "/v1/recs/health", "");
        EXPECT_EQ(h.status, 200);
    }
    // The stuck requests are all still waiting: health did not wait behind them.
    for (auto& f : stuck)
        EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
    lock->Release();
    for (auto& f : stuck) EXPECT_EQ(f.get().status, 201);
}

}  // namespace
}  // namespace recs
