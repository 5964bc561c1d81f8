#pragma once

#include <memory>
#include <string>

namespace recs::store {

/// Bounds of a connection pool. Every wait has one: for a free connection, for the server to
/// accept a connection, and for the server to answer a statement (both on the server, through
/// the session's statement_timeout, and on the client, because a stalled or frozen server
/// enforces nothing).
struct PgPoolOptions {
    int size = 8;
    int acquire_timeout_ms = 2000;       ///< wait for a free connection, then kUnavailable
    int connect_timeout_s = 3;           ///< libpq connect_timeout
    int statement_timeout_ms = 10000;    ///< SET statement_timeout on every connection
    int lock_timeout_ms = 3000;          ///< SET lock_timeout
    int idle_in_transaction_ms = 30000;  ///< SET idle_in_transaction_session_timeout
    /// An operation that has not returned this long after it started has its socket shut
    /// down (the caller gets kUnavailable). 0: statement_timeout_ms + 1000.
    int client_timeout_ms = 0;
    std::string application_name = "recsplane";
};

/// A fixed-size pool of PostgreSQL connections. Connections are made lazily and remade after
/// a lost connection. Thread-safe. Driver types stay private to store/.
class PgPool {
public:
    /// Connects once to validate the DSN. Throws core::Error(kUnavailable) with one clear line
    /// when the database cannot be reached.
    PgPool(std::string dsn, PgPoolOptions options);
    PgPool(std::string dsn, int size);
    ~PgPool();
    PgPool(const PgPool&) = delete;
    PgPool& operator=(const PgPool&) = delete;

    /// Runs `SELECT 1`; returns the round trip in milliseconds, or throws kUnavailable.
    double Ping();

    const std::string& dsn() const;
    const PgPoolOptions& options() const;

    struct Impl;
    Impl& impl() { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

/// Applies the embedded migrations in order, each in its own transaction, recorded in
/// schema_migrations, under a PostgreSQL advisory lock (safe for concurrent starts). Runs on a
/// connection of its own, without the pool's statement timeouts. Returns the number of
/// migrations applied by this call.
int ApplyMigrations(PgPool& pool);

}  // namespace recs::store
