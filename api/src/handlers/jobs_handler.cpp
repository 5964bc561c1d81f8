#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/job.hpp"
#include "services/job_service.hpp"
#include "services/quota_service.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

Response Train(Services& s, Request& req) {
    auto r = DecodeTrainJob(req.json, req.Header("idempotency-key"));
    if (s.quota_service) s.quota_service->CheckNewJob(req.Tenant());
    auto job = s.job_service->SubmitTrain(req.Tenant(), r,
                                          req.principal.HasScope(core::Scope::kModelsWrite));
    return Response::Json(202, json{{"job_id", job.id}, {"status", job.status}}.dump());
}

Response Simulate(Services& s, Request& req) {
    auto r = DecodeSimulate(req.json, req.Header("idempotency-key"));
    if (s.quota_service) s.quota_service->CheckNewJob(req.Tenant());
    auto job = s.job_service->SubmitSimulate(req.Tenant(), r);
    return Response::Json(202, json{{"job_id", job.id}, {"status", job.status}}.dump());
}

Response List(Services& s, Request& req) {
    // Decoded at the edge into the enums; an unknown name is a 422 naming the parameter.
    auto f = DecodeJobFilter(req.Query("status"), req.Query("kind"));
    return Response::Json(
        200, PageJson(s.jobs->List(req.Tenant(), ParsePage(req), f.status, f.kind), core::JobJson));
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
    router.Add({.method = "POST",
                .path = "/v1/recs/simulate",
                .auth = t,
                .scope = core::Scope::kJobsWrite,
                .handler = [&s](Request& r) { return Simulate(s, r); },
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
