#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace recs::api {

/// Request counters and latency histograms by route and status, rendered as Prometheus text.
class Metrics {
public:
    void Observe(const std::string& method, const std::string& route, int status, double seconds);
    /// Counts one decision of the rate limiter: admitted, limited, failed_open, failed_closed.
    void RateLimitDecision(const std::string& outcome);
    /// Prometheus exposition format 0.0.4, including process memory.
    std::string Render() const;

private:
    static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
    struct Histogram {
        std::array<uint64_t, kBuckets.size()> buckets{};
        uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mu_;
    std::map<std::tuple<std::string, std::string, int>, uint64_t> counts_;
    std::map<std::pair<std::string, std::string>, Histogram> latency_;
    std::map<std::string, uint64_t> rate_limit_;
};

}  // namespace recs::api
