#pragma once

#include <string_view>

namespace recs::store::pg {

// Bulk path: COPY into a per-connection staging table, then one INSERT ... SELECT.
inline constexpr std::string_view kCreateStage =
    "CREATE TEMP TABLE IF NOT EXISTS events_stage (event_id text, type text, user_id text, "
    "item_id text, ts_ms bigint, session_id text, request_id text, value double precision, "
    "metadata jsonb) ON COMMIT DELETE ROWS";
// The events stored and their outbox row (the stream append still to do) in one statement:
// an acknowledged event always reaches the stream, by the relay or by the scheduler's repair.
#define RECS_WITH_OUTBOX(insert)                                                       \
    "WITH ins AS (" insert                                                             \
    "), ob AS (INSERT INTO event_stream_outbox (tenant_id, event_ids) "                \
    "SELECT $1::uuid, array_agg(event_id) FROM ins HAVING count(*) > 0 RETURNING id) " \
    "SELECT ins.event_id, (SELECT id FROM ob) FROM ins"
inline constexpr std::string_view kInsertFromStage = RECS_WITH_OUTBOX(
    "INSERT INTO events (tenant_id, event_id, type, user_id, item_id, ts, session_id, "
    "request_id, value, metadata) "
    "SELECT $1::uuid, event_id, type, user_id, item_id, to_timestamp(ts_ms / 1000.0), "
    "session_id, request_id, value, metadata FROM events_stage "
    "ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING event_id");

// Small batches: one statement, no staging table.
inline constexpr std::string_view kInsertEventsJson = RECS_WITH_OUTBOX(
    "INSERT INTO events (tenant_id, event_id, type, user_id, item_id, ts, session_id, "
    "request_id, value, metadata) "
    "SELECT $1::uuid, x.event_id, x.type, x.user_id, x.item_id, "
    "to_timestamp(x.ts / 1000.0), x.session_id, x.request_id, x.value, x.metadata "
    "FROM json_to_recordset($2::json) AS x(event_id text, type text, user_id text, "
    "item_id text, ts bigint, session_id text, request_id text, value double precision, "
    "metadata jsonb) "
    "ON CONFLICT (tenant_id, event_id) DO NOTHING RETURNING event_id");
#undef RECS_WITH_OUTBOX

// The stream outbox: acknowledged appends, and the repair of what no relay appended.
inline constexpr std::string_view kDeleteOutbox =
    "DELETE FROM event_stream_outbox WHERE id = ANY($1::bigint[])";
inline constexpr std::string_view kPendingOutbox =
    "SELECT o.id, o.tenant_id::text, e.event_id, e.type, e.user_id, e.item_id, "
    "(extract(epoch from e.ts) * 1000)::bigint FROM (SELECT id, tenant_id, event_ids FROM "
    "event_stream_outbox WHERE created_at < now() - make_interval(secs => $1::double precision "
    "/ 1000) ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) o JOIN events e ON e.tenant_id = "
    "o.tenant_id AND e.event_id = ANY(o.event_ids) ORDER BY o.id";

// Training scan: a server-side cursor, fetched in batches (libpq would buffer a whole result).
inline constexpr std::string_view kDeclareInteractions =
    "DECLARE interactions NO SCROLL CURSOR FOR SELECT user_id, item_id, type, COALESCE(value, "
    "1), extract(epoch from ts)::bigint FROM events WHERE tenant_id = $1::uuid AND item_id IS "
    "NOT NULL";
inline constexpr std::string_view kFetchInteractions = "FETCH 50000 FROM interactions";

inline constexpr std::string_view kSelectEvent =
    "SELECT event_id, type, user_id, item_id, (extract(epoch from ts) * 1000)::bigint, "
    "session_id, request_id, value, COALESCE(metadata::text, 'null'), "
    "to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
    "FROM events WHERE tenant_id = $1::uuid AND event_id = $2";

inline constexpr std::string_view kUpsertFeature =
    "INSERT INTO features (tenant_id, entity_type, entity_id, features) "
    "VALUES ($1::uuid, $2, $3, $4::jsonb) ON CONFLICT (tenant_id, entity_type, entity_id) "
    "DO UPDATE SET features = EXCLUDED.features, updated_at = now() "
    "RETURNING to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

inline constexpr std::string_view kUpsertFeatures =
    "INSERT INTO features (tenant_id, entity_type, entity_id, features) "
    "SELECT DISTINCT ON (x.entity_type, x.entity_id) $1::uuid, x.entity_type, x.entity_id, "
    "x.features FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (entity_type text, "
    "entity_id text, features jsonb)) WITH ORDINALITY AS x(entity_type, entity_id, features, ord) "
    "ORDER BY x.entity_type, x.entity_id, x.ord DESC "
    "ON CONFLICT (tenant_id, entity_type, entity_id) "
    "DO UPDATE SET features = EXCLUDED.features, updated_at = now()";

inline constexpr std::string_view kSelectFeature =
    "SELECT features::text, to_char(updated_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM features WHERE tenant_id = $1::uuid AND "
    "entity_type = $2 AND entity_id = $3";

inline constexpr std::string_view kSelectItemFeatures =
    "SELECT entity_id, features::text FROM features WHERE tenant_id = $1::uuid AND "
    "entity_type = 'item' AND entity_id IN (SELECT jsonb_array_elements_text($2::jsonb))";

}  // namespace recs::store::pg
