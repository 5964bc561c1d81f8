#include "services/feature_service.hpp"

#include <set>

#include "recs/core/error.hpp"
#include "recs/core/json_fields.hpp"
#include "recs/store/feature_store.hpp"

namespace recs::api {

using nlohmann::json;

namespace {

constexpr size_t kMaxFeatureBytes = 64 * 1024;

json DecodeFeatures(const json& body) {
    auto it = body.find("features");
    if (it == body.end() || it->is_null())
        core::ThrowUnprocessable("'features' is required", "features");
    if (!it->is_object()) core::ThrowUnprocessable("'features' must be an object", "features");
    if (core::JsonSize(*it) > kMaxFeatureBytes)
        core::ThrowUnprocessable("'features' is larger than 64 KiB", "features");
    return *it;
}

}  // namespace

void CheckEntityType(const std::string& t, const std::string& field) {
    if (t != "user" && t != "item")
        core::ThrowUnprocessable("entity_type must be 'user' or 'item'", field);
}

FeatureWrite DecodeFeatureWrite(const std::string& entity_type,
                                const std::string& entity_id,
                                const json& j) {
    CheckEntityType(entity_type, "entity_type");
    const auto& body = core::RequireObject(j);
    core::RejectUnknownFields(body, {"features"});
    return {entity_type, entity_id, DecodeFeatures(body)};
}

FeatureWrite DecodeFeatureBulkItem(const json& item) {
    core::RequireObject(item, "item");
    core::RejectUnknownFields(item, {"entity_type", "entity_id", "features"});
    auto type = core::RequireString(item, "entity_type", 8);
    CheckEntityType(type, "entity_type");
    auto id = core::RequireId(item, "entity_id");
    return {std::move(type), std::move(id), DecodeFeatures(item)};
}

FeatureService::FeatureService(store::FeatureRepository& features) : features_(features) {}

std::string FeatureService::Put(const core::TenantId& tenant, const FeatureWrite& w) {
    return features_.Upsert(tenant, w.entity_type, w.entity_id, w.features);
}

size_t FeatureService::PutMany(const core::TenantId& tenant,
                               const std::vector<FeatureWrite>& writes) {
    json rows = json::array();
    std::set<std::pair<std::string, std::string>> distinct;
    for (const auto& w : writes) {
        rows.push_back(
            {{"entity_type", w.entity_type}, {"entity_id", w.entity_id}, {"features", w.features}});
        distinct.emplace(w.entity_type, w.entity_id);
    }
    if (!writes.empty()) features_.UpsertMany(tenant, rows);
    return distinct.size();
}

StoredFeatures FeatureService::Get(const core::TenantId& tenant,
                                   const std::string& entity_type,
                                   const std::string& entity_id) {
    CheckEntityType(entity_type, "entity_type");
    auto f = features_.Find(tenant, entity_type, entity_id);
    if (!f) core::ThrowNotFound("no features for " + entity_type + " '" + entity_id + "'");
    return {std::move(f->first), std::move(f->second)};
}

}  // namespace recs::api
