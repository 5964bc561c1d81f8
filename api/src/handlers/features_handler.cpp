#include <nlohmann/json.hpp>

#include "handlers/handlers.hpp"
#include "http/decode.hpp"
#include "recs/core/error.hpp"
#include "services/feature_service.hpp"

namespace recs::api {
namespace {

using nlohmann::json;
constexpr size_t kMaxBulkEntities = 100000;

Response Put(Services& s, Request& req) {
    auto w = DecodeFeatureWrite(req.Param("entity_type"), req.Param("entity_id"), req.json);
    auto at = s.feature_service->Put(req.Tenant(), w);
    return Response::Json(200, json{{"entity_type", w.entity_type},
                                    {"entity_id", w.entity_id},
                                    {"features", w.features},
                                    {"updated_at", at}}
                                   .dump());
}

Response Get(Services& s, Request& req) {
    const auto& type = req.Param("entity_type");
    const auto& id = req.Param("entity_id");
    auto f = s.feature_service->Get(req.Tenant(), type, id);
    return Response::Json(200, json{{"entity_type", type},
                                    {"entity_id", id},
                                    {"features", f.features},
                                    {"updated_at", f.updated_at}}
                                   .dump());
}

Response Bulk(Services& s, Request& req) {
    json rejected = json::array();
    std::vector<FeatureWrite> writes;
    for (const auto& item : req.items) {
        try {
            if (item.error) throw *item.error;
            writes.push_back(DecodeFeatureBulkItem(item.value));
        } catch (const core::Error& e) {
            rejected.push_back(RejectedItem(item, e));
        }
    }
    size_t accepted = s.feature_service->PutMany(req.Tenant(), writes);
    // A repeated entity is stored once (the last one wins): `accepted` counts entities.
    return Response::Json(
        200, json{{"accepted", accepted}, {"items", writes.size()}, {"rejected", rejected}}.dump());
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
