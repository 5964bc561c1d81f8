#pragma once

#include <string_view>

namespace recs::store::pg {

#define RECS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

inline constexpr std::string_view kExperimentColumns =
    "x.seq, x.id::text, x.tenant_id::text, x.status, x.spec::text, " RECS_TS(
        "x.started_at") ", " RECS_TS("x.stopped_at") ", x.results::text, " RECS_TS("x.created_at") ", " RECS_TS("x.updated_at");
inline constexpr std::string_view kExperimentFrom = " FROM experiments x ";
inline constexpr std::string_view kWhereExperimentId =
    "WHERE x.tenant_id = $1::uuid AND x.id = $2::uuid";
inline constexpr std::string_view kWhereExperimentPage =
    "WHERE x.tenant_id = $1::uuid AND x.seq > $2 AND ($3::text IS NULL OR x.status = $3) "
    "ORDER BY x.seq LIMIT $4";
// Ends are ISO 8601 strings in the spec; an experiment past its end routes nothing.
inline constexpr std::string_view kWhereRunningOnSurface =
    "WHERE x.tenant_id = $1::uuid AND x.surface = $2 AND x.status = 'running' "
    "AND (x.spec->>'end' IS NULL OR (x.spec->>'end')::timestamptz > now()) "
    "AND (x.spec->>'start' IS NULL OR (x.spec->>'start')::timestamptz <= now()) ORDER BY x.seq";
inline constexpr std::string_view kWhereDueToEnd =
    "WHERE x.status = 'running' AND x.spec->>'end' IS NOT NULL "
    "AND (x.spec->>'end')::timestamptz <= now() ORDER BY (x.spec->>'end')::timestamptz LIMIT $1";
inline constexpr std::string_view kInsertExperiment =
    "INSERT INTO experiments (tenant_id, name, surface, spec) VALUES ($1::uuid, $2, $3, $4::jsonb) "
    "RETURNING id::text";
inline constexpr std::string_view kUpdateExperimentSpec =
    "UPDATE experiments SET name = $3, surface = $4, spec = $5::jsonb, updated_at = now() "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid";
inline constexpr std::string_view kSetExperimentStatus =
    "UPDATE experiments SET status = $3, updated_at = now(), "
    "started_at = CASE WHEN $3 = 'running' THEN COALESCE(started_at, now()) ELSE started_at END, "
    "stopped_at = CASE WHEN $3 = 'stopped' THEN now() ELSE stopped_at END, "
    "results = CASE WHEN $3 = 'stopped' THEN $4::jsonb ELSE results END "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid";
inline constexpr std::string_view kDeleteExperiment =
    "DELETE FROM experiments WHERE tenant_id = $1::uuid AND id = $2::uuid";
// Starts on one surface are serialised by a transaction-scoped advisory lock.
inline constexpr std::string_view kLockSurface =
    "SELECT pg_advisory_xact_lock(hashtextextended('experiment-surface:' || $1 || ':' || $2, 0))";
inline constexpr std::string_view kUpsertForced =
    "INSERT INTO experiment_forced (tenant_id, experiment_id, unit_id, variant) "
    "VALUES ($1::uuid, $2::uuid, $3, $4) ON CONFLICT (experiment_id, unit_id) "
    "DO UPDATE SET variant = EXCLUDED.variant, created_at = now()";
inline constexpr std::string_view kMarkExposureForced =
    "UPDATE experiment_exposures SET forced = true WHERE experiment_id = $1::uuid AND unit_id = $2";
inline constexpr std::string_view kSelectForced =
    "SELECT unit_id, variant FROM experiment_forced WHERE tenant_id = $1::uuid "
    "AND experiment_id = $2::uuid ORDER BY created_at DESC LIMIT $3";
inline constexpr std::string_view kSelectExposedVariant =
    "SELECT variant FROM experiment_exposures WHERE tenant_id = $1::uuid "
    "AND experiment_id = $2::uuid AND unit_id = $3";
inline constexpr std::string_view kBanditColumns =
    "b.experiment_id::text, b.tenant_id::text, b.config::text, " RECS_TS(
        "b.next_update_at") ", " RECS_TS("b.created_at") ", " RECS_TS("b.updated_at");
inline constexpr std::string_view kSelectBandit =
    " FROM experiment_bandits b WHERE b.tenant_id = $1::uuid AND b.experiment_id = $2::uuid";
inline constexpr std::string_view kInsertBandit =
    "INSERT INTO experiment_bandits (experiment_id, tenant_id, config, next_update_at) "
    "VALUES ($2::uuid, $1::uuid, $3::jsonb, now() + make_interval(secs => $4::int))";
inline constexpr std::string_view kDeleteBandit =
    "DELETE FROM experiment_bandits WHERE tenant_id = $1::uuid AND experiment_id = $2::uuid";
inline constexpr std::string_view kSetSticky =
    "UPDATE experiments SET spec = jsonb_set(spec, '{sticky}', 'true'), updated_at = now() "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid";
inline constexpr std::string_view kDueBandits =
    " FROM experiment_bandits b JOIN experiments x ON x.id = b.experiment_id "
    "WHERE b.next_update_at <= now() AND x.status = 'running' ORDER BY b.next_update_at LIMIT $1";
inline constexpr std::string_view kSetSpec =
    "UPDATE experiments SET spec = $3::jsonb, updated_at = now() "
    "WHERE tenant_id = $1::uuid AND id = $2::uuid";
inline constexpr std::string_view kInsertWeights =
    "INSERT INTO experiment_weights (tenant_id, experiment_id, weights, arms) "
    "VALUES ($1::uuid, $2::uuid, $3::jsonb, $4::jsonb)";
inline constexpr std::string_view kScheduleBandit =
    "UPDATE experiment_bandits SET next_update_at = now() + make_interval(secs => "
    "(config->>'update_every')::int), updated_at = now() "
    "WHERE tenant_id = $1::uuid AND experiment_id = $2::uuid";
inline constexpr std::string_view kSelectWeights =
    "SELECT " RECS_TS("created_at") ", weights::text, arms::text FROM (SELECT * FROM "
    "experiment_weights WHERE tenant_id = $1::uuid AND experiment_id = $2::uuid "
    "ORDER BY id DESC LIMIT $3) w ORDER BY id";
// Exposures of experiments deleted meanwhile are dropped by the join.
inline constexpr std::string_view kInsertExposures =
    "INSERT INTO experiment_exposures (tenant_id, experiment_id, unit_id, variant, forced, "
    "first_exposed_at) SELECT x.tenant_id, x.experiment_id, x.unit_id, x.variant, x.forced, "
    "to_timestamp(x.at_ms / 1000.0) FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id uuid, "
    "experiment_id uuid, unit_id text, variant text, forced boolean, at_ms bigint) "
    "JOIN experiments e ON e.id = x.experiment_id AND e.tenant_id = x.tenant_id "
    "ON CONFLICT (experiment_id, unit_id) DO NOTHING";

// What each unforced exposed unit did after its first exposure ($3: attribution hours; $4: the
// stop time, or NULL), summed per variant and day. The join key is the experiment's unit.
#define RECS_AGGREGATE(UNIT_COLUMN)                                                              \
    "WITH u AS (SELECT x.variant, to_char(x.first_exposed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') " \
    "AS day, x.unit_id, "                                                                        \
    "count(e.event_id) FILTER (WHERE e.type = 'impression')::float8 AS i, "                      \
    "count(e.event_id) FILTER (WHERE e.type = 'click')::float8 AS c, "                           \
    "(count(e.event_id) FILTER (WHERE e.type = 'purchase') > 0)::int::float8 AS v, "             \
    "COALESCE(sum(e.value) FILTER (WHERE e.type = 'purchase'), 0)::float8 AS r "                 \
    "FROM experiment_exposures x LEFT JOIN events e ON e.tenant_id = x.tenant_id "               \
    "AND e." UNIT_COLUMN                                                                         \
    " = x.unit_id AND e.ts >= x.first_exposed_at "                                               \
    "AND e.ts < x.first_exposed_at + make_interval(hours => $3::int) "                           \
    "AND ($4::timestamptz IS NULL OR e.ts < $4::timestamptz) "                                   \
    "WHERE x.tenant_id = $1::uuid AND x.experiment_id = $2::uuid AND NOT x.forced "              \
    "GROUP BY 1, 2, 3) "                                                                         \
    "SELECT variant, day, count(*), sum(i), sum(i * i), sum(c), sum(c * c), sum(c * i), "        \
    "sum(v), sum(r), sum(r * r) FROM u GROUP BY 1, 2 ORDER BY 2, 1"
inline constexpr std::string_view kAggregateByUser = RECS_AGGREGATE("user_id");
inline constexpr std::string_view kAggregateBySession = RECS_AGGREGATE("session_id");
#undef RECS_AGGREGATE
#undef RECS_TS

}  // namespace recs::store::pg
