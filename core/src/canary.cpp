#include "recs/core/canary.hpp"

#include <cstdio>

#include "recs/core/assignment.hpp"

namespace recs::core {

bool InCanaryCohort(std::string_view model_id, std::string_view unit_id, double traffic_pct) {
    if (traffic_pct <= 0 || unit_id.empty()) return false;
    if (traffic_pct >= 100) return true;
    std::string seed = "canary:" + std::string(model_id);
    auto n = GbHash(seed, unit_id, 2);
    return n && *n < traffic_pct / 100.0;
}

namespace {

std::string Fixed(double x, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, x);
    return buf;
}

}  // namespace

std::optional<std::string> GuardTrips(const CanaryGuard& g,
                                      const WindowStats& canary,
                                      const WindowStats& deployed) {
    if (canary.requests < g.min_requests) return std::nullopt;
    const std::string over = " over " + std::to_string(g.window_s) + " s (" +
                             std::to_string(canary.requests) + " canary requests)";
    if (g.max_error_rate && canary.ErrorRate() > *g.max_error_rate)
        return "error rate " + Fixed(canary.ErrorRate(), 3) + " > " + Fixed(*g.max_error_rate, 3) +
               " (deployed version " + Fixed(deployed.ErrorRate(), 3) + ")" + over;
    if (g.max_p99_ms && canary.p99_ms > *g.max_p99_ms)
        return "p99 " + Fixed(canary.p99_ms, 2) + " ms > " + Fixed(*g.max_p99_ms, 2) +
               " ms (deployed version " + Fixed(deployed.p99_ms, 2) + " ms)" + over;
    return std::nullopt;
}

}  // namespace recs::core
