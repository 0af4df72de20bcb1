import type { JobRegistration } from './jobs.js';
import type { Json, Role } from './common.js';

// Pipelines: a DAG of steps run on a schedule, on an event or by hand. Definitions live under
// /tandem/api/pipelines, runs under /tandem/api/pipeline-runs. Steps that run user code are jobs
// run on workers as the person behind the run; the server only runs gates, alias moves, refreshes
// and webhooks.

/** The MIME type of what `pipelines.output(name, value)` shows in a cell: a notebook step's output. */
export const PIPELINE_OUTPUT_MIME = 'application/vnd.tandem.pipeline-output+json';

/** A scalar a step passes on or a parameter takes. */
export type PipelineValue = string | number | boolean | null;

/**
 * Settings every step has. Strings in a step may refer to earlier steps' outputs and to the run's
 * parameters as `{{ steps.train.version }}` or `{{ params.data }}`; a string that is only one
 * reference takes the referred value's type (a number stays a number).
 */
export interface PipelineStepBase {
  /** Unique in the pipeline: letters, digits, `_` and `-`. */
  id: string;
  /** Steps that must succeed first. */
  needs?: string[];
  /** Further attempts after a failure (default 0), each after `retryDelaySeconds` doubled per attempt. */
  retries?: number;
  /** Default 10. */
  retryDelaySeconds?: number;
  /** A step still running after this long is cancelled and fails (default 3600). */
  timeoutSeconds?: number;
}

/**
 * Runs a shared notebook headless as a notebook job. `parameters` are injected after the cell
 * tagged `parameters` (as papermill does); the executed notebook is kept as the job's output, and
 * values the notebook hands on with `pipelines.output(name, value)` become the step's outputs.
 */
export interface NotebookStep extends PipelineStepBase {
  kind: 'notebook';
  /** A shared notebook's id. */
  notebook: string;
  parameters?: Record<string, PipelineValue>;
}

/** A Spark or GPU job, as `POST /jobs` takes it; outputs `jobId`, `runId`, `model`, `version` and each metric. */
export interface JobStep extends PipelineStepBase {
  kind: 'spark' | 'gpu';
  spec: Json;
  register?: JobRegistration;
  experiment?: string;
}

/**
 * Lets the steps after it run only when it passes; when it does not, they are skipped and the run
 * still succeeds. Either compares a metric of a candidate step with the version behind a model's
 * alias (passing when the alias points nowhere yet), or reads an `expression` such as
 * `steps.train.accuracy >= 0.8 and params.force == false`.
 */
export interface GateStep extends PipelineStepBase {
  kind: 'gate';
  compare?: {
    /** The step whose output `metric` is the candidate's (e.g. a training step). */
    step: string;
    metric: string;
    /** The model and alias of the current version; the model defaults to the one the step registered to. */
    model?: string;
    alias: string;
    /** Whether higher values are better (default `higher`). */
    direction?: 'higher' | 'lower';
    /** How much better the candidate must be (default 0: at least as good). */
    minDelta?: number;
  };
  expression?: string;
}

/** Moves a model's alias to a version; outputs `model`, `alias`, `version` and the `previous` version. */
export interface AliasStep extends PipelineStepBase {
  kind: 'alias';
  model: string;
  alias: string;
  /** A number, or a reference such as `{{ steps.train.version }}`. */
  version: number | string;
}

/** Refreshes a dashboard (that has a schedule set, hence its notebook) and waits for the new version. */
export interface RefreshStep extends PipelineStepBase {
  kind: 'refresh';
  dashboard: string;
}

/** POSTs JSON (`body`, default a summary of the run so far) to `url`; fails on a non-2xx answer. */
export interface WebhookStep extends PipelineStepBase {
  kind: 'webhook';
  url: string;
  body?: Json;
}

export type PipelineStep = NotebookStep | JobStep | GateStep | AliasStep | RefreshStep | WebhookStep;
export type PipelineStepKind = PipelineStep['kind'];

/** A parameter runs take; manual runs may set it, scheduled and event runs use the default. */
export interface PipelineParameter {
  default?: PipelineValue;
  /** A run that does not set it (and it has no default) is refused. */
  required?: boolean;
  description?: string;
}

export interface PipelineSchedule {
  /** Five-field cron (or @daily…), read on the wall clock of `timezone`. */
  cron: string;
  /** IANA name, default UTC. */
  timezone?: string;
  /**
   * After the server was down over scheduled times: `skip` runs only the latest one missed
   * (default), `all` runs each (at most 100).
   */
  catchup?: 'skip' | 'all';
}

/** Starts a run when something happens to a model the pipeline's owner can see. */
export interface PipelineEventTrigger {
  /**
   * `artifact.logged`: a file was logged to a run of an experiment (tracking), e.g. a new dataset.
   * Steps read what started the run as `{{ event.<field> }}`: `model`, `version` and `alias` for
   * model events; `experiment`, `runId` and `path` for `artifact.logged`.
   */
  on: 'model.version.created' | 'model.alias.set' | 'artifact.logged';
  /** `owner/name` or a bare name; absent, any model (for model events). */
  model?: string;
  /** For `model.alias.set`: only this alias. */
  alias?: string;
  /** For `artifact.logged` (required): the experiment's name. */
  experiment?: string;
  /** For `artifact.logged`: only paths matching this glob (`*` within a folder, `**` across folders). */
  path?: string;
}

/** What `POST /pipelines` takes, as JSON or YAML (`Content-Type: application/yaml`). */
export interface PipelineDefinition {
  /** Unique among the caller's pipelines; defining the same name again replaces the definition. */
  name: string;
  description?: string;
  parameters?: Record<string, PipelineParameter>;
  steps: PipelineStep[];
  schedule?: PipelineSchedule | null;
  on?: PipelineEventTrigger[];
  /** Runs beyond this wait queued (default 1). */
  maxConcurrentRuns?: number;
}

export type PipelineRunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type PipelineStepStatus =
  | 'pending'
  /** Waiting out the delay before a retry. */
  | 'retrying'
  | 'running'
  | 'succeeded'
  | 'failed'
  /** Not run: a gate before it did not pass, or a step it needs failed or was cancelled. */
  | 'skipped'
  | 'cancelled';

export interface Pipeline<Time = string> {
  id: string;
  name: string;
  description: string;
  definition: PipelineDefinition;
  /** When the schedule fires next (null without a schedule). */
  nextRunAt: Time | null;
  /** Scheduled and event runs run as this person (who last defined the pipeline). */
  definedBy: string | null;
  createdBy: string | null;
  createdAt: Time;
  updatedAt: Time;
  lastRun: PipelineRunSummary<Time> | null;
}

/** `GET /pipelines/:id` and `POST /pipelines` answer the pipeline with the caller's role. */
export interface PipelineWithRole<Time = string> extends Pipeline<Time> {
  role: Role;
}

export type PipelineTriggerType = 'schedule' | 'manual' | 'event';

export interface PipelineRunSummary<Time = string> {
  id: string;
  pipelineId: string;
  /** 1, 2, … per pipeline. */
  number: number;
  status: PipelineRunStatus;
  trigger: PipelineTriggerType;
  /** The scheduled time a schedule run is for. */
  scheduledFor: Time | null;
  /** Who started a manual run, or whose definition a scheduled/event run runs as. */
  runAs: string | null;
  /** For event runs: what happened, e.g. `model.version.created acme/churn v4`. */
  reason: string | null;
  error: string | null;
  createdAt: Time;
  startedAt: Time | null;
  finishedAt: Time | null;
}

export interface PipelineStepRun<Time = string> {
  id: string;
  kind: PipelineStepKind;
  needs: string[];
  status: PipelineStepStatus;
  /** 0 before the first attempt. */
  attempt: number;
  /** The job of the latest attempt (notebook, Spark and GPU steps). */
  jobId: string | null;
  outputs: Record<string, PipelineValue>;
  error: string | null;
  startedAt: Time | null;
  finishedAt: Time | null;
  /** When a `retrying` step tries again. */
  nextAttemptAt: Time | null;
}

export interface PipelineRun<Time = string> extends PipelineRunSummary<Time> {
  params: Record<string, PipelineValue>;
  /** What started an event-triggered run (see `PipelineEventTrigger`); null for other runs. */
  event: Record<string, PipelineValue> | null;
  /** The definition the run started with (later edits do not change it). */
  definition: PipelineDefinition;
  steps: PipelineStepRun<Time>[];
}

/** `POST /pipelines/:id/runs` (editors): a manual run now. */
export interface StartPipelineRunRequest {
  params?: Record<string, PipelineValue>;
}

/** What `GET /pipelines/events` sends (event name `pipeline`) about pipelines the caller can see. */
export interface PipelineEvent {
  type: 'pipeline.created' | 'pipeline.updated' | 'pipeline.deleted' | 'pipeline.run.updated' | 'pipeline.run.finished';
  pipelineId: string;
  at: string;
  runId?: string;
  step?: string;
  status?: string;
}
