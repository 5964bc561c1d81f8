#include <nlohmann/json.hpp>
#include <set>

#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"

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

std::vector<std::string> ParseScopes(const json& body) {
    auto it = body.find("scopes");
    if (it == body.end() || it->is_null())
        core::ThrowUnprocessable("'scopes' is required", "scopes");
    if (!it->is_array()) core::ThrowUnprocessable("'scopes' must be an array of strings", "scopes");
    if (it->empty()) core::ThrowUnprocessable("'scopes' must name at least one scope", "scopes");
    if (it->size() > 32) core::ThrowUnprocessable("'scopes' has more than 32 entries", "scopes");
    std::set<std::string> seen;
    std::vector<std::string> out;
    for (size_t i = 0; i < it->size(); ++i) {
        const auto& v = (*it)[i];
        std::string field = "scopes[" + std::to_string(i) + "]";
        if (!v.is_string()) core::ThrowUnprocessable(field + " must be a string", field);
        auto name = v.get<std::string>();
        if (!core::ParseScope(name)) {
            std::string known;
            for (auto s : core::AllScopeNames())
                known += (known.empty() ? "" : ", ") + std::string(s);
            core::ThrowUnprocessable("unknown scope '" + name + "'; known scopes: " + known, field);
        }
        if (seen.insert(name).second) out.push_back(name);
    }
    return out;
}

Response Create(Services& s, Request& req) {
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"name", "scopes", "expires_in"});
    auto name = core::RequireName(body, "name", 128);
    auto scopes = ParseScopes(body);
    auto expires_in = core::OptionalInt(body, "expires_in", 60, 315360000);
    auto gen = core::GenerateApiKey();
    auto key = s.keys->Create(req.Actor(), req.Tenant(), name, scopes, expires_in, gen);
    json j = KeyJson(key);
    j["key"] = gen.plaintext;  // shown in this response only
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
    s.keys->Revoke(req.Actor(), req.Tenant(), req.Param("key_id"));
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
