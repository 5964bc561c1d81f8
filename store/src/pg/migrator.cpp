#include <nlohmann/json.hpp>
#include <set>

#include "pg/pg_pool_impl.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::store {

const std::vector<std::pair<std::string, std::string>>& EmbeddedMigrations();

namespace {

// Arbitrary constant shared by every recsplane process: "recsmigr".
constexpr long long kMigrationLockId = 0x726563736d696772LL;

void Exec(pqxx::connection& c, const std::string& sql) {
    pqxx::nontransaction nt(c);
    nt.exec_params(sql, kMigrationLockId);
}

int ApplyLocked(pqxx::connection& c) {
    std::set<std::string> done;
    {
        pqxx::nontransaction nt(c);
        nt.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        for (const auto& row : nt.exec("SELECT version FROM schema_migrations"))
            done.insert(row[0].as<std::string>());
    }
    int applied = 0;
    for (const auto& [name, sql] : EmbeddedMigrations()) {
        if (done.count(name)) continue;
        pqxx::work tx(c);
        tx.exec(sql);
        tx.exec_params("INSERT INTO schema_migrations (version) VALUES ($1)", name);
        tx.commit();
        ++applied;
        core::Log(core::LogLevel::kInfo, "migration applied", {{"version", name}});
    }
    return applied;
}

}  // namespace

int ApplyMigrations(PgPool& pool) {
    // A connection of its own: a migration (or the wait for another process's lock) may take
    // longer than the pool's statement timeout.
    int applied = 0;
    std::unique_ptr<pqxx::connection> c;
    try {
        c = std::make_unique<pqxx::connection>(pool.impl().connect_dsn);
    } catch (const std::exception& e) {
        throw core::Error(core::ErrorCode::kUnavailable,
                          std::string("cannot connect to PostgreSQL to migrate: ") + e.what());
    }
    try {
        Exec(*c, "SELECT pg_advisory_lock($1)");
        applied = ApplyLocked(*c);
        Exec(*c, "SELECT pg_advisory_unlock($1)");
    } catch (const core::Error&) {
        throw;
    } catch (const std::exception& e) {
        // The session ends with the connection, and the advisory lock with it.
        core::Log(core::LogLevel::kError, "migration failed", {{"error", e.what()}});
        throw core::Error(core::ErrorCode::kInternal, std::string("migration failed: ") + e.what());
    }
    return applied;
}

}  // namespace recs::store
