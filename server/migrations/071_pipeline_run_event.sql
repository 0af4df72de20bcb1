-- What an event-triggered run was started for (model and version, or experiment, run and
-- artifact path), for its steps to read as {{ event.<field> }}.
ALTER TABLE pipeline_runs ADD COLUMN event jsonb;
