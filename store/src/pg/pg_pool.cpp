#include <chrono>
#include <nlohmann/json.hpp>

#include "pg/pg_pool_impl.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::store {
namespace {

using core::Error;
using core::ErrorCode;

// Adds connect_timeout=5 unless given, so that an unreachable server fails fast.
std::string WithTimeout(const std::string& dsn) {
    if (dsn.find("connect_timeout") != std::string::npos) return dsn;
    if (dsn.rfind("postgres", 0) == 0 && dsn.find("://") != std::string::npos)
        return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=5";
    return dsn + " connect_timeout=5";
}

std::unique_ptr<pqxx::connection> Connect(const std::string& dsn) {
    try {
        return std::make_unique<pqxx::connection>(WithTimeout(dsn));
    } catch (const std::exception& e) {
        // libpq's message names host/port but never the password.
        std::string msg;
        for (char ch : std::string(e.what())) {  // one line: libpq splits hints over lines
            if (ch == '\n' || ch == '\t') {
                if (!msg.empty() && msg.back() != ' ') msg += "; ";
            } else {
                msg.push_back(ch);
            }
        }
        while (!msg.empty() && (msg.back() == ' ' || msg.back() == ';')) msg.pop_back();
        throw Error(ErrorCode::kUnavailable, "cannot connect to PostgreSQL: " + msg);
    }
}

}  // namespace

std::unique_ptr<pqxx::connection> PgPool::Impl::Acquire() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !idle.empty() || open < size; });
    if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
    }
    ++open;
    lock.unlock();
    try {
        return Connect(dsn);
    } catch (...) {
        std::lock_guard relock(mu);
        --open;
        cv.notify_one();
        throw;
    }
}

void PgPool::Impl::Release(std::unique_ptr<pqxx::connection> c, bool broken) {
    std::lock_guard lock(mu);
    if (!c) return;
    if (broken || !c->is_open()) {
        --open;
    } else {
        idle.push_back(std::move(c));
    }
    cv.notify_one();
}

PgPool::PgPool(std::string dsn, int size) : impl_(std::make_unique<Impl>()) {
    impl_->dsn = std::move(dsn);
    impl_->size = size < 1 ? 1 : size;
    auto first = Connect(impl_->dsn);
    std::lock_guard lock(impl_->mu);
    impl_->idle.push_back(std::move(first));
    impl_->open = 1;
}

PgPool::~PgPool() = default;

const std::string& PgPool::dsn() const { return impl_->dsn; }

double PgPool::Ping() {
    auto start = std::chrono::steady_clock::now();
    WithConnection(*this, "ping", [](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        tx.exec("SELECT 1");
    });
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

void WithConnection(PgPool& pool,
                    const char* what,
                    const std::function<void(pqxx::connection&)>& fn) {
    std::optional<PgLease> lease;
    try {
        lease.emplace(pool);
        fn(**lease);
    } catch (const Error&) {
        throw;
    } catch (const pqxx::unique_violation& e) {
        throw Error(ErrorCode::kConflict, "a resource with the same unique value already exists");
    } catch (const pqxx::broken_connection& e) {
        if (lease) lease->MarkBroken();
        core::Log(core::LogLevel::kError, "postgres connection lost", {{"op", what}});
        throw Error(ErrorCode::kUnavailable, "the database is unavailable");
    } catch (const pqxx::sql_error& e) {
        core::Log(core::LogLevel::kError, "postgres error",
                  {{"op", what}, {"sqlstate", e.sqlstate()}, {"error", e.what()}});
        if (e.sqlstate() == "22P02" || e.sqlstate() == "22003" || e.sqlstate() == "22007")
            throw Error(ErrorCode::kUnprocessable, "a value is not valid for its field");
        if (e.sqlstate().rfind("08", 0) == 0 || e.sqlstate() == "57P01") {
            if (lease) lease->MarkBroken();
            throw Error(ErrorCode::kUnavailable, "the database is unavailable");
        }
        throw Error(ErrorCode::kInternal, "internal database error");
    } catch (const pqxx::in_doubt_error&) {
        if (lease) lease->MarkBroken();
        throw Error(ErrorCode::kUnavailable, "the database connection failed during commit");
    }
}

void WithTransaction(PgPool& pool, const char* what, const std::function<void(pqxx::work&)>& fn) {
    WithConnection(pool, what, [&](pqxx::connection& c) {
        pqxx::work tx(c);
        fn(tx);
        tx.commit();
    });
}

}  // namespace recs::store
