// A worker killed mid-job (SIGKILL of a real `recsplane worker` process): the lease expires,
// the scheduler re-queues the job, and another worker finishes it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "recs/scheduler/scheduler.hpp"
#include "recs/wiring/platform.hpp"
#include "support/test_env.hpp"
#include "support/training_helpers.hpp"

namespace recs {
namespace {

using nlohmann::json;

pid_t SpawnWorker(const std::string& log) {
    auto& db = testing::TestDatabase::Get();
    pid_t pid = fork();
    if (pid == 0) {
        setenv("RECS_DATABASE_URL", db.dsn().c_str(), 1);
        setenv("RECS_REDIS_URL", testing::RedisUrl().c_str(), 1);
        setenv("RECS_JOB_LEASE_MS", "1500", 1);
        setenv("RECS_JOB_HEARTBEAT_MS", "250", 1);
        const char* d = getenv("RECS_TEST_DATA_DIR");
        setenv("RECS_DATA_DIR", d ? d : "/tmp", 1);
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        dup2(fd, 1);
        execl(RECS_BINARY_PATH, "recsplane", "worker", "--pool", "default", nullptr);
        _exit(127);
    }
    return pid;
}

/// A tenant's events and an iALS model slow enough to train for a few seconds.
json SlowModel(testing::TestServer& srv, const std::string& key) {
    std::mt19937 rng(7);
    json events = json::array();
    for (int u = 0; u < 3000; ++u)
        for (int k = 0; k < 12; ++k)
            events.push_back({{"type", "click"},
                              {"user_id", "u" + std::to_string(u)},
                              {"item_id", "i" + std::to_string(rng() % 800)}});
    for (size_t off = 0; off < events.size(); off += 6000) {
        json part(events.begin() + static_cast<long>(off),
                  events.begin() + static_cast<long>(std::min(events.size(), off + 6000)));
        EXPECT_EQ(srv.Call("POST", "/v1/recs/events/bulk", key, part.dump()).status, 200);
    }
    return srv.Json(srv.Call(
        "POST", "/v1/recs/models", key,
        R"({"name":"slow","algorithm":"ials","hyperparameters":{"factors":96,"epochs":120,"threads":1}})"));
}

/// Polls the job until a worker leased it.
json WaitRunning(testing::TestServer& srv, const std::string& key, const std::string& id) {
    json state;
    for (int i = 0; i < 600; ++i) {
        state = srv.Json(srv.Call("GET", "/v1/recs/jobs/" + id, key));
        if (state["status"] != "queued") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return state;
}

TEST(WorkerCrash, KilledWorkersJobIsFinishedByAnother) {
    RECS_REQUIRE_SERVICES();
    testing::TestDatabase::Get().Truncate();
    auto cfg = testing::TestServer::DefaultConfig();
    testing::TestServer srv(cfg, /*roles=*/false);
    scheduler::Scheduler sched(srv.platform().scheduler_stores(), cfg);
    sched.Start();
    auto tenant = srv.CreateTenant("crash");
    auto key = srv.CreateKey(tenant, {"admin"});
    // Enough data for training to take a few seconds.
    auto model = SlowModel(srv, key);
    pid_t first = SpawnWorker("/tmp/recs-worker-a.log");
    auto job = srv.Json(srv.Call("POST", "/v1/recs/jobs/train", key,
                                 json{{"model_id", model["id"]}, {"holdout", 0}}.dump()));
    std::string id = job["job_id"];
    json state = WaitRunning(srv, key, id);
    ASSERT_EQ(state["status"], "running") << state.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // well inside training
    kill(first, SIGKILL);
    waitpid(first, nullptr, 0);
    state = srv.Json(srv.Call("GET", "/v1/recs/jobs/" + id, key));
    ASSERT_EQ(state["status"], "running") << "the job finished before the kill; make it slower";
    pid_t second = SpawnWorker("/tmp/recs-worker-b.log");
    auto done = testing::WaitJob(srv, key, id, 180);
    kill(second, SIGTERM);
    waitpid(second, nullptr, 0);
    sched.Stop();
    EXPECT_EQ(done["status"], "succeeded") << done.dump();
    EXPECT_EQ(done["attempts"], 2) << done.dump();
    auto versions = srv.Json(
        srv.Call("GET", "/v1/recs/models/" + model["id"].get<std::string>() + "/versions", key));
    EXPECT_EQ(versions["items"].size(), 1u);  // one version despite two deliveries
}

// M12: a worker stopped with SIGTERM gives its running job back at once, without counting the
// attempt; another worker then runs it (the lease never has to expire).
TEST(WorkerCrash, SigtermGivesTheJobBack) {
    RECS_REQUIRE_SERVICES();
    testing::TestDatabase::Get().Truncate();
    auto cfg = testing::TestServer::DefaultConfig();
    cfg.job_lease_ms = 60000;  // an expiry would take a minute: the release must not wait for it
    testing::TestServer srv(cfg, /*roles=*/false);
    scheduler::Scheduler sched(srv.platform().scheduler_stores(), cfg);
    sched.Start();
    auto tenant = srv.CreateTenant("stop");
    auto key = srv.CreateKey(tenant, {"admin"});
    auto model = SlowModel(srv, key);
    pid_t first = SpawnWorker("/tmp/recs-worker-stop-a.log");
    auto job = srv.Json(srv.Call("POST", "/v1/recs/jobs/train", key,
                                 json{{"model_id", model["id"]}, {"holdout", 0}}.dump()));
    std::string id = job["job_id"];
    json state = WaitRunning(srv, key, id);
    ASSERT_EQ(state["status"], "running") << state.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill(first, SIGTERM);
    int status = 0;
    auto stop_start = std::chrono::steady_clock::now();
    waitpid(first, &status, 0);
    auto stop_took = std::chrono::steady_clock::now() - stop_start;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_LT(stop_took, std::chrono::seconds(20));
    state = srv.Json(srv.Call("GET", "/v1/recs/jobs/" + id, key));
    EXPECT_EQ(state["status"], "queued") << state.dump();
    EXPECT_EQ(state["attempts"], 0) << "the interrupted attempt was counted";
    pid_t second = SpawnWorker("/tmp/recs-worker-stop-b.log");
    auto done = testing::WaitJob(srv, key, id, 180);
    kill(second, SIGTERM);
    waitpid(second, nullptr, 0);
    sched.Stop();
    EXPECT_EQ(done["status"], "succeeded") << done.dump();
    EXPECT_EQ(done["attempts"], 1) << done.dump();
}

}  // namespace
}  // namespace recs
