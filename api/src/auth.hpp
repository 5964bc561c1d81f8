#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "http/route.hpp"
#include "recs/core/ttl_cache.hpp"
#include "recs/store/tenant_store.hpp"

namespace recs::api {

/// Limits of authentication.
struct AuthOptions {
    int ttl_ms = 5000;  ///< how long a key lookup is trusted (revocation takes this long)
    /// Failed attempts one client address may make per minute before it gets 429s (only
    /// tokens not already known as valid are refused then).
    int failures_per_minute = 60;
};

/// Authenticates bearer keys. Lookups by key hash are cached for at most AuthOptions::ttl_ms
/// (so revocation takes effect within that time), unknown keys too, least recently used
/// evicted first. When PostgreSQL is unavailable, a key seen valid in the last 10 minutes is
/// still accepted, so that predictions keep being served through a database outage.
class Authenticator {
public:
    Authenticator(store::KeyRepository& keys,
                  store::TenantRepository& tenants,
                  std::string admin_key_hash,
                  AuthOptions options);

    /// Resolves the caller of `req` for a route. Throws core::Error: kUnauthenticated (no,
    /// malformed, unknown, revoked or expired key), kRateLimited (too many failed attempts from
    /// the client's address), kForbidden (scope missing, tenant key on an admin route,
    /// suspended tenant), kNotFound (X-Tenant-ID of an unknown tenant), kUnprocessable
    /// (platform admin without X-Tenant-ID on a tenant route).
    core::Principal Authenticate(const Request& req,
                                 AuthMode mode,
                                 const std::optional<core::Scope>& scope);

    /// Forgets what is cached of a tenant (its deletion): its keys stop working at once here.
    void ForgetTenant(const std::string& tenant_id);

private:
    using Clock = std::chrono::steady_clock;
    struct Failures {
        int count = 0;
        Clock::time_point window_start;
    };
    std::optional<store::KeyAuthRecord> Lookup(const std::string& hash, const Request& req);
    /// The tenant's canonical id, or nullopt when there is no such tenant.
    std::optional<std::string> CanonicalTenant(const std::string& id);
    void MaybeTouch(const std::string& key_id);
    [[noreturn]] void Refuse(const Request& req, const std::string& detail);
    void CheckThrottle(const Request& req);

    store::KeyRepository& keys_;
    store::TenantRepository& tenants_;
    std::string admin_key_hash_;
    AuthOptions opts_;
    core::TtlCache<std::string, std::optional<store::KeyAuthRecord>> keys_cache_;
    core::TtlCache<std::string, std::optional<std::string>> tenant_cache_;
    core::TtlCache<std::string, Clock::time_point> touched_;
    core::TtlCache<std::string, Failures> failures_;
};

}  // namespace recs::api
