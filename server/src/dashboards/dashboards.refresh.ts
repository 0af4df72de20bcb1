import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { ArtifactStore } from '../artifacts/store.js';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast, type Permissions } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { createNotebookReader } from '../collab/collab.service.js';
import type { AppContext } from '../context.js';
import { TandemError } from '../errors.js';
import type { EventBus } from '../events.js';
import { NOTEBOOK_OUTPUT, notebookSpec } from '../jobs/job-spec.js';
import { createJobsService, type JobsService } from '../jobs/jobs.service.js';
import { FINAL_STATUSES, type JobStatus } from '../jobs/jobs.store.js';
import type { Logger } from '../logger.js';
import { audited } from '../mutations.js';
import { extractContent, type CellChoice, type DashboardContent, type Notebook } from './content.js';
import { parseCron } from './cron.js';
import { createDashboardsService, onDashboard, type DashboardsService, type DashboardView } from './dashboards.service.js';
import { DashboardsStore, type DashboardRow } from './dashboards.store.js';
import { LiveNotebooks } from './live.js';

/**
 * Where a dashboard's content comes from besides publishing: scheduled refreshes (the kept
 * notebook re-run headless as a notebook job on a worker, as the person who set the schedule) and live mode (a shared notebook's outputs as
 * collaborators run it). Changes go through the publishing side's `changes`, so page visits
 * never keep seeing what was before them.
 */
export class DashboardRefresh {
  private stopListening?: () => void;

  constructor(
    private readonly dashboards: DashboardsService,
    private readonly store: DashboardsStore,
    private readonly artifacts: ArtifactStore,
    private readonly permissions: Permissions,
    private readonly auth: AuthStore,
    private readonly log: Logger,
    private readonly live: LiveNotebooks,
    private readonly jobs: JobsService,
    private readonly events: EventBus,
    /** The longest one cell of a refresh may run. */
    private readonly cellTimeoutSeconds = 600,
  ) {}

  // ---- live mode

  /**
   * Makes the page follow a shared notebook's outputs as collaborators run it (notebookId null
   * stops). The caller must be able to read the notebook; viewers of the dashboard then see its
   * chosen outputs only, never the notebook itself.
   */
  async setLive(who: Principal, slug: string, input: { notebookId: string | null; selection?: CellChoice[] }): Promise<DashboardView> {
    const row = await this.dashboards.access(who, slug, 'editor');
    if (input.notebookId) {
      await this.permissions.require(who, 'notebook', input.notebookId, 'viewer');
      const doc = await this.live.read(input.notebookId);
      if (!doc) throw new TandemError('NOT_FOUND', `notebookId: notebook ${input.notebookId} not found`);
      extractContent(doc.notebook, input.selection);
    }
    await audited(this.dashboards.changes, who, onDashboard(row.id, 'dashboard.live', { notebookId: input.notebookId }), (tx) =>
      this.store.setLive(tx, row.id, { notebookId: input.notebookId, selection: input.selection ?? null, setBy: who.id }),
    );
    return this.dashboards.get(who, slug);
  }

  /** A live dashboard's content now, and a token that changes whenever the notebook does. */
  async liveContent(row: DashboardRow): Promise<{ content: DashboardContent; token: string }> {
    // Checked at every visit: losing access to the notebook ends what the page shows of it.
    const setBy = row.liveSetBy ?? row.createdBy;
    const publisher = setBy ? await this.auth.principalOf(setBy) : undefined;
    if (!publisher || !(await this.permissions.roleOf(publisher, 'notebook', row.liveNotebookId!))) {
      throw new TandemError('FORBIDDEN', `dashboard ${row.slug} follows a notebook its publisher can no longer read`);
    }
    const doc = await this.live.read(row.liveNotebookId!);
    if (!doc) throw new TandemError('NOT_FOUND', `dashboard ${row.slug} follows a shared notebook that was deleted`);
    return { content: extractContent(doc.notebook, row.selection ?? undefined), token: `live-${doc.seq}` };
  }

  // ---- scheduled refresh

  /**
   * Publishes (`publish` creates the dashboard or adds a version) with the refresh schedule sent in
   * the same request. The schedule is read first, so a bad cron or time zone writes nothing: no
   * dashboard, no version. Absent, the schedule stays as it was; cron null stops it.
   */
  async publishWithSchedule(
    who: Principal,
    input: { schedule?: { cron: string | null; timezone?: string }; notebook: Notebook; selection?: CellChoice[] },
    publish: () => Promise<{ dashboard: DashboardView; version: number }>,
  ): Promise<{ dashboard: DashboardView; version: number }> {
    const { schedule } = input;
    if (schedule?.cron != null) parseCron(schedule.cron, schedule.timezone);
    const published = await publish();
    if (!schedule) return published;
    const dashboard = await this.setSchedule(
      who,
      published.dashboard.slug,
      schedule.cron === null
        ? { cron: null }
        : { cron: schedule.cron, timezone: schedule.timezone, notebook: input.notebook, selection: input.selection },
    );
    return { dashboard, version: published.version };
  }

  /**
   * Sets (or with `cron` null, clears) the refresh schedule. Only now is the notebook's source kept
   * (in the artifact store, readable by nobody through the API) since re-running needs its code.
   */
  async setSchedule(
    who: Principal,
    slug: string,
    input: { cron: string | null; timezone?: string; notebook?: Notebook; selection?: CellChoice[] },
  ): Promise<DashboardView> {
    const row = await this.dashboards.access(who, slug, 'editor');
    if (input.cron === null) {
      await this.dashboards.changes.transaction((tx) => this.store.setSchedule(tx, row.id, null));
      if (row.sourceKey) await this.artifacts.delete(row.sourceKey);
      return this.dashboards.get(who, slug);
    }
    const cron = parseCron(input.cron, input.timezone);
    if (!input.notebook && !row.sourceKey)
      throw new TandemError('INVALID_ARGUMENT', 'notebook: a scheduled refresh needs the notebook to run');
    if (input.notebook) extractContent(input.notebook, input.selection);
    const sourceKey = `dashboards/${row.id}/source.ipynb`;
    if (input.notebook)
      await this.artifacts.put(sourceKey, Readable.from([JSON.stringify(input.notebook)]), { contentType: 'application/x-ipynb+json' });
    const schedule = {
      cron: cron.source,
      timezone: cron.timeZone,
      nextRunAt: cron.next(new Date()),
      sourceKey,
      selection: input.selection ?? row.selection,
      setBy: who.id,
    };
    await audited(
      this.dashboards.changes,
      who,
      onDashboard(row.id, 'dashboard.schedule', { cron: cron.source, timezone: cron.timeZone }),
      (tx) => this.store.setSchedule(tx, row.id, schedule),
    );
    return this.dashboards.get(who, slug);
  }

  /** Starts a refresh now, run as the caller (an editor); progress and failures show in the dashboard's `lastRun`. */
  async refreshNow(who: Principal, slug: string): Promise<DashboardView> {
    const row = await this.dashboards.access(who, slug, 'editor');
    if (!row.sourceKey)
      throw new TandemError('CONFLICT', `dashboard ${slug} has no schedule: set one (with its notebook) before refreshing`);
    if (!(await this.store.markRunning(row.id, new Date()))) throw new TandemError('CONFLICT', `dashboard ${slug} is already refreshing`);
    await this.submit(row, who);
    return this.dashboards.get(who, slug);
  }

  /**
   * Claims due schedules and submits their refreshes, and ends refreshes whose job ended while
   * nobody was listening (a restart, another server); the server calls this every tick.
   */
  async runDue(now = new Date()): Promise<number> {
    for (const { id, jobId } of await this.store.runningRefreshes()) await this.jobEnded(id, jobId);
    const due = await this.store.claimDue(now, (schedule, after) => parseCron(schedule.cron, schedule.timezone).next(after));
    for (const row of due) await this.submitScheduled(row);
    return due.length;
  }

  /**
   * A scheduled refresh runs as the person who set the schedule, while they may still edit the
   * dashboard; when they may not (or are gone), the schedule stops and says why.
   */
  private async submitScheduled(row: DashboardRow): Promise<void> {
    const setBy = row.scheduleSetBy ?? row.createdBy;
    const setter = setBy ? await this.auth.principalOf(setBy) : undefined;
    const role = setter && (await this.permissions.roleOf(setter, 'dashboard', row.id));
    if (!setter || !atLeast(role, 'editor')) {
      const who = setter ? setter.name : 'the person who set it';
      const reason = `schedule stopped: ${who} can no longer edit this dashboard (or no longer exists); set the schedule again to resume`;
      await audited(this.dashboards.changes, undefined, onDashboard(row.id, 'dashboard.schedule.stop', { reason }), async (tx) => {
        await this.store.setSchedule(tx, row.id, null);
        await this.store.finishRun(row.id, { status: 'failed', error: reason }, tx);
      });
      this.log.warn('dashboard schedule stopped', { slug: row.slug, reason });
      return;
    }
    await this.submit(row, setter);
  }

  /** Submits the kept notebook as a notebook job run by `who` on a worker; the server runs no user code. */
  private async submit(row: DashboardRow, who: Principal): Promise<void> {
    try {
      const notebook = JSON.parse(await text(await this.artifacts.get(row.sourceKey!))) as Notebook;
      const job = await this.jobs.submit(who, {
        kind: 'notebook',
        name: `refresh dashboard ${row.slug}`,
        spec: notebookSpec.parse({ notebook, timeoutSeconds: this.cellTimeoutSeconds }),
        maxAttempts: 2,
      });
      await this.store.setRunJob(row.id, job.id);
    } catch (error) {
      const message = `refresh failed: ${error instanceof Error ? error.message : String(error)}`;
      this.log.warn('dashboard refresh failed', { slug: row.slug, error: message });
      await this.failed(row, message);
    }
  }

  /** Ends the running refresh as failed and tells subscribers, unless another server ended it. */
  private async failed(row: DashboardRow, error: string, jobId?: string): Promise<void> {
    if (await this.store.finishRun(row.id, { status: 'failed', error, jobId }))
      this.events.publish({
        type: 'dashboard.refresh.failed',
        resourceType: 'dashboard',
        resourceId: row.id,
        data: { slug: row.slug, error },
      });
  }

  /** When a refresh job ended: its executed notebook becomes the next version, or its error the run's. */
  private async jobEnded(dashboardId: string, jobId: string): Promise<void> {
    const job = await this.jobs.find(jobId);
    if (job && !FINAL_STATUSES.includes(job.status)) return;
    const row = await this.store.findById(dashboardId);
    if (!row || row.lastRunJobId !== jobId) return;
    if (!job || job.status !== 'succeeded') {
      const error = job ? `the refresh job ${job.status}: ${job.error ?? 'no reason given'}` : `the refresh job ${jobId} is gone`;
      await this.failed(row, error, jobId);
      return;
    }
    let content: DashboardContent;
    try {
      const output = await this.jobs.outputFile(job, NOTEBOOK_OUTPUT);
      if (!output) throw new Error(`the job left no ${NOTEBOOK_OUTPUT}`);
      content = extractContent(JSON.parse(await text(output)) as Notebook, row.selection ?? undefined);
    } catch (cause) {
      await this.failed(row, `refresh failed: ${cause instanceof Error ? cause.message : String(cause)}`, jobId);
      return;
    }
    const version = await this.dashboards.changes.transaction(async (tx) => {
      // Only the server that ends the run adds the version (two may hear of the job).
      if (!(await this.store.finishRun(row.id, { status: 'succeeded', error: null, jobId }, tx))) return undefined;
      return this.store.addVersion(tx, row.id, {
        title: row.title,
        description: row.description,
        content,
        origin: 'schedule',
        createdBy: job.createdBy,
      });
    });
    if (version !== undefined) this.dashboards.changed(row, version);
  }

  /** Follows refresh jobs as they end, so a version appears without waiting for the next tick. */
  start(): void {
    this.stopListening ??= this.events.subscribe((event) => {
      if (event.resourceType !== 'job' || event.type !== 'job.updated') return;
      if (!FINAL_STATUSES.includes(event.data?.status as JobStatus)) return;
      this.store
        .refreshOfJob(event.resourceId)
        .then((id) => (id ? this.jobEnded(id, event.resourceId) : undefined))
        .catch((error: unknown) => this.log.warn('finishing a dashboard refresh failed', { job: event.resourceId, error: String(error) }));
    });
  }

  close(): void {
    this.stopListening?.();
  }
}

/** Refreshes and live mode for the dashboards `dashboards` publishes (by default, a publishing side of their own). */
export function createDashboardRefresh(ctx: AppContext, dashboards: DashboardsService = createDashboardsService(ctx)): DashboardRefresh {
  return new DashboardRefresh(
    dashboards,
    new DashboardsStore(ctx.db, ctx.permissions),
    ctx.artifacts,
    ctx.permissions,
    ctx.auth,
    ctx.log,
    new LiveNotebooks(createNotebookReader(ctx.db)),
    ctx.shared(createJobsService),
    ctx.events,
  );
}
