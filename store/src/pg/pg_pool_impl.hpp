#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "recs/store/page.hpp"
#include "recs/store/pg_pool.hpp"

namespace recs::store {

struct PgPool::Impl {
    using Clock = std::chrono::steady_clock;

    std::string dsn;          ///< as given (for logs and migrations)
    std::string connect_dsn;  ///< with connect_timeout and TCP keepalives
    PgPoolOptions opts;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::unique_ptr<pqxx::connection>> idle;
    int open = 0;

    // The watchdog: connections in use and the time their operation must end by.
    struct Active {
        Clock::time_point deadline;
        int socket = -1;
        bool fired = false;
    };
    std::unordered_map<const pqxx::connection*, Active> active;
    std::condition_variable watchdog_cv;
    std::thread watchdog;
    bool stopping = false;

    // The breaker: after a connection failure or a timeout, requests fail at once for a while
    // instead of each waiting out its own timeout; one trial at a time probes the server.
    Clock::time_point breaker_until{};
    bool breaker_open = false;
    bool trial_in_flight = false;
    int failures_in_row = 0;

    ~Impl();
    std::unique_ptr<pqxx::connection> Connect();
    /// A connection within opts.acquire_timeout_ms, or Error(kUnavailable). *trial is set when
    /// this lease probes a server the breaker considers down.
    std::unique_ptr<pqxx::connection> Acquire(bool* trial);
    void Release(std::unique_ptr<pqxx::connection> c, bool broken, bool trial);
    /// Starts the watchdog clock of a connection in use: timeout_ms > 0, or the pool's client
    /// timeout for 0; < 0 means no client deadline.
    void Arm(const pqxx::connection& c, int timeout_ms);
    /// Stops it; true when the watchdog fired (the socket was shut down).
    bool Disarm(const pqxx::connection& c);
    void WatchdogLoop();
    void NoteFailure();
    int ClientTimeoutMs() const;
};

/// RAII lease of one connection from the pool, with a client-side deadline on its use.
class PgLease {
public:
    explicit PgLease(PgPool& pool, int timeout_ms = 0) : impl_(pool.impl()) {
        conn_ = impl_.Acquire(&trial_);
        impl_.Arm(*conn_, timeout_ms);
    }
    ~PgLease() {
        bool fired = impl_.Disarm(*conn_);
        impl_.Release(std::move(conn_), broken_ || fired, trial_);
    }
    PgLease(const PgLease&) = delete;
    PgLease& operator=(const PgLease&) = delete;
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }
    void MarkBroken() { broken_ = true; }
    /// Restarts the deadline (for long operations that make progress, such as a cursor scan).
    void Rearm(int timeout_ms) {
        impl_.Disarm(*conn_);
        impl_.Arm(*conn_, timeout_ms);
    }

private:
    PgPool::Impl& impl_;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
    bool trial_ = false;
};

/// Runs fn(conn) with a leased connection and translates driver exceptions into core::Error
/// (unique violation → kConflict, lost connection or timeout → kUnavailable with Retry-After,
/// bad values → kUnprocessable, anything else → kInternal without SQL text). `what` names the
/// operation in logs. timeout_ms: the client deadline (0 = the pool's, < 0 = none).
void WithConnection(PgPool& pool,
                    const char* what,
                    const std::function<void(pqxx::connection&)>& fn,
                    int timeout_ms = 0);
/// The same with the lease itself, for operations that re-arm its deadline as they progress.
void WithLease(PgPool& pool,
               const char* what,
               const std::function<void(PgLease&)>& fn,
               int timeout_ms = 0);

/// Runs fn(txn) in a read-write transaction with the same translation.
void WithTransaction(PgPool& pool,
                     const char* what,
                     const std::function<void(pqxx::work&)>& fn,
                     int timeout_ms = 0);

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
