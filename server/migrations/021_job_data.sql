-- Data that users send with their jobs (files and tables from a kernel), stored once per content
-- under job-data/<sha256>. A user may name a blob in a job only once they have uploaded it
-- themselves, so knowing a hash gives no access to somebody else's data.
CREATE TABLE job_data (
  owner_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  sha256 text NOT NULL,
  size bigint NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner_id, sha256)
);
