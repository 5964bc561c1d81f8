#pragma once

#include <memory>
#include <string>

namespace recs::store {

/// A fixed-size pool of PostgreSQL connections. Connections are made lazily and remade after
/// a lost connection. Thread-safe. Driver types stay private to store/.
class PgPool {
public:
    /// Connects once to validate the DSN. Throws core::Error(kUnavailable) with one clear line
    /// when the database cannot be reached.
    PgPool(std::string dsn, int size);
    ~PgPool();
    PgPool(const PgPool&) = delete;
    PgPool& operator=(const PgPool&) = delete;

    /// Runs `SELECT 1`; returns the round trip in milliseconds, or throws kUnavailable.
    double Ping();

    const std::string& dsn() const;

    struct Impl;
    Impl& impl() { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

/// Applies the embedded migrations in order, each in its own transaction, recorded in
/// schema_migrations, under a PostgreSQL advisory lock (safe for concurrent starts).
/// Returns the number of migrations applied by this call.
int ApplyMigrations(PgPool& pool);

}  // namespace recs::store
