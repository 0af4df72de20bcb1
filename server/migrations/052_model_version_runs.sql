-- A model version names the experiment run that produced it. Runs are only soft-deleted through
-- the API; should one be purged, its versions stay and lose the link.
ALTER TABLE model_versions ADD COLUMN run_id text REFERENCES runs(id) ON DELETE SET NULL;
-- Purging a run finds its versions through this, not by scanning every version.
CREATE INDEX model_versions_run ON model_versions (run_id) WHERE run_id IS NOT NULL;

-- Until now the run travelled as free text in lineage.run (once a job's attempt number): the ids
-- of real runs move to the column, anything else stays where it was.
UPDATE model_versions v SET run_id = v.lineage->>'run', lineage = v.lineage - 'run'
WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = v.lineage->>'run');
