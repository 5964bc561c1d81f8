#pragma once

#include <string_view>

namespace recs::store::pg {

#define RECS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// The deployed version is the newest row of model_deployments for the model.
inline constexpr std::string_view kModelColumns =
    "m.seq, m.id::text, m.tenant_id::text, m.name, m.type, m.algorithm, "
    "m.hyperparameters::text, m.description, m.is_default, " RECS_TS("m.created_at") ", " RECS_TS(
        "m.updated_at") ", dv.version, dv.id::text, dv.pool";
inline constexpr std::string_view kModelFrom =
    " FROM models m LEFT JOIN LATERAL (SELECT v.version, v.id, d.pool FROM model_deployments d "
    "JOIN "
    "model_versions v ON v.id = d.version_id WHERE d.model_id = m.id ORDER BY d.id DESC LIMIT 1) "
    "dv ON true ";

inline constexpr std::string_view kInsertModel =
    "INSERT INTO models (tenant_id, name, type, algorithm, hyperparameters, description) "
    "VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6) RETURNING id::text";
inline constexpr std::string_view kWhereModelId =
    "WHERE m.tenant_id = $1::uuid AND m.id = $2::uuid";
inline constexpr std::string_view kWhereModelName = "WHERE m.tenant_id = $1::uuid AND m.name = $2";
inline constexpr std::string_view kWhereModelDefault =
    "WHERE m.tenant_id = $1::uuid AND m.is_default";
inline constexpr std::string_view kWhereModelPage =
    "WHERE m.tenant_id = $1::uuid AND m.seq > $2 ORDER BY m.seq LIMIT $3";
inline constexpr std::string_view kClearDefault =
    "UPDATE models SET is_default = false, updated_at = now() WHERE tenant_id = $1::uuid AND "
    "is_default AND id <> $2::uuid";
inline constexpr std::string_view kUpdateModel =
    "UPDATE models SET hyperparameters = COALESCE($3::jsonb, hyperparameters), "
    "description = COALESCE($4, description), is_default = COALESCE($5::boolean, is_default), "
    "updated_at = now() WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING id";
inline constexpr std::string_view kDeleteModel =
    "DELETE FROM models WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING id";

inline constexpr std::string_view kVersionColumns =
    "v.seq, v.id::text, v.model_id::text, v.tenant_id::text, v.version, v.status, "
    "v.metrics::text, v.artifact_path, v.artifact_bytes, v.training_job_id::text, " RECS_TS(
        "v.created_at") ", " RECS_TS("v.deployed_at") ", COALESCE(v.artifact_sha256, '')";
inline constexpr std::string_view kVersionPage =
    " FROM model_versions v WHERE v.tenant_id = $1::uuid AND v.model_id = $2::uuid AND "
    "v.seq > $3 ORDER BY v.seq LIMIT $4";
inline constexpr std::string_view kVersionById =
    " FROM model_versions v WHERE v.tenant_id = $1::uuid AND v.model_id = $2::uuid AND "
    "v.id = $3::uuid";
inline constexpr std::string_view kVersionByNumber =
    " FROM model_versions v WHERE v.tenant_id = $1::uuid AND v.model_id = $2::uuid AND "
    "v.version = $3";
inline constexpr std::string_view kVersionByJob =
    " FROM model_versions v WHERE v.tenant_id = $1::uuid AND v.training_job_id = $2::uuid";
inline constexpr std::string_view kNextVersion =
    "SELECT COALESCE(max(version), 0) + 1 FROM model_versions WHERE tenant_id = $1::uuid AND "
    "model_id = $2::uuid";
inline constexpr std::string_view kInsertVersion =
    "INSERT INTO model_versions AS v (tenant_id, model_id, version, metrics, artifact_path, "
    "artifact_bytes, training_job_id, artifact_sha256) VALUES ($1::uuid, $2::uuid, $3, "
    "$4::jsonb, $5, $6, $7::uuid, NULLIF($8, '')) RETURNING ";
// Fencing: a version is recorded only by the worker that still holds the job's lease.
inline constexpr std::string_view kLeaseHeld =
    "SELECT 1 FROM jobs WHERE id = $1::uuid AND status = 'running' AND lease_owner = $2 "
    "AND lease_expires_at > now() FOR SHARE";
inline constexpr std::string_view kSelectArtifactPaths = "SELECT artifact_path FROM model_versions";
inline constexpr std::string_view kLockModel =
    "SELECT id FROM models WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE";
inline constexpr std::string_view kCurrentDeployment =
    "SELECT id, version_id::text, pool FROM model_deployments WHERE tenant_id = $1::uuid AND "
    "model_id = $2::uuid ORDER BY id DESC LIMIT 2";
inline constexpr std::string_view kInsertDeployment =
    "INSERT INTO model_deployments (tenant_id, model_id, version_id, pool) VALUES ($1::uuid, "
    "$2::uuid, $3::uuid, $4)";
inline constexpr std::string_view kDeleteDeployment =
    "DELETE FROM model_deployments WHERE tenant_id = $1::uuid AND id = $2";
inline constexpr std::string_view kRetireVersion =
    "UPDATE model_versions SET status = 'retired' WHERE tenant_id = $1::uuid AND id = $2::uuid "
    "AND status = 'deployed'";
inline constexpr std::string_view kMarkDeployed =
    "UPDATE model_versions SET status = 'deployed', deployed_at = now() WHERE tenant_id = "
    "$1::uuid AND id = $2::uuid";

#undef RECS_TS

inline constexpr std::string_view kPruneVersions =
    "DELETE FROM model_versions WHERE tenant_id = $1::uuid AND id IN (SELECT x.id FROM "
    "model_versions x WHERE x.tenant_id = $1::uuid AND x.model_id = $2::uuid AND x.status <> "
    "'deployed' AND NOT EXISTS (SELECT 1 FROM model_deployments d WHERE d.version_id = x.id) "
    "AND NOT EXISTS (SELECT 1 FROM model_canaries c WHERE c.version_id = x.id AND c.status = "
    "'active') AND NOT EXISTS (SELECT 1 FROM experiments e WHERE e.tenant_id = $1::uuid AND "
    "e.status <> 'stopped' AND strpos(e.spec::text, x.id::text) > 0) AND x.id <> $3::uuid "
    "ORDER BY x.version LIMIT GREATEST(0, (SELECT count(*) FROM model_versions m WHERE "
    "m.tenant_id = $1::uuid AND m.model_id = $2::uuid) - COALESCE((SELECT GREATEST(1, "
    "model_versions_kept) FROM tenant_quotas WHERE tenant_id = $1::uuid AND "
    "model_versions_kept IS NOT NULL), 9223372036854775807)))";

}  // namespace recs::store::pg
