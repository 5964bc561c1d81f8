#include "auth.hpp"

#include "recs/core/crypto.hpp"
#include "recs/core/error.hpp"

namespace recs::api {
namespace {

using core::Error;
using core::ErrorCode;
using Clock = std::chrono::steady_clock;
constexpr size_t kMaxCacheEntries = 100000;
constexpr auto kStaleIfError = std::chrono::minutes(10);
constexpr auto kFailureWindow = std::chrono::minutes(1);

bool IsAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// "rk_" + 8 alphanumerics + "_" + 32 alphanumerics (core::GenerateApiKey), or the admin key:
/// anything else is refused without a database lookup.
bool TenantKeyShape(const std::string& t) {
    if (t.size() != 44 || t.compare(0, 3, "rk_") != 0 || t[11] != '_') return false;
    for (size_t i = 3; i < t.size(); ++i)
        if (i != 11 && !IsAlnum(t[i])) return false;
    return true;
}

std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

Authenticator::Authenticator(store::KeyRepository& keys,
                             store::TenantRepository& tenants,
                             std::string admin_key_hash,
                             AuthOptions options)
    : keys_(keys),
      tenants_(tenants),
      admin_key_hash_(std::move(admin_key_hash)),
      opts_(options),
      keys_cache_(std::chrono::milliseconds(options.ttl_ms), kMaxCacheEntries),
      tenant_cache_(std::chrono::milliseconds(options.ttl_ms), kMaxCacheEntries),
      touched_(std::chrono::minutes(1), kMaxCacheEntries),
      failures_(std::chrono::duration_cast<std::chrono::milliseconds>(kFailureWindow),
                kMaxCacheEntries) {}

void Authenticator::CheckThrottle(const Request& req) {
    if (opts_.failures_per_minute <= 0 || req.client.empty()) return;
    auto now = Clock::now();
    auto f = failures_.Get(req.client, now);
    if (!f || now - f->window_start >= kFailureWindow || f->count < opts_.failures_per_minute)
        return;
    auto wait =
        std::chrono::duration_cast<std::chrono::seconds>(kFailureWindow - (now - f->window_start));
    throw Error(ErrorCode::kRateLimited,
                "too many failed authentication attempts from this address; retry later")
        .WithRetryAfter(static_cast<int>(std::max<int64_t>(1, wait.count())));
}

void Authenticator::Refuse(const Request& req, const std::string& detail) {
    if (!req.client.empty()) {
        auto now = Clock::now();
        auto f = failures_.Get(req.client, now).value_or(Failures{0, now});
        if (now - f.window_start >= kFailureWindow) f = Failures{0, now};
        ++f.count;
        failures_.Put(req.client, f, now);
    }
    throw Error(ErrorCode::kUnauthenticated, detail);
}

std::optional<store::KeyAuthRecord> Authenticator::Lookup(const std::string& hash,
                                                          const Request& req) {
    auto now = Clock::now();
    if (auto hit = keys_cache_.Get(hash, now)) {
        if (hit->has_value()) return *hit;
        Refuse(req, "the API key is not valid or was revoked");
    }
    CheckThrottle(req);
    try {
        auto rec = keys_.FindByHash(hash);
        keys_cache_.Put(hash, rec, now);
        return rec;
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kUnavailable) throw;
        auto stale = keys_cache_.GetStale(hash, now, kStaleIfError);
        if (stale && stale->has_value()) return *stale;
        throw;
    }
}

std::optional<std::string> Authenticator::CanonicalTenant(const std::string& id) {
    std::string key = Lower(id);
    auto now = Clock::now();
    if (auto hit = tenant_cache_.Get(key, now)) return *hit;
    try {
        auto t = tenants_.Find(key);
        std::optional<std::string> canonical;
        if (t) canonical = t->id;
        tenant_cache_.Put(key, canonical, now);
        return canonical;
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kUnavailable) throw;
        auto stale = tenant_cache_.GetStale(key, now, kStaleIfError);
        if (stale && stale->has_value()) return *stale;
        throw;
    }
}

void Authenticator::ForgetTenant(const std::string& tenant_id) {
    std::string key = Lower(tenant_id);
    tenant_cache_.EraseIf(
        [&](const std::string& k, const std::optional<std::string>&) { return k == key; });
    keys_cache_.EraseIf([&](const std::string&, const std::optional<store::KeyAuthRecord>& r) {
        return r && Lower(r->key.tenant_id) == key;
    });
}

void Authenticator::MaybeTouch(const std::string& key_id) {
    auto now = Clock::now();
    if (touched_.Get(key_id, now)) return;
    touched_.Put(key_id, now, now);
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
    // The scheme is case-insensitive (RFC 9110 section 11.1).
    if (!auth || auth->size() < 8 || Lower(auth->substr(0, 7)) != "bearer ")
        throw Error(ErrorCode::kUnauthenticated,
                    "an 'Authorization: Bearer <key>' header is required");
    std::string token = auth->substr(7);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    while (!token.empty() && token.front() == ' ') token.erase(0, 1);
    if (token.empty() || token.size() > 256) Refuse(req, "the API key is not valid");
    std::string hash = core::Sha256Hex(token);

    if (!admin_key_hash_.empty() && core::ConstantTimeEquals(hash, admin_key_hash_)) {
        p.platform_admin = true;
        p.key_id = "admin";
        p.key_prefix = "admin";
        const std::string* tid = req.Header("x-tenant-id");
        if (mode == AuthMode::kTenant || (mode == AuthMode::kPlatformOrTenant && tid)) {
            if (!tid || tid->empty())
                throw Error(ErrorCode::kUnprocessable,
                            "the platform admin key acts on a tenant through the X-Tenant-ID "
                            "header",
                            "X-Tenant-ID");
            auto canonical = core::IsUuid(*tid) ? CanonicalTenant(*tid) : std::nullopt;
            if (!canonical) throw Error(ErrorCode::kNotFound, "tenant not found");
            p.tenant = core::TenantId{*canonical};
        }
        return p;
    }
    if (!TenantKeyShape(token)) {
        CheckThrottle(req);
        Refuse(req, "the API key is not valid");
    }
    auto rec = Lookup(hash, req);
    if (!rec) Refuse(req, "the API key is not valid or was revoked");
    if (rec->expired) Refuse(req, "the API key has expired");
    p.key_id = rec->key.id;
    p.key_prefix = rec->key.prefix;
    p.scopes = rec->key.scopes;
    p.tenant = core::TenantId{rec->key.tenant_id};
    if (mode == AuthMode::kPlatformAdmin)
        throw Error(ErrorCode::kForbidden, "this route needs the platform admin key");
    if (rec->tenant_status != core::TenantStatus::kActive)
        throw Error(ErrorCode::kForbidden, "the tenant is suspended");
    if (scope && !p.HasScope(*scope))
        throw Error(ErrorCode::kForbidden,
                    "the API key lacks the scope '" + std::string(core::ScopeName(*scope)) + "'");
    MaybeTouch(p.key_id);
    return p;
}

}  // namespace recs::api
