#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "pg/pg_pool_impl.hpp"
#include "recs/core/error.hpp"
#include "recs/core/log.hpp"

namespace recs::store {
namespace {

using core::Error;
using core::ErrorCode;
using Clock = std::chrono::steady_clock;

Error Unavailable(const std::string& detail) {
    return Error(ErrorCode::kUnavailable, detail).WithRetryAfter(1);
}

bool HasParam(const std::string& dsn, const std::string& name) {
    return dsn.find(name + "=") != std::string::npos;
}

/// The DSN with a connect timeout and TCP keepalives (a dead peer is noticed within about a
/// minute even on an idle connection), unless the operator set them.
std::string ConnectDsn(const std::string& dsn, int connect_timeout_s) {
    std::vector<std::pair<std::string, std::string>> add;
    if (!HasParam(dsn, "connect_timeout"))
        add.emplace_back("connect_timeout", std::to_string(connect_timeout_s));
    if (!HasParam(dsn, "keepalives")) {
        add.emplace_back("keepalives", "1");
        add.emplace_back("keepalives_idle", "30");
        add.emplace_back("keepalives_interval", "10");
        add.emplace_back("keepalives_count", "3");
    }
    std::string out = dsn;
    bool url = dsn.rfind("postgres", 0) == 0 && dsn.find("://") != std::string::npos;
    for (const auto& [k, v] : add) {
        if (url)
            out += (out.find('?') == std::string::npos ? "?" : "&") + k + "=" + v;
        else
            out += " " + k + "=" + v;
    }
    return out;
}

std::string OneLine(const std::string& text) {
    std::string msg;
    for (char ch : text) {  // libpq splits hints over lines
        if (ch == '\n' || ch == '\t') {
            if (!msg.empty() && msg.back() != ' ') msg += "; ";
        } else {
            msg.push_back(ch);
        }
    }
    while (!msg.empty() && (msg.back() == ' ' || msg.back() == ';')) msg.pop_back();
    return msg;
}

}  // namespace

PgPool::Impl::~Impl() {
    {
        std::lock_guard lock(mu);
        stopping = true;
    }
    watchdog_cv.notify_all();
    cv.notify_all();
    if (watchdog.joinable()) watchdog.join();
}

int PgPool::Impl::ClientTimeoutMs() const {
    if (opts.client_timeout_ms > 0) return opts.client_timeout_ms;
    return opts.statement_timeout_ms > 0 ? opts.statement_timeout_ms + 1000 : 0;
}

std::unique_ptr<pqxx::connection> PgPool::Impl::Connect() {
    std::unique_ptr<pqxx::connection> c;
    try {
        c = std::make_unique<pqxx::connection>(connect_dsn);
        pqxx::nontransaction tx(*c);
        tx.exec("SET statement_timeout = " + std::to_string(opts.statement_timeout_ms) +
                "; SET lock_timeout = " + std::to_string(opts.lock_timeout_ms) +
                "; SET idle_in_transaction_session_timeout = " +
                std::to_string(opts.idle_in_transaction_ms) +
                "; SET application_name = " + tx.quote(opts.application_name));
    } catch (const std::exception& e) {
        // libpq's message names host/port but never the password.
        throw Unavailable("cannot connect to PostgreSQL: " + OneLine(e.what()));
    }
    return c;
}

void PgPool::Impl::NoteFailure() {
    ++failures_in_row;
    breaker_open = true;
    breaker_until = Clock::now() + std::chrono::milliseconds(failures_in_row > 1 ? 2000 : 1000);
}

std::unique_ptr<pqxx::connection> PgPool::Impl::Acquire(bool* trial) {
    *trial = false;
    std::unique_lock lock(mu);
    auto now = Clock::now();
    if (breaker_open) {
        // Fail at once while the server is known not to answer; one request at a time probes.
        if (now < breaker_until || trial_in_flight)
            throw Unavailable("the database is unavailable; retry shortly");
        trial_in_flight = true;
        *trial = true;
    }
    auto deadline = now + std::chrono::milliseconds(opts.acquire_timeout_ms);
    bool free = cv.wait_until(lock, deadline,
                              [&] { return stopping || !idle.empty() || open < opts.size; });
    if (!free || stopping) {
        if (*trial) trial_in_flight = false;
        throw Unavailable("no database connection became free within " +
                          std::to_string(opts.acquire_timeout_ms) + " ms");
    }
    if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
    }
    ++open;
    lock.unlock();
    try {
        return Connect();
    } catch (...) {
        std::lock_guard relock(mu);
        --open;
        NoteFailure();
        if (*trial) trial_in_flight = false;
        cv.notify_one();
        throw;
    }
}

void PgPool::Impl::Release(std::unique_ptr<pqxx::connection> c, bool broken, bool trial) {
    std::lock_guard lock(mu);
    if (trial) trial_in_flight = false;
    if (!c) return;
    if (broken || !c->is_open()) {
        --open;
    } else {
        idle.push_back(std::move(c));
        failures_in_row = 0;
        breaker_open = false;
    }
    cv.notify_one();
}

void PgPool::Impl::Arm(const pqxx::connection& c, int timeout_ms) {
    if (timeout_ms == 0) timeout_ms = ClientTimeoutMs();
    if (timeout_ms <= 0) return;
    std::lock_guard lock(mu);
    if (!watchdog.joinable()) watchdog = std::thread([this] { WatchdogLoop(); });
    active[&c] = Active{Clock::now() + std::chrono::milliseconds(timeout_ms), c.sock(), false};
    watchdog_cv.notify_one();
}

bool PgPool::Impl::Disarm(const pqxx::connection& c) {
    std::lock_guard lock(mu);
    auto it = active.find(&c);
    if (it == active.end()) return false;
    bool fired = it->second.fired;
    active.erase(it);
    if (fired) NoteFailure();
    return fired;
}

void PgPool::Impl::WatchdogLoop() {
    std::unique_lock lock(mu);
    while (!stopping) {
        auto now = Clock::now();
        auto next = Clock::time_point::max();
        for (auto& [conn, a] : active) {
            if (a.fired) continue;
            if (a.deadline <= now) {
                // libpq has no client-side query timeout and a frozen or unreachable server
                // enforces no statement_timeout: shutting the socket down wakes the waiting
                // call, which then fails as a lost connection.
                if (a.socket >= 0) ::shutdown(a.socket, SHUT_RDWR);
                a.fired = true;
                core::Log(core::LogLevel::kWarn, "postgres operation timed out on the client",
                          {{"timeout_ms", ClientTimeoutMs()}});
            } else if (a.deadline < next) {
                next = a.deadline;
            }
        }
        if (next == Clock::time_point::max())
            watchdog_cv.wait(lock);
        else
            watchdog_cv.wait_until(lock, next);
    }
}

PgPool::PgPool(std::string dsn, PgPoolOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->dsn = std::move(dsn);
    impl_->opts = std::move(options);
    if (impl_->opts.size < 1) impl_->opts.size = 1;
    impl_->connect_dsn = ConnectDsn(impl_->dsn, impl_->opts.connect_timeout_s);
    auto first = impl_->Connect();
    std::lock_guard lock(impl_->mu);
    impl_->idle.push_back(std::move(first));
    impl_->open = 1;
}

PgPool::PgPool(std::string dsn, int size) : PgPool(std::move(dsn), PgPoolOptions{.size = size}) {}

PgPool::~PgPool() = default;

const std::string& PgPool::dsn() const { return impl_->dsn; }
const PgPoolOptions& PgPool::options() const { return impl_->opts; }

double PgPool::Ping() {
    auto start = Clock::now();
    WithConnection(*this, "ping", [](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        tx.exec("SELECT 1");
    });
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void WithLease(PgPool& pool,
               const char* what,
               const std::function<void(PgLease&)>& fn,
               int timeout_ms) {
    std::optional<PgLease> lease;
    auto lost = [&](const char* why) {
        if (lease) lease->MarkBroken();
        core::Log(core::LogLevel::kError, "postgres connection lost", {{"op", what}, {"why", why}});
        return Unavailable("the database is unavailable");
    };
    try {
        lease.emplace(pool, timeout_ms);
        fn(*lease);
    } catch (const Error&) {
        throw;
    } catch (const pqxx::unique_violation&) {
        throw Error(ErrorCode::kConflict, "a resource with the same unique value already exists");
    } catch (const pqxx::foreign_key_violation&) {
        // A concurrent delete (of the tenant, the model) won: what the request refers to is gone.
        throw Error(ErrorCode::kNotFound, "a resource this request refers to no longer exists");
    } catch (const pqxx::broken_connection&) {
        throw lost("broken connection");
    } catch (const pqxx::in_doubt_error&) {
        if (lease) lease->MarkBroken();
        throw Unavailable("the database connection failed during commit; the outcome is unknown");
    } catch (const pqxx::sql_error& e) {
        const std::string& st = e.sqlstate();
        core::Log(core::LogLevel::kError, "postgres error",
                  {{"op", what}, {"sqlstate", st}, {"error", OneLine(e.what())}});
        // Class 22 (data exception: bad encoding, NUL, out of range), 23514 (check), 54000
        // (a value past a limit, e.g. an index row): the input, not the server.
        if (st.rfind("22", 0) == 0 || st == "23514" || st == "23502")
            throw Error(ErrorCode::kUnprocessable, "a value is not valid for its field");
        if (st == "54000") throw Error(ErrorCode::kUnprocessable, "a value is too large to store");
        // Timeouts, lock waits, serialisation failures, deadlocks, shortage of resources: the
        // request may be retried.
        if (st == "57014" || st == "55P03" || st == "40001" || st == "40P01" ||
            st.rfind("53", 0) == 0)
            throw Unavailable("the database is busy; retry shortly");
        if (st.rfind("08", 0) == 0 || st.rfind("57P", 0) == 0 || st == "25P03")
            throw lost("server closed the session");
        throw Error(ErrorCode::kInternal, "internal database error");
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        // A row that does not convert, a driver usage error: a bug, logged without SQL text.
        core::Log(core::LogLevel::kError, "postgres operation failed",
                  {{"op", what}, {"error", OneLine(e.what())}});
        if (lease && !lease.value()->is_open()) throw lost("closed");
        throw Error(ErrorCode::kInternal, "internal database error");
    }
}

void WithConnection(PgPool& pool,
                    const char* what,
                    const std::function<void(pqxx::connection&)>& fn,
                    int timeout_ms) {
    WithLease(
        pool, what, [&](PgLease& lease) { fn(*lease); }, timeout_ms);
}

void WithTransaction(PgPool& pool,
                     const char* what,
                     const std::function<void(pqxx::work&)>& fn,
                     int timeout_ms) {
    WithConnection(
        pool, what,
        [&](pqxx::connection& c) {
            pqxx::work tx(c);
            fn(tx);
            tx.commit();
        },
        timeout_ms);
}

}  // namespace recs::store
