#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/job.hpp"
#include "recs/core/json_fields.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

Response Train(Services& s, Request& req) {
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"model_id", "hyperparameters", "holdout"});
    auto model_id = core::RequireString(body, "model_id", 64);
    auto model = s.models->Find(req.Tenant(), model_id);
    if (!model) core::ThrowNotFound("model not found");
    json payload = {{"model_id", model->id}};
    if (body.contains("hyperparameters") && !body["hyperparameters"].is_null()) {
        // Overrides change what gets trained: the model's owners' scope, not only jobs:write.
        if (!req.principal.HasScope(core::Scope::kModelsWrite))
            throw core::Error(core::ErrorCode::kForbidden,
                              "overriding hyperparameters needs the scope 'models:write'",
                              "hyperparameters");
        const auto& hp = body["hyperparameters"];
        if (!hp.is_object())
            core::ThrowUnprocessable("'hyperparameters' must be an object", "hyperparameters");
        json merged = model->hyperparameters;
        for (auto it = hp.begin(); it != hp.end(); ++it) merged[it.key()] = it.value();
        if (s.validate_model) s.validate_model(model->algorithm, merged);
        payload["hyperparameters"] = hp;
    }
    if (auto h = core::OptionalNumber(body, "holdout")) {
        if (*h < 0 || *h > 0.5)
            core::ThrowUnprocessable("'holdout' must be between 0 and 0.5", "holdout");
        payload["holdout"] = *h;
    }
    std::optional<std::string> idem;
    if (const std::string* k = req.Header("idempotency-key")) {
        if (k->empty() || k->size() > 128)
            core::ThrowUnprocessable("Idempotency-Key must be 1..128 characters",
                                     "Idempotency-Key");
        idem = *k;
    }
    auto job = s.jobs->Create(req.Tenant(), core::JobKind::kTrain, payload,
                              s.config.job_max_attempts, idem);
    return Response::Json(202, json{{"job_id", job.id}, {"status", job.status}}.dump());
}

Response List(Services& s, Request& req) {
    // Decoded at the edge into the enums; an unknown name is a 422 naming the parameter.
    std::optional<core::JobStatus> status;
    if (auto q = req.Query("status")) {
        status = core::ParseJobStatus(*q);
        if (!status) core::ThrowUnprocessable("unknown status '" + *q + "'", "status");
    }
    std::optional<core::JobKind> kind;
    if (auto q = req.Query("kind")) {
        kind = core::ParseJobKind(*q);
        if (!kind) core::ThrowUnprocessable("unknown kind '" + *q + "'", "kind");
    }
    return Response::Json(
        200, PageJson(s.jobs->List(req.Tenant(), ParsePage(req), status, kind), core::JobJson));
}

Response Get(Services& s, Request& req) {
    auto j = s.jobs->Find(req.Tenant(), req.Param("job_id"));
    if (!j) core::ThrowNotFound("job not found");
    return Response::Json(200, core::JobJson(*j).dump());
}

Response Retry(Services& s, Request& req) {
    return Response::Json(200,
                          core::JobJson(s.jobs->Redrive(req.Tenant(), req.Param("job_id"))).dump());
}

Response Cancel(Services& s, Request& req) {
    return Response::Json(200,
                          core::JobJson(s.jobs->Cancel(req.Tenant(), req.Param("job_id"))).dump());
}

}  // namespace

void RegisterJobRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    router.Add({.method = "POST",
                .path = "/v1/recs/jobs/train",
                .auth = t,
                .scope = core::Scope::kJobsWrite,
                .handler = [&s](Request& r) { return Train(s, r); },
                .body = BodyKind::kJson});
    router.Add({.method = "GET",
                .path = "/v1/recs/jobs",
                .auth = t,
                .scope = core::Scope::kJobsRead,
                .handler = [&s](Request& r) { return List(s, r); }});
    router.Add({.method = "GET",
                .path = "/v1/recs/jobs/{job_id}",
                .auth = t,
                .scope = core::Scope::kJobsRead,
                .handler = [&s](Request& r) { return Get(s, r); }});
    router.Add({.method = "POST",
                .path = "/v1/recs/jobs/{job_id}/retry",
                .auth = t,
                .scope = core::Scope::kJobsWrite,
                .handler = [&s](Request& r) { return Retry(s, r); },
                .body = BodyKind::kOptionalJson});
    router.Add({.method = "DELETE",
                .path = "/v1/recs/jobs/{job_id}/cancel",
                .auth = t,
                .scope = core::Scope::kJobsWrite,
                .handler = [&s](Request& r) { return Cancel(s, r); }});
}

}  // namespace recs::api
