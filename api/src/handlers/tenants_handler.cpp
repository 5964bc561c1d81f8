#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "services/tenant_service.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

json TenantJson(const core::Tenant& t) {
    return {{"id", t.id},
            {"name", t.name},
            {"status", core::TenantStatusName(t.status)},
            {"created_at", t.created_at},
            {"updated_at", t.updated_at}};
}

Response Create(Services& s, Request& req) {
    auto r = DecodeCreateTenant(req.json);
    return Response::Json(201, TenantJson(s.tenant_service->Create(req.Actor(), r)).dump());
}

Response Get(Services& s, Request& req) {
    auto t = s.tenants->Find(req.Param("tenant_id"));
    if (!t) core::ThrowNotFound("tenant not found");
    return Response::Json(200, TenantJson(*t).dump());
}

Response List(Services& s, Request& req) {
    auto page = ParsePage(req);
    auto status = DecodeTenantStatusFilter(req.Query("status"));
    return Response::Json(200, PageJson(s.tenants->List(page, status), TenantJson));
}

Response Patch(Services& s, Request& req) {
    auto r = DecodeUpdateTenant(req.json);
    return Response::Json(
        200, TenantJson(s.tenant_service->Update(req.Actor(), req.Param("tenant_id"), r)).dump());
}

Response Delete(Services& s, Request& req) {
    s.tenant_service->Delete(req.Actor(), req.Param("tenant_id"));
    return Response::NoContent();
}

}  // namespace

void RegisterTenantRoutes(Router& router, Services& s) {
    const auto admin = AuthMode::kPlatformAdmin;
    const std::string one = "/v1/recs/admin/tenants/{tenant_id}";
    router.Add({.method = "POST",
                .path = "/v1/recs/admin/tenants",
                .auth = admin,
                .handler = [&s](Request& r) { return Create(s, r); },
                .idempotent = true,
                .body = BodyKind::kJson});
    router.Add({.method = "GET",
                .path = "/v1/recs/admin/tenants",
                .auth = admin,
                .handler = [&s](Request& r) { return List(s, r); }});
    router.Add({.method = "GET", .path = one, .auth = admin, .handler = [&s](Request& r) {
                    return Get(s, r);
                }});
    router.Add({.method = "PATCH",
                .path = one,
                .auth = admin,
                .handler = [&s](Request& r) { return Patch(s, r); },
                .body = BodyKind::kJson});
    router.Add({.method = "DELETE", .path = one, .auth = admin, .handler = [&s](Request& r) {
                    return Delete(s, r);
                }});
}

}  // namespace recs::api
