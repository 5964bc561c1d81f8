#include <nlohmann/json.hpp>

#include "canary_monitor.hpp"
#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/pool_protocol.hpp"
#include "services/model_service.hpp"
#include "services/quota_service.hpp"
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

core::ModelDef RequireModel(Services& s, Request& req) {
    return s.model_service->Require(req.Tenant(), req.Param("model_id"));
}

Response Create(Services& s, Request& req) {
    auto r = DecodeCreateModel(req.json);
    if (s.quota_service) s.quota_service->CheckNewModel(req.Tenant());
    return Response::Json(201,
                          ModelJson(s.model_service->Create(req.Actor(), req.Tenant(), r)).dump());
}

Response List(Services& s, Request& req) {
    return Response::Json(200, PageJson(s.models->List(req.Tenant(), ParsePage(req)), ModelJson));
}

Response Get(Services& s, Request& req) {
    return Response::Json(200, ModelJson(RequireModel(s, req)).dump());
}

Response Patch(Services& s, Request& req) {
    auto m = RequireModel(s, req);  // another tenant's model is 404 before any 422
    auto r = DecodeUpdateModel(req.json);
    return Response::Json(
        200, ModelJson(s.model_service->Update(req.Actor(), req.Tenant(), m.id, r)).dump());
}

Response Delete(Services& s, Request& req) {
    s.model_service->Delete(req.Actor(), req.Tenant(), req.Param("model_id"));
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

/// How far the load ahead of the switch got: every live member of the pool has the version
/// when `complete`; members that joined since load it on their first request.
json RolloutJson(const core::Rollout& r) {
    return {{"pool", r.pool},
            {"members", r.members},
            {"loaded", r.loaded},
            {"unreachable", r.unreachable},
            {"complete", r.complete()}};
}

json CanaryJson(const core::Canary& c) {
    json guard;
    if (c.guard)
        guard = {
            {"max_error_rate", c.guard->max_error_rate ? json(*c.guard->max_error_rate) : json()},
            {"max_p99_ms", c.guard->max_p99_ms ? json(*c.guard->max_p99_ms) : json()},
            {"window_s", c.guard->window_s},
            {"min_requests", c.guard->min_requests}};
    return {{"id", c.id},
            {"model_id", c.model_id},
            {"version_id", c.version_id},
            {"version", c.version},
            {"pool", c.pool},
            {"traffic_pct", c.traffic_pct},
            {"guard", guard},
            {"status", c.status},
            {"reason", Opt(c.reason)},
            {"created_at", c.created_at},
            {"ended_at", Opt(c.ended_at)}};
}

json WindowJson(const core::WindowStats& w) {
    return {{"requests", w.requests},
            {"errors", w.errors},
            {"error_rate", w.ErrorRate()},
            {"p99_ms", w.p99_ms}};
}

json OutcomeJson(const DeployOutcome& o) {
    auto j = VersionJson(o.version);
    j["rollout"] = RolloutJson(o.rollout);
    if (o.canary) j["canary"] = CanaryJson(*o.canary);
    return j;
}

Response Canary(Services& s, Request& req) {
    auto c = s.model_service->Canary(req.Tenant(), req.Param("model_id"));
    auto j = CanaryJson(c);
    // What this api process saw in the guard's current window.
    if (s.canary_monitor)
        if (auto w = s.canary_monitor->Window(c.id))
            j["window"] = {{"canary", WindowJson(w->first)}, {"deployed", WindowJson(w->second)}};
    return Response::Json(200, j.dump());
}

Response Deploy(Services& s, Request& req) {
    auto m = RequireModel(s, req);  // another tenant's model is 404 before any 422
    auto r = DecodeDeploy(req.json);
    return Response::Json(200, OutcomeJson(s.model_service->Deploy(req.Actor(), req.Tenant(), m.id,
                                                                   req.Param("version_id"), r))
                                   .dump());
}

Response Rollback(Services& s, Request& req) {
    return Response::Json(
        200, OutcomeJson(s.model_service->Rollback(req.Actor(), req.Tenant(), req.Param("model_id"),
                                                   req.Param("version_id")))
                 .dump());
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
    add("GET", "/v1/recs/models/{model_id}/canary", r, Canary);
}

}  // namespace recs::api
