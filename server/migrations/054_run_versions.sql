-- Every change to what a run shows (its row, params, tags, latest metrics, inputs) moves its
-- version, in the statement that makes the change. A reader that keeps runs it has read can tell
-- from the version alone, read with a search's ids, whether what it kept is still current.
-- Triggers rather than each writer's own statement: no write path can forget it.
ALTER TABLE runs ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION runs_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END $$;
CREATE TRIGGER runs_version BEFORE UPDATE ON runs FOR EACH ROW EXECUTE FUNCTION runs_next_version();

-- Once per statement, whatever number of rows it wrote: a log call of 1000 points moves its run
-- once. Every kind of write to every table a run shows, including those no path makes today.
CREATE FUNCTION run_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE runs SET version = version + 1 WHERE id IN (SELECT run_id FROM changed);
  RETURN NULL;
END $$;
DO $$
DECLARE
  shown text;
  event text;
BEGIN
  FOREACH shown IN ARRAY ARRAY['run_params', 'run_tags', 'run_latest_metrics', 'run_inputs'] LOOP
    FOREACH event IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
      EXECUTE format(
        'CREATE TRIGGER %I AFTER %s ON %I REFERENCING %s TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION run_rows_changed()',
        shown || '_on_' || lower(event), event, shown, CASE event WHEN 'DELETE' THEN 'OLD' ELSE 'NEW' END);
    END LOOP;
  END LOOP;
END $$;
