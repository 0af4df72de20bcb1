-- Live mode: the shared notebook (collaboration document) whose outputs the page follows; the
-- cells shown are the dashboard's `selection`.
ALTER TABLE dashboards ADD COLUMN live_notebook_id text;
