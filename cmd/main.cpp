// recsplane: one binary, the roles are subcommands. main only wires
// configuration → connections → repositories → roles.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval_command.hpp"
#include "recs/api/server.hpp"
#include "recs/core/config.hpp"
#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"
#include "recs/engine/model.hpp"
#include "recs/scheduler/scheduler.hpp"
#include "recs/store/pg_pool.hpp"
#include "recs/store/redis.hpp"
#include "recs/store/tenant_store.hpp"
#include "recs/workers/in_process_pool.hpp"
#include "recs/workers/worker.hpp"

namespace {

using recs::core::Config;

constexpr const char* kUsage =
    "usage: recsplane <command> [options]\n"
    "commands:\n"
    "  api         serve the /v1/recs HTTP API\n"
    "  scheduler   run the job scheduler\n"
    "  worker      run a worker of a pool (--pool NAME)\n"
    "  all         api + scheduler + an in-process worker pool in one process\n"
    "  migrate     apply database migrations and exit\n"
    "  eval FILE   evaluate algorithms offline on a ratings file (recsplane eval --help)\n"
    "options (override RECS_* environment variables):\n"
    "  --database-url URL  --redis-url URL  --port N  --data-dir DIR  --log-level LEVEL\n"
    "  --pool NAME (worker)\n";

struct Args {
    std::string command;
    std::string pool = "default";
};

/// Reads flags into the environment map so that one parser (ConfigFromEnv) validates both.
Args ParseArgs(int argc, char** argv, std::map<std::string, std::string>& env) {
    Args a;
    a.command = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string f = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw recs::core::Error(recs::core::ErrorCode::kInvalidArgument,
                                        "flag " + f + " needs a value");
            return argv[++i];
        };
        if (f == "--database-url")
            env["RECS_DATABASE_URL"] = value();
        else if (f == "--redis-url")
            env["RECS_REDIS_URL"] = value();
        else if (f == "--port")
            env["RECS_HTTP_PORT"] = value();
        else if (f == "--data-dir")
            env["RECS_DATA_DIR"] = value();
        else if (f == "--log-level")
            env["RECS_LOG_LEVEL"] = value();
        else if (f == "--pool")
            a.pool = value();
        else
            throw recs::core::Error(recs::core::ErrorCode::kInvalidArgument, "unknown flag " + f);
    }
    return a;
}

int Fail(const std::string& line) {
    std::fprintf(stderr, "recsplane: %s\n", line.c_str());
    return 1;
}

/// The SHA-256 of the platform admin key: from RECS_ADMIN_KEY, or generated once and written to
/// RECS_DATA_DIR/admin_key, readable by the owner only. Only its hash is stored, and the key
/// never reaches the log (anyone who reads pod logs would become platform admin).
std::string AdminKeyHash(const Config& cfg, recs::store::PgPool& pg) {
    if (cfg.admin_key) return recs::core::Sha256Hex(*cfg.admin_key);
    auto settings = recs::store::MakePgSettingsRepository(pg);
    if (auto h = settings->Get("admin_key_hash")) return *h;
    std::string key = "rk_admin_" + recs::core::RandomToken(40);
    std::string hash = recs::core::Sha256Hex(key);
    std::filesystem::create_directories(cfg.data_dir);
    std::string path = (std::filesystem::path(cfg.data_dir) / "admin_key").string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        throw recs::core::Error(recs::core::ErrorCode::kUnavailable,
                                "cannot write the generated admin key to " + path + ": " +
                                    std::strerror(errno) + " (set RECS_ADMIN_KEY instead)");
    std::string line = key + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) throw recs::core::Error(recs::core::ErrorCode::kUnavailable, "cannot write " + path);
    std::string stored = settings->PutIfAbsent("admin_key_hash", hash);
    if (stored == hash) {
        recs::core::Log(recs::core::LogLevel::kWarn,
                        "generated the platform admin key; it is in the file named here, "
                        "readable by its owner only: move it to a secret and delete the file",
                        {{"file", path}});
    } else {
        std::filesystem::remove(path);  // another process generated it first
    }
    return stored;
}

recs::store::PgPoolOptions PoolOptions(const Config& cfg, int size, const char* name) {
    recs::store::PgPoolOptions o;
    o.size = size;
    o.acquire_timeout_ms = cfg.pg_acquire_timeout_ms;
    o.statement_timeout_ms = cfg.pg_statement_timeout_ms;
    o.application_name = std::string("recsplane-") + name;
    return o;
}

recs::store::RedisOptions RedisOpts(const Config& cfg, int size) {
    recs::store::RedisOptions o;
    o.size = size;
    o.connect_timeout_ms = cfg.redis_timeout_ms;
    o.io_timeout_ms = cfg.redis_timeout_ms;
    o.acquire_timeout_ms = cfg.redis_timeout_ms;
    return o;
}

/// The engine's validation of an algorithm and its hyperparameters: training on no data
/// checks every value and costs nothing.
void ValidateModel(const std::string& algorithm, const nlohmann::json& hyperparameters) {
    recs::engine::Train(algorithm, hyperparameters, {});
}

int Run(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (std::strcmp(argv[1], "eval") == 0) return recs::cmd::RunEvalCommand(argc - 1, argv + 1);
    if (std::strcmp(argv[1], "--version") == 0) {
        std::printf("recsplane %s\n", RECS_VERSION);
        return 0;
    }

    auto env = recs::core::ProcessEnv();
    Args args = ParseArgs(argc, argv, env);
    const std::vector<std::string> roles = {"api", "scheduler", "worker", "all", "migrate"};
    if (std::find(roles.begin(), roles.end(), args.command) == roles.end()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    Config cfg = recs::core::ConfigFromEnv(env);
    recs::core::SetLogLevel(cfg.log_level);
    if (cfg.database_url.empty()) return Fail("RECS_DATABASE_URL is not set");
    if (args.command != "migrate" && cfg.redis_url.empty())
        return Fail("RECS_REDIS_URL is not set");

    // Block the stop signals in every thread; main waits for them with sigwait.
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);

    recs::store::PgPool pg(cfg.database_url,
                           PoolOptions(cfg, cfg.pg_pool_size, args.command.c_str()));
    int applied = recs::store::ApplyMigrations(pg);
    if (args.command == "migrate") {
        std::printf("migrations applied: %d\n", applied);
        return 0;
    }
    {
        // Cursors are sealed with one key for the whole platform (every api replica).
        auto settings = recs::store::MakePgSettingsRepository(pg);
        auto key = settings->Get("cursor_key");
        if (!key) key = settings->PutIfAbsent("cursor_key", recs::core::RandomHex(16));
        recs::core::SetSealKey(*key);
    }
    recs::store::RedisClient redis(cfg.redis_url, RedisOpts(cfg, 8));
    // Each kind of traffic on connections of its own, so that none starves another: requests
    // (pg), job data (training scans), and the queue's control traffic (leases, heartbeats,
    // the scheduler), plus a Redis connection per job slot for blocking pops.
    std::unique_ptr<recs::store::PgPool> pg_control, pg_jobs;
    std::unique_ptr<recs::store::RedisClient> redis_blocking;
    bool runs_worker = args.command == "worker" || args.command == "all";
    bool runs_scheduler = args.command == "scheduler" || args.command == "all";
    if (runs_worker || runs_scheduler)
        pg_control =
            std::make_unique<recs::store::PgPool>(cfg.database_url, PoolOptions(cfg, 3, "control"));
    if (runs_worker) {
        pg_jobs = std::make_unique<recs::store::PgPool>(
            cfg.database_url, PoolOptions(cfg, cfg.worker_concurrency + 2, "jobs"));
        auto o = RedisOpts(cfg, cfg.worker_concurrency);
        o.io_timeout_ms = cfg.redis_timeout_ms + 1000;  // more than a pop's block (500 ms)
        redis_blocking = std::make_unique<recs::store::RedisClient>(cfg.redis_url, o);
    }

    std::unique_ptr<recs::workers::Worker> worker;
    std::unique_ptr<recs::scheduler::Scheduler> scheduler;
    std::unique_ptr<recs::api::Server> server;
    if (runs_worker) {
        worker = std::make_unique<recs::workers::Worker>(
            recs::workers::WorkerConnections{pg_jobs.get(), pg_control.get(), redis_blocking.get()},
            args.pool, cfg);
        worker->Start();
    }
    if (runs_scheduler) {
        scheduler = std::make_unique<recs::scheduler::Scheduler>(*pg_control, redis, cfg);
        scheduler->Start();
    }
    if (args.command == "api" || args.command == "all") {
        recs::api::ServerDeps deps;
        deps.pg = &pg;
        deps.redis = &redis;
        deps.admin_key_hash = AdminKeyHash(cfg, pg);
        recs::workers::Worker* w = worker.get();
        deps.pool = w ? &w->pool() : nullptr;
        deps.validate_model = ValidateModel;
        deps.worker_status = [w]() -> nlohmann::json {
            // A separate api process sees remote pools; until pool discovery exists it reports
            // the in-process pool only.
            if (w) return w->Status();
            return {{"status", "up"}, {"pools", nlohmann::json::object()}};
        };
        server = std::make_unique<recs::api::Server>(deps, cfg);
        server->Start();
    }
    recs::core::Log(recs::core::LogLevel::kInfo, "started", {{"role", args.command}});

    int sig = 0;
    sigwait(&stop_set, &sig);
    recs::core::Log(recs::core::LogLevel::kInfo, "stopping", {{"signal", sig}});
    if (server) server->DrainAndStop();
    if (scheduler) scheduler->Stop();
    if (worker) worker->Stop();
    recs::core::Log(recs::core::LogLevel::kInfo, "stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return Run(argc, argv);
    } catch (const recs::core::Error& e) {
        return Fail(e.detail());
    } catch (const std::exception& e) {
        return Fail(std::string("fatal: ") + e.what());
    }
}
