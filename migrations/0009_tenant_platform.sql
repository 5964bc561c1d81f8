-- The tenant platform: signed webhooks (endpoints, an outbox of deliveries, every attempt),
-- quotas and usage counters, and who did what in the audit log.

-- Who acted (the key's prefix) and in which request, beside the actor's kind and id.
ALTER TABLE audit_log ADD COLUMN actor_prefix text;
ALTER TABLE audit_log ADD COLUMN request_id text;
CREATE INDEX audit_log_time ON audit_log (id DESC);

CREATE TABLE webhooks (
    seq                        bigserial UNIQUE NOT NULL,
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    url                        text NOT NULL,
    events                     text[] NOT NULL,
    description                text NOT NULL DEFAULT '',
    -- Signing secrets ("whsec_" + base64). The previous one keeps signing until it expires.
    secret                     text NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    secret_rotated_at          timestamptz,
    status                     text NOT NULL DEFAULT 'active'
                               CHECK (status IN ('active', 'disabled')),
    disabled_reason            text,
    -- The first failed attempt since the last success: 5 days of it disables the endpoint.
    failing_since              timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, seq);

-- The outbox: one row per event and endpoint, written in the transaction of the change it
-- reports; workers lease the due ones.
CREATE TABLE webhook_deliveries (
    seq              bigserial UNIQUE NOT NULL,
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    webhook_id       uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    type             text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'succeeded', 'dead')),
    attempt_count    int NOT NULL DEFAULT 0,
    -- attempt_count when a person last asked for a retry: the schedule starts over from it.
    schedule_offset  int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz DEFAULT now(),
    lease_owner      text,
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq);

CREATE TABLE webhook_attempts (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    delivery_id   uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt       int NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    outcome       text NOT NULL
                  CHECK (outcome IN ('succeeded', 'failed', 'timeout', 'refused', 'error')),
    duration_ms   double precision NOT NULL,
    response_code int,
    response_body text,
    error         text
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Emits one event to the tenant's active endpoints that subscribe to it (or to one endpoint,
-- whatever it subscribes to: a test ping), in the caller's transaction. One event id for all
-- its deliveries, kept on every retry.
CREATE FUNCTION recs_emit_webhook(p_tenant uuid, p_type text, p_data jsonb,
                                  p_only uuid DEFAULT NULL) RETURNS text AS $$
DECLARE
    msg text := 'msg_' || replace(gen_random_uuid()::text, '-', '');
BEGIN
    INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, type, payload)
    SELECT w.tenant_id, w.id, msg, p_type,
           jsonb_build_object('type', p_type,
                              'timestamp', to_char(now() AT TIME ZONE 'UTC',
                                                   'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                              'data', p_data)
      FROM webhooks w
     WHERE w.tenant_id = p_tenant AND w.status = 'active'
       AND ((p_only IS NULL AND p_type = ANY (w.events)) OR w.id = p_only);
    RETURN msg;
END
$$ LANGUAGE plpgsql;

-- The changes that are events, wherever in the code they are made: a trigger in the same
-- transaction, so that no path can forget one and a rolled-back change sends nothing.
CREATE FUNCTION recs_job_event() RETURNS trigger AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NEW.status IN ('succeeded', 'failed', 'dead', 'cancelled') THEN
        PERFORM recs_emit_webhook(NEW.tenant_id, 'job.' || NEW.status,
            jsonb_build_object('job_id', NEW.id, 'kind', NEW.kind, 'status', NEW.status,
                               'attempts', NEW.attempts, 'error', NEW.error,
                               'result', NEW.result,
                               'model_id', NEW.payload->'model_id'));
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER jobs_webhook AFTER UPDATE OF status ON jobs
    FOR EACH ROW EXECUTE FUNCTION recs_job_event();

CREATE FUNCTION recs_version_event() RETURNS trigger AS $$
BEGIN
    PERFORM recs_emit_webhook(NEW.tenant_id, 'model.version.created',
        jsonb_build_object('model_id', NEW.model_id, 'version_id', NEW.id,
                           'version', NEW.version, 'metrics', NEW.metrics,
                           'artifact_bytes', NEW.artifact_bytes,
                           'training_job_id', NEW.training_job_id));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER model_versions_webhook AFTER INSERT ON model_versions
    FOR EACH ROW EXECUTE FUNCTION recs_version_event();

-- A deployment row is a deploy; deleting the newest one is a rollback to the one before.
CREATE FUNCTION recs_deployment_event() RETURNS trigger AS $$
DECLARE
    v record;
    prev uuid;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT version INTO v FROM model_versions WHERE id = NEW.version_id;
        PERFORM recs_emit_webhook(NEW.tenant_id, 'model.deployed',
            jsonb_build_object('model_id', NEW.model_id, 'version_id', NEW.version_id,
                               'version', v.version, 'pool', NEW.pool));
    ELSIF EXISTS (SELECT 1 FROM models WHERE id = OLD.model_id)
          AND EXISTS (SELECT 1 FROM model_versions WHERE id = OLD.version_id) THEN
        -- A rollback deletes the newest row; a deleted model's (or version's) rows go by
        -- cascade, after their parent: that is no rollback.
        SELECT d.version_id INTO prev FROM model_deployments d
         WHERE d.model_id = OLD.model_id ORDER BY d.id DESC LIMIT 1;
        PERFORM recs_emit_webhook(OLD.tenant_id, 'model.rolled_back',
            jsonb_build_object('model_id', OLD.model_id, 'from_version_id', OLD.version_id,
                               'to_version_id', prev, 'reason', 'rollback'));
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER model_deployments_webhook AFTER INSERT OR DELETE ON model_deployments
    FOR EACH ROW EXECUTE FUNCTION recs_deployment_event();

CREATE FUNCTION recs_canary_event() RETURNS trigger AS $$
BEGIN
    IF NEW.status = 'rolled_back' AND OLD.status IS DISTINCT FROM NEW.status THEN
        PERFORM recs_emit_webhook(NEW.tenant_id, 'model.rolled_back',
            jsonb_build_object('model_id', NEW.model_id, 'from_version_id', NEW.version_id,
                               'to_version_id', NULL, 'canary_id', NEW.id,
                               'reason', NEW.reason));
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER model_canaries_webhook AFTER UPDATE OF status ON model_canaries
    FOR EACH ROW EXECUTE FUNCTION recs_canary_event();

CREATE FUNCTION recs_experiment_event() RETURNS trigger AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'running' AND OLD.status = 'draft' THEN
            PERFORM recs_emit_webhook(NEW.tenant_id, 'experiment.started',
                jsonb_build_object('experiment_id', NEW.id, 'name', NEW.name,
                                   'surface', NEW.surface, 'started_at', NEW.started_at));
        ELSIF NEW.status = 'stopped' THEN
            PERFORM recs_emit_webhook(NEW.tenant_id, 'experiment.completed',
                jsonb_build_object('experiment_id', NEW.id, 'name', NEW.name,
                                   'surface', NEW.surface, 'stopped_at', NEW.stopped_at,
                                   'results', NEW.results));
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER experiments_webhook AFTER UPDATE OF status ON experiments
    FOR EACH ROW EXECUTE FUNCTION recs_experiment_event();

-- Quotas of a tenant; a NULL column is unlimited. No row: every quota unlimited.
CREATE TABLE tenant_quotas (
    tenant_id                      uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    requests_per_second_per_key    bigint CHECK (requests_per_second_per_key >= 0),
    burst_per_key                  bigint CHECK (burst_per_key >= 0),
    requests_per_second_per_tenant bigint CHECK (requests_per_second_per_tenant >= 0),
    burst_per_tenant               bigint CHECK (burst_per_tenant >= 0),
    predictions_per_month          bigint CHECK (predictions_per_month >= 0),
    events_per_month               bigint CHECK (events_per_month >= 0),
    models                         bigint CHECK (models >= 0),
    model_versions_kept            bigint CHECK (model_versions_kept >= 0),
    artifact_bytes                 bigint CHECK (artifact_bytes >= 0),
    concurrent_jobs                bigint CHECK (concurrent_jobs >= 0),
    queued_jobs                    bigint CHECK (queued_jobs >= 0),
    updated_at                     timestamptz NOT NULL DEFAULT now()
);

-- What a tenant used of a monthly quota ('predictions', 'events') in a calendar month (UTC),
-- reserved atomically before the work; `notified`: quota.exceeded was sent for the period.
CREATE TABLE quota_usage (
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    quota     text NOT NULL,
    period    date NOT NULL,
    used      bigint NOT NULL DEFAULT 0,
    notified  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, quota, period)
);

-- Usage counters by hour: requests by route class, predictions, events, jobs. Flushed from
-- each api process's memory every second, so they survive restarts.
CREATE TABLE usage_counters (
    tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL,
    metric    text NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (tenant_id, hour, metric)
);

-- The concurrent_jobs quota counts a tenant's running jobs on every lease.
CREATE INDEX jobs_tenant_running ON jobs (tenant_id) WHERE status = 'running';
