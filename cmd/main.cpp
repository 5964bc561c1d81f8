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
#include "recs/store/tenant_store.hpp"
#include "recs/wiring/platform.hpp"
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
    "  --pool NAME (worker)  --serve-port N (worker: where it serves its pool's predictions)\n";

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
        else if (f == "--serve-port")
            env["RECS_SERVE_PORT"] = value();
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
std::string AdminKeyHash(const Config& cfg, recs::store::SettingsRepository& settings) {
    if (cfg.admin_key) return recs::core::Sha256Hex(*cfg.admin_key);
    if (auto h = settings.Get("admin_key_hash")) return *h;
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
    std::string stored = settings.PutIfAbsent("admin_key_hash", hash);
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

    if (args.command == "migrate") {
        recs::store::PgPool pg(cfg.database_url, recs::store::PgPoolOptions{.size = 1});
        std::printf("migrations applied: %d\n", recs::store::ApplyMigrations(pg));
        return 0;
    }
    // The composition root: every connection and store is built here, once; the roles get
    // interfaces.
    bool all = args.command == "all";
    recs::wiring::Platform platform(cfg, {.api = all || args.command == "api",
                                          .scheduler = all || args.command == "scheduler",
                                          .worker = all || args.command == "worker"});
    recs::store::ApplyMigrations(platform.pg());
    {
        // Cursors are sealed with one key for the whole platform (every api replica).
        auto& settings = platform.settings();
        auto key = settings.Get("cursor_key");
        if (!key) key = settings.PutIfAbsent("cursor_key", recs::core::RandomHex(16));
        recs::core::SetSealKey(*key);
    }

    std::unique_ptr<recs::workers::Worker> worker;
    std::unique_ptr<recs::scheduler::Scheduler> scheduler;
    std::unique_ptr<recs::api::Server> server;
    if (all || args.command == "worker") {
        // `recsplane all` serves from its in-process pool; a worker process serves its pool
        // to the api over HTTP when the internal token is set.
        worker = std::make_unique<recs::workers::Worker>(platform.worker_stores(/*serve=*/!all),
                                                         args.pool, cfg);
        worker->Start();
    }
    if (all || args.command == "scheduler") {
        scheduler = std::make_unique<recs::scheduler::Scheduler>(platform.scheduler_stores(), cfg);
        scheduler->Start();
    }
    if (all || args.command == "api") {
        recs::api::ServerDeps deps;
        deps.stores = platform.api_stores();
        deps.admin_key_hash = AdminKeyHash(cfg, platform.settings());
        recs::workers::Worker* w = worker.get();
        if (w) {
            deps.pool = &w->pool();  // recsplane all: the pool in this process serves
            deps.worker_status = [w] { return w->Status(); };
        } else if (auto* remote = platform.remote_pool()) {
            // recsplane api: the members of the pools, found in the registry.
            deps.pool = remote;
            deps.worker_status = [remote] { return remote->Status(); };
        } else {
            recs::core::Log(recs::core::LogLevel::kWarn,
                            "no prediction pool: set RECS_INTERNAL_TOKEN (the same on the api and "
                            "the workers) for the api to use the workers' pools");
            deps.worker_status = [] {
                return nlohmann::json{{"status", "down"}, {"pools", nlohmann::json::object()}};
            };
        }
        deps.validate_model = ValidateModel;
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
