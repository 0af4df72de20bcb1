import type { Json } from './common.js';

/** Spark and GPU training, and notebooks run headless (dashboard refreshes). */
export type JobKind = 'spark' | 'gpu' | 'notebook';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobEventType = 'log' | 'metric' | 'progress' | 'state' | 'info';

/** Register the job's outputs as a new version of `model` when it succeeds. */
export interface JobRegistration {
  model: string;
  description?: string;
}

/** What a finished job produced: the model version it registered, if it asked to. */
export interface JobResult {
  model?: string;
  version?: number;
}

/** A Spark or GPU job; the server holds `Date`s, the wire ISO strings. */
export interface Job<Time = string> {
  id: string;
  kind: JobKind;
  name: string;
  status: JobStatus;
  spec: Json;
  register: JobRegistration | null;
  /** The notebook that submitted it (the model's lineage). */
  notebook: string | null;
  attempt: number;
  maxAttempts: number;
  workerId: string | null;
  leaseExpiresAt: Time | null;
  cancelRequested: boolean;
  /** 0…1, null before the job reported any. */
  progress: number | null;
  /** Latest value of each metric. */
  metrics: Record<string, number>;
  /** What the job reported about its run that is not a metric, e.g. `{ train_rows: 1208 }`: shown as text. */
  info: Record<string, string | number | boolean>;
  /** The experiment each attempt logs a run into (Spark and GPU jobs always; others when asked). */
  experimentId: string | null;
  /** The run of the current attempt: its params, metric series and status follow the job. */
  runId: string | null;
  error: string | null;
  result: JobResult | null;
  createdBy: string;
  createdAt: Time;
  startedAt: Time | null;
  finishedAt: Time | null;
  updatedAt: Time;
}

/** One entry of a job's event log; `id` is the cursor for `?after=`. */
export interface JobEvent<Time = string> {
  id: number;
  attempt: number;
  at: Time;
  type: JobEventType;
  data: Json;
}

/** `POST /jobs`. */
export interface SubmitJobRequest {
  kind: JobKind;
  name?: string;
  spec: Json;
  register?: JobRegistration;
  notebook?: string;
  maxAttempts?: number;
  /**
   * The experiment (id, or name: yours, else one shared with you to edit, else a new one of
   * yours) its runs go into; default an experiment of yours named after the job.
   */
  experiment?: string;
}

/** `GET /jobs?status=&kind=&q=&limit=&offset=`. */
export interface JobListQuery {
  status?: JobStatus;
  kind?: JobKind;
  q?: string;
  limit?: number;
  offset?: number;
}

export interface JobList<Time = string> {
  jobs: Job<Time>[];
  total: number;
}

/** `GET /jobs/:id/events?after=&types=&limit=&waitMs=`: new events and the job's current state. */
export interface JobEvents<Time = string> {
  events: JobEvent<Time>[];
  job: Job<Time>;
}

/** A file a job's latest attempt wrote (the server also keeps its object-store key). */
export interface JobOutputFile {
  path: string;
  size: number;
  sha256: string;
}

/** `GET /jobs/:id/outputs`. */
export interface JobOutputList {
  outputs: JobOutputFile[];
}

// ---- the worker API (worker tokens)

/** A worker agent; `GET /workers` answers `{ workers }`. */
export interface Worker<Time = string> {
  id: string;
  name: string;
  ownerId: string;
  /** The worker cannot isolate jobs: it runs only its owner's. */
  onlyOwner: boolean;
  /** When set, the worker runs only the jobs of this team's members. */
  teamId: string | null;
  capabilities: JobKind[];
  gpus: Json[];
  concurrency: number;
  lastSeenAt: Time;
}

/** `POST /workers`. */
export interface RegisterWorkerRequest {
  name: string;
  capabilities: JobKind[];
  gpus?: Json[];
  concurrency?: number;
  onlyOwner?: boolean;
  /** A team (by name) the registering user belongs to: the worker then runs only its members' jobs. */
  team?: string;
}

/** `POST /workers/:workerId/claim`; answers `{ job }`, or 204 when none came within `waitMs`. */
export interface ClaimRequest {
  leaseMs?: number;
  waitMs?: number;
}

export interface Claimed<Time = string> {
  job: Job<Time>;
  /** The job acts as its submitter with this token (revoked when the attempt ends); never the worker's. */
  token: string;
}

/** A job a worker holds: `attempt` fences every call it makes about the job. */
export interface LeaseRef {
  jobId: string;
  attempt: number;
}

/** `POST /workers/:workerId/heartbeat`. */
export interface HeartbeatRequest {
  leaseMs?: number;
  leases: LeaseRef[];
}

export interface HeartbeatAnswer {
  /** Jobs to stop: their cancel was requested. */
  cancel: string[];
  /** Jobs this worker no longer holds. */
  lost: string[];
}

/** What a worker reports while a job runs (`POST …/events` with `{ events }`). */
export interface WorkerEvent {
  type: Exclude<JobEventType, 'state'>;
  data: Json;
}

/** `POST /workers/:workerId/jobs/:jobId/:attempt/complete`. */
export interface JobOutcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: string;
  /** Final metrics (merged over the streamed ones). */
  metrics?: Record<string, number>;
}
