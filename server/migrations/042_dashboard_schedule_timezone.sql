-- The time zone whose wall clock a refresh schedule's cron fields describe (IANA name).
ALTER TABLE dashboards ADD COLUMN schedule_timezone text NOT NULL DEFAULT 'UTC';
