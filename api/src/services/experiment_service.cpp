#include "services/experiment_service.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include "exposure_log.hpp"
#include "recs/core/domain.hpp"
#include "recs/core/error.hpp"
#include "recs/core/experiment_results.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/pool_protocol.hpp"
#include "recs/core/text.hpp"
#include "recs/store/experiment_store.hpp"
#include "recs/store/model_store.hpp"

namespace recs::api {

using core::ExperimentStatus;
using nlohmann::json;

namespace {

constexpr size_t kMaxVariants = 10;
constexpr int64_t kMaxTimeMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

int64_t EpochMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}
constexpr int kMaxForcedUnits = 10000;

/// Runs `fn`, and names a field it rejects by its path under `prefix`.
template <typename F>
auto Under(const std::string& prefix, F&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const core::Error& e) {
        if (e.code() != core::ErrorCode::kUnprocessable) throw;
        std::string field = e.field() ? prefix + "." + *e.field() : prefix;
        throw core::Error(e.code(), prefix + ": " + e.detail(), field);
    }
}

const std::regex& NamePattern() {
    static const std::regex k("[A-Za-z0-9_.-]{1,64}");
    return k;
}

std::string RequireSlug(const json& obj, const std::string& field) {
    auto s = core::RequireString(obj, field, 64);
    if (!std::regex_match(s, NamePattern()))
        core::ThrowUnprocessable(
            "'" + field + "' may contain only letters, digits, '_', '.' and '-'", field);
    return s;
}

std::vector<core::Variant> DecodeVariants(const json& body) {
    auto it = body.find("variants");
    if (it == body.end() || !it->is_array())
        core::ThrowUnprocessable("'variants' must be an array of 2..10 variants", "variants");
    if (it->size() < 2 || it->size() > kMaxVariants)
        core::ThrowUnprocessable("an experiment has 2..10 variants", "variants");
    std::vector<core::Variant> out;
    std::set<std::string> ids;
    double total = 0;
    bool any_weight = false;
    for (size_t i = 0; i < it->size(); ++i) {
        std::string path = "variants[" + std::to_string(i) + "]";
        const auto& v = (*it)[i];
        out.push_back(Under(path, [&] {
            core::RequireObject(v, "variant");
            core::RejectUnknownFields(v, {"id", "model", "pipeline", "pool", "weight"});
            if (v.contains("pipeline"))
                core::ThrowUnprocessable(
                    "pipelines are not available yet: name a model ('name' or 'name@version')",
                    "pipeline");
            core::Variant var;
            var.id = RequireSlug(v, "id");
            var.model = core::OptionalString(v, "model", 200).value_or("");
            if (!var.model.empty()) core::CheckIdText(var.model, "model", 200);
            var.pool = core::OptionalString(v, "pool", 64).value_or("");
            if (!var.pool.empty() && !core::IsPoolName(var.pool))
                core::ThrowUnprocessable("'pool' must be 1..64 of a-z, 0-9 and '-'", "pool");
            if (auto w = core::OptionalNumber(v, "weight")) {
                if (!(*w >= 0) || *w > 1e6)
                    core::ThrowUnprocessable("'weight' must be a number >= 0", "weight");
                var.weight = *w;
                any_weight = true;
            } else {
                var.weight = -1;  // not given: an equal share
            }
            return var;
        }));
        if (!ids.insert(out.back().id).second)
            core::ThrowUnprocessable("variant id '" + out.back().id + "' is used twice",
                                     path + ".id");
    }
    if (any_weight) {
        for (size_t i = 0; i < out.size(); ++i) {
            if (out[i].weight < 0)
                core::ThrowUnprocessable("give every variant a weight, or none",
                                         "variants[" + std::to_string(i) + "].weight");
            total += out[i].weight;
        }
        if (!(total > 0)) core::ThrowUnprocessable("the weights must not all be 0", "variants");
        for (auto& v : out) v.weight /= total;
    } else {
        for (auto& v : out) v.weight = 1.0 / static_cast<double>(out.size());
    }
    return out;
}

std::vector<std::string> DecodeMetrics(const json& body) {
    const auto& j = body["metrics"];
    if (!j.is_array() || j.empty() || j.size() > 10)
        core::ThrowUnprocessable("'metrics' must be an array of 1..10 metric names", "metrics");
    std::vector<std::string> out;
    const auto& known = core::ExperimentMetrics();
    for (size_t i = 0; i < j.size(); ++i) {
        std::string f = "metrics[" + std::to_string(i) + "]";
        if (!j[i].is_string()) core::ThrowUnprocessable(f + " must be a string", f);
        auto m = j[i].get<std::string>();
        if (std::find(known.begin(), known.end(), m) == known.end()) {
            std::string names;
            for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
            core::ThrowUnprocessable("unknown metric '" + m + "'; known metrics: " + names, f);
        }
        if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
    }
    return out;
}

std::vector<core::Guardrail> DecodeGuardrails(const json& body) {
    const auto& j = body["guardrails"];
    std::vector<core::Guardrail> out;
    if (j.is_null()) return out;
    if (!j.is_array() || j.size() > 10)
        core::ThrowUnprocessable("'guardrails' must be an array of at most 10", "guardrails");
    const auto& known = core::ExperimentMetrics();
    for (size_t i = 0; i < j.size(); ++i) {
        std::string path = "guardrails[" + std::to_string(i) + "]";
        out.push_back(Under(path, [&] {
            core::RequireObject(j[i], "guardrail");
            core::RejectUnknownFields(j[i], {"metric", "bad_direction"});
            core::Guardrail g;
            g.metric = core::RequireString(j[i], "metric", 64);
            if (std::find(known.begin(), known.end(), g.metric) == known.end())
                core::ThrowUnprocessable("unknown metric '" + g.metric + "'", "metric");
            g.bad_direction = core::OptionalString(j[i], "bad_direction", 16).value_or("decrease");
            if (g.bad_direction != "decrease" && g.bad_direction != "increase")
                core::ThrowUnprocessable("'bad_direction' must be 'decrease' or 'increase'",
                                         "bad_direction");
            return g;
        }));
    }
    return out;
}

std::optional<core::Namespace> DecodeNamespace(const json& body) {
    const auto& j = body["namespace"];
    if (j.is_null()) return std::nullopt;
    return Under("namespace", [&] {
        core::RequireObject(j, "namespace");
        core::RejectUnknownFields(j, {"name", "range"});
        core::Namespace ns;
        ns.id = RequireSlug(j, "name");
        const auto& r = j.contains("range") ? j["range"] : json();
        if (!r.is_array() || r.size() != 2 || !r[0].is_number() || !r[1].is_number())
            core::ThrowUnprocessable("'range' must be [start, end) with 0 <= start < end <= 1",
                                     "range");
        ns.start = r[0].get<double>();
        ns.end = r[1].get<double>();
        if (!(ns.start >= 0 && ns.start < ns.end && ns.end <= 1))
            core::ThrowUnprocessable("'range' must be [start, end) with 0 <= start < end <= 1",
                                     "range");
        return ns;
    });
}

std::optional<std::string> DecodeTime(const json& body, const std::string& field) {
    auto s = core::OptionalString(body, field, 64);
    if (!s) return std::nullopt;
    auto ms = core::ParseIso8601Ms(*s);
    // Years 1970..9999: what every store and client reads back alike.
    if (!ms || *ms < 0 || *ms > kMaxTimeMs)
        core::ThrowUnprocessable("'" + field + "' must be an ISO 8601 date-time in 1970..9999",
                                 field);
    return core::FormatIso8601Ms(*ms);
}

}  // namespace

core::ExperimentSpec DecodeExperimentSpec(const json& j,
                                          const std::optional<core::ExperimentSpec>& base) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"name", "surface", "unit", "variants", "control", "coverage",
                                     "metrics", "guardrails", "seed", "namespace", "sequential",
                                     "start", "end", "attribution_window_hours"});
    if (base && body.empty()) core::ThrowUnprocessable("nothing to change");
    core::ExperimentSpec s = base.value_or(core::ExperimentSpec{});
    auto has = [&](const char* f) { return body.contains(f) && (!base || !body[f].is_null()); };
    if (!base || has("name")) s.name = core::RequireName(body, "name", 128);
    if (!base || has("surface")) s.surface = RequireSlug(body, "surface");
    if (has("unit")) {
        s.unit = core::RequireString(body, "unit", 16);
        if (s.unit != "user_id" && s.unit != "session_id")
            core::ThrowUnprocessable("'unit' must be 'user_id' or 'session_id'", "unit");
    }
    if (!base || has("variants")) s.variants = DecodeVariants(body);
    if (has("control")) {
        s.control = core::RequireString(body, "control", 64);
    } else if (!base || std::none_of(s.variants.begin(), s.variants.end(),
                                     [&](const auto& v) { return v.id == s.control; })) {
        s.control = s.variants.front().id;  // the first variant, unless one is named
    }
    if (std::none_of(s.variants.begin(), s.variants.end(),
                     [&](const auto& v) { return v.id == s.control; }))
        core::ThrowUnprocessable("'control' must be the id of one of the variants", "control");
    if (has("coverage")) {
        auto c = core::OptionalNumber(body, "coverage");
        if (!c || !(*c >= 0 && *c <= 1))
            core::ThrowUnprocessable("'coverage' must be between 0 and 1", "coverage");
        s.coverage = *c;
    }
    if (has("metrics"))
        s.metrics = DecodeMetrics(body);
    else if (!base)
        s.metrics = {"ctr"};
    if (has("guardrails")) s.guardrails = DecodeGuardrails(body);
    if (body.contains("seed")) {
        auto seed = core::OptionalString(body, "seed", 128);
        s.seed = seed.value_or("");
        if (!s.seed.empty()) core::CheckIdText(s.seed, "seed", 128);
    }
    if (body.contains("namespace")) s.ns = DecodeNamespace(body);
    if (has("sequential")) {
        const auto& q = body["sequential"];
        Under("sequential", [&] {
            core::RequireObject(q, "sequential");
            core::RejectUnknownFields(q, {"enabled", "tuning_n"});
            // What is not sent keeps its value (enabled by sending the object, on create).
            s.sequential = core::OptionalBool(q, "enabled").value_or(base ? s.sequential : true);
            s.sequential_tuning_n =
                core::OptionalInt(q, "tuning_n", 100, 100000000).value_or(s.sequential_tuning_n);
            return 0;
        });
    }
    if (body.contains("start")) s.start = DecodeTime(body, "start");
    if (body.contains("end")) s.end = DecodeTime(body, "end");
    if (s.start && s.end && *core::ParseIso8601Ms(*s.end) <= *core::ParseIso8601Ms(*s.start))
        core::ThrowUnprocessable("'end' must be after 'start'", "end");
    if (has("attribution_window_hours"))
        s.attribution_hours = core::OptionalInt(body, "attribution_window_hours", 1, 24 * 90)
                                  .value_or(s.attribution_hours);
    return s;
}

namespace {

int64_t DecodeUpdateEvery(const json& body) {
    auto it = body.find("update_every");
    if (it == body.end() || it->is_null()) return 900;
    constexpr const char* kWhat =
        "'update_every' must be seconds (1..86400) or a duration such as \"30s\", \"15m\", "
        "\"2h\"";
    int64_t seconds = -1;
    if (it->is_number_integer()) {
        seconds = it->get<int64_t>();
    } else if (it->is_string()) {
        static const std::regex kDuration("([0-9]{1,6})([smh])");
        std::smatch m;
        const auto& s = it->get_ref<const std::string&>();
        if (std::regex_match(s, m, kDuration))
            seconds = std::stoll(m[1]) * (m[2] == "h" ? 3600 : m[2] == "m" ? 60 : 1);
    }
    if (seconds < 1 || seconds > 86400) core::ThrowUnprocessable(kWhat, "update_every");
    return seconds;
}

}  // namespace

BanditRequest DecodeBandit(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"experiment", "policy", "params", "reward", "min_share",
                                     "burn_in_units", "update_every"});
    BanditRequest r;
    r.experiment_id = core::RequireString(body, "experiment", 64);
    auto& o = r.bandit.options;
    auto policy = core::OptionalString(body, "policy", 32).value_or("thompson");
    auto p = core::bandit::ParsePolicy(policy);
    if (!p)
        core::ThrowUnprocessable("'policy' must be 'thompson', 'ucb1' or 'epsilon_greedy'",
                                 "policy");
    o.policy = *p;
    o.reward = core::OptionalString(body, "reward", 32).value_or("click");
    if (o.reward != "click" && o.reward != "conversion" && o.reward != "value")
        core::ThrowUnprocessable("'reward' must be 'click', 'conversion' or 'value'", "reward");
    if (auto it = body.find("params"); it != body.end() && !it->is_null()) {
        Under("params", [&] {
            core::RequireObject(*it, "params");
            core::RejectUnknownFields(*it, {"epsilon", "c", "draws"});
            o.epsilon = core::OptionalNumber(*it, "epsilon").value_or(o.epsilon);
            o.ucb_c = core::OptionalNumber(*it, "c").value_or(o.ucb_c);
            o.thompson_draws =
                static_cast<int>(core::OptionalInt(*it, "draws", 100, 100000).value_or(10000));
            if (!(o.epsilon >= 0 && o.epsilon <= 1))
                core::ThrowUnprocessable("'epsilon' must be between 0 and 1", "epsilon");
            if (!(o.ucb_c >= 0 && o.ucb_c <= 1e6))
                core::ThrowUnprocessable("'c' must be between 0 and 1e6", "c");
            return 0;
        });
    }
    o.min_share = core::OptionalNumber(body, "min_share").value_or(0.01);
    if (!(o.min_share >= 0 && o.min_share < 0.5))
        core::ThrowUnprocessable("'min_share' must be in [0, 0.5)", "min_share");
    o.burn_in_units = core::OptionalInt(body, "burn_in_units", 0, 100000000).value_or(100);
    r.bandit.update_every_s = DecodeUpdateEvery(body);
    return r;
}

ForceRequest DecodeForce(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"unit_id", "variant"});
    return {core::RequireId(body, "unit_id"), core::RequireString(body, "variant", 64)};
}

// ---------------------------------------------------------------------------------------------
// The service.

ExperimentService::ExperimentService(store::ExperimentRepository& experiments,
                                     store::ModelRepository& models,
                                     ExposureLog* exposures,
                                     int ttl_ms)
    : experiments_(experiments),
      models_(models),
      exposures_(exposures),
      cache_(std::chrono::milliseconds(ttl_ms), 10000) {}

namespace {

template <typename F>
core::Experiment NameMustBeFree(const std::string& name, F&& f) {
    try {
        return f();
    } catch (const core::Error& e) {
        // The store's unique violation (its other conflicts say what they are about).
        if (e.code() == core::ErrorCode::kConflict && !e.field() &&
            e.detail().find("same unique value") != std::string::npos)
            core::ThrowConflict("an experiment named '" + name + "' already exists", "name");
        throw;
    }
}

}  // namespace

void ExperimentService::CheckModels(const core::TenantId& tenant,
                                    const core::ExperimentSpec& spec) {
    for (size_t i = 0; i < spec.variants.size(); ++i) {
        const auto& m = spec.variants[i].model;
        if (m.empty()) continue;
        auto name = m.substr(0, m.find('@'));
        if (!models_.FindByName(tenant, name))
            core::ThrowUnprocessable("model '" + name + "' not found",
                                     "variants[" + std::to_string(i) + "].model");
    }
}

core::Experiment ExperimentService::Create(const core::Actor& actor,
                                           const core::TenantId& tenant,
                                           const json& body) {
    auto spec = DecodeExperimentSpec(body, std::nullopt);
    CheckModels(tenant, spec);
    return NameMustBeFree(spec.name, [&] { return experiments_.Create(actor, tenant, spec); });
}

core::Experiment ExperimentService::Require(const core::TenantId& tenant, const std::string& id) {
    auto e = experiments_.Find(tenant, id);
    if (!e) core::ThrowNotFound("experiment not found");
    return *e;
}

core::Experiment ExperimentService::Update(const core::Actor& actor,
                                           const core::TenantId& tenant,
                                           const std::string& id,
                                           const json& body) {
    auto current = Require(tenant, id);  // another tenant's experiment is 404 before any 422
    auto spec = DecodeExperimentSpec(body, current.spec);
    CheckModels(tenant, spec);
    auto out = NameMustBeFree(spec.name, [&] {
        return experiments_.Update(actor, tenant, id, spec, current.updated_at);
    });
    Invalidate(tenant);
    return out;
}

void ExperimentService::Delete(const core::Actor& actor,
                               const core::TenantId& tenant,
                               const std::string& id) {
    experiments_.Delete(actor, tenant, id);
    Invalidate(tenant);
}

core::Experiment ExperimentService::Start(const core::Actor& actor,
                                          const core::TenantId& tenant,
                                          const std::string& id) {
    auto current = Require(tenant, id);
    CheckModels(tenant, current.spec);
    auto out = experiments_.Transition(actor, tenant, id, ExperimentStatus::kRunning, nullptr);
    Invalidate(tenant);
    return out;
}

core::Experiment ExperimentService::Pause(const core::Actor& actor,
                                          const core::TenantId& tenant,
                                          const std::string& id) {
    auto out = experiments_.Transition(actor, tenant, id, ExperimentStatus::kPaused, nullptr);
    Invalidate(tenant);
    return out;
}

core::Experiment ExperimentService::Stop(const core::Actor& actor,
                                         const core::TenantId& tenant,
                                         const std::string& id,
                                         std::optional<int64_t> as_of_ms) {
    auto current = Require(tenant, id);
    if (current.status != ExperimentStatus::kRunning && current.status != ExperimentStatus::kPaused)
        core::ThrowConflict("a " + std::string(core::ExperimentStatusName(current.status)) +
                            " experiment cannot stop");
    if (exposures_) exposures_->Flush();
    // The results as of the stop, frozen with it (events after it are not counted).
    current.stopped_at = core::FormatIso8601Ms(as_of_ms.value_or(EpochMs()));
    current.status = ExperimentStatus::kStopped;
    json results = core::ComputeResults(current, experiments_.Aggregate(tenant, current));
    results["frozen_at"] = *current.stopped_at;
    auto out = experiments_.Transition(actor, tenant, id, ExperimentStatus::kStopped, results);
    Invalidate(tenant);
    return out;
}

json ExperimentService::Results(const core::Actor& actor,
                                const core::TenantId& tenant,
                                const std::string& id) {
    auto e = Require(tenant, id);
    if (e.status == ExperimentStatus::kRunning && e.spec.end) {
        auto end = core::ParseIso8601Ms(*e.spec.end);
        auto now = EpochMs();
        if (end && *end <= now) {
            try {
                e = Stop(actor, tenant, id, *end);  // as the scheduler does: as of the end
            } catch (const core::Error& err) {
                if (err.code() != core::ErrorCode::kConflict) throw;  // stopped meanwhile
                e = Require(tenant, id);
            }
        }
    }
    if (e.status == ExperimentStatus::kStopped && !e.results.is_null()) return e.results;
    if (exposures_) exposures_->Flush();
    return core::ComputeResults(e, experiments_.Aggregate(tenant, e));
}

json ExperimentService::Assignment(const core::TenantId& tenant,
                                   const std::string& id,
                                   const std::string& unit_id) {
    auto e = Require(tenant, id);
    auto forced = experiments_.Forced(tenant, id, kMaxForcedUnits);
    std::optional<std::string> f;
    if (auto it = forced.find(unit_id); it != forced.end()) f = it->second;
    auto a = core::AssignVariant(e, unit_id, f);
    return {{"experiment_id", e.id},
            {"unit_id", unit_id},
            {"status", e.status},
            {"in_experiment", a.in_experiment},
            {"variant", a.in_experiment ? json(e.spec.variants[a.variant].id) : json()},
            {"hash", a.hash},
            {"forced", a.forced}};
}

core::ExperimentBandit ExperimentService::AttachBandit(const core::Actor& actor,
                                                       const core::TenantId& tenant,
                                                       const BanditRequest& r) {
    auto e = Require(tenant, r.experiment_id);
    try {
        core::bandit::ValidateOptions(r.bandit.options, e.spec.variants.size());
    } catch (const core::Error& err) {
        if (err.code() != core::ErrorCode::kUnprocessable) throw;
        throw core::Error(err.code(), err.detail(), err.field().value_or("experiment"));
    }
    auto out = experiments_.AttachBandit(actor, tenant, e.id, r.bandit);
    Invalidate(tenant);
    return out;
}

json ExperimentService::Bandit(const core::TenantId& tenant, const std::string& experiment_id) {
    auto e = Require(tenant, experiment_id);
    auto b = experiments_.FindBandit(tenant, e.id);
    if (!b) core::ThrowNotFound("the experiment has no bandit");
    json weights = json::object();
    for (const auto& v : e.spec.variants) weights[v.id] = v.weight;
    json j = core::BanditConfigJson(*b);
    j["experiment_id"] = e.id;
    j["weights"] = std::move(weights);
    j["next_update_at"] = b->next_update_at;
    j["created_at"] = b->created_at;
    j["history"] = experiments_.WeightHistory(tenant, e.id, 1000);
    return j;
}

void ExperimentService::DetachBandit(const core::Actor& actor,
                                     const core::TenantId& tenant,
                                     const std::string& experiment_id) {
    auto e = Require(tenant, experiment_id);
    experiments_.DetachBandit(actor, tenant, e.id);
    Invalidate(tenant);
}

void ExperimentService::Force(const core::Actor& actor,
                              const core::TenantId& tenant,
                              const std::string& id,
                              const ForceRequest& r) {
    auto e = Require(tenant, id);
    if (std::none_of(e.spec.variants.begin(), e.spec.variants.end(),
                     [&](const auto& v) { return v.id == r.variant; }))
        core::ThrowUnprocessable("'variant' must be the id of one of the variants", "variant");
    experiments_.Force(actor, tenant, id, r.unit_id, r.variant);
    Invalidate(tenant);
}

std::shared_ptr<const ExperimentService::Surface> ExperimentService::Load(
    const core::TenantId& tenant, const std::string& surface) {
    std::string key = tenant.value + "|" + surface;
    auto now = std::chrono::steady_clock::now();
    if (auto hit = cache_.Get(key, now)) return *hit;
    try {
        auto s = std::make_shared<Surface>();
        s->running = experiments_.Running(tenant, surface);
        for (const auto& e : s->running) {
            s->forced.push_back(experiments_.Forced(tenant, e.id, kMaxForcedUnits));
            auto end = e.spec.end ? core::ParseIso8601Ms(*e.spec.end) : std::nullopt;
            s->end_ms.push_back(end.value_or(std::numeric_limits<int64_t>::max()));
        }
        std::shared_ptr<const Surface> out = std::move(s);
        cache_.Put(key, out, now);
        return out;
    } catch (const core::Error& e) {
        if (e.code() != core::ErrorCode::kUnavailable) throw;
        // PostgreSQL away: route as we last knew (for up to 10 minutes) rather than fail.
        if (auto stale = cache_.GetStale(key, now, std::chrono::minutes(10))) return *stale;
        throw;
    }
}

std::optional<Routed> ExperimentService::Route(const core::TenantId& tenant,
                                               const std::string& surface,
                                               const std::string& user_id,
                                               const std::string& session_id) {
    auto s = Load(tenant, surface);
    const int64_t now_ms = EpochMs();
    for (size_t i = 0; i < s->running.size(); ++i) {
        const auto& e = s->running[i];
        if (now_ms >= s->end_ms[i]) continue;  // ended (the scheduler stops it)
        const std::string& unit_id = e.spec.unit == "session_id" ? session_id : user_id;
        if (unit_id.empty()) continue;  // no session: not in a session experiment
        std::optional<std::string> f;
        if (auto it = s->forced[i].find(unit_id); it != s->forced[i].end()) f = it->second;
        auto a = core::AssignVariant(e, unit_id, f);
        if (e.spec.sticky && !a.forced) {
            // A unit keeps the variant it was first exposed to while a bandit moves weights.
            auto first = exposures_ ? exposures_->Known(e.id, unit_id) : std::nullopt;
            if (!first) {
                try {
                    first = experiments_.ExposedVariant(tenant, e.id, unit_id);
                } catch (const core::Error& err) {
                    // PostgreSQL away: the hash decides rather than the request failing.
                    if (err.code() != core::ErrorCode::kUnavailable) throw;
                }
            }
            if (first)
                for (size_t k = 0; k < e.spec.variants.size(); ++k)
                    if (e.spec.variants[k].id == *first) {
                        a.in_experiment = true;
                        a.variant = static_cast<int>(k);
                    }
        }
        if (!a.in_experiment) continue;
        const auto& v = e.spec.variants[a.variant];
        return Routed{unit_id, e.id, e.spec.name, v, a.forced};
    }
    return std::nullopt;
}

void ExperimentService::Exposed(const core::TenantId& tenant, const Routed& r) {
    if (exposures_)
        exposures_->Add(
            store::Exposure{tenant, r.experiment_id, r.unit_id, r.variant.id, r.forced, EpochMs()});
}

void ExperimentService::Invalidate(const core::TenantId& tenant) {
    std::string prefix = tenant.value + "|";
    cache_.EraseIf([&](const std::string& k, const std::shared_ptr<const Surface>&) {
        return k.rfind(prefix, 0) == 0;
    });
}

}  // namespace recs::api
