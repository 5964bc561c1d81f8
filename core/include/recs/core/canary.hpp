#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace recs::core {

/// When a canary is rolled back automatically: over each window, the canary's error rate or
/// p99 latency past its bound (with at least `min_requests` canary requests in the window).
struct CanaryGuard {
    std::optional<double> max_error_rate;  ///< 0..1
    std::optional<double> max_p99_ms;      ///< > 0
    int window_s = 60;
    int min_requests = 20;
};

/// A version served to a share of a model's units beside the deployed one.
struct Canary {
    std::string id;
    std::string tenant_id;
    std::string model_id;
    std::string version_id;
    int version = 0;
    std::string pool;
    double traffic_pct = 0;  ///< (0, 100)
    std::optional<CanaryGuard> guard;
    std::string status = "active";  ///< active | promoted | rolled_back | replaced
    std::optional<std::string> reason;
    std::string created_at;
    std::optional<std::string> ended_at;
};

/// True when the unit is in the model's canary cohort at `traffic_pct`: GrowthBook's hash v2 of
/// the unit under the model's own seed ("canary:" + model id) below traffic_pct / 100, so a
/// unit in a 10% cohort stays in it at 30%, and each model picks other units.
bool InCanaryCohort(std::string_view model_id, std::string_view unit_id, double traffic_pct);

/// What one side (the canary or the deployed version) served over a window.
struct WindowStats {
    int64_t requests = 0;
    int64_t errors = 0;
    double p99_ms = 0;
    double ErrorRate() const { return requests ? static_cast<double>(errors) / requests : 0; }
};

/// Why the guard trips ("error rate 0.31 > 0.05 (deployed version 0.00) over 60 s"), or
/// nullopt when it holds (or the canary served fewer than min_requests).
std::optional<std::string> GuardTrips(const CanaryGuard& guard,
                                      const WindowStats& canary,
                                      const WindowStats& deployed);

}  // namespace recs::core
