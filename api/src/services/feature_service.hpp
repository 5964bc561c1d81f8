#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/tenancy.hpp"

namespace recs::store {
class FeatureRepository;
}

namespace recs::api {

/// The features of one user or item, decoded once at the edge (the single write takes type
/// and id from the path, a bulk item from its body). Throws core::Error(kUnprocessable)
/// naming the field: `entity_type` is "user" or "item", `features` an object of at most
/// 64 KiB.
struct FeatureWrite {
    std::string entity_type;
    std::string entity_id;
    nlohmann::json features;
};

/// The body of POST /features/entities/{type}/{id}.
FeatureWrite DecodeFeatureWrite(const std::string& entity_type,
                                const std::string& entity_id,
                                const nlohmann::json& body);
/// One line of POST /features/bulk.
FeatureWrite DecodeFeatureBulkItem(const nlohmann::json& item);
/// A path's entity type.
void CheckEntityType(const std::string& entity_type, const std::string& field);

struct StoredFeatures {
    nlohmann::json features;
    std::string updated_at;
};

/// Users' and items' features, as models and filters read them.
class FeatureService {
public:
    explicit FeatureService(store::FeatureRepository& features);

    /// Replaces the entity's features; returns updated_at.
    std::string Put(const core::TenantId& tenant, const FeatureWrite& write);
    /// Writes every entity in one statement; an entity sent twice is stored once (the last
    /// wins). Returns the number of distinct entities.
    size_t PutMany(const core::TenantId& tenant, const std::vector<FeatureWrite>& writes);
    /// kNotFound when the entity has no features (or is another tenant's).
    StoredFeatures Get(const core::TenantId& tenant,
                       const std::string& entity_type,
                       const std::string& entity_id);

private:
    store::FeatureRepository& features_;
};

}  // namespace recs::api
