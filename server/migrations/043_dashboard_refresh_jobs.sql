-- A scheduled refresh runs as the person who set the schedule (re-checked at every run), as a
-- notebook job; the dashboard remembers the job of its latest run.
ALTER TABLE dashboards ADD COLUMN schedule_set_by text;
UPDATE dashboards SET schedule_set_by = created_by WHERE schedule_cron IS NOT NULL;
ALTER TABLE dashboards ADD COLUMN last_run_job_id text;
-- Live mode shows a shared notebook's outputs for as long as whoever made it live may read it.
ALTER TABLE dashboards ADD COLUMN live_set_by text;
UPDATE dashboards SET live_set_by = created_by WHERE live_notebook_id IS NOT NULL;
