-- Model registry: registered models, their versions, files, aliases.
-- A version is `pending` while its files upload and gets its number only when committed, so
-- failed uploads never leave a visible version nor a gap in the numbering.
CREATE TABLE models (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  tags jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Incremented under the model row lock when a version commits: concurrent commits serialize here.
  next_version integer NOT NULL DEFAULT 1,
  latest_version integer,
  -- The latest version's metrics, copied so that metric filters and ordering need no join.
  latest_metrics jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX models_name_pattern ON models (name text_pattern_ops);
CREATE INDEX models_updated ON models (updated_at DESC);

CREATE TABLE model_versions (
  id text PRIMARY KEY,
  model_id text NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  number integer,
  status text NOT NULL CHECK (status IN ('pending', 'ready')),
  description text NOT NULL DEFAULT '',
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
  signature jsonb,
  lineage jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  ready_at timestamptz,
  UNIQUE (model_id, number),
  CHECK ((status = 'ready') = (number IS NOT NULL))
);
CREATE INDEX model_versions_pending ON model_versions (created_at) WHERE status = 'pending';

CREATE TABLE model_files (
  version_id text NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  path text NOT NULL,
  key text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  PRIMARY KEY (version_id, path)
);

CREATE TABLE model_aliases (
  model_id text NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  alias text NOT NULL,
  version_id text NOT NULL REFERENCES model_versions(id) ON DELETE CASCADE,
  updated_by text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, alias)
);
CREATE INDEX model_aliases_alias ON model_aliases (alias);
