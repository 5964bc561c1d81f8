-- Experiments, their QA overrides, and the first exposure of each unit.
CREATE TABLE experiments (
    seq        bigserial UNIQUE NOT NULL,
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name       text NOT NULL,
    surface    text NOT NULL,
    status     text NOT NULL DEFAULT 'draft'
               CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
    spec       jsonb NOT NULL,
    started_at timestamptz,
    stopped_at timestamptz,
    results    jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX experiments_tenant ON experiments (tenant_id, seq);
CREATE INDEX experiments_running ON experiments (tenant_id, surface) WHERE status = 'running';

CREATE TABLE experiment_forced (
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    unit_id       text NOT NULL,
    variant       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, unit_id)
);

CREATE TABLE experiment_exposures (
    tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    experiment_id    uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    unit_id          text NOT NULL,
    variant          text NOT NULL,
    forced           boolean NOT NULL DEFAULT false,
    first_exposed_at timestamptz NOT NULL,
    PRIMARY KEY (experiment_id, unit_id)
);

-- The results join a unit's events after its exposure.
CREATE INDEX events_user_ts ON events (tenant_id, user_id, ts);
CREATE INDEX events_session_ts ON events (tenant_id, session_id, ts) WHERE session_id IS NOT NULL;
