#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace recs::api {

/// Keeps the answers of one connection in request order. HTTP/1.1 lets a client send its next
/// request before the last answer (pipelining); the handler pool would answer them in whatever
/// order they finish. Work for a connection with a request in flight waits behind it.
class ConnectionOrder {
public:
    /// What to do with a request.
    enum class Admit {
        kRunNow,   ///< nothing of the connection is in flight: run it
        kQueued,   ///< queued behind the one in flight; Done() hands it out in turn
        kRefused,  ///< the connection already has kMaxQueued waiting
    };
    static constexpr size_t kMaxQueued = 16;

    /// A task, what to do instead when the handler pool is full, and whether it may run on
    /// the caller's thread (no blocking work).
    struct Task {
        std::function<void()> run;
        std::function<void()> shed;
        bool inline_ok = false;
        size_t bytes = 0;  ///< the request body's size (the handler queue is bounded in bytes)
    };

    Admit Enter(const void* connection, Task task);
    /// The connection's request in flight was answered: the next task of that connection, if
    /// any (it is then in flight).
    std::optional<Task> Done(const void* connection);
    /// The connection closed: its queued tasks are dropped.
    void Forget(const void* connection);
    /// True when a request of the connection was refused: its last answer closes it.
    bool Closing(const void* connection) const;
    /// Connections with a request in flight.
    size_t busy() const;

private:
    struct Connection {
        std::deque<Task> waiting;
        bool closing = false;
    };
    mutable std::mutex mu_;
    std::unordered_map<const void*, Connection> connections_;  ///< present = one in flight
};

}  // namespace recs::api
