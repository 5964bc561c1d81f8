#pragma once

#include <string_view>

namespace recs::store::pg {

inline constexpr std::string_view kTenantColumns =
    "seq, id::text, name, status, to_char(created_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), to_char(updated_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

inline constexpr std::string_view kInsertTenant =
    "INSERT INTO tenants (name) VALUES ($1) RETURNING ";
inline constexpr std::string_view kSelectTenant = " FROM tenants WHERE id = $1::uuid";
inline constexpr std::string_view kListTenants =
    " FROM tenants WHERE seq > $1 AND ($2::text IS NULL OR status = $2) ORDER BY seq LIMIT $3";
inline constexpr std::string_view kUpdateTenant =
    "UPDATE tenants SET name = COALESCE($2, name), status = COALESCE($3, status), "
    "updated_at = now() WHERE id = $1::uuid RETURNING ";
inline constexpr std::string_view kDeleteTenant =
    "DELETE FROM tenants WHERE id = $1::uuid RETURNING id";

inline constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_log (tenant_id, actor_kind, actor_id, action, resource, resource_id, "
    "before, after, actor_prefix, request_id) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::jsonb, "
    "$8::jsonb, NULLIF($9, ''), NULLIF($10, ''))";
inline constexpr std::string_view kAuditColumns =
    "SELECT tenant_id::text, actor_kind, actor_id, action, resource, resource_id, "
    "COALESCE(before::text, ''), COALESCE(after::text, ''), id, actor_prefix, request_id, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM audit_log ";
inline constexpr std::string_view kSelectAudit = "WHERE resource_id = $1 ORDER BY id";
// Newest first: the cursor is the last id seen ($8 = 0 on the first page).
inline constexpr std::string_view kAuditPage =
    "WHERE ($1::uuid IS NULL OR tenant_id = $1::uuid) AND ($2::text IS NULL OR actor_id = $2) "
    "AND ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR resource = $4) AND "
    "($5::text IS NULL OR resource_id = $5) AND ($6::timestamptz IS NULL OR created_at >= "
    "$6::timestamptz) AND ($7::timestamptz IS NULL OR created_at < $7::timestamptz) AND "
    "($8::bigint = 0 OR id < $8::bigint) ORDER BY id DESC LIMIT $9";

inline constexpr std::string_view kKeyColumns =
    "k.seq, k.id::text, k.tenant_id::text, k.name, k.prefix, array_to_string(k.scopes, ','), "
    "to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "to_char(k.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "to_char(k.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
inline constexpr std::string_view kInsertKey =
    "INSERT INTO api_keys AS k (tenant_id, name, prefix, key_hash, scopes, expires_at) "
    "VALUES ($1::uuid, $2, $3, $4, string_to_array($5, ','), "
    "CASE WHEN $6::bigint IS NULL THEN NULL ELSE now() + make_interval(secs => $6::bigint) END) "
    "RETURNING ";
inline constexpr std::string_view kSelectKey =
    " FROM api_keys k WHERE k.tenant_id = $1::uuid AND k.id = $2::uuid";
inline constexpr std::string_view kListKeys =
    " FROM api_keys k WHERE k.tenant_id = $1::uuid AND k.seq > $2 ORDER BY k.seq LIMIT $3";
inline constexpr std::string_view kRevokeKey =
    "UPDATE api_keys AS k SET revoked_at = now() WHERE k.tenant_id = $1::uuid AND k.id = $2::uuid "
    "AND k.revoked_at IS NULL RETURNING ";
inline constexpr std::string_view kSelectKeyByHash =
    ", t.status, (k.expires_at IS NOT NULL AND k.expires_at <= now()) FROM api_keys k "
    "JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL";
inline constexpr std::string_view kTouchKey =
    "UPDATE api_keys SET last_used_at = now() WHERE id = $1::uuid AND "
    "(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')";

inline constexpr std::string_view kSelectSetting =
    "SELECT value FROM platform_settings WHERE key = $1";
inline constexpr std::string_view kInsertSetting =
    "INSERT INTO platform_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

}  // namespace recs::store::pg

namespace recs::store::pg {
// A claim takes a free key, or one whose record expired.
inline constexpr std::string_view kClaimIdempotency =
    "INSERT INTO idempotency_keys AS k (scope, key, request_hash, status, body, state) VALUES "
    "($1, $2, $3, 0, '', 'pending') ON CONFLICT (scope, key) DO UPDATE SET request_hash = "
    "EXCLUDED.request_hash, status = 0, body = '', state = 'pending', created_at = now(), "
    "expires_at = now() + interval '24 hours' WHERE k.expires_at < now() RETURNING 1";
inline constexpr std::string_view kSelectIdempotency =
    "SELECT request_hash, status, body, state, created_at < now() - interval '60 seconds' "
    "FROM idempotency_keys WHERE scope = $1 AND key = $2";
inline constexpr std::string_view kCompleteIdempotency =
    "UPDATE idempotency_keys SET status = $3, body = $4, state = 'done' WHERE scope = $1 AND "
    "key = $2 AND state = 'pending'";
inline constexpr std::string_view kAbandonIdempotency =
    "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'pending'";
inline constexpr std::string_view kExpireIdempotency =
    "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE "
    "expires_at < now() LIMIT $1)";
}  // namespace recs::store::pg
