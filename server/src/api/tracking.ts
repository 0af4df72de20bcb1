import type { Page, Role } from './common.js';

// Experiment tracking under /tandem/api: experiments (shared like every resource, owner/editor/
// viewer), their runs, each run's params, tags, metric series, dataset inputs and artifacts.
// The same data is reachable through the MLflow-compatible REST API under /tandem/mlflow.

/** Soft deletion, as MLflow: deleted experiments and runs keep their data and can be restored. */
export type LifecycleStage = 'active' | 'deleted';

/** Which runs or experiments a search covers (default `active`). */
export type ViewType = 'active' | 'deleted' | 'all';

/**
 * An experiment groups runs. Its name is unique among its creator's experiments (two people may
 * each have a "churn"). The server holds `Date`s, the wire ISO strings.
 */
export interface Experiment<Time = string> {
  id: string;
  name: string;
  /** The creator's user id: names are unique per creator. */
  createdBy: string;
  /** The creator's user name. */
  createdByName: string;
  /** Free-form tags; `mlflow.note.content` is the description, as in MLflow. */
  tags: Record<string, string>;
  lifecycleStage: LifecycleStage;
  createdAt: Time;
  updatedAt: Time;
}

/** `GET /experiments/:id` and every answer about one experiment: with the caller's role on it. */
export interface ExperimentWithRole<Time = string> extends Experiment<Time> {
  role: Role;
}

/** `GET /experiments` answers a page of these. */
export type ExperimentPage<Time = string> = Page<ExperimentWithRole<Time>>;

/** `POST /experiments`: the caller becomes its owner. */
export interface CreateExperimentRequest {
  /** 1–500 characters, unique among the caller's experiments. */
  name: string;
  tags?: Record<string, string>;
}

/** `PATCH /experiments/:id` (editors): rename, and/or set (value string) or remove (null) tags. */
export interface UpdateExperimentRequest {
  name?: string;
  tags?: Record<string, string | null>;
}

/**
 * Query of `GET /experiments` (plus `limit`, `pageToken`). `filter` uses the run filter syntax
 * with `name`, `creation_time`, `last_update_time` (ms) and `tags.<key>`, e.g.
 * `name LIKE 'churn%' AND tags.team = 'growth'`.
 */
export interface ExperimentSearchQuery {
  filter?: string;
  /** e.g. `name`, `last_update_time DESC` (default `last_update_time DESC`). */
  orderBy?: string | string[];
  view?: ViewType;
  limit?: number;
  pageToken?: string;
}

export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

/**
 * A metric value. JSON has no NaN or infinities, so those travel as these strings (the MLflow
 * REST API's own convention); everything else is a number.
 */
export type MetricValue = number | 'NaN' | 'Infinity' | '-Infinity';

/** One point of a metric series. */
export interface MetricPoint {
  value: MetricValue;
  step: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** A dataset a run read, identified by its fingerprint (`digest`). */
export interface DatasetInput {
  name: string;
  /** The fingerprint, e.g. a hash of the data (MLflow: at most 36 characters). */
  digest: string;
  /** e.g. `local`, `s3`, `tandem`. */
  sourceType: string;
  /** Where it was read from (URI, path, table), as the writer describes it. */
  source: string;
  /** JSON text (MLflow's dataset schema), if given. */
  schema: string | null;
  /** JSON text (row counts and such), if given. */
  profile: string | null;
  /** What the run used it for, e.g. `train`, `eval`; '' when not said. */
  context: string;
}

/**
 * A run: one training attempt. Params are immutable once logged; `metrics` holds each metric's
 * latest point (highest step, then newest timestamp), the series is at
 * `GET /runs/:id/metrics/<key>`. A RUNNING run whose writer stays silent for
 * `heartbeatTimeoutSeconds` is marked KILLED (its logged data stays).
 */
export interface Run<Time = string> {
  /** 32 hex digits (MLflow's run id format). */
  id: string;
  experimentId: string;
  name: string;
  status: RunStatus;
  startTime: Time;
  endTime: Time | null;
  /** The enclosing run of a nested run. */
  parentRunId: string | null;
  /** The notebook that logged it: `tandem:<id>` for a shared notebook, else its path. */
  notebook: string | null;
  /** The cell (id) within the notebook. */
  cell: string | null;
  /** The named notebook version it ran from, when one was saved. */
  notebookVersion: string | null;
  /** The Tandem job that produced it. */
  jobId: string | null;
  /** The user who created it, by id and name. */
  userId: string;
  userName: string;
  lifecycleStage: LifecycleStage;
  /** When the writer was last heard from (any write or heartbeat). */
  lastSeenAt: Time;
  heartbeatTimeoutSeconds: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, MetricPoint>;
  inputs: DatasetInput[];
}

/**
 * `GET /runs` answers one page of runs. There is no total: counting every match would cost more
 * than the page itself on large experiments.
 */
export interface RunPage<Time = string> {
  items: Run<Time>[];
  nextPageToken?: string;
}

/** A dataset input as a writer sends it (what it omits is empty). */
export type DatasetInputRequest = Pick<DatasetInput, 'name' | 'digest'> &
  Partial<Pick<DatasetInput, 'sourceType' | 'source' | 'context'>> & { schema?: string; profile?: string };

/** `POST /runs` (editors of the experiment). */
export interface CreateRunRequest {
  experimentId: string;
  /** Default: `run-` and the first 8 digits of its id. */
  name?: string;
  parentRunId?: string;
  /** ISO time; default now. */
  startTime?: string;
  notebook?: string;
  cell?: string;
  notebookVersion?: string;
  /** A job the caller can see. */
  jobId?: string;
  /** 10–86400, default 120: how long the run may stay silent before it is marked KILLED. */
  heartbeatTimeoutSeconds?: number;
  tags?: Record<string, string>;
  params?: Record<string, string | number | boolean>;
  inputs?: DatasetInputRequest[];
}

/** `PATCH /runs/:id` (editors): a final status sets `endTime` to now unless given. */
export interface UpdateRunRequest {
  name?: string;
  status?: RunStatus;
  endTime?: string;
}

/** One point as a writer sends it: `step` defaults to 0, `timestamp` to the server's now (ms). */
export interface MetricPointRequest {
  key: string;
  value: MetricValue;
  step?: number;
  timestamp?: number;
}

/**
 * `POST /runs/:id/log` (editors): params, metric points and tags in one atomic call, which also
 * counts as a heartbeat. Answers 204 once everything is stored. Re-logging a param with a
 * different value is a 409 CONFLICT naming the param, and nothing of the call is stored.
 * Limits: 10000 metric points, 1000 params, 1000 tags per call.
 */
export interface LogBatchRequest {
  metrics?: MetricPointRequest[];
  params?: Record<string, string | number | boolean>;
  /** A null value removes the tag. */
  tags?: Record<string, string | null>;
  inputs?: DatasetInputRequest[];
}

/**
 * Query of `GET /runs` (plus `limit` ≤ 1000, `pageToken`). Without `experimentId`, every
 * experiment the caller can see. `filter` is MLflow's syntax, comparisons joined by AND:
 * `metrics.acc > 0.9 AND params.lr = '0.01' AND tags.team = 'x' AND attributes.status = 'FINISHED'
 * AND run_name LIKE 'x%' AND attributes.run_id IN ('…', '…')`. Operators: = != < <= > >= for
 * metrics and times (ms), = != LIKE ILIKE IN NOT IN for params, tags and text attributes.
 * A bad filter is a 400 whose message names the offending token and its position.
 */
export interface RunSearchQuery {
  experimentId?: string | string[];
  filter?: string;
  /** e.g. `metrics.acc DESC`, `params.lr`, `attributes.start_time ASC` (default `start_time DESC`). */
  orderBy?: string | string[];
  view?: ViewType;
  limit?: number;
  pageToken?: string;
}

/** `GET /runs/:id/metrics/<key>` (plus `limit` ≤ 25000, `pageToken`): the series in step order. */
export type MetricHistoryPage = Page<MetricPoint>;

/**
 * `POST /runs/:id/register` (viewers of the run): copies the artifact at `artifact` (one file, or
 * every file under that folder) into a new version of `model`, with the run's params, metrics
 * and lineage, and answers the `ModelVersion` (201). `model` is resolved as a registration does:
 * `owner/name` needs the editor role on it, a bare name may create the model in your namespace.
 */
export interface RegisterRunRequest {
  model: string;
  /** Relative path of a file or folder in the run's artifacts, e.g. `model` or `model/model.onnx`. */
  artifact: string;
}

/** A file of a run's artifacts. */
export interface RunArtifact<Time = string> {
  /** Relative path inside the run, e.g. `model/model.onnx`. */
  path: string;
  size: number;
  sha256: string;
  createdAt: Time;
}

/**
 * `GET /runs/:id/artifacts?prefix=` (plus `limit`, `pageToken`): files in path order. Upload with
 * `PUT /runs/:id/artifacts/<path>` (raw body; optional `X-Tandem-Sha256` is verified), download
 * with `GET` on the same path (answers `X-Tandem-Sha256`, supports Range).
 */
export type RunArtifactPage<Time = string> = Page<RunArtifact<Time>>;

/**
 * What `GET /experiments/:id/events` streams (server-sent events named `experiment`; browsers
 * pass the token as `?token=`) to viewers of the experiment, so that views follow active runs.
 * Events say what changed, not the new state: a view refetches what it shows. `run.logged` comes
 * at most every 250 ms per run, and always after a run's last write.
 */
export interface ExperimentEvent {
  type:
    | 'experiment.updated'
    | 'experiment.deleted'
    | 'experiment.restored'
    | 'experiment.shared'
    | 'run.created'
    | 'run.updated'
    | 'run.logged'
    | 'run.deleted'
    | 'run.restored';
  /** ISO time. */
  at: string;
  experimentId: string;
  /** The run, for `run.*` events. */
  runId?: string;
  /** The run's new status, when `run.updated` changed it. */
  status?: RunStatus;
}
