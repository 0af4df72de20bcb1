import type { Page } from './common.js';
import type { Signature } from './models.js';

// Model serving. A deployment serves what one alias of a registered model points at; its
// settings live under /tandem/api/deployments, predictions are made at
// /tandem/serve/:model/:alias/predict (and /tandem/serve/:model/versions/:n/predict for one
// pinned version). `:model` is `owner/name` (URL-encoded `owner%2Fname`) or a bare name.

/** How a deployment batches and bounds work; every field has a default. */
export interface DeploymentSettings {
  /** Most rows one model run takes (requests are never split: a larger request runs alone). Default 64. */
  maxBatchSize: number;
  /**
   * How long the first request of a batch waits for others before the model runs (ms). Default 0:
   * requests that arrive while a batch runs still form the next batch.
   */
  maxWaitMs: number;
  /** Requests waiting beyond those running; one more is refused with 429. Default 1000. */
  queueLimit: number;
  /** A request not answered within this (ms, queueing included) is answered 504. Default 10000. */
  timeoutMs: number;
}

/** Sampled prediction logging: rows of requests written to the artifact store as Parquet, one partition per hour. */
export interface PredictionLogSettings {
  /** The share of requests logged, 0–1 (every row of a logged request is a log row). Default 0: off. */
  logSampleRate: number;
  /** Hour partitions older than this many days are deleted, 1–3650. Default 30. */
  logRetentionDays: number;
}

/** A second version beside the alias's: it answers a share of requests (canary) or gets copies of them (shadow). */
export interface TrafficSplit {
  /** A version number of the deployment's model, other than the one the alias points at. */
  version: number;
  /** The share of the alias's requests, 0–100 (a canary at 0 is loaded and warm but answers nothing). */
  percent: number;
}

/**
 * How an alias's requests are shared between versions. A split whose version is not loaded (yet,
 * or because it failed to) takes nothing: the alias's version answers everything meanwhile.
 */
export interface DeploymentTraffic {
  /** `percent` of requests are answered by `version` instead of the alias's version. */
  canary: TrafficSplit | null;
  /** `percent` of requests are also sent to `version`; its answers are only recorded (metrics, prediction log). */
  shadow: TrafficSplit | null;
}

/** What the deployment is doing in this server process. */
export type DeploymentState =
  /** Nothing loaded yet: the first version is loading. */
  | 'loading'
  /** A version is loaded and answers (another may be loading to replace it). */
  | 'ready'
  /** Nothing can be served: the alias points nowhere, or its version failed to load and none served before. */
  | 'unavailable';

export interface DeploymentStatus {
  state: DeploymentState;
  /** The version answering predictions, if any. */
  servedVersion: number | null;
  /** The version being loaded to replace it, if any. */
  loadingVersion: number | null;
  /** Why the last version tried could not be loaded (cleared once a version loads). */
  lastError: { version: number | null; message: string; at: string } | null;
}

export interface Deployment<Time = string> extends DeploymentSettings, PredictionLogSettings, DeploymentTraffic {
  id: string;
  modelId: string;
  /** The model's `owner/name`. */
  model: string;
  alias: string;
  /** The version the alias points at now; `status.servedVersion` catches up once it loaded. */
  aliasVersion: number | null;
  createdBy: string | null;
  createdAt: Time;
  updatedAt: Time;
  /** Where predictions go: `/tandem/serve/<owner%2Fname>/<alias>/predict` on this server. */
  endpoint: string;
  status: DeploymentStatus;
  /** What serves each split in this server process (null: no such split). */
  splitStatus: { canary: DeploymentStatus | null; shadow: DeploymentStatus | null };
}

/** `GET /deployments` answers the deployments of models the caller can see. */
export type DeploymentPage<Time = string> = Page<Deployment<Time>>;

/** `POST /deployments` (editors of the model): serve `alias` of `model`. */
export interface CreateDeploymentRequest extends Partial<DeploymentSettings>, Partial<PredictionLogSettings>, Partial<DeploymentTraffic> {
  model: string;
  alias: string;
}

/**
 * `PATCH /deployments/:id`: change settings; applies to requests that arrive afterwards. A split
 * given as null is removed; one left out is kept.
 */
export type UpdateDeploymentRequest = Partial<DeploymentSettings> & Partial<PredictionLogSettings> & Partial<DeploymentTraffic>;

/** One version's requests over the last minute. */
export interface VersionTraffic {
  version: number | null;
  requests: number;
  requestsPerSecond: number;
  /** Requests answered with an error (4xx or 5xx). */
  errors: number;
  /** Latency percentiles in ms (to within 20%), queueing included. */
  p50Ms: number;
  p95Ms: number;
}

/**
 * `GET /deployments/:id/traffic` (viewers): the last minute's requests, per split and version, as
 * the server process that answers saw them (with replicas, each has its own; Prometheus sums them).
 */
export interface DeploymentTrafficStats {
  windowSeconds: number;
  splits: { split: 'primary' | 'canary' | 'shadow'; versions: VersionTraffic[] }[];
}

/**
 * One Parquet file of a deployment's prediction log, at
 * `serving-logs/<deployment>/date=YYYY-MM-DD/hour=HH/<process>-<ms>-<n>.parquet` (UTC). Columns:
 * `_ts` (timestamp), `_version`, `_split` (primary, canary or shadow), `_latency_ms`, `_status`
 * (HTTP), `_error`, one per input field as sent (arrays as JSON text), and `_prediction` (JSON
 * text unless every prediction is a number). A request of n rows is n log rows.
 */
export interface PredictionLogFile {
  key: string;
  size: number;
  /** The start of the file's hour partition (ISO 8601, UTC). */
  hour: string;
}

/** `GET /deployments/:id/logs` (editors): the log's files, newest hour first; `GET …/logs/file?key=` downloads one. */
export type PredictionLogPage = Page<PredictionLogFile>;

/** A per-deployment API key, for applications that hold no user account. */
export interface DeploymentKey<Time = string> {
  id: string;
  deploymentId: string;
  name: string;
  /** The first characters of the key, to recognise it (`tdk_abcd…`). */
  prefix: string;
  createdBy: string | null;
  createdAt: Time;
  lastUsedAt: Time | null;
}

/** `GET /deployments/:id/keys` (editors): the keys without their secrets. */
export interface DeploymentKeyList<Time = string> {
  items: DeploymentKey<Time>[];
}

/** `POST /deployments/:id/keys`. */
export interface CreateDeploymentKeyRequest {
  name?: string;
}

/** The answer of `POST /deployments/:id/keys`: `secret` is shown only this once (stored hashed). */
export interface CreatedDeploymentKey<Time = string> {
  key: DeploymentKey<Time>;
  /** Send as `Authorization: Bearer <secret>` to this deployment's predict and ready routes. */
  secret: string;
}

/** A value of one input: a number, string or boolean, or nested arrays of them for tensor inputs. */
export type PredictValue = number | string | boolean | null | PredictValue[];

/**
 * `POST …/predict`: exactly one of `rows` (one object per row) or `columns` (one array of
 * per-row values per field). Fields are the model's input names; a model with one input of shape
 * [N, k] whose version signature lists k input columns also takes those columns by name, one
 * number each. `null` is NaN for float inputs. An Arrow IPC body (Content-Type
 * `application/vnd.apache.arrow.stream` or `.file`) is read as `columns`.
 */
export type PredictRequest = { rows: Record<string, PredictValue>[] } | { columns: Record<string, PredictValue[]> };

/**
 * One prediction per input row: the output's value for that row (a number, or an array for wider
 * outputs) when the model has one output, else an object keyed by output name. With `Accept:
 * application/vnd.apache.arrow.stream`, an Arrow IPC stream instead: a `prediction` column, or one
 * per output, and `version` in the `Tandem-Model-Version` header.
 */
export interface PredictResponse {
  predictions: PredictValue[] | Record<string, PredictValue>[];
  /** The version that answered. */
  version: number;
}

/** `GET …/ready`: 200 when a version answers, else 503 with this body inside the error's details. */
export interface ReadyResponse {
  ready: boolean;
  version: number | null;
}

// ---- the replica API (`/tandem/api/serving/replica/*`, worker tokens): what a `tandem serve --server` process needs

/** A deployment as a serving process follows it. */
export interface ServingDeployment extends DeploymentSettings, PredictionLogSettings, DeploymentTraffic {
  id: string;
  modelId: string;
  /** The model's `owner/name`. */
  model: string;
  alias: string;
  aliasVersion: number | null;
}

/** A ready version as serving loads it: the ONNX file's size and sha256 are checked once read. */
export interface ServableVersion {
  id: string;
  number: number;
  signature: Signature | null;
  file: { path: string; size: number; sha256: string };
}

/**
 * `POST /serving/replica/authorize`: may whoever sent `token` (a user's API token or a deployment
 * key) predict on the model's alias, or on one version? Refusals are the predict routes' own
 * errors (401, 403, 404).
 */
export interface ServingAuthorizationRequest {
  token: string;
  model: string;
  alias?: string;
  version?: number;
}

/** Yes: the model, and for an alias the deployment that serves it. */
export interface ServingAuthorization {
  modelId: string;
  /** The model's `owner/name`. */
  model: string;
  deploymentId: string | null;
}
