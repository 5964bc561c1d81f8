// recsplane: one binary, the roles are subcommands. main only wires
// configuration → connections → repositories → roles.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
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

/// The SHA-256 of the platform admin key: from RECS_ADMIN_KEY, or generated once, printed once
/// and only its hash stored.
std::string AdminKeyHash(const Config& cfg, recs::store::PgPool& pg) {
    if (cfg.admin_key) return recs::core::Sha256Hex(*cfg.admin_key);
    auto settings = recs::store::MakePgSettingsRepository(pg);
    if (auto h = settings->Get("admin_key_hash")) return *h;
    std::string key = "rk_admin_" + recs::core::RandomToken(40);
    std::string hash = recs::core::Sha256Hex(key);
    std::string stored = settings->PutIfAbsent("admin_key_hash", hash);
    if (stored == hash) {
        std::printf(
            "Generated the platform admin key (shown once; only its hash is stored):\n  %s\n",
            key.c_str());
        std::fflush(stdout);
    }
    return stored;
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

    recs::store::PgPool pg(cfg.database_url, cfg.pg_pool_size);
    int applied = recs::store::ApplyMigrations(pg);
    if (args.command == "migrate") {
        std::printf("migrations applied: %d\n", applied);
        return 0;
    }
    recs::store::RedisClient redis(cfg.redis_url, 8);

    std::unique_ptr<recs::workers::Worker> worker;
    std::unique_ptr<recs::scheduler::Scheduler> scheduler;
    std::unique_ptr<recs::api::Server> server;
    if (args.command == "worker" || args.command == "all") {
        worker = std::make_unique<recs::workers::Worker>(pg, redis, args.pool, cfg);
        worker->Start();
    }
    if (args.command == "scheduler" || args.command == "all") {
        scheduler = std::make_unique<recs::scheduler::Scheduler>(pg, redis, cfg);
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
