#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recs/core/assignment.hpp"

namespace recs::core {

/// Where an experiment is in its life: created as a draft, started (running: it routes and
/// counts), paused (it routes nothing; start resumes it), stopped (final: results frozen).
enum class ExperimentStatus : uint8_t { kDraft, kRunning, kPaused, kStopped };
std::string_view ExperimentStatusName(ExperimentStatus s);
std::optional<ExperimentStatus> ParseExperimentStatus(std::string_view name);
inline bool operator==(ExperimentStatus s, std::string_view name) {
    return ExperimentStatusName(s) == name;
}
NLOHMANN_JSON_SERIALIZE_ENUM(ExperimentStatus,
                             {{ExperimentStatus::kDraft, "draft"},
                              {ExperimentStatus::kRunning, "running"},
                              {ExperimentStatus::kPaused, "paused"},
                              {ExperimentStatus::kStopped, "stopped"}})

/// One arm of an experiment: the model that serves it ("name" or "name@version"; "" = the
/// tenant's default model) and the worker pool it runs on ("" = the model's deployment pool).
struct Variant {
    std::string id;
    std::string model;
    std::string pool;
    double weight = 0;
};

/// A guardrail: a metric that must not get significantly worse than control.
struct Guardrail {
    std::string metric;
    /// The direction that is bad: "decrease" (e.g. conversion_rate) or "increase".
    std::string bad_direction = "decrease";
};

/// What an experiment is, as its owner wrote it (validated by the decoder in api/).
struct ExperimentSpec {
    std::string name;
    std::string surface;
    std::string unit = "user_id";  ///< "user_id" | "session_id"
    std::vector<Variant> variants;
    std::string control;
    double coverage = 1.0;
    std::vector<std::string> metrics;
    std::vector<Guardrail> guardrails;
    std::string seed;  ///< the hash seed; the experiment's id when not given
    std::optional<Namespace> ns;
    bool sequential = false;
    int64_t sequential_tuning_n = 5000;
    std::optional<std::string> start;  ///< ISO 8601: not routed before
    std::optional<std::string> end;    ///< ISO 8601: stopped (results frozen) when reached
    int64_t attribution_hours = 168;   ///< events counted up to this long after exposure
    /// Units already exposed keep their variant when weights change (set by a bandit).
    bool sticky = false;
};

/// An experiment as stored.
struct Experiment {
    std::string id;
    std::string tenant_id;
    ExperimentStatus status = ExperimentStatus::kDraft;
    ExperimentSpec spec;
    std::optional<std::string> started_at;
    std::optional<std::string> stopped_at;
    nlohmann::json results;  ///< frozen results once stopped; null before
    std::string created_at;
    std::string updated_at;
};

/// The metrics the results compute, each from the unit's events after its first exposure.
const std::vector<std::string>& ExperimentMetrics();

/// The seed the hash uses: the spec's, or the experiment's id.
inline const std::string& SeedOf(const Experiment& e) {
    return e.spec.seed.empty() ? e.id : e.spec.seed;
}

/// True when two experiments on one surface could both claim a unit: they are mutually
/// exclusive only in one namespace with disjoint ranges.
bool ExperimentsOverlap(const ExperimentSpec& a, const ExperimentSpec& b);

/// Which variant of a running experiment a unit gets. `forced` names a QA override.
struct VariantAssignment {
    bool in_experiment = false;
    int variant = -1;  ///< index into spec.variants
    double hash = 0;
    bool forced = false;
};
VariantAssignment AssignVariant(const Experiment& e,
                                std::string_view unit_id,
                                const std::optional<std::string>& forced_variant);

/// The spec as stored and shown (the request's field names: `namespace` {name, range},
/// `sequential` {enabled, tuning_n}, `attribution_window_hours`).
nlohmann::json SpecJson(const ExperimentSpec& s);
/// The inverse of SpecJson, for rows this code wrote (no validation: see api/'s decoder).
ExperimentSpec SpecFromJson(const nlohmann::json& j);

/// Sums over the units of one variant first exposed on one day, of what each unit did after
/// its exposure (within the attribution window, and before the experiment stopped):
/// i impressions, c clicks, v converted (0/1: at least one purchase), r revenue (purchase
/// values). Enough for means, variances and the ratio metric c / i.
struct ExposureDay {
    std::string variant;
    std::string day;  ///< YYYY-MM-DD (UTC) of first exposure
    int64_t units = 0;
    double sum_i = 0, sum_i2 = 0;
    double sum_c = 0, sum_c2 = 0, sum_ci = 0;
    double sum_v = 0;
    double sum_r = 0, sum_r2 = 0;
};

/// The JSON an experiment is shown as: its spec's fields, id, status and times.
nlohmann::json ExperimentJson(const Experiment& e);

}  // namespace recs::core
