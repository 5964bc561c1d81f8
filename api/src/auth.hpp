#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/route.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::api {

/// Authenticates bearer keys. Lookups by key hash are cached for at most `ttl_ms`
/// (so revocation takes effect within that time).
class Authenticator {
public:
    Authenticator(store::KeyRepository& keys,
                  store::TenantRepository& tenants,
                  std::string admin_key_hash,
                  int ttl_ms);

    /// Resolves the caller of `req` for a route. Throws core::Error: kUnauthenticated (no,
    /// unknown, revoked or expired key), kForbidden (scope missing, tenant key on an admin
    /// route, suspended tenant), kNotFound (X-Tenant-ID of an unknown tenant),
    /// kUnprocessable (platform admin without X-Tenant-ID on a tenant route).
    core::Principal Authenticate(const Request& req,
                                 AuthMode mode,
                                 const std::optional<core::Scope>& scope);

private:
    struct Cached {
        std::optional<store::KeyAuthRecord> record;
        std::chrono::steady_clock::time_point expires;
    };
    struct CachedTenant {
        bool exists = false;
        std::chrono::steady_clock::time_point expires;
    };
    std::optional<store::KeyAuthRecord> Lookup(const std::string& hash);
    bool TenantExists(const std::string& id);
    void MaybeTouch(const std::string& key_id);

    store::KeyRepository& keys_;
    store::TenantRepository& tenants_;
    std::string admin_key_hash_;
    std::chrono::milliseconds ttl_;
    std::mutex mu_;
    std::unordered_map<std::string, Cached> cache_;
    std::unordered_map<std::string, CachedTenant> tenant_cache_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> touched_;
};

}  // namespace recs::api
