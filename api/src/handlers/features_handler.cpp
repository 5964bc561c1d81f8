#include <nlohmann/json.hpp>
#include <set>

#include "handlers/handlers.hpp"
#include "http/decode.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"

namespace recs::api {
namespace {

using nlohmann::json;
constexpr size_t kMaxBulkEntities = 100000;

void CheckEntityType(const std::string& t, const std::string& field) {
    if (t != "user" && t != "item")
        core::ThrowUnprocessable("entity_type must be 'user' or 'item'", field);
}

json ParseFeatures(const json& body) {
    auto it = body.find("features");
    if (it == body.end() || it->is_null())
        core::ThrowUnprocessable("'features' is required", "features");
    if (!it->is_object()) core::ThrowUnprocessable("'features' must be an object", "features");
    if (core::JsonSize(*it) > 64 * 1024)
        core::ThrowUnprocessable("'features' is larger than 64 KiB", "features");
    return *it;
}

Response Put(Services& s, Request& req) {
    const auto& type = req.Param("entity_type");
    const auto& id = req.Param("entity_id");
    CheckEntityType(type, "entity_type");
    const auto& body = core::RequireObject(req.json);
    core::RejectUnknownFields(body, {"features"});
    auto features = ParseFeatures(body);
    auto at = s.features->Upsert(req.Tenant(), type, id, features);
    return Response::Json(
        200,
        json{{"entity_type", type}, {"entity_id", id}, {"features", features}, {"updated_at", at}}
            .dump());
}

Response Get(Services& s, Request& req) {
    const auto& type = req.Param("entity_type");
    const auto& id = req.Param("entity_id");
    CheckEntityType(type, "entity_type");
    auto f = s.features->Find(req.Tenant(), type, id);
    if (!f) core::ThrowNotFound("no features for " + type + " '" + id + "'");
    return Response::Json(200, json{{"entity_type", type},
                                    {"entity_id", id},
                                    {"features", f->first},
                                    {"updated_at", f->second}}
                                   .dump());
}

Response Bulk(Services& s, Request& req) {
    json rejected = json::array();
    json rows = json::array();
    std::set<std::pair<std::string, std::string>> distinct;
    for (const auto& item : req.items) {
        try {
            if (item.error) throw *item.error;
            const auto& it = item.value;
            core::RequireObject(it, "item");
            core::RejectUnknownFields(it, {"entity_type", "entity_id", "features"});
            auto type = core::RequireString(it, "entity_type", 8);
            CheckEntityType(type, "entity_type");
            auto id = core::RequireId(it, "entity_id");
            rows.push_back(
                {{"entity_type", type}, {"entity_id", id}, {"features", ParseFeatures(it)}});
            distinct.emplace(type, id);
        } catch (const core::Error& e) {
            rejected.push_back(RejectedItem(item, e));
        }
    }
    s.features->UpsertMany(req.Tenant(), rows);
    // A repeated entity is stored once (the last one wins): `accepted` counts entities.
    return Response::Json(
        200,
        json{{"accepted", distinct.size()}, {"items", rows.size()}, {"rejected", rejected}}.dump());
}

}  // namespace

void RegisterFeatureRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    const std::string path = "/v1/recs/features/entities/{entity_type}/{entity_id}";
    router.Add({.method = "POST",
                .path = path,
                .auth = t,
                .scope = core::Scope::kFeaturesWrite,
                .handler = [&s](Request& r) { return Put(s, r); },
                .body = BodyKind::kJson});
    router.Add({.method = "GET",
                .path = path,
                .auth = t,
                .scope = core::Scope::kFeaturesRead,
                .handler = [&s](Request& r) { return Get(s, r); }});
    router.Add({.method = "POST",
                .path = "/v1/recs/features/bulk",
                .auth = t,
                .scope = core::Scope::kFeaturesWrite,
                .handler = [&s](Request& r) { return Bulk(s, r); },
                .body = BodyKind::kBulk,
                .max_items = kMaxBulkEntities});
}

}  // namespace recs::api
