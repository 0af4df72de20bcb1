-- Notebook jobs (dashboard refreshes, run by worker agents like every other job), and the
-- short-lived tokens a job acts with as its submitter: tied to the job, revoked when it ends.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('spark', 'gpu', 'notebook'));
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('user', 'worker', 'job'));
ALTER TABLE api_tokens ADD COLUMN job_id text;
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
CREATE INDEX api_tokens_job ON api_tokens (job_id) WHERE job_id IS NOT NULL;
