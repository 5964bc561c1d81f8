#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace recs::testing {

/// A free TCP port on loopback (bound once, then released).
int FreePort();

/// Starts the real recsplane binary: `args` after the program name, `env` added to a copy of
/// this process's environment, stdout and stderr to `log`. Returns its pid.
pid_t SpawnRecsplane(const std::vector<std::string>& args,
                     const std::vector<std::pair<std::string, std::string>>& env,
                     const std::string& log);

/// Waits for the process to exit; false (after SIGKILL) when it did not within `limit`.
bool WaitExit(pid_t pid, int* status, std::chrono::milliseconds limit);

/// A PostgreSQL and a Redis of the test's own, in a temporary folder on free ports (started
/// through scripts/services.sh), for tests that stop, freeze or kill them.
class PrivateServices {
public:
    /// redis_persistent: append-only file with fsync on every write, so that a killed Redis
    /// comes back with what it acknowledged.
    explicit PrivateServices(bool redis_persistent = false);
    ~PrivateServices();
    PrivateServices(const PrivateServices&) = delete;
    PrivateServices& operator=(const PrivateServices&) = delete;

    std::string pg_dsn() const;
    std::string redis_url() const;
    int redis_port() const { return redis_port_; }
    const std::string& dir() const { return dir_; }

    /// SIGSTOP / SIGCONT to the postmaster and every backend.
    void FreezePostgres();
    void ThawPostgres();
    /// SIGKILL of redis-server, and a start on the same port (same folder).
    void KillRedis();
    void StartRedis();

private:
    std::vector<pid_t> PostgresPids() const;
    std::string dir_;
    int pg_port_ = 0;
    int redis_port_ = 0;
    bool redis_persistent_ = false;
    std::vector<pid_t> frozen_;
};

/// `recsplane all` as a real process against given services, ready when constructed.
class RecsplaneProcess {
public:
    RecsplaneProcess(const std::string& pg_dsn,
                     const std::string& redis_url,
                     std::vector<std::pair<std::string, std::string>> extra_env = {});
    ~RecsplaneProcess();
    int port() const { return port_; }
    const std::string& admin_key() const { return admin_key_; }
    const std::string& log() const { return log_; }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string admin_key_ = "private-admin-key-0123456789abcdef01234567";
    std::string log_;
    std::string data_dir_;
};

}  // namespace recs::testing
