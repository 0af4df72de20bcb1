-- What a job reports about its run that is not a metric of its model (row counts, the device it
-- used): shown as text next to the metrics, kept apart from them. Info events carry it.
ALTER TABLE jobs ADD COLUMN info jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE job_events DROP CONSTRAINT job_events_type_check;
ALTER TABLE job_events ADD CONSTRAINT job_events_type_check CHECK (type IN ('log', 'metric', 'progress', 'state', 'info'));
