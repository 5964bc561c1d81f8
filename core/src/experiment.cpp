#include "recs/core/experiment.hpp"

namespace recs::core {

using nlohmann::json;

std::string_view ExperimentStatusName(ExperimentStatus s) {
    switch (s) {
        case ExperimentStatus::kDraft:
            return "draft";
        case ExperimentStatus::kRunning:
            return "running";
        case ExperimentStatus::kPaused:
            return "paused";
        case ExperimentStatus::kStopped:
            return "stopped";
    }
    return "draft";
}

std::optional<ExperimentStatus> ParseExperimentStatus(std::string_view name) {
    for (auto s : {ExperimentStatus::kDraft, ExperimentStatus::kRunning, ExperimentStatus::kPaused,
                   ExperimentStatus::kStopped})
        if (ExperimentStatusName(s) == name) return s;
    return std::nullopt;
}

const std::vector<std::string>& ExperimentMetrics() {
    static const std::vector<std::string> m = {"ctr", "clicks_per_unit", "conversion_rate",
                                               "revenue_per_unit"};
    return m;
}

bool ExperimentsOverlap(const ExperimentSpec& a, const ExperimentSpec& b) {
    if (a.surface != b.surface) return false;
    if (!a.ns || !b.ns || a.ns->id != b.ns->id) return true;
    return a.ns->start < b.ns->end && b.ns->start < a.ns->end;
}

VariantAssignment AssignVariant(const Experiment& e,
                                std::string_view unit_id,
                                const std::optional<std::string>& forced_variant) {
    VariantAssignment out;
    if (forced_variant) {
        for (size_t i = 0; i < e.spec.variants.size(); ++i)
            if (e.spec.variants[i].id == *forced_variant) {
                out.in_experiment = true;
                out.variant = static_cast<int>(i);
                out.forced = true;
                out.hash = GbHash(SeedOf(e), unit_id, 2).value_or(0);
                return out;
            }
    }
    std::vector<double> weights;
    for (const auto& v : e.spec.variants) weights.push_back(v.weight);
    auto a = Assign(SeedOf(e), unit_id, weights, e.spec.coverage, e.spec.ns);
    out.hash = a.hash;  // GbHash(seed, unit, 2), filled in or out of the experiment
    out.in_experiment = a.in_experiment;
    out.variant = a.in_experiment ? a.variation : -1;
    return out;
}

namespace {

json OptJson(const std::optional<std::string>& s) { return s ? json(*s) : json(); }

std::optional<std::string> OptString(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

json SpecJson(const ExperimentSpec& s) {
    json variants = json::array();
    for (const auto& v : s.variants)
        variants.push_back({{"id", v.id},
                            {"model", v.model.empty() ? json() : json(v.model)},
                            {"pool", v.pool.empty() ? json() : json(v.pool)},
                            {"weight", v.weight}});
    json guardrails = json::array();
    for (const auto& g : s.guardrails)
        guardrails.push_back({{"metric", g.metric}, {"bad_direction", g.bad_direction}});
    json ns;
    if (s.ns) ns = {{"name", s.ns->id}, {"range", {s.ns->start, s.ns->end}}};
    return {{"name", s.name},
            {"surface", s.surface},
            {"unit", s.unit},
            {"variants", std::move(variants)},
            {"control", s.control},
            {"coverage", s.coverage},
            {"metrics", s.metrics},
            {"guardrails", std::move(guardrails)},
            {"seed", s.seed.empty() ? json() : json(s.seed)},
            {"namespace", std::move(ns)},
            {"sequential", {{"enabled", s.sequential}, {"tuning_n", s.sequential_tuning_n}}},
            {"start", OptJson(s.start)},
            {"end", OptJson(s.end)},
            {"attribution_window_hours", s.attribution_hours},
            {"sticky", s.sticky}};
}

ExperimentSpec SpecFromJson(const json& j) {
    ExperimentSpec s;
    s.name = j.at("name").get<std::string>();
    s.surface = j.at("surface").get<std::string>();
    s.unit = j.value("unit", "user_id");
    for (const auto& v : j.at("variants"))
        s.variants.push_back({v.at("id").get<std::string>(), OptString(v, "model").value_or(""),
                              OptString(v, "pool").value_or(""), v.value("weight", 0.0)});
    s.control = j.value("control", "");
    s.coverage = j.value("coverage", 1.0);
    s.metrics = j.value("metrics", std::vector<std::string>{});
    for (const auto& g : j.value("guardrails", json::array()))
        s.guardrails.push_back(
            {g.at("metric").get<std::string>(), g.value("bad_direction", std::string("decrease"))});
    s.seed = OptString(j, "seed").value_or("");
    if (auto it = j.find("namespace"); it != j.end() && it->is_object())
        s.ns = Namespace{it->at("name").get<std::string>(), it->at("range").at(0).get<double>(),
                         it->at("range").at(1).get<double>()};
    if (auto it = j.find("sequential"); it != j.end() && it->is_object()) {
        s.sequential = it->value("enabled", false);
        s.sequential_tuning_n = it->value("tuning_n", int64_t{5000});
    }
    s.start = OptString(j, "start");
    s.end = OptString(j, "end");
    s.attribution_hours = j.value("attribution_window_hours", int64_t{168});
    s.sticky = j.value("sticky", false);
    return s;
}

json ExperimentJson(const Experiment& e) {
    json j = SpecJson(e.spec);
    j["id"] = e.id;
    j["status"] = e.status;
    j["started_at"] = OptJson(e.started_at);
    j["stopped_at"] = OptJson(e.stopped_at);
    j["created_at"] = e.created_at;
    j["updated_at"] = e.updated_at;
    return j;
}

}  // namespace recs::core
