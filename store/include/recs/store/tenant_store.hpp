#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recs/core/tenancy.hpp"
#include "recs/store/page.hpp"

namespace recs::store {

class PgPool;

/// Tenants (platform level). Every change writes an audit row in the same transaction.
class TenantRepository {
public:
    virtual ~TenantRepository() = default;
    /// Throws kConflict when the name is taken.
    virtual core::Tenant Create(const core::Actor& actor, const std::string& name) = 0;
    /// nullopt when unknown (or not a UUID).
    virtual std::optional<core::Tenant> Find(const std::string& id) = 0;
    virtual Page<core::Tenant> List(const PageRequest& page,
                                    const std::optional<core::TenantStatus>& status) = 0;
    /// Throws kNotFound when unknown, kConflict when the new name is taken.
    virtual core::Tenant Update(const core::Actor& actor,
                                const std::string& id,
                                const std::optional<std::string>& name,
                                const std::optional<core::TenantStatus>& status) = 0;
    /// Deletes the tenant and everything it owns. Throws kNotFound when unknown.
    virtual void Delete(const core::Actor& actor, const std::string& id) = 0;
};

/// What authentication needs to know about a key, looked up by its hash.
struct KeyAuthRecord {
    core::ApiKey key;
    core::TenantStatus tenant_status = core::TenantStatus::kActive;
    bool expired = false;
};

/// API keys of tenants. Plaintext keys are never stored: only prefix and SHA-256 hash.
class KeyRepository {
public:
    virtual ~KeyRepository() = default;
    virtual core::ApiKey Create(const core::Actor& actor,
                                const core::TenantId& tenant,
                                const std::string& name,
                                const std::vector<std::string>& scopes,
                                std::optional<int64_t> expires_in_s,
                                const core::GeneratedKey& key) = 0;
    virtual std::optional<core::ApiKey> Find(const core::TenantId& tenant,
                                             const std::string& id) = 0;
    virtual Page<core::ApiKey> List(const core::TenantId& tenant, const PageRequest& page) = 0;
    /// Marks the key revoked. Throws kNotFound when unknown or already revoked.
    virtual void Revoke(const core::Actor& actor,
                        const core::TenantId& tenant,
                        const std::string& id) = 0;
    /// Looks a key up by the SHA-256 of its plaintext (any tenant). nullopt when unknown
    /// or revoked.
    virtual std::optional<KeyAuthRecord> FindByHash(const std::string& hash) = 0;
    /// Records use, at most once a minute per key (best effort).
    virtual void Touch(const std::string& key_id) = 0;
};

/// Platform-wide settings (the admin key hash).
class SettingsRepository {
public:
    virtual ~SettingsRepository() = default;
    virtual std::optional<std::string> Get(const std::string& key) = 0;
    /// Inserts only if absent; returns the value that is stored afterwards.
    virtual std::string PutIfAbsent(const std::string& key, const std::string& value) = 0;
};

/// One audit row, as read back.
struct AuditEntry {
    std::optional<std::string> tenant_id;
    std::string actor_kind, actor_id, action, resource, resource_id;
    std::string before_json, after_json;  ///< empty when none
    int64_t seq = 0;
    std::optional<std::string> actor_prefix, request_id;
    std::string created_at;
};

/// Filters of the audit log; each unset one matches everything. `tenant` unset: every tenant
/// (the platform admin's view).
struct AuditFilter {
    std::optional<core::TenantId> tenant;
    std::optional<std::string> actor, action, resource, resource_id;
    std::optional<std::string> from, to;  ///< RFC 3339 times, from inclusive, to exclusive
};

class AuditRepository {
public:
    virtual ~AuditRepository() = default;
    virtual std::vector<AuditEntry> ListForResource(const std::string& resource_id) = 0;
    /// Newest first, paged by an opaque cursor.
    virtual Page<AuditEntry> List(const AuditFilter& filter, const PageRequest& page) = 0;
};

std::unique_ptr<TenantRepository> MakePgTenantRepository(PgPool& pool);
std::unique_ptr<KeyRepository> MakePgKeyRepository(PgPool& pool);
std::unique_ptr<SettingsRepository> MakePgSettingsRepository(PgPool& pool);
std::unique_ptr<AuditRepository> MakePgAuditRepository(PgPool& pool);

}  // namespace recs::store

namespace recs::store {

/// A stored response of a create request, for Idempotency-Key replays.
struct IdempotentResponse {
    std::string request_hash;
    int status = 0;
    std::string body;
};

/// The outcome of claiming an Idempotency-Key before running the request.
struct IdempotencyClaim {
    enum class Kind {
        kClaimed,   ///< first use (or the earlier use expired): run the request, then Complete
        kReplay,    ///< done before with the same request: `response` is its answer
        kInFlight,  ///< claimed by a request that has not finished (or never did)
        kMismatch,  ///< used before with a different request
    };
    Kind kind = Kind::kClaimed;
    IdempotentResponse response;
    bool abandoned = false;  ///< kInFlight: the claim is old, its request likely died
};

/// Responses of create requests by (scope, Idempotency-Key), claimed atomically before the
/// work and expiring after 24 hours. Never stores secrets: callers strip them first.
class IdempotencyRepository {
public:
    virtual ~IdempotencyRepository() = default;
    /// Claims (scope, key) for a request whose body hashes to `request_hash`, in one statement.
    virtual IdempotencyClaim Claim(const std::string& scope,
                                   const std::string& key,
                                   const std::string& request_hash) = 0;
    /// Stores the response of a claimed request.
    virtual void Complete(const std::string& scope,
                          const std::string& key,
                          int status,
                          const std::string& body) = 0;
    /// Drops a claim whose request failed (so that a retry may run it).
    virtual void Abandon(const std::string& scope, const std::string& key) = 0;
    /// Deletes up to `limit` expired records; returns how many.
    virtual int Expire(int limit) = 0;
};

std::unique_ptr<IdempotencyRepository> MakePgIdempotencyRepository(PgPool& pool);

}  // namespace recs::store
