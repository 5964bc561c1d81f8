-- Model artifacts stored in PostgreSQL (RECS_ARTIFACT_STORE=postgres): one large object each.
CREATE TABLE artifacts (
    ref        text PRIMARY KEY,          -- 'pg:<uuid>', what model_versions.artifact_path records
    name       text NOT NULL,             -- tenants/T/models/M/job-...bin, for operators
    lo         oid NOT NULL,              -- the large object holding the bytes
    bytes      bigint NOT NULL,
    sha256     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifacts_created ON artifacts (created_at);
