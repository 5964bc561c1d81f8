#include "recs/store/leader_lock.hpp"

#include <nlohmann/json.hpp>

#include "pg/pg_pool_impl.hpp"
#include "recs/core/log.hpp"

namespace recs::store {
namespace {

/// FNV-1a of the name: a stable 63-bit advisory lock key.
int64_t LockKey(const std::string& name) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : name) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return static_cast<int64_t>(h & 0x7fffffffffffffffULL);
}

class PgLeaderLock final : public LeaderLock {
public:
    PgLeaderLock(const std::string& dsn, const std::string& name)
        : name_(name), key_(LockKey(name)) {
        PgPoolOptions o;
        o.size = 1;
        o.acquire_timeout_ms = 1000;
        o.statement_timeout_ms = 2000;
        o.client_timeout_ms = 2000;
        o.application_name = "recsplane-leader-" + name;
        dsn_ = dsn;
        opts_ = o;
    }

    bool TryAcquire() override {
        try {
            if (!pool_) pool_ = std::make_unique<PgPool>(dsn_, opts_);
            bool held = false;
            // The pool has one connection, so the session (and its lock) persists between
            // calls; if the connection broke, the pool makes a new one and the lock is retaken
            // only if free.
            // One connection, so the session (and its lock) persists between calls. Asking
            // again on the holding session answers true (the lock is re-entrant); a session
            // made anew after a broken connection gets it only if no other process took it.
            WithConnection(*pool_, "leader.lock", [&](pqxx::connection& c) {
                pqxx::nontransaction tx(c);
                held = tx.exec_params1("SELECT pg_try_advisory_lock($1)", key_)[0].as<bool>();
            });
            if (held != held_)
                core::Log(core::LogLevel::kInfo, held ? "leadership taken" : "leadership lost",
                          {{"role", name_}});
            held_ = held;
        } catch (const std::exception& e) {
            if (held_)
                core::Log(core::LogLevel::kWarn, "leadership lost",
                          {{"role", name_}, {"error", e.what()}});
            held_ = false;
            pool_.reset();  // a new session next time
        }
        return held_;
    }

    void Release() override {
        pool_.reset();
        held_ = false;
    }

private:
    std::string name_;
    int64_t key_;
    std::string dsn_;
    PgPoolOptions opts_;
    std::unique_ptr<PgPool> pool_;
    bool held_ = false;
};

}  // namespace

std::unique_ptr<LeaderLock> MakePgLeaderLock(const std::string& dsn, const std::string& name) {
    return std::make_unique<PgLeaderLock>(dsn, name);
}

}  // namespace recs::store
