-- Run search walks one metric's latest values of an experiment in order and checks each
-- candidate run's params. With the run id in the walked index and the value beside the param
-- key, both are index-only scans: no heap page is read per candidate run.
DROP INDEX run_latest_metrics_search;
CREATE INDEX run_latest_metrics_search ON run_latest_metrics (experiment_id, key, value) INCLUDE (run_id);
CREATE INDEX run_params_values ON run_params (run_id, key) INCLUDE (value);
