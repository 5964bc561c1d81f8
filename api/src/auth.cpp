#include "auth.hpp"

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"

namespace recs::api {
namespace {

using core::Error;
using core::ErrorCode;
constexpr size_t kMaxCacheEntries = 100000;

}  // namespace

Authenticator::Authenticator(store::KeyRepository& keys,
                             store::TenantRepository& tenants,
                             std::string admin_key_hash,
                             int ttl_ms)
    : keys_(keys), tenants_(tenants), admin_key_hash_(std::move(admin_key_hash)), ttl_(ttl_ms) {}

std::optional<store::KeyAuthRecord> Authenticator::Lookup(const std::string& hash) {
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mu_);
        auto it = cache_.find(hash);
        if (it != cache_.end() && it->second.expires > now) return it->second.record;
    }
    auto rec = keys_.FindByHash(hash);
    std::lock_guard lock(mu_);
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_[hash] = Cached{rec, now + ttl_};
    return rec;
}

bool Authenticator::TenantExists(const std::string& id) {
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mu_);
        auto it = tenant_cache_.find(id);
        if (it != tenant_cache_.end() && it->second.expires > now) return it->second.exists;
    }
    bool exists = tenants_.Find(id).has_value();
    std::lock_guard lock(mu_);
    if (tenant_cache_.size() >= kMaxCacheEntries) tenant_cache_.clear();
    tenant_cache_[id] = CachedTenant{exists, now + ttl_};
    return exists;
}

void Authenticator::MaybeTouch(const std::string& key_id) {
    auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mu_);
        auto& t = touched_[key_id];
        if (t != std::chrono::steady_clock::time_point{} && now - t < std::chrono::minutes(1))
            return;
        t = now;
    }
    try {
        keys_.Touch(key_id);
    } catch (const Error&) {  // best effort: last_used_at is informational
    }
}

core::Principal Authenticator::Authenticate(const Request& req,
                                            AuthMode mode,
                                            const std::optional<core::Scope>& scope) {
    core::Principal p;
    if (mode == AuthMode::kNone) return p;
    const std::string* auth = req.Header("authorization");
    if (!auth || auth->size() < 8 || auth->compare(0, 7, "Bearer ") != 0)
        throw Error(ErrorCode::kUnauthenticated,
                    "an 'Authorization: Bearer <key>' header is required");
    std::string token = auth->substr(7);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    if (token.empty() || token.size() > 256)
        throw Error(ErrorCode::kUnauthenticated, "the API key is not valid");
    std::string hash = core::Sha256Hex(token);

    if (!admin_key_hash_.empty() && core::ConstantTimeEquals(hash, admin_key_hash_)) {
        p.platform_admin = true;
        p.key_id = "admin";
        p.key_prefix = "admin";
        if (mode == AuthMode::kTenant) {
            const std::string* tid = req.Header("x-tenant-id");
            if (!tid || tid->empty())
                throw Error(ErrorCode::kUnprocessable,
                            "the platform admin key acts on a tenant through the X-Tenant-ID "
                            "header",
                            "X-Tenant-ID");
            if (!TenantExists(*tid)) throw Error(ErrorCode::kNotFound, "tenant not found");
            p.tenant = core::TenantId{*tid};
        }
        return p;
    }

    auto rec = Lookup(hash);
    if (!rec) throw Error(ErrorCode::kUnauthenticated, "the API key is not valid or was revoked");
    if (rec->expired) throw Error(ErrorCode::kUnauthenticated, "the API key has expired");
    p.key_id = rec->key.id;
    p.key_prefix = rec->key.prefix;
    p.scopes = rec->key.scopes;
    p.tenant = core::TenantId{rec->key.tenant_id};
    if (mode == AuthMode::kPlatformAdmin)
        throw Error(ErrorCode::kForbidden, "this route needs the platform admin key");
    if (rec->tenant_status != "active")
        throw Error(ErrorCode::kForbidden, "the tenant is suspended");
    if (scope && !p.HasScope(*scope))
        throw Error(ErrorCode::kForbidden,
                    "the API key lacks the scope '" + std::string(core::ScopeName(*scope)) + "'");
    MaybeTouch(p.key_id);
    return p;
}

}  // namespace recs::api
