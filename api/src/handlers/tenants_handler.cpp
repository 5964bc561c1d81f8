#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/core/log.hpp"
#include "recs/core/text.hpp"
#include "serving_resolver.hpp"

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
    auto name = core::RequireName(body, "name", 128);
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
    if (name) core::CheckIdText(*name, "name", 128);
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
    const auto& id = req.Param("tenant_id");
    s.tenants->Delete(req.Actor(), id);
    // What lives outside PostgreSQL goes too: cached keys (at once in this process, within the
    // key TTL in others), the event stream, loaded models. Artifact files are collected by the
    // workers' sweep of files no version refers to.
    s.auth->ForgetTenant(id);
    s.resolver->Invalidate(core::TenantId{id});
    try {
        s.event_stream->Delete(core::TenantId{id});
    } catch (const core::Error& e) {
        core::Log(core::LogLevel::kWarn, "event stream of a deleted tenant not removed",
                  {{"tenant", id}, {"error", e.detail()}});
    }
    if (s.pool) s.pool->Evict(id);
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
