#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "recs/core/experiment.hpp"

namespace recs::core {

/// The results of an experiment from its exposures summed per variant and day: per variant the
/// units, and per metric the per-unit mean and variance; against control the absolute and
/// relative lift with intervals (Welch, or the always-valid sequence when sequential), the
/// p-value and the chance to beat control; the sample-ratio check against the weights;
/// guardrails; and a cumulative daily series (core/experiment_stats does the statistics).
nlohmann::json ComputeResults(const Experiment& e, const std::vector<ExposureDay>& days);

}  // namespace recs::core
