#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recs::core {

/// Strong type of a tenant's id (a UUID string). Every tenant-scoped repository method takes
/// it first.
struct TenantId {
    std::string value;
    bool operator==(const TenantId&) const = default;
};

/// Permission scopes of API keys.
enum class Scope : uint16_t {
    kAdmin = 1 << 0,
    kPredict = 1 << 1,
    kEventsWrite = 1 << 2,
    kEventsRead = 1 << 3,
    kModelsRead = 1 << 4,
    kModelsWrite = 1 << 5,
    kJobsRead = 1 << 6,
    kJobsWrite = 1 << 7,
    kExperimentsRead = 1 << 8,
    kExperimentsWrite = 1 << 9,
    kFeaturesRead = 1 << 10,   ///< also granted by models:read (before features had scopes)
    kFeaturesWrite = 1 << 11,  ///< also granted by models:write
};

/// All scope names, in a stable order.
const std::vector<std::string_view>& AllScopeNames();
/// Parses a scope name; nullopt when unknown.
std::optional<Scope> ParseScope(std::string_view name);
std::string_view ScopeName(Scope s);

/// The caller of a request, after authentication.
struct Principal {
    bool platform_admin = false;      ///< authenticated with RECS_ADMIN_KEY
    std::optional<TenantId> tenant;   ///< the tenant acted on (key's, or X-Tenant-ID)
    std::string key_id;               ///< id of the API key ("admin" for the platform key)
    std::string key_prefix;           ///< safe to log
    std::vector<std::string> scopes;  ///< scope names of a tenant key

    /// Platform admins have every scope; tenant keys need the scope or `admin`.
    bool HasScope(Scope s) const;
};

/// Whether a tenant's keys work: a suspended tenant's keys get 403 and its jobs wait.
enum class TenantStatus : uint8_t { kActive, kSuspended };
/// The wire and database name ("active", "suspended").
std::string_view TenantStatusName(TenantStatus s);
/// nullopt for a name that is no status.
std::optional<TenantStatus> ParseTenantStatus(std::string_view name);
inline bool operator==(TenantStatus s, std::string_view name) {
    return TenantStatusName(s) == name;
}

/// A tenant of the platform.
struct Tenant {
    std::string id;
    std::string name;
    TenantStatus status = TenantStatus::kActive;
    std::string created_at;
    std::string updated_at;
};

/// An API key as stored (never the plaintext or hash outside store/).
struct ApiKey {
    std::string id;
    std::string tenant_id;
    std::string name;
    std::string prefix;
    std::vector<std::string> scopes;
    std::string created_at;
    std::optional<std::string> expires_at;
    std::optional<std::string> revoked_at;
    std::optional<std::string> last_used_at;
};

/// Plaintext key layout: "rk_" + 8-char prefix + "_" + 32-char secret.
struct GeneratedKey {
    std::string plaintext;
    std::string prefix;
    std::string hash;  ///< SHA-256 hex of the plaintext
};
GeneratedKey GenerateApiKey();

/// Who did something, for the audit log.
struct Actor {
    std::string kind;  ///< "platform_admin" | "api_key" | "scheduler" | "system"
    std::string id;
    std::string prefix;      ///< the API key's prefix (empty for others)
    std::string request_id;  ///< the request that made the change (empty for duties)
};

}  // namespace recs::core
