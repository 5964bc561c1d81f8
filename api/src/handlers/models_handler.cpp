#include <nlohmann/json.hpp>
#include <regex>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/pool_protocol.hpp"
#include "serving_resolver.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

json Opt(const std::optional<std::string>& s) { return s ? json(*s) : json(); }

json ModelJson(const core::ModelDef& m) {
    return {{"id", m.id},
            {"name", m.name},
            {"type", m.type},
            {"algorithm", m.algorithm},
            {"hyperparameters", m.hyperparameters},
            {"description", Opt(m.description)},
            {"is_default", m.is_default},
            {"deployed_version", m.deployed_version ? json(*m.deployed_version) : json()},
            {"pool", m.deployed_version ? json(m.deployed_pool) : json()},
            {"created_at", m.created_at},
            {"updated_at", m.updated_at}};
}

json VersionJson(const core::ModelVersion& v) {
    return {{"id", v.id},
            {"model_id", v.model_id},
            {"version", v.version},
            {"status", v.status},
            {"metrics", v.metrics},
            {"artifact_bytes", v.artifact_bytes},
            {"training_job_id", Opt(v.training_job_id)},
            {"created_at", v.created_at},
            {"deployed_at", Opt(v.deployed_at)}};
}

void Validate(Services& s, const std::string& algorithm, const json& hp) {
    if (!hp.is_object())
        core::ThrowUnprocessable("'hyperparameters' must be an object", "hyperparameters");
    if (s.validate_model) s.validate_model(algorithm, hp);
}

core::PredictionPool& Pool(Services& s) {
    // A deploy is only accepted when a pool can load the version first (finding H5).
    if (!s.pool)
        throw core::Error(core::ErrorCode::kUnavailable,
                          "no prediction pool is attached to this api process to load the version");
    return *s.pool;
}

core::ModelDef RequireModel(Services& s, Request& req) {
    auto m = s.models->Find(req.Tenant(), req.Param("model_id"));
    if (!m) core::ThrowNotFound("model not found");
    return *m;
}

Response Create(Services& s, Request& req) {
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body,
                              {"name", "type", "algorithm", "hyperparameters", "description"});
    core::ModelDef def;
    def.name = core::RequireName(body, "name", 128);
    static const std::regex kName("[A-Za-z0-9_.-]+");
    if (!std::regex_match(def.name, kName))
        core::ThrowUnprocessable("'name' may contain only letters, digits, '_', '.' and '-'",
                                 "name");
    def.type = core::OptionalString(body, "type", 32).value_or("candidate");
    if (def.type != "candidate") core::ThrowUnprocessable("'type' must be 'candidate'", "type");
    def.algorithm = core::RequireString(body, "algorithm", 64);
    def.hyperparameters = body.value("hyperparameters", json::object());
    if (def.hyperparameters.is_null()) def.hyperparameters = json::object();
    def.description = core::OptionalString(body, "description", 1024);
    Validate(s, def.algorithm, def.hyperparameters);
    try {
        return Response::Json(201,
                              ModelJson(s.models->Create(req.Actor(), req.Tenant(), def)).dump());
    } catch (const core::Error& e) {
        if (e.code() == core::ErrorCode::kConflict)
            core::ThrowConflict("a model named '" + def.name + "' already exists", "name");
        throw;
    }
}

Response List(Services& s, Request& req) {
    return Response::Json(200, PageJson(s.models->List(req.Tenant(), ParsePage(req)), ModelJson));
}

Response Get(Services& s, Request& req) {
    return Response::Json(200, ModelJson(RequireModel(s, req)).dump());
}

Response Patch(Services& s, Request& req) {
    auto m = RequireModel(s, req);  // another tenant's model is 404 before any 422
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"hyperparameters", "description", "is_default"});
    if (body.empty()) core::ThrowUnprocessable("nothing to change");
    std::optional<json> hp;
    if (body.contains("hyperparameters")) {
        hp = body["hyperparameters"];
        Validate(s, m.algorithm, *hp);
    }
    auto desc = core::OptionalString(body, "description", 1024);
    auto def = core::OptionalBool(body, "is_default");
    auto out = s.models->Update(req.Actor(), req.Tenant(), m.id, hp, desc, def);
    s.resolver->Invalidate(req.Tenant());
    return Response::Json(200, ModelJson(out).dump());
}

Response Delete(Services& s, Request& req) {
    s.models->Delete(req.Actor(), req.Tenant(), req.Param("model_id"));
    s.resolver->Invalidate(req.Tenant());
    return Response::NoContent();
}

Response Versions(Services& s, Request& req) {
    auto m = RequireModel(s, req);
    return Response::Json(
        200, PageJson(s.models->ListVersions(req.Tenant(), m.id, ParsePage(req)), VersionJson));
}

Response VersionMetrics(Services& s, Request& req) {
    auto m = RequireModel(s, req);
    store::PageRequest p;
    p.limit = 500;
    json versions = json::array();
    for (auto& v : s.models->ListVersions(req.Tenant(), m.id, p).items)
        versions.push_back(
            {{"version", v.version}, {"metrics", v.metrics}, {"created_at", v.created_at}});
    return Response::Json(200, json{{"model_id", m.id}, {"versions", versions}}.dump());
}

core::ServingTarget TargetOf(const core::ModelDef& m,
                             const core::ModelVersion& v,
                             const std::string& pool) {
    return core::ServingTarget{v.tenant_id,       m.name,      v.id,
                               v.version,         m.algorithm, v.artifact_path,
                               v.artifact_sha256, pool};
}

/// How far the load ahead of the switch got: every live member of the pool has the version
/// when `complete`; members that joined since load it on their first request.
json RolloutJson(const core::Rollout& r) {
    return {{"pool", r.pool},
            {"members", r.members},
            {"loaded", r.loaded},
            {"unreachable", r.unreachable},
            {"complete", r.complete()}};
}

Response Deploy(Services& s, Request& req) {
    auto m = RequireModel(s, req);
    auto v = s.models->FindVersion(req.Tenant(), m.id, req.Param("version_id"));
    if (!v) core::ThrowNotFound("model version not found");
    if (v->status == "failed") core::ThrowConflict("a failed version cannot be deployed");
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"pool"});
    std::string pool = core::OptionalString(body, "pool", 64).value_or(core::kDefaultPool);
    if (!core::IsPoolName(pool))
        core::ThrowUnprocessable("'pool' must be 1..64 of a-z, 0-9 and '-'", "pool");
    // Load before switching, on every live member of the pool, so that the first request on
    // the new version is not slow and a broken artifact never becomes the serving one.
    auto rollout = Pool(s).Preload(TargetOf(m, *v, pool));
    auto out = s.models->Deploy(req.Actor(), req.Tenant(), m.id, v->id, pool);
    s.resolver->Invalidate(req.Tenant());
    auto j = VersionJson(out);
    j["rollout"] = RolloutJson(rollout);
    return Response::Json(200, j.dump());
}

Response Rollback(Services& s, Request& req) {
    auto m = RequireModel(s, req);
    auto v = s.models->FindVersion(req.Tenant(), m.id, req.Param("version_id"));
    if (!v) core::ThrowNotFound("model version not found");
    core::Rollout rollout;
    auto out = s.models->Rollback(req.Actor(), req.Tenant(), m.id, v->id,
                                  [&](const core::ModelVersion& target, const std::string& pool) {
                                      rollout = Pool(s).Preload(TargetOf(m, target, pool));
                                  });
    s.resolver->Invalidate(req.Tenant());
    auto j = VersionJson(out);
    j["rollout"] = RolloutJson(rollout);
    return Response::Json(200, j.dump());
}

}  // namespace

void RegisterModelRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    const auto r = core::Scope::kModelsRead, w = core::Scope::kModelsWrite;
    auto add = [&](const char* m, const char* p, core::Scope sc,
                   Response (*fn)(Services&, Request&), BodyKind body = BodyKind::kNone,
                   bool idempotent = false) {
        router.Add({.method = m,
                    .path = p,
                    .auth = t,
                    .scope = sc,
                    .handler = [&s, fn](Request& req) { return fn(s, req); },
                    .idempotent = idempotent,
                    .body = body});
    };
    add("POST", "/v1/recs/models", w, Create, BodyKind::kJson, /*idempotent=*/true);
    add("GET", "/v1/recs/models", r, List);
    add("GET", "/v1/recs/models/{model_id}", r, Get);
    add("PATCH", "/v1/recs/models/{model_id}", w, Patch, BodyKind::kJson);
    add("DELETE", "/v1/recs/models/{model_id}", w, Delete);
    add("GET", "/v1/recs/models/{model_id}/versions", r, Versions);
    add("GET", "/v1/recs/models/{model_id}/metrics", r, VersionMetrics);
    add("POST", "/v1/recs/models/{model_id}/versions/{version_id}/deploy", w, Deploy,
        BodyKind::kOptionalJson);
    add("POST", "/v1/recs/models/{model_id}/versions/{version_id}/rollback", w, Rollback,
        BodyKind::kOptionalJson);
}

}  // namespace recs::api
