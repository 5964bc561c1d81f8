#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "recs/core/canary.hpp"

namespace recs::api {

/// Watches this process's predictions of canaries and of the versions they run beside: at the
/// end of each guard window it compares the canary's error rate and p99 with the guard (and
/// reports the deployed version's beside them), and calls `trip` once when the guard trips.
/// Every api process watches what it serves; the first to trip rolls the canary back.
class CanaryMonitor {
public:
    using Trip = std::function<void(const core::Canary& canary, const std::string& reason)>;

    explicit CanaryMonitor(Trip trip, int check_ms = 250);
    ~CanaryMonitor();
    CanaryMonitor(const CanaryMonitor&) = delete;
    CanaryMonitor& operator=(const CanaryMonitor&) = delete;

    /// One prediction of a model with canary `c`: by the canary's version or the deployed one.
    void Record(const core::Canary& c, bool by_canary, bool ok, double ms);
    /// The current window of a canary in this process: {canary, deployed}.
    std::optional<std::pair<core::WindowStats, core::WindowStats>> Window(
        const std::string& canary_id) const;

private:
    struct Side {
        int64_t requests = 0;
        int64_t errors = 0;
        std::vector<float> latencies_ms;  ///< bounded (a reservoir past kMaxSamples)
        core::WindowStats Stats() const;
    };
    struct Entry {
        core::Canary canary;
        std::chrono::steady_clock::time_point window_start;
        std::chrono::steady_clock::time_point last_seen;
        Side by_canary, deployed;
        bool tripped = false;
    };
    void Loop();
    void Check();

    Trip trip_;
    int check_ms_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::unordered_map<std::string, Entry> entries_;
    uint64_t sample_counter_ = 0;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace recs::api
