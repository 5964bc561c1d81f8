#include "support/process.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"

namespace recs::testing {
namespace {

using Clock = std::chrono::steady_clock;

void Shell(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

std::string Services() { return std::string(RECS_SOURCE_DIR) + "/scripts/services.sh"; }

}  // namespace

int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

pid_t SpawnRecsplane(const std::vector<std::string>& args,
                     const std::vector<std::pair<std::string, std::string>>& env,
                     const std::string& log) {
    pid_t pid = fork();
    if (pid == 0) {
        for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        dup2(fd, 1);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>("recsplane"));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(RECS_BINARY_PATH, argv.data());
        _exit(127);
    }
    return pid;
}

bool WaitExit(pid_t pid, int* status, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (waitpid(pid, status, WNOHANG) == pid) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return false;
}

PrivateServices::PrivateServices(bool redis_persistent) : redis_persistent_(redis_persistent) {
    char tmpl[] = "/tmp/recs-private-XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);
    pg_port_ = FreePort();
    redis_port_ = FreePort();
    Shell("bash -c '. " + Services() + " && pg_start " + dir_ + "/pg " + std::to_string(pg_port_) +
          " test' >/dev/null");
    StartRedis();
}

PrivateServices::~PrivateServices() {
    ThawPostgres();
    std::system(
        ("bash -c '. " + Services() + " && pg_stop " + dir_ + "/pg' >/dev/null 2>&1").c_str());
    std::system(("redis-cli -p " + std::to_string(redis_port_) + " shutdown nosave >/dev/null 2>&1")
                    .c_str());
    std::system(("rm -rf " + dir_).c_str());
}

std::string PrivateServices::pg_dsn() const {
    return "postgresql://recs@127.0.0.1:" + std::to_string(pg_port_) + "/recs";
}

std::string PrivateServices::redis_url() const {
    return "redis://127.0.0.1:" + std::to_string(redis_port_);
}

std::vector<pid_t> PrivateServices::PostgresPids() const {
    std::vector<pid_t> out;
    std::ifstream f(dir_ + "/pg/postmaster.pid");
    pid_t master = 0;
    f >> master;
    if (master <= 0) return out;
    out.push_back(master);
    DIR* d = opendir("/proc");
    while (dirent* e = d ? readdir(d) : nullptr) {
        pid_t pid = std::atoi(e->d_name);
        if (pid <= 0) continue;
        std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
        std::string line;
        std::getline(stat, line);
        auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        char state = 0;
        pid_t ppid = 0;
        if (sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == master)
            out.push_back(pid);
    }
    if (d) closedir(d);
    return out;
}

void PrivateServices::FreezePostgres() {
    // The postmaster first, so that it forks no backend that would escape.
    auto pids = PostgresPids();
    for (pid_t p : pids) kill(p, SIGSTOP);
    frozen_ = pids;
}

void PrivateServices::ThawPostgres() {
    for (pid_t p : frozen_) kill(p, SIGCONT);
    frozen_.clear();
}

void PrivateServices::KillRedis() {
    std::ifstream f(dir_ + "/redis/redis.pid");
    pid_t pid = 0;
    f >> pid;
    if (pid > 0) kill(pid, SIGKILL);
    for (int i = 0; i < 100 && pid > 0 && kill(pid, 0) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    unlink((dir_ + "/redis/redis.pid").c_str());
}

void PrivateServices::StartRedis() {
    std::string rd = dir_ + "/redis";
    mkdir(rd.c_str(), 0755);
    std::string persist = redis_persistent_ ? "--appendonly yes --appendfsync always --save ''"
                                            : "--appendonly no --save ''";
    Shell("redis-server --port " + std::to_string(redis_port_) + " --bind 127.0.0.1 --dir " + rd +
          " --daemonize yes --pidfile " + rd + "/redis.pid --logfile " + rd + "/redis.log " +
          persist + " >/dev/null");
    for (int i = 0; i < 100; ++i) {
        if (std::system(
                ("redis-cli -p " + std::to_string(redis_port_) + " ping 2>/dev/null | grep -q PONG")
                    .c_str()) == 0)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("redis did not start");
}

RecsplaneProcess::RecsplaneProcess(const std::string& pg_dsn,
                                   const std::string& redis_url,
                                   std::vector<std::pair<std::string, std::string>> extra_env) {
    port_ = FreePort();
    char tmpl[] = "/tmp/recs-proc-XXXXXX";
    data_dir_ = mkdtemp(tmpl);
    log_ = data_dir_ + ".log";
    std::vector<std::pair<std::string, std::string>> env = {
        {"RECS_DATABASE_URL", pg_dsn},    {"RECS_REDIS_URL", redis_url},
        {"RECS_ADMIN_KEY", admin_key_},   {"RECS_HTTP_PORT", std::to_string(port_)},
        {"RECS_HTTP_HOST", "127.0.0.1"},  {"RECS_DATA_DIR", data_dir_},
        {"RECS_JOB_HEARTBEAT_MS", "200"}, {"RECS_SCHEDULER_TICK_MS", "100"},
        {"RECS_LOG_LEVEL", "warn"}};
    for (auto& e : extra_env) env.push_back(std::move(e));
    pid_ = SpawnRecsplane({"all"}, env, log_);
    for (int i = 0; i < 500; ++i) {
        try {
            if (Http(port_, "GET", "/v1/recs/health").status == 200) return;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("recsplane did not become ready; see " + log_);
}

RecsplaneProcess::~RecsplaneProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        int status = 0;
        WaitExit(pid_, &status, std::chrono::seconds(30));
    }
    std::system(("rm -rf " + data_dir_).c_str());
}

}  // namespace recs::testing
