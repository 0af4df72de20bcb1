import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../artifacts/store.js';
import type { AuthStore } from '../auth/auth.store.js';
import type { Permissions } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { Queryable } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { audited, createOwned } from '../mutations.js';
import type { AppContext } from '../context.js';
import { createModelsService, type ModelsService } from '../models/models.service.js';
import { createTrackingService } from '../tracking/tracking.service.js';
import { dataKey, dataRefsOf, type DataRef } from './job-data.js';
import { registerJobModel } from './job-registration.js';
import { JobRuns } from './job-runs.js';
import {
  FINAL_STATUSES,
  type Job,
  type JobEvent,
  type JobEventType,
  type JobFilter,
  type JobKind,
  type JobOutput,
  JobsStore,
  type Json,
  type Lease,
  type Worker,
} from './jobs.store.js';

export interface SubmitInput {
  kind: JobKind;
  name?: string;
  spec: Json;
  register?: { model: string; description?: string };
  notebook?: string;
  maxAttempts?: number;
  /** The experiment (id or name) its runs go into; see JobRuns.experimentFor. */
  experiment?: string;
}

export interface Outcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  error?: string;
  /** Final metrics the job reported (merged over the streamed ones). */
  metrics?: Record<string, number>;
}

export interface JobsLimits {
  maxOutputBytes: number;
  /** The longest a job's token lives; it is revoked anyway when the attempt ends. */
  jobTokenTtlMs: number;
  /** How long a worker that has not heartbeated still counts as online. */
  workerOnlineMs: number;
}

/**
 * The job queue: users submit, cancel and follow jobs; workers claim them under leases, stream
 * events, upload outputs and report the outcome. A job whose lease expires (its worker died or
 * lost the network) is queued again until `maxAttempts`; a job that failed by itself is not
 * retried, since running the same broken script again cannot help.
 */
export class JobsService {
  /** Ends every long poll when the server shuts down. */
  private readonly closing = new AbortController();

  constructor(
    private readonly store: JobsStore,
    private readonly artifacts: ArtifactStore,
    private readonly permissions: Permissions,
    private readonly events: EventBus,
    private readonly auth: AuthStore,
    private readonly models: ModelsService,
    private readonly runs: JobRuns,
    private readonly limits: JobsLimits,
  ) {}

  // ---- users

  /**
   * Queues a job. `alongside` runs in the job's own transaction, so that what records the job
   * elsewhere (a pipeline step) commits with it or not at all.
   */
  async submit(
    who: Principal,
    input: SubmitInput,
    { dataChecked = false, alongside }: { dataChecked?: boolean; alongside?: (tx: Queryable, job: Job) => Promise<void> } = {},
  ): Promise<Job> {
    if (!dataChecked) await this.requireUploaded(who, dataRefsOf(input.spec));
    const name = input.name ?? defaultName(input);
    const experimentId = await this.runs.experimentFor(who, input.kind, name, input.experiment);
    return createOwned(
      { db: this.store, permissions: this.permissions, events: this.events },
      who,
      {
        type: 'job',
        action: 'job.submit',
        details: (job) => ({ kind: input.kind, name: job.name }),
        event: (job) => jobEvent('job.queued', job),
      },
      async (tx) => {
        const created = await this.store.create(tx, {
          kind: input.kind,
          name,
          spec: input.spec,
          register: input.register,
          notebook: input.notebook,
          experimentId,
          maxAttempts: input.maxAttempts ?? 3,
          createdBy: who.id,
        });
        await this.store.addEvents(tx, created.id, 0, [{ type: 'state', data: { status: 'queued' } }]);
        await alongside?.(tx, created);
        return created;
      },
    );
  }

  async get(who: Principal, id: string): Promise<Job> {
    await this.permissions.require(who, 'job', id, 'viewer');
    const job = await this.store.get(id);
    if (!job) throw new TandemError('NOT_FOUND', `job ${id} not found`);
    return job;
  }

  list(who: Principal, filter: JobFilter): Promise<{ jobs: Job[]; total: number }> {
    return this.store.list(who, filter);
  }

  /**
   * Events after the cursor `after`. With `waitMs`, an empty answer waits (long poll) until the
   * job logs something or the time is up, so followers see events as they happen without polling hard.
   */
  async eventsOf(
    who: Principal,
    id: string,
    query: { after: number; types?: JobEventType[]; limit: number; waitMs: number },
    signal?: AbortSignal,
  ): Promise<{ events: JobEvent[]; job: Job }> {
    await this.get(who, id);
    const read = async () => ({
      events: await this.store.events(id, query.after, query.types, query.limit),
      job: (await this.store.get(id))!,
    });
    const changed = this.waitFor((e) => e.resourceType === 'job' && e.resourceId === id, query.waitMs, signal);
    const first = await read();
    if (first.events.length > 0 || query.waitMs === 0 || FINAL_STATUSES.includes(first.job.status)) {
      changed.cancel();
      return first;
    }
    await changed;
    if (this.closing.signal.aborted) throw new TandemError('UNAVAILABLE', 'the server is shutting down');
    return read();
  }

  /** Queued jobs are cancelled at once; running ones when their worker has stopped the process. */
  async cancel(who: Principal, id: string): Promise<Job> {
    await this.permissions.require(who, 'job', id, 'editor');
    const job = await audited(this.store, who, { action: 'job.cancel', resourceType: 'job', resourceId: id }, async (tx) => {
      const job = (await this.store.lock(tx, id))!;
      if (FINAL_STATUSES.includes(job.status)) throw new TandemError('CONFLICT', `job ${id} already ${job.status}`);
      if (job.status === 'queued') return this.store.setStatus(tx, job, 'cancelled', { error: `cancelled by ${who.name}` });
      await this.store.requestCancel(tx, id);
      await this.store.addEvents(tx, id, job.attempt, [
        { type: 'log', data: { stream: 'system', line: `cancel requested by ${who.name}` } },
      ]);
      return (await this.store.get(id, tx))!;
    });
    this.publish('job.updated', job);
    return job;
  }

  /** Runs a finished job again as a new job with the same spec. */
  async retry(who: Principal, id: string): Promise<Job> {
    const job = await this.get(who, id);
    await this.permissions.require(who, 'job', id, 'editor');
    if (!FINAL_STATUSES.includes(job.status))
      throw new TandemError('CONFLICT', `job ${id} is still ${job.status}: cancel it first or wait for it`);
    // The data was checked when the job was first submitted; an editor retrying it may run it on that data.
    return this.submit(
      who,
      {
        kind: job.kind,
        name: job.name,
        spec: job.spec,
        register: job.register ?? undefined,
        notebook: job.notebook ?? undefined,
        maxAttempts: job.maxAttempts,
        experiment: job.experimentId ?? undefined,
      },
      { dataChecked: true },
    );
  }

  /**
   * Stores data for jobs under its content hash. The bytes must hash to `sha256`, which proves the
   * caller has the data; storing the same content twice keeps one object.
   */
  async uploadData(who: Principal, sha256: string, body: Readable): Promise<{ sha256: string; size: number }> {
    const put = await this.artifacts.put(dataKey(sha256), body, { maxBytes: this.limits.maxOutputBytes, sha256 });
    await this.store.recordData(who.id, sha256, put.size);
    return { sha256, size: put.size };
  }

  /** The caller's uploaded blob, so a client can skip uploading what is already there. */
  async dataInfo(who: Principal, sha256: string): Promise<{ sha256: string; size: number }> {
    const [found] = await this.store.dataOf(who.id, [sha256]);
    if (!found) throw new TandemError('NOT_FOUND', `no data with sha256 ${sha256} uploaded by you`);
    return found;
  }

  private async requireUploaded(who: Principal, refs: DataRef[]): Promise<void> {
    if (refs.length === 0) return;
    const found = new Set(
      (
        await this.store.dataOf(
          who.id,
          refs.map((r) => r.sha256),
        )
      ).map((d) => d.sha256),
    );
    const missing = refs.find((r) => !found.has(r.sha256));
    if (missing)
      throw new TandemError(
        'INVALID_ARGUMENT',
        `data ${missing.name} (sha256 ${missing.sha256.slice(0, 12)}…) was not uploaded by you: PUT /tandem/api/job-data/${missing.sha256} first`,
      );
  }

  /** A job as it is now, for the server's own follow-up work (dashboard refreshes); no permission check. */
  find(id: string): Promise<Job | undefined> {
    return this.store.get(id);
  }

  /** One output file of the job's latest attempt, or undefined when it left none by that name. */
  async outputFile(job: Job, path: string): Promise<Readable | undefined> {
    const output = (await this.store.outputs(job.id, job.attempt)).find((o) => o.path === path);
    return output && this.artifacts.get(output.key);
  }

  async outputsOf(who: Principal, id: string): Promise<JobOutput[]> {
    const job = await this.get(who, id);
    return this.store.outputs(id, job.attempt);
  }

  readOutput(output: JobOutput): Promise<Readable> {
    return this.artifacts.get(output.key);
  }

  // ---- workers

  async registerWorker(
    who: Principal,
    { team, ...input }: { name: string; capabilities: JobKind[]; gpus: Json[]; concurrency: number; onlyOwner: boolean; team?: string },
  ): Promise<Worker> {
    const found = team === undefined ? undefined : await this.auth.findTeamByName(team);
    // Only for a team of one's own: a team worker runs its members' jobs.
    if (team !== undefined && (!found || (!who.isAdmin && !who.teamIds.includes(found.id)))) {
      throw new TandemError('NOT_FOUND', `team ${team} not found`);
    }
    return this.store.registerWorker({ ...input, ownerId: who.id, teamId: found?.id ?? null });
  }

  async listWorkers(): Promise<Worker[]> {
    return this.store.listWorkers(new Date(Date.now() - this.limits.workerOnlineMs));
  }

  /**
   * The next job for this worker, or undefined after `waitMs` without one. Workers of admins run
   * everyone's jobs when they isolate jobs; anybody else's workers, and workers that cannot isolate
   * jobs, only run their owner's jobs. A worker limited to a team runs only its members' jobs.
   */
  async claim(
    who: Principal,
    workerId: string,
    leaseMs: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<{ job: Job; token: string } | undefined> {
    const worker = await this.worker(who, workerId);
    const deadline = Date.now() + waitMs;
    for (;;) {
      // Listen before looking, so a job queued in between still wakes this claim.
      const queued = this.waitFor((e) => e.type === 'job.queued', Math.max(0, deadline - Date.now()), signal);
      let job: Job | undefined;
      try {
        await this.reapExpired();
        const everyone = !worker.onlyOwner && (who.isAdmin || worker.teamId !== null);
        job = await this.store.claim(worker, everyone ? undefined : who.id, leaseMs);
      } catch (error) {
        queued.cancel();
        throw error;
      }
      if (job || deadline <= Date.now()) {
        queued.cancel();
        if (!job) return undefined;
        job = await this.startRun(job);
        this.publish('job.updated', job);
        // The job acts as its submitter with this token, never with the worker's.
        return { job, token: await this.auth.createJobToken(job.createdBy, job.id, this.limits.jobTokenTtlMs) };
      }
      await queued;
      if (signal?.aborted || this.closing.signal.aborted) return undefined;
    }
  }

  /** Extends the leases; answers which jobs to cancel and which this worker no longer holds. */
  async heartbeat(
    who: Principal,
    workerId: string,
    leases: { jobId: string; attempt: number }[],
    leaseMs: number,
  ): Promise<{ cancel: string[]; lost: string[] }> {
    await this.worker(who, workerId);
    const held = await this.store.renew(workerId, leases, leaseMs);
    const heldIds = new Set(held.map((h) => h.id));
    return {
      cancel: held.filter((h) => h.cancelRequested).map((h) => h.id),
      lost: leases.map((l) => l.jobId).filter((id) => !heldIds.has(id)),
    };
  }

  async appendEvents(who: Principal, lease: Lease, events: { type: Exclude<JobEventType, 'state'>; data: Json }[]): Promise<void> {
    await this.worker(who, lease.workerId);
    const job = await this.store.transaction(async (tx) => {
      const job = await this.requireLease(tx, lease);
      await this.store.addEvents(tx, job.id, job.attempt, events);
      return job;
    });
    this.publish('job.event', job);
    if (job.runId) {
      const creator = await this.auth.principalOf(job.createdBy);
      if (creator) await this.runs.mirror(job, creator, events);
    }
  }

  /** Streams one output file of the current attempt into the artifact store. */
  async uploadOutput(who: Principal, lease: Lease, path: string, body: Readable): Promise<JobOutput> {
    await this.worker(who, lease.workerId);
    await this.store.transaction((tx) => this.requireLease(tx, lease));
    const key = `jobs/${lease.jobId}/${lease.attempt}/${path}`;
    const put = await this.artifacts.put(key, body, { maxBytes: this.limits.maxOutputBytes });
    const output = { path, key, size: put.size, sha256: put.sha256 };
    await this.store.recordOutput(lease.jobId, lease.attempt, output);
    return output;
  }

  /** Streams a blob the leased job names (and only such a blob) to its worker. */
  async dataForWorker(who: Principal, lease: Lease, sha256: string): Promise<{ size: number; body: Readable }> {
    await this.worker(who, lease.workerId);
    const job = await this.store.transaction((tx) => this.requireLease(tx, lease));
    if (!dataRefsOf(job.spec).some((r) => r.sha256 === sha256)) throw new TandemError('NOT_FOUND', `job ${job.id} names no data ${sha256}`);
    const info = await this.artifacts.stat(dataKey(sha256));
    if (!info) throw new TandemError('NOT_FOUND', `data ${sha256} of job ${job.id} is no longer stored`);
    return { size: info.size, body: await this.artifacts.get(dataKey(sha256)) };
  }

  /**
   * Records the outcome. A succeeded job that asked for registration only counts as succeeded
   * once its outputs are a committed model version; a registration failure fails the job.
   */
  async complete(who: Principal, lease: Lease, outcome: Outcome): Promise<Job> {
    await this.worker(who, lease.workerId);
    const job = await this.store.transaction((tx) => this.requireLease(tx, lease));
    let result: Json | undefined;
    let status = outcome.status;
    let error = outcome.error;
    if (status === 'succeeded' && job.register) {
      try {
        const creator = await this.creatorOf(job);
        const outputs = await this.store.outputs(job.id, job.attempt);
        const version = await registerJobModel(this.models, {
          job,
          creator,
          outputs,
          metrics: { ...job.metrics, ...outcome.metrics },
          run: await this.runs.linkable(job, creator),
        });
        result = { model: job.register.model, version: version.number };
      } catch (cause) {
        status = 'failed';
        error = `registering model ${job.register.model} failed: ${(cause as Error).message}`;
      }
    }
    const { done, final } = await this.store.transaction(async (tx) => {
      const current = await this.requireLease(tx, lease);
      // Final metrics usually repeat the last streamed values; only new ones are events.
      const fresh = Object.entries(outcome.metrics ?? {}).filter(([k, v]) => current.metrics[k] !== v);
      const final = fresh.length > 0 ? [{ type: 'metric' as const, data: Object.fromEntries(fresh) }] : [];
      await this.store.addEvents(tx, current.id, current.attempt, final);
      return {
        done: await this.store.setStatus(tx, current, status, { error, result, progress: status === 'succeeded' ? 1 : undefined }),
        final,
      };
    });
    // The run ends before followers hear the job did, so that they find it ended.
    if (done.runId) {
      const creator = await this.auth.principalOf(done.createdBy);
      if (creator) await this.runs.mirror(done, creator, final);
      await this.runs.end(done, creator);
    }
    await this.auth.revokeJobTokens(done.id);
    this.publish('job.updated', done);
    return done;
  }

  /** Requeues (or fails, when out of attempts) running jobs whose worker stopped renewing the lease. */
  async reapExpired(): Promise<Job[]> {
    const changed = await this.store.transaction(async (tx) => {
      const out: Job[] = [];
      for (const job of await this.store.expired(tx)) {
        const lost = `worker lost (lease expired) during attempt ${job.attempt} of ${job.maxAttempts}`;
        if (job.cancelRequested) out.push(await this.store.setStatus(tx, job, 'cancelled', { error: lost }));
        else if (job.attempt < job.maxAttempts) {
          await this.store.addEvents(tx, job.id, job.attempt, [{ type: 'log', data: { stream: 'system', line: `${lost}: retrying` } }]);
          out.push(await this.store.setStatus(tx, job, 'queued'));
        } else out.push(await this.store.setStatus(tx, job, 'failed', { error: lost }));
      }
      return out;
    });
    for (const job of changed) {
      // The lost attempt's token dies with it; a retry gets a new one when claimed.
      await this.auth.revokeJobTokens(job.id);
      this.publish(job.status === 'queued' ? 'job.queued' : 'job.updated', job);
      if (job.runId) await this.runs.end(job, await this.auth.principalOf(job.createdBy));
    }
    return changed;
  }

  close(): void {
    this.closing.abort();
  }

  // ---- helpers

  private async worker(who: Principal, workerId: string): Promise<Worker> {
    const worker = await this.store.getWorker(workerId);
    if (!worker || worker.ownerId !== who.id) throw new TandemError('NOT_FOUND', `worker ${workerId} not found: register again`);
    return worker;
  }

  private async requireLease(tx: Parameters<JobsStore['leased']>[0], lease: Lease): Promise<Job> {
    const job = await this.store.leased(tx, lease);
    if (!job) throw new TandemError('CONFLICT', `job ${lease.jobId} attempt ${lease.attempt} is no longer leased to this worker`);
    return job;
  }

  /**
   * The claimed attempt's run, recorded on the job; none when it could not be made, so that the
   * attempt never writes into an earlier attempt's run.
   */
  private async startRun(job: Job): Promise<Job> {
    if (!job.experimentId) return job;
    const creator = await this.auth.principalOf(job.createdBy);
    const runId = (creator && (await this.runs.start(job, creator))) ?? null;
    await this.store.setRun(job.id, job.attempt, runId);
    return { ...job, runId };
  }

  private async creatorOf(job: Job): Promise<Principal> {
    const creator = await this.auth.principalOf(job.createdBy);
    if (!creator) throw new TandemError('NOT_FOUND', `the user who submitted job ${job.id} no longer exists or was deactivated`);
    return creator;
  }

  /** Resolves on the first matching event, after `ms`, or on abort; `cancel()` resolves it now. */
  private waitFor(match: (event: TandemEvent) => boolean, ms: number, signal?: AbortSignal): Promise<void> & { cancel(): void } {
    let cancel = () => undefined as void;
    const waiting = new Promise<void>((resolve) => {
      const signals = [signal, this.closing.signal].filter((s): s is AbortSignal => s !== undefined);
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        for (const s of signals) s.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const unsubscribe = this.events.subscribe((event) => {
        if (match(event)) done();
      });
      for (const s of signals) s.addEventListener('abort', done);
      if (signals.some((s) => s.aborted)) done();
      cancel = done;
    });
    return Object.assign(waiting, { cancel: () => cancel() });
  }

  private publish(type: string, job: Job): void {
    this.events.publish(jobEvent(type, job));
  }
}

/** The one JobsService of a server (`ctx.shared(createJobsService)`): the jobs API and dashboard refreshes use it. */
export function createJobsService(ctx: AppContext): JobsService {
  return new JobsService(
    new JobsStore(ctx.db, ctx.permissions),
    ctx.artifacts,
    ctx.permissions,
    ctx.events,
    ctx.auth,
    ctx.shared(createModelsService),
    new JobRuns(ctx.shared(createTrackingService), ctx.log),
    { maxOutputBytes: ctx.config.maxArtifactBytes, workerOnlineMs: 60_000, jobTokenTtlMs: 24 * 60 * 60_000 },
  );
}

const jobEvent = (type: string, job: Job): Omit<TandemEvent, 'at'> => ({
  type,
  resourceType: 'job',
  resourceId: job.id,
  // The error goes along so that a failure's notification says why (its start: the log has the rest).
  data: { status: job.status, progress: job.progress, name: job.name, ...(job.error ? { error: job.error.slice(0, 2000) } : {}) },
});

function defaultName(input: SubmitInput): string {
  const what = input.spec.template ?? (input.spec.file ? String(input.spec.file).split('/').at(-1) : 'script');
  return `${input.kind} ${String(what)}`;
}
