#pragma once

#include <memory>
#include <optional>
#include <string>

#include "recs/core/canary.hpp"
#include "recs/core/tenancy.hpp"

namespace recs::store {

class PgPool;

/// Canaries of a tenant's models. Every change writes an audit row in the same transaction.
class CanaryRepository {
public:
    virtual ~CanaryRepository() = default;
    /// Starts a canary of the version (an active one of the model is replaced).
    virtual core::Canary Start(const core::Actor& actor,
                               const core::TenantId& tenant,
                               const core::Canary& canary) = 0;
    virtual std::optional<core::Canary> Active(const core::TenantId& tenant,
                                               const std::string& model_id) = 0;
    /// The newest canary of the model (active or ended).
    virtual std::optional<core::Canary> Latest(const core::TenantId& tenant,
                                               const std::string& model_id) = 0;
    /// Ends the model's active canary `canary_id` as promoted, rolled_back (the version's status
    /// becomes rolled_back, `reason` kept) or replaced; nullopt when it is no longer active.
    virtual std::optional<core::Canary> End(const core::Actor& actor,
                                            const core::TenantId& tenant,
                                            const std::string& canary_id,
                                            const std::string& status,
                                            const std::optional<std::string>& reason) = 0;
};

std::unique_ptr<CanaryRepository> MakePgCanaryRepository(PgPool& pool);

}  // namespace recs::store
