-- Jobs: a queue of Spark and GPU work claimed by worker agents under leases.
-- A running job belongs to one worker until its lease expires; every worker call names the
-- attempt it works on, so a worker that lost its lease cannot overwrite a newer attempt.
CREATE TABLE workers (
  id text PRIMARY KEY,
  name text NOT NULL,
  owner_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  capabilities jsonb NOT NULL DEFAULT '[]'::jsonb,
  gpus jsonb NOT NULL DEFAULT '[]'::jsonb,
  concurrency integer NOT NULL DEFAULT 1,
  registered_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('spark', 'gpu')),
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  spec jsonb NOT NULL,
  -- {model, description?}: register the outputs as a new version of this model on success.
  register jsonb,
  notebook text,
  attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 3,
  worker_id text,
  lease_expires_at timestamptz,
  cancel_requested boolean NOT NULL DEFAULT false,
  progress float8,
  metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
  error text,
  result jsonb,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_queue ON jobs (created_at) WHERE status = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_created ON jobs (created_at DESC);

-- Log lines, metrics, progress and state changes, in order; `id` is the readers' cursor.
CREATE TABLE job_events (
  id bigserial PRIMARY KEY,
  job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  type text NOT NULL CHECK (type IN ('log', 'metric', 'progress', 'state')),
  data jsonb NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);

-- Files a job attempt produced, stored under jobs/<id>/<attempt>/<path>.
CREATE TABLE job_outputs (
  job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  path text NOT NULL,
  key text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  PRIMARY KEY (job_id, attempt, path)
);
