#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/domain.hpp"
#include "recs/core/job.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/store/page.hpp"

namespace recs::store {

class PgPool;

/// User and item features.
class FeatureRepository {
public:
    virtual ~FeatureRepository() = default;
    /// Upserts (replaces) the features; returns updated_at.
    virtual std::string Upsert(const core::TenantId& tenant,
                               const std::string& entity_type,
                               const std::string& entity_id,
                               const nlohmann::json& features) = 0;
    /// Upserts many in one statement.
    virtual void UpsertMany(const core::TenantId& tenant, const nlohmann::json& rows) = 0;
    /// {features, updated_at} or nullopt.
    virtual std::optional<std::pair<nlohmann::json, std::string>> Find(
        const core::TenantId& tenant,
        const std::string& entity_type,
        const std::string& entity_id) = 0;
    /// Features of many items (missing ones absent from the result).
    virtual std::vector<std::pair<std::string, nlohmann::json>> FindItems(
        const core::TenantId& tenant, const std::vector<std::string>& item_ids) = 0;
};

std::unique_ptr<FeatureRepository> MakePgFeatureRepository(PgPool& pool);

}  // namespace recs::store
