import { randomUUID } from 'node:crypto';
import type { Page, Pipeline, PipelineEvent, PipelineWithRole, PipelineRunStatus, PipelineStep, PipelineValue } from '../api/index.js';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast, type Permissions, type Role } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { Sharing, type Grantee, type NamedGrant } from '../auth/sharing.js';
import { createNotebookReader } from '../collab/collab.service.js';
import type { AppContext } from '../context.js';
import { parseCron } from '../dashboards/cron.js';
import { createDashboardRefresh } from '../dashboards/dashboards.refresh.js';
import { createDashboardsService } from '../dashboards/dashboards.service.js';
import type { PageRequest } from '../db/paging.js';
import { notFound, TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { createJobsService } from '../jobs/jobs.service.js';
import type { Logger } from '../logger.js';
import { audited, createOwned } from '../mutations.js';
import { createModelsService, type ModelsService } from '../models/models.service.js';
import { runParameters, type CheckedDefinition } from './pipeline-definition.js';
import { triggeringEvent, type TriggeringEvent } from './event-triggers.js';
import { StepRunner } from './pipeline-steps.js';
import type { RunValues } from './references.js';
import { PipelinesStore, type NewRun, type PipelineRow, type Run, type StepRun } from './pipelines.store.js';

export type PipelineView = PipelineWithRole<Date>;

/** How often runs are looked at without an event (steps on other servers, retries, timeouts). */
const TICK_MS = 1000;
/** How long a server may advance a run before another may take over (it renews while working). */
const LEASE_MS = 30_000;
/** How long an event stream trusts what it learnt of the caller's access to a pipeline. */
const VISIBILITY_CACHE_MS = 5000;
/** The most scheduled times one catch-up creates runs for. */
const MAX_CATCH_UP = 100;
/** Runs started or advanced at once by a tick, so many due together do not wait in line. */
const TICK_CONCURRENCY = 4;

const FINAL_STEP = ['succeeded', 'failed', 'skipped', 'cancelled'];

/**
 * Pipelines: definitions (owned and shared like other resources), runs started by a schedule,
 * an event or a person, and the scheduler that advances them. The database is the source of
 * truth: due times are claimed under row locks and each run is advanced by the one server
 * holding its lease, so a restart or a second server resumes where things were.
 */
export class PipelinesService {
  private readonly instance = randomUUID();
  private timer?: NodeJS.Timeout;
  private wake?: NodeJS.Timeout;
  private stopEvents?: () => void;
  private ticking?: Promise<void>;
  /** A nudge came while ticking: tick again right after, so a wake-up at a due time is not lost. */
  private tickAgain = false;
  private closed = false;
  /** Runs this process is advancing, and whether another advance was asked for meanwhile. */
  private readonly advancing = new Map<string, boolean>();

  constructor(
    private readonly store: PipelinesStore,
    private readonly steps: StepRunner,
    private readonly permissions: Permissions,
    private readonly sharing: Sharing,
    private readonly auth: AuthStore,
    private readonly models: ModelsService,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  // ---- definitions

  /** Creates the caller's pipeline `definition.name`, or replaces its definition (they then run as the caller). */
  async define(who: Principal, definition: CheckedDefinition, now = new Date()): Promise<{ pipeline: PipelineView; created: boolean }> {
    const own = await this.store.findOwn(who.id, definition.name);
    if (own) return { pipeline: await this.redefine(who, own.id, definition, now), created: false };
    const nextRunAt = nextRunOf(definition, now);
    const row = await createOwned(
      { db: this.store, permissions: this.permissions, events: this.events },
      who,
      {
        type: 'pipeline',
        action: 'pipeline.create',
        details: () => ({ name: definition.name }),
        event: (p) => pipelineEvent('pipeline.created', p.id),
      },
      (tx) => this.store.create(tx, definition, nextRunAt, who.id),
    );
    this.nudge();
    return { pipeline: await this.get(who, row.id), created: true };
  }

  /**
   * Replaces pipeline `id`'s definition (editors: its runs then go as them). The name stays: it is
   * how `pipelines.define` finds the pipeline again. Runs under way keep the definition they began with.
   */
  async redefine(who: Principal, id: string, definition: CheckedDefinition, now = new Date()): Promise<PipelineView> {
    const { row } = await this.access(who, id, 'editor');
    if (definition.name !== row.name)
      throw new TandemError('INVALID_ARGUMENT', `name: pipeline ${row.name} keeps its name (define a new pipeline for ${definition.name})`);
    const nextRunAt = nextRunOf(definition, now);
    await audited(
      this.store,
      who,
      { action: 'pipeline.define', resourceType: 'pipeline', resourceId: id, details: { name: definition.name } },
      (tx) => this.store.replace(tx, id, definition, nextRunAt, who.id),
    );
    this.changed(id, 'pipeline.updated');
    this.nudge();
    return this.get(who, id);
  }

  async get(who: Principal, id: string): Promise<PipelineView> {
    const { row, role } = await this.access(who, id, 'viewer');
    const last = await this.store.lastRuns([row.id]);
    return { ...row, lastRun: last.get(row.id) ?? null, role };
  }

  async list(who: Principal, page: PageRequest): Promise<Page<Pipeline<Date>>> {
    const found = await this.store.list(who, page);
    const last = await this.store.lastRuns(found.items.map((p) => p.id));
    return { ...found, items: found.items.map((p) => ({ ...p, lastRun: last.get(p.id) ?? null })) };
  }

  async delete(who: Principal, id: string): Promise<void> {
    await this.access(who, id, 'owner');
    const active = (await this.store.activeRuns()).filter((r) => r.pipelineId === id);
    for (const run of active) await this.cancel(who, run.id);
    await audited(this.store, who, { action: 'pipeline.delete', resourceType: 'pipeline', resourceId: id }, (tx) =>
      this.store.delete(tx, id),
    );
    this.changed(id, 'pipeline.deleted');
  }

  async listGrants(who: Principal, id: string): Promise<NamedGrant[]> {
    await this.access(who, id, 'viewer');
    return this.sharing.listGrants('pipeline', id);
  }

  async share(who: Principal, id: string, to: Grantee, role: Role | null): Promise<void> {
    const { row } = await this.access(who, id, 'owner');
    await this.sharing.share(who, { type: 'pipeline', id, label: row.name }, to, role, this.store);
  }

  // ---- runs

  /** A manual run now, as the caller (an editor), with `params` over the defaults. */
  async startRun(who: Principal, id: string, params: Record<string, PipelineValue> = {}): Promise<Run> {
    const { row } = await this.access(who, id, 'editor');
    const values = runParameters(row.definition, params);
    const runId = (await this.store.createRun(row, {
      trigger: 'manual',
      runAs: who.id,
      params: values,
      reason: `started by ${who.name}`,
    }))!;
    await this.audit(who, row.id, 'pipeline.run', { runId });
    await this.startQueued(row.id);
    return this.getRun(who, runId);
  }

  async listRuns(who: Principal, id: string, page: PageRequest) {
    await this.access(who, id, 'viewer');
    return this.store.listRuns(id, page);
  }

  async getRun(who: Principal, runId: string): Promise<Run> {
    const run = await this.store.getRun(runId);
    if (!run) throw notFound(`pipeline run ${runId}`);
    await this.access(who, run.pipelineId, 'viewer');
    return run;
  }

  /** Cancels a run: running steps' jobs are cancelled, steps not started will not start. */
  async cancel(who: Principal, runId: string): Promise<Run> {
    const run = await this.getRun(who, runId);
    await this.access(who, run.pipelineId, 'editor');
    if (!(await this.store.finishRun(runId, 'cancelled', `cancelled by ${who.name}`, new Date())))
      throw new TandemError('CONFLICT', `run ${run.number} already ${run.status}`);
    const runAs = (run.runAs && (await this.auth.principalOf(run.runAs))) || who;
    for (const step of run.steps) {
      if (step.status === 'running') await this.steps.stop(step.jobId, runAs);
      if (!FINAL_STEP.includes(step.status))
        await this.store.updateStep(runId, step.id, [step.status], {
          status: 'cancelled',
          finishedAt: new Date(),
          error: `cancelled by ${who.name}`,
        });
    }
    await this.audit(who, run.pipelineId, 'pipeline.run.cancel', { runId });
    await this.ended(run, 'cancelled', `cancelled by ${who.name}`);
    await this.startQueued(run.pipelineId);
    return this.getRun(who, runId);
  }

  /** Runs a failed or cancelled run again from where it stopped: steps that succeeded keep their outputs. */
  async retry(who: Principal, runId: string): Promise<Run> {
    const run = await this.getRun(who, runId);
    await this.access(who, run.pipelineId, 'editor');
    if (!(await this.store.reopen(runId, new Date())))
      throw new TandemError('CONFLICT', `run ${run.number} is ${run.status}: only failed or cancelled runs can be retried`);
    await this.audit(who, run.pipelineId, 'pipeline.run.retry', { runId });
    this.changed(run.pipelineId, 'pipeline.run.updated', { runId });
    void this.advance(runId);
    return this.getRun(who, runId);
  }

  /**
   * Calls `listener` with each pipeline event `who` may see, until the answer is called. A
   * deleted pipeline's event goes to those who saw it before (its grants are gone by then).
   */
  watch(who: Principal, listener: (event: PipelineEvent) => void): () => void {
    const seen = new Map<string, { visible: boolean; at: number }>();
    const visible = async (id: string, deleted: boolean): Promise<boolean> => {
      const cached = seen.get(id);
      if (deleted || (cached && Date.now() - cached.at < VISIBILITY_CACHE_MS)) return cached?.visible ?? false;
      const now = (await this.permissions.roleOf(who, 'pipeline', id)) !== undefined;
      seen.set(id, { visible: now, at: Date.now() });
      return now;
    };
    return this.events.subscribe((event) => {
      if (event.resourceType !== 'pipeline') return;
      const data = event.data as { runId?: string; step?: string; status?: string };
      visible(event.resourceId, event.type === 'pipeline.deleted')
        .then((ok) => {
          if (ok)
            listener({
              type: event.type as PipelineEvent['type'],
              pipelineId: event.resourceId,
              at: event.at,
              runId: data.runId,
              step: data.step,
              status: data.status,
            });
        })
        .catch(() => undefined);
    });
  }

  // ---- the scheduler

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.nudge(), TICK_MS).unref();
    this.stopEvents = this.events.subscribe((event) => this.onEvent(event));
    this.nudge();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.wake);
    this.stopEvents?.();
    await this.ticking;
  }

  /** Runs one tick soon (coalesced with one already running, which is then followed by another). */
  nudge(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.tick()
      .catch((error: unknown) => this.log.warn('pipeline tick failed', { error: String(error) }))
      .finally(() => {
        this.ticking = undefined;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.nudge();
        }
      });
  }

  /** Fires due schedules, starts queued runs and advances running ones; also what tests call. */
  async tick(now = new Date()): Promise<void> {
    await this.store.claimDue(now, (row) => this.plan(row, now));
    const queued = new Set((await this.store.activeRuns()).filter((r) => r.status === 'queued').map((r) => r.pipelineId));
    await forEachAtOnce([...queued], TICK_CONCURRENCY, (pipelineId) => this.startQueued(pipelineId));
    const running = (await this.store.activeRuns()).filter((r) => r.status === 'running');
    await forEachAtOnce(running, TICK_CONCURRENCY, (run) => this.advance(run.id));
    await this.wakeForNextDue();
  }

  /** The scheduled times due now: every missed one (`catchup: all`, at most 100) or the latest. */
  private plan(row: PipelineRow, now: Date): { due: Date[]; next: Date | null } {
    const { schedule } = row.definition;
    if (!schedule || !row.nextRunAt) return { due: [], next: null };
    const cron = parseCron(schedule.cron, schedule.timezone);
    const due: Date[] = [];
    for (let at = row.nextRunAt; at <= now; at = cron.next(at)) {
      due.push(at);
      if (schedule.catchup === 'skip' && due.length > 1) due.shift();
      if (due.length >= MAX_CATCH_UP) break;
    }
    return { due, next: cron.next(now) };
  }

  /** Ticks at the next scheduled time when it comes before the next regular tick. */
  private async wakeForNextDue(): Promise<void> {
    const next = await this.store.nextDue();
    clearTimeout(this.wake);
    if (!next || this.closed) return;
    const ms = next.getTime() - Date.now();
    if (ms < TICK_MS) this.wake = setTimeout(() => this.nudge(), Math.max(0, ms)).unref();
  }

  private async startQueued(pipelineId: string): Promise<void> {
    for (const runId of await this.store.startQueued(pipelineId, new Date())) {
      this.changed(pipelineId, 'pipeline.run.updated', { runId, status: 'running' });
      await this.advance(runId);
    }
  }

  /** Event triggers: a new version or an alias moved on a model, a file logged to an experiment's run. */
  private onEvent(event: TandemEvent): void {
    if (event.resourceType === 'job' && event.type === 'job.updated') {
      this.store
        .runOfJob(event.resourceId)
        .then((runId) => (runId ? this.advance(runId) : undefined))
        .catch((error: unknown) => this.log.warn('advancing a pipeline run failed', { job: event.resourceId, error: String(error) }));
    }
    const trigger = triggeringEvent(event);
    if (trigger)
      this.fireEvent(trigger).catch((error: unknown) =>
        this.log.warn('starting event-triggered pipelines failed', { error: String(error) }),
      );
  }

  private async fireEvent(trigger: TriggeringEvent): Promise<void> {
    // A step writing what its own pipeline watches would start it again and again.
    const cause = trigger.byJob && (await this.store.pipelineOfJob(trigger.byJob));
    for (const row of await this.store.withTriggers()) {
      if (!row.definedBy || row.id === cause || !row.definition.on.some((t) => trigger.matches(t))) continue;
      // Runs go as their definer: an event on something the definer cannot see starts nothing.
      const definer = await this.auth.principalOf(row.definedBy);
      if (!definer || !(await this.canSee(definer, trigger.resource))) continue;
      const input: NewRun = {
        trigger: 'event',
        eventKey: trigger.key,
        event: trigger.values,
        reason: trigger.reason,
        runAs: row.definedBy,
        params: runParameters(row.definition),
      };
      if (await this.store.createRun(row, input)) await this.startQueued(row.id);
    }
  }

  private async canSee(who: Principal, resource: TriggeringEvent['resource']): Promise<boolean> {
    if (resource.type === 'model') return this.models.canSee(who, resource.id);
    return (await this.permissions.roleOf(who, 'experiment', resource.id)) !== undefined;
  }

  // ---- advancing a run

  /**
   * Moves a running run on: finished jobs end their steps, steps whose needs succeeded start,
   * retries come due, timeouts cancel; when every step is final the run ends. Only the holder of
   * the run's lease does this, so nothing starts twice.
   */
  async advance(runId: string): Promise<void> {
    if (this.advancing.has(runId)) {
      this.advancing.set(runId, true);
      return;
    }
    this.advancing.set(runId, false);
    try {
      do {
        this.advancing.set(runId, false);
        await this.advanceLeased(runId);
      } while (this.advancing.get(runId));
    } finally {
      this.advancing.delete(runId);
    }
  }

  private async advanceLeased(runId: string): Promise<void> {
    if (!(await this.store.lease(runId, this.instance, LEASE_MS))) return;
    try {
      for (let rounds = 0; rounds < 1000; rounds++) {
        // Renewed before each change: a step that took long (a slow webhook) must not let another server in.
        if (rounds > 0 && !(await this.store.lease(runId, this.instance, LEASE_MS))) return;
        const run = await this.store.getRun(runId);
        if (!run || run.status !== 'running') return;
        const runAs = run.runAs ? await this.auth.principalOf(run.runAs) : undefined;
        const refused = await this.refusal(run, runAs);
        if (refused) {
          await this.failRemaining(run, refused);
          return;
        }
        if (!(await this.step(run, runAs!))) {
          await this.endIfDone(run);
          return;
        }
      }
    } catch (error) {
      this.log.warn('advancing a pipeline run failed', { runId, error: String(error) });
    } finally {
      await this.store.release(runId, this.instance);
    }
  }

  /** Why the run may not go on as its person (checked at every step: access can be lost mid-run). */
  private async refusal(run: Run, runAs: Principal | undefined): Promise<string | undefined> {
    if (!runAs) return 'the person this run runs as no longer exists or was deactivated';
    const role = await this.permissions.roleOf(runAs, 'pipeline', run.pipelineId);
    if (run.trigger !== 'manual' && !atLeast(role, 'editor'))
      return `${runAs.name} can no longer edit this pipeline; define it again to resume`;
    if (!role) return `${runAs.name} can no longer see this pipeline`;
    return undefined;
  }

  /** Does the first thing there is to do; answers whether it changed anything. */
  private async step(run: Run, runAs: Principal): Promise<boolean> {
    const now = new Date();
    const byId = new Map(run.steps.map((s) => [s.id, s]));
    const values = runValues(run);
    for (const state of run.steps) {
      const step = run.definition.steps.find((s) => s.id === state.id)!;
      if (state.status === 'running') {
        if (state.startedAt && now.getTime() - state.startedAt.getTime() > (step.timeoutSeconds ?? 3600) * 1000) {
          await this.steps.stop(state.jobId, runAs);
          return this.failed(run, step, state, `timed out after ${step.timeoutSeconds} s`);
        }
        const progress = await this.steps.progress(step, state.jobId, { runAs });
        if (progress.state === 'running') continue;
        if (progress.state === 'failed') return this.failed(run, step, state, progress.error);
        return this.succeeded(run, state, progress.outputs);
      }
      if (state.status === 'retrying') {
        if (state.nextAttemptAt && state.nextAttemptAt > now) continue;
        return this.update(run, state, ['retrying'], { status: 'pending' });
      }
      if (state.status !== 'pending') continue;
      const needs = state.needs.map((id) => byId.get(id)!);
      const blocker = needs.find((n) => n.status === 'failed' || n.status === 'cancelled' || n.status === 'skipped');
      const closedGate = needs.find((n) => n.kind === 'gate' && n.status === 'succeeded' && n.outputs.passed === false);
      if (blocker || closedGate) {
        const why = closedGate
          ? `gate ${closedGate.id} did not pass`
          : `step ${blocker!.id} ${blocker!.status === 'skipped' ? 'was skipped' : blocker!.status}`;
        return this.update(run, state, ['pending'], { status: 'skipped', error: why, finishedAt: now });
      }
      if (needs.every((n) => n.status === 'succeeded')) return this.begin(run, step, state, runAs, values);
    }
    return false;
  }

  private async begin(run: Run, step: PipelineStep, state: StepRun, runAs: Principal, values: RunValues): Promise<boolean> {
    const attempt = state.attempt + 1;
    const label = `pipeline ${run.definition.name} #${run.number}`;
    let recorded = false;
    try {
      const started = await this.steps.start(step, {
        runAs,
        values,
        label,
        recordJob: async (tx, job) => {
          // With the job in one transaction: a crash leaves both or neither.
          recorded = await this.store.updateStep(
            run.id,
            step.id,
            ['pending'],
            { status: 'running', attempt, jobId: job.id, startedAt: new Date(), error: null },
            tx,
          );
          if (!recorded) throw new TandemError('CONFLICT', `step ${step.id} was started elsewhere`);
        },
      });
      if (started.done) {
        await this.store.updateStep(run.id, step.id, ['pending'], {
          status: 'succeeded',
          attempt,
          outputs: started.outputs,
          startedAt: new Date(),
          finishedAt: new Date(),
          error: null,
        });
      } else if (!recorded) {
        await this.store.updateStep(run.id, step.id, ['pending'], { status: 'running', attempt, startedAt: new Date(), error: null });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.store.updateStep(run.id, step.id, ['pending'], { attempt });
      return this.failed(run, step, { ...state, attempt }, message);
    }
    this.changed(run.pipelineId, 'pipeline.run.updated', { runId: run.id, step: step.id });
    return true;
  }

  private succeeded(run: Run, state: StepRun, outputs: Record<string, PipelineValue>): Promise<boolean> {
    return this.update(run, state, ['running'], { status: 'succeeded', outputs, finishedAt: new Date(), error: null });
  }

  /** A failed attempt: retried after its delay (doubling each time) while retries are left. */
  private failed(run: Run, step: PipelineStep, state: StepRun, error: string): Promise<boolean> {
    const from: StepRun['status'][] = ['running', 'pending'];
    if (state.attempt <= (step.retries ?? 0)) {
      const delay = (step.retryDelaySeconds ?? 10) * 2 ** Math.max(0, state.attempt - 1) * 1000;
      return this.update(run, state, from, { status: 'retrying', error, nextAttemptAt: new Date(Date.now() + delay) });
    }
    return this.update(run, state, from, { status: 'failed', error, finishedAt: new Date() });
  }

  private async update(
    run: Run,
    state: StepRun,
    from: StepRun['status'][],
    change: Parameters<PipelinesStore['updateStep']>[3],
  ): Promise<boolean> {
    const changed = await this.store.updateStep(run.id, state.id, from, change);
    if (changed) this.changed(run.pipelineId, 'pipeline.run.updated', { runId: run.id, step: state.id, status: change.status });
    return changed;
  }

  private async endIfDone(run: Run): Promise<void> {
    if (!run.steps.every((s) => FINAL_STEP.includes(s.status))) return;
    const failed = run.steps.find((s) => s.status === 'failed');
    const status: PipelineRunStatus = failed ? 'failed' : run.steps.some((s) => s.status === 'cancelled') ? 'cancelled' : 'succeeded';
    const error = failed ? `step ${failed.id} failed: ${failed.error ?? 'no reason given'}` : null;
    if (await this.store.finishRun(run.id, status, error, new Date())) {
      await this.ended(run, status, error);
      await this.startQueued(run.pipelineId);
    }
  }

  private async failRemaining(run: Run, reason: string): Promise<void> {
    for (const s of run.steps)
      if (!FINAL_STEP.includes(s.status))
        await this.store.updateStep(run.id, s.id, [s.status], { status: 'skipped', error: reason, finishedAt: new Date() });
    if (await this.store.finishRun(run.id, 'failed', reason, new Date())) await this.ended(run, 'failed', reason);
  }

  /** Tells everyone listening (the Jobs panel, notifications) that a run ended. */
  private async ended(run: Run, status: PipelineRunStatus, error: string | null): Promise<void> {
    this.events.publish(
      pipelineEvent('pipeline.run.finished', run.pipelineId, {
        runId: run.id,
        number: run.number,
        status,
        pipeline: run.definition.name,
        error,
      }),
    );
    await audited(
      this.store,
      undefined,
      { action: `pipeline.run.${status}`, resourceType: 'pipeline', resourceId: run.pipelineId, details: { runId: run.id, error } },
      async () => undefined,
    );
  }

  // ---- helpers

  private async access(who: Principal, id: string, needed: Role): Promise<{ row: PipelineRow; role: Role }> {
    const role = await this.permissions.roleOf(who, 'pipeline', id);
    const row = role ? await this.store.find(id) : undefined;
    if (!row || !role) throw notFound(`pipeline ${id}`);
    if (!atLeast(role, needed)) throw new TandemError('FORBIDDEN', `you are a ${role} of pipeline ${row.name}; this needs ${needed}`);
    return { row, role };
  }

  private audit(who: Principal, pipelineId: string, action: string, details: Record<string, unknown>): Promise<void> {
    return audited(this.store, who, { action, resourceType: 'pipeline', resourceId: pipelineId, details }, async () => undefined);
  }

  private changed(pipelineId: string, type: string, data: Record<string, unknown> = {}): void {
    this.events.publish(pipelineEvent(type, pipelineId, data));
  }
}

const pipelineEvent = (type: string, pipelineId: string, data: Record<string, unknown> = {}): Omit<TandemEvent, 'at'> => ({
  type,
  resourceType: 'pipeline',
  resourceId: pipelineId,
  data,
});

/** When a definition's schedule fires next after `now` (null without a schedule). */
const nextRunOf = (definition: CheckedDefinition, now: Date): Date | null =>
  definition.schedule ? parseCron(definition.schedule.cron, definition.schedule.timezone).next(now) : null;

/** The parameters, the triggering event and the outputs of each succeeded step, as later steps read them. */
function runValues(run: Run): RunValues {
  return {
    params: run.params,
    event: run.event,
    steps: Object.fromEntries(run.steps.filter((s) => s.status === 'succeeded').map((s) => [s.id, s.outputs])),
  };
}

export function createPipelinesService(ctx: AppContext): PipelinesService {
  const dashboards = ctx.shared(createDashboardsService);
  const store = new PipelinesStore(ctx.db, ctx.permissions);
  return new PipelinesService(
    store,
    new StepRunner(
      ctx.shared(createJobsService),
      ctx.shared(createModelsService),
      createNotebookReader(ctx.db),
      ctx.permissions,
      dashboards,
      createDashboardRefresh(ctx, dashboards),
      ctx.config.webhookAllowHosts,
    ),
    ctx.permissions,
    new Sharing(ctx.permissions, ctx.auth),
    ctx.auth,
    ctx.shared(createModelsService),
    ctx.events,
    ctx.log,
  );
}

/** Calls `fn` on every item, at most `limit` at a time; one failing does not stop the others. */
async function forEachAtOnce<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!).catch((error: unknown) => errors.push(error));
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (errors.length > 0) throw errors[0];
}
