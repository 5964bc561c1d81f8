#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

#include "recs/core/prediction_pool.hpp"
#include "recs/core/tenancy.hpp"
#include "recs/core/ttl_cache.hpp"
#include "recs/store/model_store.hpp"

namespace recs::api {

/// Resolves a request's model ("" = the tenant's default model, "name", "name@3" or
/// "name@v3") to the version that serves it, cached for `ttl_ms` (deploys in this process
/// invalidate at once; other api replicas see them within the TTL).
class ServingResolver {
public:
    ServingResolver(store::ModelRepository& models, int ttl_ms)
        : models_(models), cache_(std::chrono::milliseconds(ttl_ms), 100000) {}

    /// Throws core::Error: kNotFound (unknown model or version), kConflict (no deployed
    /// version), kUnprocessable (malformed model reference, field "model"). When PostgreSQL is
    /// unavailable, an answer resolved in the last 10 minutes is used instead.
    core::ServingTarget Resolve(const core::TenantId& tenant, const std::string& spec);
    void Invalidate(const core::TenantId& tenant);

private:
    core::ServingTarget Load(const core::TenantId& tenant, const std::string& spec);

    store::ModelRepository& models_;
    core::TtlCache<std::string, core::ServingTarget> cache_;
};

}  // namespace recs::api
