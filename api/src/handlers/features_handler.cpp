#include <limits>
#include <nlohmann/json.hpp>

#include "handlers/bulk_body.hpp"
#include "handlers/handlers.hpp"
#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"

namespace recs::api {
namespace {

using nlohmann::json;

void CheckEntityType(const std::string& t, const std::string& field) {
    if (t != "user" && t != "item")
        core::ThrowUnprocessable("entity_type must be 'user' or 'item'", field);
}

json ParseFeatures(const json& body) {
    auto it = body.find("features");
    if (it == body.end() || it->is_null())
        core::ThrowUnprocessable("'features' is required", "features");
    if (!it->is_object()) core::ThrowUnprocessable("'features' must be an object", "features");
    if (it->dump().size() > 64 * 1024)
        core::ThrowUnprocessable("'features' is larger than 64 KiB", "features");
    return *it;
}

Response Put(Services& s, Request& req) {
    const auto& type = req.Param("entity_type");
    const auto& id = req.Param("entity_id");
    CheckEntityType(type, "entity_type");
    auto body = core::ParseJsonBody(req.body);
    core::RequireObject(body);
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
    // Bounded by the body limit only, as before.
    auto items = BulkItems(req, std::numeric_limits<size_t>::max(), "entities");
    json rejected = json::array();
    json rows = json::array();
    for (size_t i = 0; i < items.size(); ++i) {
        try {
            const auto& it = items[i];
            if (it.is_discarded()) core::ThrowInvalid("line is not valid JSON");
            core::RequireObject(it, "item");
            core::RejectUnknownFields(it, {"entity_type", "entity_id", "features"});
            auto type = core::RequireString(it, "entity_type", 8);
            CheckEntityType(type, "entity_type");
            auto id = core::RequireId(it, "entity_id");
            rows.push_back(
                {{"entity_type", type}, {"entity_id", id}, {"features", ParseFeatures(it)}});
        } catch (const core::Error& e) {
            rejected.push_back(RejectedItem(i, e));
        }
    }
    s.features->UpsertMany(req.Tenant(), rows);
    return Response::Json(200, json{{"accepted", rows.size()}, {"rejected", rejected}}.dump());
}

}  // namespace

void RegisterFeatureRoutes(Router& router, Services& s) {
    const auto t = AuthMode::kTenant;
    const std::string path = "/v1/recs/features/entities/{entity_type}/{entity_id}";
    router.Add({"POST", path, t, core::Scope::kModelsWrite, false,
                [&s](Request& r) { return Put(s, r); }});
    router.Add(
        {"GET", path, t, core::Scope::kModelsRead, false, [&s](Request& r) { return Get(s, r); }});
    router.Add({"POST", "/v1/recs/features/bulk", t, core::Scope::kModelsWrite, false,
                [&s](Request& r) { return Bulk(s, r); }});
}

}  // namespace recs::api
