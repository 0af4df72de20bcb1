-- Sampled prediction logging (serving.logs.ts): the share of a deployment's requests whose rows are
-- written to the artifact store as Parquet, and how many days of hour partitions are kept. Off by
-- default: logging costs storage, and inputs may be personal data.
ALTER TABLE deployments
  ADD COLUMN log_sample_rate double precision NOT NULL DEFAULT 0 CHECK (log_sample_rate BETWEEN 0 AND 1),
  ADD COLUMN log_retention_days integer NOT NULL DEFAULT 30 CHECK (log_retention_days BETWEEN 1 AND 3650);
