-- A worker that cannot isolate jobs (no sandbox on its machine) runs only its owner's jobs,
-- whoever owns it, unless it was started to trust every submitter.
ALTER TABLE workers ADD COLUMN only_owner boolean NOT NULL DEFAULT false;
