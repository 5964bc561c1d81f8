#pragma once

#include <string_view>

namespace recs::store::pg {

#define RECS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

inline constexpr std::string_view kJobColumns =
    "j.seq, j.id::text, j.tenant_id::text, j.kind, j.status, j.payload::text, j.progress, "
    "j.attempts, j.max_attempts, j.error, j.result::text, j.cancel_requested, " RECS_TS(
        "j.created_at") ", " RECS_TS("j.started_at") ", " RECS_TS("j.finished_at");

inline constexpr std::string_view kInsertJob =
    "INSERT INTO jobs AS j (tenant_id, kind, payload, max_attempts, idempotency_key) "
    "VALUES ($1::uuid, $2, $3::jsonb, $4, $5) ON CONFLICT (tenant_id, idempotency_key) "
    "WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING ";
inline constexpr std::string_view kJobByIdempotency =
    " FROM jobs j WHERE j.tenant_id = $1::uuid AND j.idempotency_key = $2";
inline constexpr std::string_view kJobById =
    " FROM jobs j WHERE j.tenant_id = $1::uuid AND j.id = $2::uuid";
inline constexpr std::string_view kJobPage =
    " FROM jobs j WHERE j.tenant_id = $1::uuid AND j.seq > $2 AND ($3::text IS NULL OR "
    "j.status = $3) AND ($4::text IS NULL OR j.kind = $4) ORDER BY j.seq LIMIT $5";
// Queue operations: jobs of every tenant, by id (ids are random UUIDs). Jobs of a suspended
// tenant stay queued until it is active again.
// The tenant's concurrent_jobs quota: a job runs only while fewer of its tenant's run.
#define RECS_UNDER_JOB_CAP                                                                    \
    "(SELECT count(*) FROM jobs r WHERE r.tenant_id = j.tenant_id AND r.status = 'running') " \
    "< COALESCE((SELECT q.concurrent_jobs FROM tenant_quotas q WHERE q.tenant_id = "          \
    "j.tenant_id), 9223372036854775807)"
inline constexpr std::string_view kTakeDue =
    "UPDATE jobs SET pushed_at = now() WHERE id IN (SELECT j.id FROM jobs j JOIN tenants t ON "
    "t.id = j.tenant_id WHERE j.status = 'queued' AND t.status = 'active' AND "
    "j.run_after <= now() AND (j.pushed_at IS NULL OR j.pushed_at < now() - "
    "make_interval(secs => $1::double precision / 1000)) AND " RECS_UNDER_JOB_CAP
    " ORDER BY j.run_after LIMIT $2 "
    "FOR UPDATE OF j SKIP LOCKED) RETURNING id::text";
inline constexpr std::string_view kLockJobCap =
    "SELECT pg_advisory_xact_lock(hashtextextended('recs-job-cap:' || j.tenant_id::text, 0)) "
    "FROM jobs j JOIN tenant_quotas q ON q.tenant_id = j.tenant_id WHERE j.id = $1::uuid AND "
    "q.concurrent_jobs IS NOT NULL";
inline constexpr std::string_view kLease =
    "UPDATE jobs AS j SET status = 'running', attempts = attempts + 1, lease_owner = $2, "
    "lease_expires_at = now() + make_interval(secs => $3::double precision / 1000), "
    "started_at = COALESCE(started_at, now()) WHERE j.id = $1::uuid AND j.status = 'queued' AND "
    "NOT j.cancel_requested AND j.run_after <= now() AND EXISTS (SELECT 1 FROM tenants t WHERE "
    "t.id = j.tenant_id AND t.status = 'active') AND " RECS_UNDER_JOB_CAP " RETURNING ";
inline constexpr std::string_view kHeartbeat =
    "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::double precision / "
    "1000), progress = GREATEST(progress, $4) WHERE id = $1::uuid AND status = 'running' AND "
    "lease_owner = $2 RETURNING cancel_requested";
inline constexpr std::string_view kSucceed =
    "UPDATE jobs SET status = 'succeeded', progress = 1, result = $3::jsonb, error = NULL, "
    "finished_at = now(), lease_owner = NULL, lease_expires_at = NULL WHERE id = $1::uuid AND "
    "status = 'running' AND lease_owner = $2";
// The backoff before the next attempt: base * 2^(attempts - 1), capped ($6 ms); the exponent
// is bounded so that the interval never overflows.
#define RECS_BACKOFF(base, cap)                     \
    "make_interval(secs => LEAST(" base             \
    "::double precision * power(2, LEAST(GREATEST(" \
    "attempts - 1, 0), 40)), " cap "::double precision) / 1000)"
// A requested cancel wins over a retry: the job ends cancelled instead of running again.
inline constexpr std::string_view kFail =
    "UPDATE jobs SET error = $3, lease_owner = NULL, lease_expires_at = NULL, "
    "status = CASE WHEN cancel_requested THEN 'cancelled' WHEN NOT $4::boolean THEN 'failed' "
    "WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, "
    "run_after = now() + " RECS_BACKOFF("$5", "$6") ", pushed_at = NULL, "
    "finished_at = CASE WHEN cancel_requested OR NOT $4::boolean OR attempts >= max_attempts "
    "THEN now() END WHERE id = $1::uuid AND status = 'running' AND lease_owner = $2";
inline constexpr std::string_view kMarkCancelled =
    "UPDATE jobs SET status = 'cancelled', finished_at = now(), lease_owner = NULL, "
    "lease_expires_at = NULL WHERE id = $1::uuid AND status = 'running' AND lease_owner = $2";
// A worker that stops (SIGTERM) gives its job back at once: queued, due now, and the attempt
// not counted (the job did not fail).
inline constexpr std::string_view kRelease =
    "UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END, "
    "finished_at = CASE WHEN cancel_requested THEN now() END, "
    "attempts = GREATEST(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL, "
    "run_after = now(), pushed_at = NULL WHERE id = $1::uuid AND status = 'running' AND "
    "lease_owner = $2";
inline constexpr std::string_view kReap =
    "UPDATE jobs SET lease_owner = NULL, lease_expires_at = NULL, pushed_at = NULL, "
    "error = COALESCE(error, 'lease expired: the worker stopped heart-beating'), "
    "status = CASE WHEN cancel_requested THEN 'cancelled' WHEN attempts >= max_attempts THEN "
    "'dead' ELSE 'queued' END, "
    "run_after = now() + " RECS_BACKOFF("$1", "$2") ", "
    "finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() END "
    "WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < now() "
    "ORDER BY lease_expires_at LIMIT 500 FOR UPDATE SKIP LOCKED) RETURNING id";
#undef RECS_BACKOFF
// Redrive: a dead or failed job from its first attempt.
inline constexpr std::string_view kRedrive =
    "UPDATE jobs AS j SET status = 'queued', attempts = 0, error = NULL, result = NULL, "
    "progress = 0, run_after = now(), pushed_at = NULL, finished_at = NULL, started_at = NULL, "
    "cancel_requested = false WHERE j.tenant_id = $1::uuid AND j.id = $2::uuid AND j.status IN "
    "('dead', 'failed') RETURNING ";
// Cancel, in one statement: a queued job at once, a running one asked to stop.
inline constexpr std::string_view kCancel =
    "UPDATE jobs AS j SET status = CASE WHEN j.status = 'queued' THEN 'cancelled' ELSE j.status "
    "END, finished_at = CASE WHEN j.status = 'queued' THEN now() ELSE j.finished_at END, "
    "cancel_requested = true WHERE j.tenant_id = $1::uuid AND j.id = $2::uuid AND j.status IN "
    "('queued', 'running') RETURNING ";

#undef RECS_TS
#undef RECS_UNDER_JOB_CAP

}  // namespace recs::store::pg
