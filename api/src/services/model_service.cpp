#include "services/model_service.hpp"

#include <regex>

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/log.hpp"
#include "recs/core/pool_protocol.hpp"
#include "recs/store/canary_store.hpp"
#include "recs/store/model_store.hpp"

namespace recs::api {

using nlohmann::json;

CreateModelRequest DecodeCreateModel(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body,
                              {"name", "type", "algorithm", "hyperparameters", "description"});
    CreateModelRequest r;
    r.name = core::RequireName(body, "name", 128);
    static const std::regex kName("[A-Za-z0-9_.-]+");
    if (!std::regex_match(r.name, kName))
        core::ThrowUnprocessable("'name' may contain only letters, digits, '_', '.' and '-'",
                                 "name");
    r.type = core::OptionalString(body, "type", 32).value_or("candidate");
    if (r.type != "candidate") core::ThrowUnprocessable("'type' must be 'candidate'", "type");
    r.algorithm = core::RequireString(body, "algorithm", 64);
    r.hyperparameters = body.value("hyperparameters", json::object());
    if (r.hyperparameters.is_null()) r.hyperparameters = json::object();
    if (!r.hyperparameters.is_object())
        core::ThrowUnprocessable("'hyperparameters' must be an object", "hyperparameters");
    r.description = core::OptionalString(body, "description", 1024);
    return r;
}

UpdateModelRequest DecodeUpdateModel(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"hyperparameters", "description", "is_default"});
    if (body.empty()) core::ThrowUnprocessable("nothing to change");
    UpdateModelRequest r;
    if (body.contains("hyperparameters")) {
        r.hyperparameters = body["hyperparameters"];
        if (!r.hyperparameters->is_object())
            core::ThrowUnprocessable("'hyperparameters' must be an object", "hyperparameters");
    }
    r.description = core::OptionalString(body, "description", 1024);
    r.is_default = core::OptionalBool(body, "is_default");
    return r;
}

namespace {

core::CanaryGuard DecodeGuard(const json& g) {
    try {
        core::RequireObject(g, "guard");
        core::RejectUnknownFields(g, {"max_error_rate", "max_p99_ms", "window_s", "min_requests"});
        core::CanaryGuard out;
        out.max_error_rate = core::OptionalNumber(g, "max_error_rate");
        if (out.max_error_rate && !(*out.max_error_rate >= 0 && *out.max_error_rate <= 1))
            core::ThrowUnprocessable("'max_error_rate' must be between 0 and 1", "max_error_rate");
        out.max_p99_ms = core::OptionalNumber(g, "max_p99_ms");
        if (out.max_p99_ms && !(*out.max_p99_ms > 0 && *out.max_p99_ms <= 600000))
            core::ThrowUnprocessable("'max_p99_ms' must be in (0, 600000]", "max_p99_ms");
        if (!out.max_error_rate && !out.max_p99_ms)
            core::ThrowUnprocessable("a guard needs 'max_error_rate' or 'max_p99_ms'");
        out.window_s = static_cast<int>(core::OptionalInt(g, "window_s", 1, 3600).value_or(60));
        out.min_requests =
            static_cast<int>(core::OptionalInt(g, "min_requests", 1, 1000000).value_or(20));
        return out;
    } catch (const core::Error& e) {
        if (e.code() != core::ErrorCode::kUnprocessable) throw;
        throw core::Error(e.code(), "guard: " + e.detail(),
                          e.field() ? "guard." + *e.field() : std::string("guard"));
    }
}

}  // namespace

DeployRequest DecodeDeploy(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"pool", "traffic_pct", "guard"});
    DeployRequest r;
    r.pool = core::OptionalString(body, "pool", 64).value_or(core::kDefaultPool);
    if (!core::IsPoolName(r.pool))
        core::ThrowUnprocessable("'pool' must be 1..64 of a-z, 0-9 and '-'", "pool");
    r.traffic_pct = core::OptionalNumber(body, "traffic_pct");
    if (r.traffic_pct && !(*r.traffic_pct > 0 && *r.traffic_pct <= 100))
        core::ThrowUnprocessable("'traffic_pct' must be in (0, 100]", "traffic_pct");
    if (auto g = body.find("guard"); g != body.end() && !g->is_null()) {
        if (!r.traffic_pct || *r.traffic_pct >= 100)
            core::ThrowUnprocessable("a guard watches a canary: send 'traffic_pct' below 100",
                                     "guard");
        r.guard = DecodeGuard(*g);
    }
    return r;
}

core::ServingTarget TargetOf(const core::ModelDef& m,
                             const core::ModelVersion& v,
                             const std::string& pool) {
    return core::ServingTarget{v.tenant_id,       m.name,      v.id,
                               v.version,         m.algorithm, v.artifact_path,
                               v.artifact_sha256, pool};
}

ModelService::ModelService(store::ModelRepository& models,
                           core::PredictionPool* pool,
                           Validator validate,
                           Invalidate invalidate,
                           store::CanaryRepository* canaries)
    : models_(models),
      pool_(pool),
      validate_(std::move(validate)),
      invalidate_(std::move(invalidate)),
      canaries_(canaries) {}

core::PredictionPool& ModelService::Pool() {
    // A deploy is only accepted when a pool can load the version first (finding H5).
    if (!pool_)
        throw core::Error(core::ErrorCode::kUnavailable,
                          "no prediction pool is attached to this api process to load the version");
    return *pool_;
}

void ModelService::Validate(const std::string& algorithm, const json& hyperparameters) {
    if (validate_) validate_(algorithm, hyperparameters);
}

core::ModelDef ModelService::Require(const core::TenantId& tenant, const std::string& model_id) {
    auto m = models_.Find(tenant, model_id);
    if (!m) core::ThrowNotFound("model not found");
    return *m;
}

core::ModelDef ModelService::Create(const core::Actor& actor,
                                    const core::TenantId& tenant,
                                    const CreateModelRequest& r) {
    Validate(r.algorithm, r.hyperparameters);
    core::ModelDef def;
    def.name = r.name;
    def.type = r.type;
    def.algorithm = r.algorithm;
    def.hyperparameters = r.hyperparameters;
    def.description = r.description;
    try {
        return models_.Create(actor, tenant, def);
    } catch (const core::Error& e) {
        if (e.code() == core::ErrorCode::kConflict)
            core::ThrowConflict("a model named '" + r.name + "' already exists", "name");
        throw;
    }
}

core::ModelDef ModelService::Update(const core::Actor& actor,
                                    const core::TenantId& tenant,
                                    const std::string& model_id,
                                    const UpdateModelRequest& r) {
    auto m = Require(tenant, model_id);  // another tenant's model is 404 before any 422
    if (r.hyperparameters) Validate(m.algorithm, *r.hyperparameters);
    auto out = models_.Update(actor, tenant, m.id, r.hyperparameters, r.description, r.is_default);
    invalidate_(tenant);
    return out;
}

void ModelService::Delete(const core::Actor& actor,
                          const core::TenantId& tenant,
                          const std::string& model_id) {
    models_.Delete(actor, tenant, model_id);
    invalidate_(tenant);
}

DeployOutcome ModelService::Deploy(const core::Actor& actor,
                                   const core::TenantId& tenant,
                                   const std::string& model_id,
                                   const std::string& version_id,
                                   const DeployRequest& r) {
    auto m = Require(tenant, model_id);
    auto v = models_.FindVersion(tenant, m.id, version_id);
    if (!v) core::ThrowNotFound("model version not found");
    if (v->status == core::VersionStatus::kFailed)
        core::ThrowConflict("a failed version cannot be deployed");
    DeployOutcome out;
    if (r.traffic_pct && *r.traffic_pct < 100) {
        if (!canaries_)
            core::ThrowUnprocessable("canary deploys are not available here", "traffic_pct");
        if (!m.deployed_version_id)
            core::ThrowConflict(
                "a canary runs beside a deployed version: deploy one to all "
                "units first",
                "traffic_pct");
        if (*m.deployed_version_id == v->id)
            core::ThrowConflict("this version is the deployed one", "traffic_pct");
        out.rollout = Pool().Preload(TargetOf(m, *v, r.pool));
        core::Canary c;
        c.model_id = m.id;
        c.version_id = v->id;
        c.pool = r.pool;
        c.traffic_pct = *r.traffic_pct;
        c.guard = r.guard;
        out.canary = canaries_->Start(actor, tenant, c);
        out.version = *v;
        invalidate_(tenant);
        return out;
    }
    // Load before switching, on every live member of the pool.
    out.rollout = Pool().Preload(TargetOf(m, *v, r.pool));
    if (canaries_) {
        // A full deploy ends the model's canary first (its promotion when it is this version),
        // so that a guard tripping meanwhile finds no canary to roll back over the deploy.
        if (auto c = canaries_->Active(tenant, m.id))
            canaries_->End(actor, tenant, c->id, c->version_id == v->id ? "promoted" : "replaced",
                           std::nullopt);
    }
    out.version = models_.Deploy(actor, tenant, m.id, v->id, r.pool);
    invalidate_(tenant);
    return out;
}

core::Canary ModelService::Canary(const core::TenantId& tenant, const std::string& model_id) {
    auto m = Require(tenant, model_id);
    std::optional<core::Canary> c = canaries_ ? canaries_->Latest(tenant, m.id) : std::nullopt;
    if (!c) core::ThrowNotFound("the model has had no canary");
    return *c;
}

void ModelService::CanaryTripped(const core::Canary& c, const std::string& reason) {
    const core::TenantId tenant{c.tenant_id};
    if (!canaries_) return;
    auto ended = canaries_->End(core::Actor{"system", "canary_guard", "", ""}, tenant, c.id,
                                "rolled_back", reason);
    invalidate_(tenant);
    if (ended)
        core::Log(core::LogLevel::kWarn, "canary rolled back by its guard",
                  {{"tenant", c.tenant_id},
                   {"model", c.model_id},
                   {"version", c.version_id},
                   {"reason", reason}});
}

DeployOutcome ModelService::Rollback(const core::Actor& actor,
                                     const core::TenantId& tenant,
                                     const std::string& model_id,
                                     const std::string& version_id) {
    auto m = Require(tenant, model_id);
    auto v = models_.FindVersion(tenant, m.id, version_id);
    if (!v) core::ThrowNotFound("model version not found");
    DeployOutcome out;
    out.version = models_.Rollback(actor, tenant, m.id, v->id,
                                   [&](const core::ModelVersion& target, const std::string& pool) {
                                       out.rollout = Pool().Preload(TargetOf(m, target, pool));
                                   });
    invalidate_(tenant);
    return out;
}

}  // namespace recs::api
