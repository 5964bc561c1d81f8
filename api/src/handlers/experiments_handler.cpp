#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/experiment.hpp"
#include "recs/core/text.hpp"
#include "services/experiment_service.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

ExperimentService& Svc(Services& s) { return *s.experiment_service; }

Response One(int status, const core::Experiment& e) {
    return Response::Json(status, core::ExperimentJson(e).dump());
}

Response Create(Services& s, Request& req) {
    return One(201, Svc(s).Create(req.Actor(), req.Tenant(), req.json));
}

Response List(Services& s, Request& req) {
    std::optional<core::ExperimentStatus> status;
    if (auto q = req.Query("status")) {
        status = core::ParseExperimentStatus(*q);
        if (!status) core::ThrowUnprocessable("unknown status '" + *q + "'", "status");
    }
    return Response::Json(200, PageJson(s.experiments->List(req.Tenant(), ParsePage(req), status),
                                        core::ExperimentJson));
}

Response Get(Services& s, Request& req) {
    return One(200, Svc(s).Require(req.Tenant(), req.Param("experiment_id")));
}

Response Patch(Services& s, Request& req) {
    return One(200, Svc(s).Update(req.Actor(), req.Tenant(), req.Param("experiment_id"), req.json));
}

Response Delete(Services& s, Request& req) {
    Svc(s).Delete(req.Actor(), req.Tenant(), req.Param("experiment_id"));
    return Response::NoContent();
}

Response Start(Services& s, Request& req) {
    return One(200, Svc(s).Start(req.Actor(), req.Tenant(), req.Param("experiment_id")));
}

Response Pause(Services& s, Request& req) {
    return One(200, Svc(s).Pause(req.Actor(), req.Tenant(), req.Param("experiment_id")));
}

Response Stop(Services& s, Request& req) {
    return One(200, Svc(s).Stop(req.Actor(), req.Tenant(), req.Param("experiment_id")));
}

Response Results(Services& s, Request& req) {
    return Response::Json(
        200, Svc(s).Results(req.Actor(), req.Tenant(), req.Param("experiment_id")).dump());
}

Response Assignment(Services& s, Request& req) {
    Svc(s).Require(req.Tenant(), req.Param("experiment_id"));  // 404 before any 422
    auto unit = req.Query("unit_id");
    if (!unit || unit->empty()) core::ThrowUnprocessable("'unit_id' is required", "unit_id");
    core::CheckIdText(*unit, "unit_id", core::kMaxIdBytes);
    return Response::Json(
        200, Svc(s).Assignment(req.Tenant(), req.Param("experiment_id"), *unit).dump());
}

Response Assign(Services& s, Request& req) {
    Svc(s).Require(req.Tenant(), req.Param("experiment_id"));  // 404 before any 422
    auto r = DecodeForce(req.json);
    Svc(s).Force(req.Actor(), req.Tenant(), req.Param("experiment_id"), r);
    return Response::Json(
        200, Svc(s).Assignment(req.Tenant(), req.Param("experiment_id"), r.unit_id).dump());
}

Response AttachBandit(Services& s, Request& req) {
    auto r = DecodeBandit(req.json);
    auto b = Svc(s).AttachBandit(req.Actor(), req.Tenant(), r);
    return Response::Json(201, Svc(s).Bandit(req.Tenant(), b.experiment_id).dump());
}

Response GetBandit(Services& s, Request& req) {
    return Response::Json(200, Svc(s).Bandit(req.Tenant(), req.Param("experiment_id")).dump());
}

Response DetachBandit(Services& s, Request& req) {
    Svc(s).DetachBandit(req.Actor(), req.Tenant(), req.Param("experiment_id"));
    return Response::NoContent();
}

}  // namespace

void RegisterExperimentRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    const auto w = core::Scope::kExperimentsWrite;
    const auto r = core::Scope::kExperimentsRead;
    const std::string one = "/v1/recs/experiments/{experiment_id}";
    auto add = [&](const char* method, const std::string& path, core::Scope scope,
                   Response (*fn)(Services&, Request&), BodyKind body, bool idempotent = false) {
        router.Add({.method = method,
                    .path = path,
                    .auth = t,
                    .scope = scope,
                    .handler = [&s, fn](Request& req) { return fn(s, req); },
                    .idempotent = idempotent,
                    .body = body});
    };
    add("POST", "/v1/recs/experiments", w, Create, BodyKind::kJson, true);
    add("GET", "/v1/recs/experiments", r, List, BodyKind::kNone);
    add("GET", one, r, Get, BodyKind::kNone);
    add("PATCH", one, w, Patch, BodyKind::kJson);
    add("DELETE", one, w, Delete, BodyKind::kNone);
    add("POST", one + "/start", w, Start, BodyKind::kOptionalJson);
    add("POST", one + "/pause", w, Pause, BodyKind::kOptionalJson);
    add("POST", one + "/stop", w, Stop, BodyKind::kOptionalJson);
    add("GET", one + "/results", r, Results, BodyKind::kNone);
    add("GET", one + "/assignment", r, Assignment, BodyKind::kNone);
    add("POST", one + "/assign", w, Assign, BodyKind::kJson);
    add("POST", "/v1/recs/exploration/bandit", w, AttachBandit, BodyKind::kJson, true);
    add("GET", "/v1/recs/exploration/bandit/{experiment_id}", r, GetBandit, BodyKind::kNone);
    add("DELETE", "/v1/recs/exploration/bandit/{experiment_id}", w, DetachBandit, BodyKind::kNone);
}

}  // namespace recs::api
