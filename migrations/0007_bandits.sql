-- Bandits that reallocate the weights of running experiments, and the weights over time.
CREATE TABLE experiment_bandits (
    experiment_id  uuid PRIMARY KEY REFERENCES experiments(id) ON DELETE CASCADE,
    tenant_id      uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    config         jsonb NOT NULL,
    next_update_at timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX experiment_bandits_due ON experiment_bandits (next_update_at);

CREATE TABLE experiment_weights (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    experiment_id uuid NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    weights       jsonb NOT NULL,
    arms          jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX experiment_weights_experiment ON experiment_weights (experiment_id, id);
