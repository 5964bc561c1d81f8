#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "recs/core/canary.hpp"
#include "recs/core/prediction_pool.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/core/ttl_cache.hpp"
#include "recs/store/model_store.hpp"

namespace recs::store {
class CanaryRepository;
}

namespace recs::api {

/// A model's canary as serving sees it: the version, the share of units, its guard.
struct CanaryRoute {
    core::Canary canary;
    core::ServingTarget target;
};

/// What a model reference serves: the deployed version, and its canary when one is active
/// (never for a reference that names its version).
struct Resolution {
    core::ServingTarget deployed;
    std::optional<CanaryRoute> canary;
    std::string model_id;

    /// The version that serves `unit_id`: the canary's for units in its cohort.
    const core::ServingTarget& For(const std::string& unit_id, bool* in_canary = nullptr) const;
};

/// Resolves a request's model ("" = the tenant's default model, "name", "name@3" or
/// "name@v3") to the version that serves it, cached for `ttl_ms` (deploys in this process
/// invalidate at once; other api replicas see them within the TTL).
class ServingResolver {
public:
    /// `canaries` may be null (no canaries).
    ServingResolver(store::ModelRepository& models,
                    int ttl_ms,
                    store::CanaryRepository* canaries = nullptr)
        : models_(models), canaries_(canaries), cache_(std::chrono::milliseconds(ttl_ms), 100000) {}

    /// Throws core::Error: kNotFound (unknown model or version), kConflict (no deployed
    /// version), kUnprocessable (malformed model reference, field "model"). When PostgreSQL is
    /// unavailable, an answer resolved in the last 10 minutes is used instead.
    Resolution ResolveAll(const core::TenantId& tenant, const std::string& spec);
    /// The deployed version alone (routes that serve no unit: related items).
    core::ServingTarget Resolve(const core::TenantId& tenant, const std::string& spec) {
        return ResolveAll(tenant, spec).deployed;
    }
    void Invalidate(const core::TenantId& tenant);

private:
    Resolution Load(const core::TenantId& tenant, const std::string& spec);

    store::ModelRepository& models_;
    store::CanaryRepository* canaries_;
    core::TtlCache<std::string, Resolution> cache_;
};

}  // namespace recs::api
