#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "services/key_service.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

json Nullable(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

json KeyJson(const core::ApiKey& k) {
    return {{"id", k.id},
            {"name", k.name},
            {"prefix", k.prefix},
            {"scopes", k.scopes},
            {"created_at", k.created_at},
            {"expires_at", Nullable(k.expires_at)},
            {"revoked_at", Nullable(k.revoked_at)},
            {"last_used_at", Nullable(k.last_used_at)}};
}

Response Create(Services& s, Request& req) {
    auto r = DecodeCreateKey(req.json);
    auto created = s.key_service->Create(req.Actor(), req.Tenant(), r);
    json j = KeyJson(created.key);
    j["key"] = created.plaintext;  // shown in this response only
    return Response::Json(201, j.dump());
}

Response Get(Services& s, Request& req) {
    auto k = s.keys->Find(req.Tenant(), req.Param("key_id"));
    if (!k) core::ThrowNotFound("API key not found");
    return Response::Json(200, KeyJson(*k).dump());
}

Response List(Services& s, Request& req) {
    return Response::Json(200, PageJson(s.keys->List(req.Tenant(), ParsePage(req)), KeyJson));
}

Response Delete(Services& s, Request& req) {
    s.key_service->Revoke(req.Actor(), req.Tenant(), req.Param("key_id"));
    return Response::NoContent();
}

}  // namespace

void RegisterKeyRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    const auto admin = core::Scope::kAdmin;
    router.Add({.method = "POST",
                .path = "/v1/recs/keys",
                .auth = t,
                .scope = admin,
                .handler = [&s](Request& r) { return Create(s, r); },
                .idempotent = true,
                .body = BodyKind::kJson});
    router.Add({.method = "GET",
                .path = "/v1/recs/keys",
                .auth = t,
                .scope = admin,
                .handler = [&s](Request& r) { return List(s, r); }});
    router.Add({.method = "GET",
                .path = "/v1/recs/keys/{key_id}",
                .auth = t,
                .scope = admin,
                .handler = [&s](Request& r) { return Get(s, r); }});
    router.Add({.method = "DELETE",
                .path = "/v1/recs/keys/{key_id}",
                .auth = t,
                .scope = admin,
                .handler = [&s](Request& r) { return Delete(s, r); }});
}

}  // namespace recs::api
