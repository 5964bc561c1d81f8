-- Canary deploys: a version served to a share of a model's units beside the deployed one, and
-- rolled back (the version's status says so) when its guard trips.
ALTER TABLE model_versions DROP CONSTRAINT IF EXISTS model_versions_status_check;
ALTER TABLE model_versions ADD CONSTRAINT model_versions_status_check
    CHECK (status IN ('ready', 'deployed', 'retired', 'failed', 'rolled_back'));

CREATE TABLE model_canaries (
    seq         bigserial UNIQUE NOT NULL,
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    model_id    uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    version_id  uuid NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    pool        text NOT NULL,
    traffic_pct double precision NOT NULL CHECK (traffic_pct > 0 AND traffic_pct < 100),
    guard       jsonb,
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'promoted', 'rolled_back', 'replaced')),
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz
);
CREATE UNIQUE INDEX model_canaries_active ON model_canaries (model_id) WHERE status = 'active';
CREATE INDEX model_canaries_model ON model_canaries (tenant_id, model_id, seq);
