import type { Principal } from '../auth/principal.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../logger.js';
import { KEY, PARAM_VALUE, TAG_VALUE } from '../tracking/tracking.schemas.js';
import type { Batch, TrackingService } from '../tracking/tracking.service.js';
import type { RunStatus } from '../api/index.js';
import { paramsOf } from './job-registration.js';
import type { Job, JobEventType, JobKind, JobStatus, Json } from './jobs.store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Kinds that train, and so log a run even when the submitter named no experiment. */
const TRAINING: JobKind[] = ['spark', 'gpu'];
/**
 * A job's run is kept alive by the job's lease, not by heartbeats of its own: the jobs service
 * ends it when the attempt ends or its lease is lost. The longest silence the tracking API allows
 * only backs that up for a server that died between the two.
 */
const JOB_RUN_TIMEOUT_S = 86_400;

const RUN_STATUS: Partial<Record<JobStatus, Exclude<RunStatus, 'RUNNING'>>> = {
  succeeded: 'FINISHED',
  failed: 'FAILED',
  cancelled: 'KILLED',
  // Its lease lapsed and it waits for another attempt: this attempt's run was cut short.
  queued: 'KILLED',
};

/**
 * Jobs log themselves as experiment runs, through the tracking service's own checks and as the
 * job's submitter: each attempt becomes a run with the job's settings as params, and the metric
 * and info events the job streams become its metric series and tags, as they arrive. So every job
 * kind and the MLflow-free Python runners are tracked without a line of tracking code.
 *
 * Tracking never fails a job: a run that cannot be written (the submitter lost the right to edit
 * the experiment, say) is logged as a warning and the job goes on.
 */
export class JobRuns {
  constructor(
    private readonly tracking: TrackingService,
    private readonly log: Logger,
  ) {}

  /**
   * At submit: the experiment the job's runs go into, or undefined for a job that is not
   * tracked. Fails the submit when the submitter may not write to the one they named.
   */
  async experimentFor(who: Principal, kind: JobKind, jobName: string, requested?: string): Promise<string | undefined> {
    if (requested === undefined && !TRAINING.includes(kind)) return undefined;
    const experiment =
      requested !== undefined && UUID.test(requested)
        ? await this.tracking.experiment(who, requested, 'editor')
        : await this.tracking.writableExperiment(who, requested ?? jobName);
    if (experiment.lifecycleStage === 'deleted')
      throw new TandemError('CONFLICT', `experiment ${experiment.name} is deleted: restore it before submitting jobs that log into it`);
    return experiment.id;
  }

  /** When an attempt starts: its run, named after the job, with the job's settings as params. */
  async start(job: Job, creator: Principal): Promise<string | undefined> {
    if (!job.experimentId) return undefined;
    return this.tolerant(job, async () => {
      const run = await this.tracking.createRun(creator, {
        experimentId: job.experimentId!,
        name: job.attempt > 1 ? `${job.name} (attempt ${job.attempt})` : job.name,
        jobId: job.id,
        notebook: job.notebook ?? undefined,
        heartbeatTimeoutSeconds: JOB_RUN_TIMEOUT_S,
        batch: {
          params: Object.entries(paramsOf(job))
            .filter((e): e is [string, string | number | boolean] => e[1] !== null)
            .map(([k, v]): [string, string] => [k, String(v)])
            .filter(([k, v]) => KEY.safeParse(k).success && PARAM_VALUE.safeParse(v).success),
          tags: [
            ['tandem.job.kind', job.kind],
            ['tandem.job.attempt', String(job.attempt)],
          ],
        },
      });
      return run.id;
    });
  }

  /** Mirrors what a running job reported: metric events become points, info events tags. */
  async mirror(job: Job, creator: Principal, events: { type: JobEventType; data: Json }[]): Promise<void> {
    if (!job.runId) return;
    const batch = batchOf(events);
    if (!batch) return;
    await this.tolerant(job, () => this.tracking.log(creator, job.runId!, batch));
  }

  /** When an attempt ends (or loses its lease): the run ends as the job did. */
  async end(job: Job, creator: Principal | undefined): Promise<void> {
    const status = RUN_STATUS[job.status];
    if (!job.runId || !status || !creator) return;
    await this.tolerant(job, () => this.tracking.updateRun(creator, job.runId!, { status }));
  }

  /** The run the model a job registers names: its attempt's, unless the submitter can no longer see it. */
  async linkable(job: Job, creator: Principal): Promise<string | undefined> {
    if (!job.runId) return undefined;
    return this.tolerant(job, async () => (await this.tracking.access(creator, job.runId!, 'viewer')).id);
  }

  private async tolerant<T>(job: Job, write: () => Promise<T>): Promise<T | undefined> {
    try {
      return await write();
    } catch (error) {
      this.log.warn('logging a job as an experiment run failed', { job: job.id, run: job.runId, error: String(error) });
      return undefined;
    }
  }
}

/** Metric events as points (step 0 when the job gave none, as MLflow), info events as tags. */
function batchOf(events: { type: JobEventType; data: Json }[]): Batch | undefined {
  const now = Date.now();
  const metrics: NonNullable<Batch['metrics']> = [];
  const tags: [string, string][] = [];
  for (const { type, data } of events) {
    if (type === 'metric') {
      const step = typeof data.step === 'number' && Number.isSafeInteger(data.step) ? data.step : 0;
      for (const [key, value] of Object.entries(data))
        if (key !== 'step' && typeof value === 'number' && KEY.safeParse(key).success) metrics.push({ key, value, step, timestamp: now });
    } else if (type === 'info') {
      for (const [key, value] of Object.entries(data))
        if (KEY.safeParse(key).success && TAG_VALUE.safeParse(String(value)).success) tags.push([key, String(value)]);
    }
  }
  return metrics.length > 0 || tags.length > 0 ? { metrics, tags } : undefined;
}
