-- Spark and GPU jobs log themselves as experiment runs: the experiment a job logs into (chosen at
-- submit, so a missing right fails the submit, not the job), and the run of its current attempt
-- (each attempt is a run of its own, so a retry's metric series do not mix with the lost one's).
ALTER TABLE jobs ADD COLUMN experiment_id text REFERENCES experiments(id);
ALTER TABLE jobs ADD COLUMN run_id text REFERENCES runs(id);
