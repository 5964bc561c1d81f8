-- Events, features, models and versions, jobs.
CREATE TABLE events (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event_id    text NOT NULL,
    type        text NOT NULL,
    user_id     text NOT NULL,
    item_id     text,
    ts          timestamptz NOT NULL,
    session_id  text,
    request_id  text,
    value       double precision,
    metadata    jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id)
);

CREATE TABLE features (
    tenant_id   uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    entity_type text NOT NULL CHECK (entity_type IN ('user', 'item')),
    entity_id   text NOT NULL,
    features    jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity_type, entity_id)
);

CREATE TABLE models (
    seq             bigserial UNIQUE NOT NULL,
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            text NOT NULL,
    type            text NOT NULL,
    algorithm       text NOT NULL,
    hyperparameters jsonb NOT NULL DEFAULT '{}',
    description     text,
    is_default      boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE UNIQUE INDEX models_one_default ON models (tenant_id) WHERE is_default;

CREATE TABLE jobs (
    seq              bigserial UNIQUE NOT NULL,
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind             text NOT NULL,
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead')),
    payload          jsonb NOT NULL,
    progress         double precision NOT NULL DEFAULT 0,
    attempts         int NOT NULL DEFAULT 0,
    max_attempts     int NOT NULL DEFAULT 3,
    error            text,
    result           jsonb,
    lease_owner      text,
    lease_expires_at timestamptz,
    run_after        timestamptz NOT NULL DEFAULT now(),
    pushed_at        timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    idempotency_key  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX jobs_tenant ON jobs (tenant_id, seq);
CREATE INDEX jobs_queued ON jobs (run_after) WHERE status = 'queued';
CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE model_versions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             bigserial UNIQUE NOT NULL,
    tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    model_id        uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    version         int NOT NULL,
    status          text NOT NULL DEFAULT 'ready'
                    CHECK (status IN ('ready', 'deployed', 'retired', 'failed')),
    metrics         jsonb NOT NULL DEFAULT '{}',
    artifact_path   text NOT NULL,
    artifact_bytes  bigint NOT NULL,
    training_job_id uuid UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deployed_at     timestamptz,
    UNIQUE (model_id, version)
);

-- Deployment history of a model, newest last: rollback returns to the one before.
CREATE TABLE model_deployments (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    model_id   uuid NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    version_id uuid NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_deployments_model ON model_deployments (model_id, id);
