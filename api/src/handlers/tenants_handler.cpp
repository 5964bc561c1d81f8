#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

json TenantJson(const core::Tenant& t) {
    return {{"id", t.id},
            {"name", t.name},
            {"status", t.status},
            {"created_at", t.created_at},
            {"updated_at", t.updated_at}};
}

std::optional<std::string> ValidStatus(const json& body) {
    auto status = core::OptionalString(body, "status", 32);
    if (status && *status != "active" && *status != "suspended")
        core::ThrowUnprocessable("'status' must be 'active' or 'suspended'", "status");
    return status;
}

Response Create(Services& s, Request& req) {
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"name"});
    auto name = core::RequireString(body, "name", 128);
    try {
        return Response::Json(201, TenantJson(s.tenants->Create(req.Actor(), name)).dump());
    } catch (const core::Error& e) {
        if (e.code() == core::ErrorCode::kConflict)
            core::ThrowConflict("a tenant named '" + name + "' already exists", "name");
        throw;
    }
}

Response Get(Services& s, Request& req) {
    auto t = s.tenants->Find(req.Param("tenant_id"));
    if (!t) core::ThrowNotFound("tenant not found");
    return Response::Json(200, TenantJson(*t).dump());
}

Response List(Services& s, Request& req) {
    auto page = ParsePage(req);
    auto status = req.Query("status");
    if (status && *status != "active" && *status != "suspended")
        core::ThrowUnprocessable("'status' must be 'active' or 'suspended'", "status");
    return Response::Json(200, PageJson(s.tenants->List(page, status), TenantJson));
}

Response Patch(Services& s, Request& req) {
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"name", "status"});
    auto name = core::OptionalString(body, "name", 128);
    if (name && name->empty()) core::ThrowUnprocessable("'name' must not be empty", "name");
    auto status = ValidStatus(body);
    if (!name && !status) core::ThrowUnprocessable("nothing to change: send 'name' or 'status'");
    try {
        return Response::Json(
            200, TenantJson(s.tenants->Update(req.Actor(), req.Param("tenant_id"), name, status))
                     .dump());
    } catch (const core::Error& e) {
        if (e.code() == core::ErrorCode::kConflict)
            core::ThrowConflict("a tenant named '" + name.value_or("") + "' already exists",
                                "name");
        throw;
    }
}

Response Delete(Services& s, Request& req) {
    s.tenants->Delete(req.Actor(), req.Param("tenant_id"));
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
