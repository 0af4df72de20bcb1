-- Experiment tracking: experiments, their runs, and each run's params, tags, metric series,
-- dataset inputs and artifacts. Experiments are shared through `grants` (resource type
-- 'experiment'); runs take the role their experiment gives.
CREATE TABLE experiments (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_by text NOT NULL REFERENCES users(id),
  tags jsonb NOT NULL DEFAULT '{}'::jsonb,
  lifecycle_stage text NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Names are a per-person namespace (two people may both have "churn"); a deleted experiment
  -- keeps its name until restored, as in MLflow.
  UNIQUE (created_by, name)
);
CREATE INDEX experiments_name ON experiments (name);

CREATE TABLE runs (
  id text PRIMARY KEY,
  experiment_id text NOT NULL REFERENCES experiments(id),
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
  start_time timestamptz NOT NULL,
  end_time timestamptz,
  parent_run_id text REFERENCES runs(id),
  notebook text,
  cell text,
  notebook_version text,
  job_id text,
  created_by text NOT NULL REFERENCES users(id),
  lifecycle_stage text NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
  -- Every write moves last_seen_at; a RUNNING run silent for heartbeat_timeout_s is marked KILLED.
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_timeout_s integer NOT NULL CHECK (heartbeat_timeout_s > 0)
);
-- The default search order (newest first within experiments) and the attribute orderings.
CREATE INDEX runs_experiment_start ON runs (experiment_id, start_time DESC, id);
CREATE INDEX runs_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
-- Only running runs are ever reaped: the partial index stays as small as the set of live runs.
CREATE INDEX runs_running ON runs (last_seen_at) WHERE status = 'RUNNING';

-- Params are immutable once logged (the service refuses a different value for a key).
CREATE TABLE run_params (
  run_id text NOT NULL REFERENCES runs(id),
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (run_id, key)
);

CREATE TABLE run_tags (
  run_id text NOT NULL REFERENCES runs(id),
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (run_id, key)
);

-- Metric series, append-only and written in batches of up to thousands of points, so the table
-- carries one index and no foreign key: the service checks the run before every batch, and runs
-- are only ever soft-deleted. Duplicated points are kept (MLflow does the same).
CREATE TABLE run_metrics (
  run_id text NOT NULL,
  key text NOT NULL,
  step bigint NOT NULL,
  timestamp_ms bigint NOT NULL,
  value float8 NOT NULL
);
CREATE INDEX run_metrics_history ON run_metrics (run_id, key, step, timestamp_ms);

-- The latest point of each metric of a run (highest step, then timestamp, then value, as MLflow
-- decides it), kept beside the series for search. The experiment is copied in so that a filter
-- or ordering on one metric within an experiment walks (experiment_id, key, value) in order.
CREATE TABLE run_latest_metrics (
  run_id text NOT NULL REFERENCES runs(id),
  experiment_id text NOT NULL,
  key text NOT NULL,
  value float8 NOT NULL,
  step bigint NOT NULL,
  timestamp_ms bigint NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX run_latest_metrics_search ON run_latest_metrics (experiment_id, key, value);

-- Datasets a run read, by fingerprint (digest); context is e.g. "train" or "eval".
CREATE TABLE run_inputs (
  run_id text NOT NULL REFERENCES runs(id),
  name text NOT NULL,
  digest text NOT NULL,
  source_type text NOT NULL DEFAULT '',
  source text NOT NULL DEFAULT '',
  schema text,
  profile text,
  context text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, name, digest, context)
);

-- Artifact files: bytes in the artifact store under `key` (a fresh key per upload, so that any
-- path a client names is safe to store), sha256 computed while streaming.
CREATE TABLE run_artifacts (
  run_id text NOT NULL REFERENCES runs(id),
  path text NOT NULL,
  key text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, path)
);
