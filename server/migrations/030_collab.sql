-- Shared notebooks as Yjs documents: a snapshot plus an append-only log of updates made after it.
-- Rooms fold the log into the snapshot every few hundred updates, so storage stays bounded.
CREATE TABLE notebooks (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_by text REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- through_seq: the last log entry already folded into `state`.
CREATE TABLE notebook_snapshots (
  notebook_id text PRIMARY KEY REFERENCES notebooks(id) ON DELETE CASCADE,
  state bytea NOT NULL,
  through_seq bigint NOT NULL
);

CREATE TABLE notebook_updates (
  seq bigserial PRIMARY KEY,
  notebook_id text NOT NULL REFERENCES notebooks(id) ON DELETE CASCADE,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notebook_updates_doc ON notebook_updates (notebook_id, seq);

-- Named versions keep a full Yjs state so that restore can rebuild the notebook exactly.
CREATE TABLE notebook_versions (
  id text PRIMARY KEY,
  notebook_id text NOT NULL REFERENCES notebooks(id) ON DELETE CASCADE,
  name text NOT NULL,
  state bytea NOT NULL,
  created_by text REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notebook_versions_doc ON notebook_versions (notebook_id, created_at);
