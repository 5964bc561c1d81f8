#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "recs/core/prediction_pool.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::store {
class TenantRepository;
class EventStream;
}  // namespace recs::store

namespace recs::api {

// Requests of the platform admin's tenant routes, decoded once at the edge. Each decoder
// throws core::Error(kUnprocessable) naming the offending field, and rejects unknown fields.

struct CreateTenantRequest {
    std::string name;
};

struct UpdateTenantRequest {
    std::optional<std::string> name;
    std::optional<core::TenantStatus> status;
};

CreateTenantRequest DecodeCreateTenant(const nlohmann::json& body);
UpdateTenantRequest DecodeUpdateTenant(const nlohmann::json& body);
/// The `status` filter of the tenant list (nullopt when absent).
std::optional<core::TenantStatus> DecodeTenantStatusFilter(const std::optional<std::string>& q);

/// Tenants, and what a tenant leaves outside PostgreSQL when it goes: cached keys and models
/// (at once in this process, within the key TTL in others), its event stream, the versions
/// loaded by the prediction pool. Artifact files are collected by the workers' sweep of files
/// no version refers to.
class TenantService {
public:
    /// Drops what this process caches of a tenant (keys, resolved models).
    using Forget = std::function<void(const core::TenantId&)>;

    /// `stream` and `pool` may be null (nothing to clean there).
    TenantService(store::TenantRepository& tenants,
                  store::EventStream* stream,
                  core::PredictionPool* pool,
                  Forget forget);

    /// kConflict naming `name` when another tenant has it.
    core::Tenant Create(const core::Actor& actor, const CreateTenantRequest& request);
    /// kNotFound when unknown, kConflict naming `name` when another tenant has it.
    core::Tenant Update(const core::Actor& actor,
                        const std::string& tenant_id,
                        const UpdateTenantRequest& request);
    /// kNotFound when unknown. The clean-up outside PostgreSQL is best effort and logged.
    void Delete(const core::Actor& actor, const std::string& tenant_id);

private:
    store::TenantRepository& tenants_;
    store::EventStream* stream_;
    core::PredictionPool* pool_;
    Forget forget_;
};

}  // namespace recs::api
