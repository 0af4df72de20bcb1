-- Model serving: a deployment serves what one alias of a model points at. The alias is followed,
-- not copied, so moving it is what deploys a new version (hot swap). Deleting the model removes
-- its deployments and their keys.
CREATE TABLE deployments (
  id text PRIMARY KEY,
  model_id text NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  alias text NOT NULL,
  max_batch_size integer NOT NULL CHECK (max_batch_size BETWEEN 1 AND 100000),
  max_wait_ms integer NOT NULL CHECK (max_wait_ms BETWEEN 0 AND 10000),
  queue_limit integer NOT NULL CHECK (queue_limit BETWEEN 1 AND 1000000),
  timeout_ms integer NOT NULL CHECK (timeout_ms BETWEEN 1 AND 600000),
  created_by text REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- One deployment per alias: two would load the same version twice and split its metrics.
  UNIQUE (model_id, alias)
);

-- API keys for applications, one deployment each. Only the sha256 of a key is kept (as for API
-- tokens); revoking deletes the row, so a revoked key and an unknown one are the same to callers.
CREATE TABLE deployment_keys (
  id text PRIMARY KEY,
  deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  name text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_by text REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);
CREATE INDEX deployment_keys_deployment ON deployment_keys (deployment_id);
