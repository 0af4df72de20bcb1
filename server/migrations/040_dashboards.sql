-- Published dashboards: a dashboard points at one of its immutable versions (republish adds a
-- version, revert moves the pointer back). Access is grants (resource type 'dashboard') plus an
-- optional secret link whose sha256 alone is stored.
CREATE TABLE dashboards (
  id text PRIMARY KEY,
  slug text NOT NULL UNIQUE,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  notebook_path text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Incremented under the row lock when a version is added: concurrent publishes serialize here.
  next_version integer NOT NULL DEFAULT 1,
  current_version integer,
  link_key_hash text UNIQUE,
  -- Scheduled refresh: the notebook (only kept when the owner sets a schedule) and which cells show.
  schedule_cron text,
  source_key text,
  selection jsonb,
  next_run_at timestamptz,
  last_run_at timestamptz,
  last_run_status text CHECK (last_run_status IN ('running', 'succeeded', 'failed')),
  last_run_error text
);
CREATE INDEX dashboards_due ON dashboards (next_run_at) WHERE schedule_cron IS NOT NULL;

CREATE TABLE dashboard_versions (
  dashboard_id text NOT NULL REFERENCES dashboards(id) ON DELETE CASCADE,
  number integer NOT NULL,
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  content jsonb NOT NULL,
  origin text NOT NULL CHECK (origin IN ('publish', 'schedule')),
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dashboard_id, number)
);
