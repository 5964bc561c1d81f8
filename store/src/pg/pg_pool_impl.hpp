#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "recs/store/pg_pool.hpp"

namespace recs::store {

struct PgPool::Impl {
    std::string dsn;
    int size = 0;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::unique_ptr<pqxx::connection>> idle;
    int open = 0;

    std::unique_ptr<pqxx::connection> Acquire();
    void Release(std::unique_ptr<pqxx::connection> c, bool broken);
};

/// RAII lease of one connection from the pool.
class PgLease {
public:
    explicit PgLease(PgPool& pool) : impl_(pool.impl()), conn_(impl_.Acquire()) {}
    ~PgLease() { impl_.Release(std::move(conn_), broken_); }
    PgLease(const PgLease&) = delete;
    PgLease& operator=(const PgLease&) = delete;
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }
    void MarkBroken() { broken_ = true; }

private:
    PgPool::Impl& impl_;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
};

/// Runs fn(conn) with a leased connection and translates driver exceptions into core::Error
/// (unique violation → kConflict, lost connection → kUnavailable, anything else → kInternal
/// without SQL text). `what` names the operation in logs.
void WithConnection(PgPool& pool,
                    const char* what,
                    const std::function<void(pqxx::connection&)>& fn);

/// Runs fn(txn) in a read-write transaction with the same translation.
void WithTransaction(PgPool& pool, const char* what, const std::function<void(pqxx::work&)>& fn);

/// NULL-able text parameter for exec_params (libpqxx 6.4 has no std::optional support).
inline const char* OrNull(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

/// Reads a nullable text column.
inline std::optional<std::string> OptText(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
}

}  // namespace recs::store
