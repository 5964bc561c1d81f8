-- Hardening: artifact checksums, atomic and expiring idempotency keys, the event stream outbox.

-- The SHA-256 of a version's artifact, checked on every load (NULL for older versions).
ALTER TABLE model_versions ADD COLUMN artifact_sha256 text;

-- Idempotency keys are claimed ('pending') before the work runs and completed ('done') with
-- the response after it; both expire after 24 hours.
ALTER TABLE idempotency_keys ADD COLUMN state text NOT NULL DEFAULT 'done'
    CHECK (state IN ('pending', 'done'));
ALTER TABLE idempotency_keys ADD COLUMN expires_at timestamptz NOT NULL
    DEFAULT now() + interval '24 hours';
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Events stored but not yet appended to the tenant's Redis stream: written in the statement
-- that stores them, deleted once the append succeeded; the scheduler repairs what is left.
CREATE TABLE event_stream_outbox (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_ids  text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_stream_outbox_created ON event_stream_outbox (created_at);
