-- A deployment names the worker pool that serves it.
ALTER TABLE model_deployments ADD COLUMN pool text NOT NULL DEFAULT 'default';
