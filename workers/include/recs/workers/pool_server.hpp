#pragma once

#include <functional>
#include <memory>
#include <string>

#include "recs/core/pool_protocol.hpp"

namespace recs::workers {

class InProcessPool;

/// Where a worker serves its pool's predictions to the api.
struct PoolServerOptions {
    std::string host = "0.0.0.0";
    int port = 0;  ///< 0: any free port
    int threads = 2;
    std::string token;  ///< RECS_INTERNAL_TOKEN: the api sends it as a bearer token
    /// Called after a preload succeeded, so that the member's heartbeat says so at once.
    std::function<void()> on_loaded;
};

/// The serving endpoint of a pool member: POST /internal/v1/{rank,score,related,preload,evict}
/// and GET /internal/v1/status over HTTP/1.1 keep-alive (the wire form is
/// core/pool_protocol.hpp), answered from the member's InProcessPool. Requests without the
/// internal token get 401; errors are problem+json with the status of their core::Error.
class PoolServer {
public:
    PoolServer(InProcessPool& pool, PoolServerOptions options);
    ~PoolServer();
    PoolServer(const PoolServer&) = delete;
    PoolServer& operator=(const PoolServer&) = delete;

    /// Binds and serves on background threads; returns the bound port.
    int Start();
    void Stop();
    /// Requests being served now, and the serving latency over the last 2,048 requests.
    int inflight() const;
    std::pair<double, double> LatencyP50P99() const;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace recs::workers
