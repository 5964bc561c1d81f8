#include "services/model_service.hpp"

#include <regex>

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/pool_protocol.hpp"
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

DeployRequest DecodeDeploy(const json& j) {
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"pool"});
    DeployRequest r;
    r.pool = core::OptionalString(body, "pool", 64).value_or(core::kDefaultPool);
    if (!core::IsPoolName(r.pool))
        core::ThrowUnprocessable("'pool' must be 1..64 of a-z, 0-9 and '-'", "pool");
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
                           Invalidate invalidate)
    : models_(models),
      pool_(pool),
      validate_(std::move(validate)),
      invalidate_(std::move(invalidate)) {}

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
    // Load before switching, on every live member of the pool.
    DeployOutcome out;
    out.rollout = Pool().Preload(TargetOf(m, *v, r.pool));
    out.version = models_.Deploy(actor, tenant, m.id, v->id, r.pool);
    invalidate_(tenant);
    return out;
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
