#pragma once

#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "recs/store/page.hpp"
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

/// Concatenates SQL fragments (named constants only: values always go in $n parameters).
inline std::string SqlCat(std::initializer_list<std::string_view> parts) {
    std::string s;
    for (auto p : parts) s += p;
    return s;
}

/// Fills a page from a result fetched with LIMIT page.limit + 1, ordered by the sequence
/// number in column 0: the extra row only tells that a next page exists.
template <typename T, typename RowFn>
void FillPage(const pqxx::result& r, int limit, RowFn row_to_item, Page<T>* out) {
    for (size_t i = 0; i < r.size() && static_cast<int>(i) < limit; ++i)
        out->items.push_back(row_to_item(r[i]));
    if (static_cast<int>(r.size()) > limit)
        out->next_cursor = EncodeCursor(r[limit - 1][0].as<int64_t>());
}

/// Reads a nullable text column.
inline std::optional<std::string> OptText(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
}

}  // namespace recs::store
