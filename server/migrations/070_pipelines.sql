-- Pipelines: definitions, runs and their steps. The database is the scheduler's source of truth:
-- next_run_at is claimed under a row lock, a run per scheduled time is unique, and whoever
-- advances a run holds its lease, so two server processes never fire or start anything twice.
CREATE TABLE pipelines (
  id text PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  definition jsonb NOT NULL,
  -- Copied out of the definition so that the scheduler and event triggers query them.
  schedule_cron text,
  schedule_timezone text,
  catchup text NOT NULL DEFAULT 'skip' CHECK (catchup IN ('skip', 'all')),
  next_run_at timestamptz,
  triggers jsonb NOT NULL DEFAULT '[]'::jsonb,
  max_concurrent_runs int NOT NULL DEFAULT 1,
  defined_by text REFERENCES users(id) ON DELETE SET NULL,
  created_by text REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (created_by, name)
);
CREATE INDEX pipelines_due ON pipelines (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE pipeline_runs (
  id text PRIMARY KEY,
  pipeline_id text NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  number int NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'event')),
  scheduled_for timestamptz,
  -- The event a run was started for: one run per event, even when two servers hear it.
  event_key text,
  reason text,
  run_as text REFERENCES users(id) ON DELETE SET NULL,
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  definition jsonb NOT NULL,
  error text,
  lease_owner text,
  lease_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  UNIQUE (pipeline_id, number),
  UNIQUE (pipeline_id, scheduled_for),
  UNIQUE (pipeline_id, event_key)
);
CREATE INDEX pipeline_runs_active ON pipeline_runs (status) WHERE status IN ('queued', 'running');

CREATE TABLE pipeline_steps (
  run_id text NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  step_id text NOT NULL,
  position int NOT NULL,
  kind text NOT NULL,
  needs text[] NOT NULL DEFAULT ARRAY[]::text[],
  status text NOT NULL CHECK (status IN ('pending', 'retrying', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
  attempt int NOT NULL DEFAULT 0,
  job_id text,
  outputs jsonb NOT NULL DEFAULT '{}'::jsonb,
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  next_attempt_at timestamptz,
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX pipeline_steps_job ON pipeline_steps (job_id) WHERE job_id IS NOT NULL;
