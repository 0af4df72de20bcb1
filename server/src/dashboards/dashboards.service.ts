import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { ArtifactStore } from '../artifacts/store.js';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast, type Permissions, type Role } from '../auth/permissions.js';
import { Sharing, type Grantee, type NamedGrant } from '../auth/sharing.js';
import type { Principal } from '../auth/principal.js';
import { audit } from '../audit.js';
import type { AppContext } from '../context.js';
import { TandemError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { Queryable } from '../db/db.js';
import { extractContent, type CellChoice, type DashboardContent, type Notebook } from './content.js';
import { parseCron } from './cron.js';
import {
  DashboardsStore,
  type Dashboard,
  type DashboardRow,
  type DashboardVersion,
  type DashboardVersionWithContent,
} from './dashboards.store.js';
import { LiveNotebooks } from './live.js';
import { executeNotebook } from './runner.js';

export interface PublishInput {
  title: string;
  description?: string;
  notebook: Notebook;
  selection?: CellChoice[];
}

export type DashboardView = Dashboard & { role: Role; url: string };

const VISIT_TTL_MS = 1000;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Publishing, versions, sharing, secret links and scheduled refreshes of dashboards. */
export class DashboardsService {
  /**
   * Page visits resolved in the last second (slug + link key or caller → dashboard and role): a
   * popular dashboard then costs no query per view. Every change made here clears it; changes made
   * elsewhere (team membership, another server) show within a second.
   */
  private readonly visits = new Map<string, { at: number; result: Promise<{ row: DashboardRow; role: Role }> }>();

  /** Refreshes in flight, by dashboard id: one at a time per dashboard; shutdown waits on them. */
  private readonly running = new Map<string, Promise<void>>();
  private readonly closing = new AbortController();
  private readonly sharing: Sharing;

  constructor(
    private readonly store: DashboardsStore,
    private readonly artifacts: ArtifactStore,
    private readonly permissions: Permissions,
    private readonly auth: AuthStore,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly live: LiveNotebooks,
    /** Environment for refresh kernels, e.g. TANDEM_URL so the cell SDK reaches this server. */
    private readonly kernelEnv: Record<string, string> = {},
  ) {
    this.sharing = new Sharing(permissions, auth);
  }

  // ---- publishing

  async create(
    who: Principal,
    input: PublishInput & { slug?: string; notebookPath?: string },
  ): Promise<{ dashboard: DashboardView; version: number }> {
    const content = extractContent(input.notebook, input.selection);
    const slug = input.slug ?? `${slugify(input.title)}-${randomBytes(3).toString('hex')}`;
    const { dashboard, version } = await this.mutate(async (tx) => {
      const created = await this.store.create(tx, {
        slug,
        title: input.title,
        description: input.description ?? '',
        notebookPath: input.notebookPath,
        createdBy: who.id,
      });
      await this.permissions.grant('dashboard', created.id, { type: 'user', id: who.id }, 'owner', tx);
      const number = await this.addVersion(tx, created.id, who, input, content, 'dashboard.create');
      return { dashboard: created, version: number };
    });
    this.changed(dashboard, version);
    return { dashboard: await this.get(who, dashboard.slug), version };
  }

  /** Republishing adds a version; earlier versions stay as they were. */
  async publish(who: Principal, slug: string, input: PublishInput): Promise<{ dashboard: DashboardView; version: number }> {
    const row = await this.access(who, slug, 'editor');
    const content = extractContent(input.notebook, input.selection);
    const version = await this.mutate((tx) => this.addVersion(tx, row.id, who, input, content, 'dashboard.publish'));
    this.changed(row, version);
    return { dashboard: await this.get(who, slug), version };
  }

  async get(who: Principal, slug: string): Promise<DashboardView> {
    const row = await this.access(who, slug, 'viewer');
    return this.view(row, row.role);
  }

  async list(who: Principal, page: { limit: number; offset: number }): Promise<DashboardView[]> {
    const rows = await this.store.list(who, page.limit, page.offset);
    return Promise.all(rows.map(async (r) => this.view(r, (await this.permissions.roleOf(who, 'dashboard', r.id)) ?? 'viewer')));
  }

  async delete(who: Principal, slug: string): Promise<void> {
    const row = await this.access(who, slug, 'owner');
    await this.mutate(async (tx) => {
      await this.store.delete(tx, row.id);
      await this.permissions.removeAll('dashboard', row.id, tx);
      await audit(tx, { actorId: who.id, action: 'dashboard.delete', resourceType: 'dashboard', resourceId: row.id, details: { slug } });
    });
    if (row.sourceKey) await this.artifacts.delete(row.sourceKey);
  }

  async versions(who: Principal, slug: string): Promise<DashboardVersion[]> {
    return this.store.versions((await this.access(who, slug, 'editor')).id);
  }

  /** Makes an older version current again (its content is unchanged; later versions are kept). */
  async revert(who: Principal, slug: string, number: number): Promise<DashboardView> {
    const row = await this.access(who, slug, 'editor');
    if (!(await this.store.version(row.id, number)))
      throw new TandemError('NOT_FOUND', `version: dashboard ${slug} has no version ${number}`);
    await this.mutate(async (tx) => {
      await this.store.setCurrent(tx, row.id, number);
      await audit(tx, {
        actorId: who.id,
        action: 'dashboard.revert',
        resourceType: 'dashboard',
        resourceId: row.id,
        details: { version: number },
      });
    });
    this.changed(row, number);
    return this.get(who, slug);
  }

  // ---- who may see it

  async listGrants(who: Principal, slug: string): Promise<NamedGrant[]> {
    const row = await this.access(who, slug, 'viewer');
    return this.sharing.listGrants('dashboard', row.id);
  }

  /** Named viewers and teams; `role` null removes their access. */
  async share(who: Principal, slug: string, to: Grantee, role: Role | null): Promise<void> {
    const row = await this.access(who, slug, 'owner');
    await this.sharing.share(who, { type: 'dashboard', id: row.id, label: slug }, to, role, (fn) => this.mutate(fn));
  }

  /** A new secret link (replacing any earlier one, which stops working). Only its hash is stored. */
  async createLink(who: Principal, slug: string): Promise<{ key: string; url: string }> {
    const row = await this.access(who, slug, 'owner');
    const key = randomBytes(24).toString('base64url');
    await this.mutate(async (tx) => {
      await this.store.setLinkKeyHash(tx, row.id, sha256(key));
      await audit(tx, { actorId: who.id, action: 'dashboard.link.create', resourceType: 'dashboard', resourceId: row.id });
    });
    return { key, url: `${pageUrl(slug)}?key=${key}` };
  }

  async deleteLink(who: Principal, slug: string): Promise<void> {
    const row = await this.access(who, slug, 'owner');
    await this.mutate(async (tx) => {
      await this.store.setLinkKeyHash(tx, row.id, null);
      await audit(tx, { actorId: who.id, action: 'dashboard.link.delete', resourceType: 'dashboard', resourceId: row.id });
    });
  }

  /**
   * The dashboard a page request may show: signed-in callers need a grant, anonymous ones the
   * secret link. Everyone else learns nothing, not even whether the slug exists.
   */
  forPage(slug: string, who: Principal | undefined, key: string | undefined): Promise<{ row: DashboardRow; role: Role }> {
    const id = `${slug}\0${key ? sha256(key) : ''}\0${who?.id ?? ''}`;
    const hit = this.visits.get(id);
    if (hit && Date.now() - hit.at < VISIT_TTL_MS) return hit.result;
    if (this.visits.size > 10_000) this.visits.clear();
    const result = this.resolveVisit(slug, who, key);
    this.visits.set(id, { at: Date.now(), result });
    result.catch(() => this.visits.delete(id));
    return result;
  }

  private async resolveVisit(
    slug: string,
    who: Principal | undefined,
    key: string | undefined,
  ): Promise<{ row: DashboardRow; role: Role }> {
    if (key) {
      const row = await this.store.findByLinkKeyHash(slug, sha256(key));
      if (row) return { row, role: 'viewer' };
    }
    if (!who)
      throw new TandemError(
        key ? 'NOT_FOUND' : 'UNAUTHENTICATED',
        key ? `dashboard ${slug} not found or the link was revoked` : 'sign in or use a share link to open this dashboard',
      );
    const row = await this.store.find(slug);
    const role = row && (await this.permissions.roleOf(who, 'dashboard', row.id));
    if (!row || !role) throw new TandemError('NOT_FOUND', `dashboard ${slug} not found`);
    return { row, role };
  }

  async content(row: DashboardRow, number = row.currentVersion ?? 0): Promise<DashboardVersionWithContent> {
    const version = await this.store.version(row.id, number);
    if (!version) throw new TandemError('NOT_FOUND', `dashboard ${row.slug} has no version ${number}`);
    return version;
  }

  // ---- live mode

  /**
   * Makes the page follow a shared notebook's outputs as collaborators run it (notebookId null
   * stops). The caller must be able to read the notebook; viewers of the dashboard then see its
   * chosen outputs only, never the notebook itself.
   */
  async setLive(who: Principal, slug: string, input: { notebookId: string | null; selection?: CellChoice[] }): Promise<DashboardView> {
    const row = await this.access(who, slug, 'editor');
    if (input.notebookId) {
      await this.permissions.require(who, 'notebook', input.notebookId, 'viewer');
      const doc = await this.live.read(input.notebookId);
      if (!doc) throw new TandemError('NOT_FOUND', `notebookId: notebook ${input.notebookId} not found`);
      extractContent(doc.notebook, input.selection);
    }
    await this.mutate(async (tx) => {
      await this.store.setLive(tx, row.id, input.notebookId, input.selection ?? null);
      await audit(tx, {
        actorId: who.id,
        action: 'dashboard.live',
        resourceType: 'dashboard',
        resourceId: row.id,
        details: { notebookId: input.notebookId },
      });
    });
    return this.get(who, slug);
  }

  /** A live dashboard's content now, and a token that changes whenever the notebook does. */
  async liveContent(row: DashboardRow): Promise<{ content: DashboardContent; token: string }> {
    const doc = await this.live.read(row.liveNotebookId!);
    if (!doc) throw new TandemError('NOT_FOUND', `dashboard ${row.slug} follows a shared notebook that was deleted`);
    return { content: extractContent(doc.notebook, row.selection ?? undefined), token: `live-${doc.seq}` };
  }

  // ---- scheduled refresh

  /**
   * Sets (or with `cron` null, clears) the refresh schedule. Only now is the notebook's source kept
   * (in the artifact store, readable by nobody through the API) since re-running needs its code.
   */
  async setSchedule(
    who: Principal,
    slug: string,
    input: { cron: string | null; timezone?: string; notebook?: Notebook; selection?: CellChoice[] },
  ): Promise<DashboardView> {
    const row = await this.access(who, slug, 'editor');
    if (input.cron === null) {
      await this.mutate((tx) => this.store.setSchedule(tx, row.id, null));
      if (row.sourceKey) await this.artifacts.delete(row.sourceKey);
      return this.get(who, slug);
    }
    const cron = parseCron(input.cron, input.timezone);
    if (!input.notebook && !row.sourceKey)
      throw new TandemError('INVALID_ARGUMENT', 'notebook: a scheduled refresh needs the notebook to run');
    if (input.notebook) extractContent(input.notebook, input.selection);
    const sourceKey = `dashboards/${row.id}/source.ipynb`;
    if (input.notebook)
      await this.artifacts.put(sourceKey, Readable.from([JSON.stringify(input.notebook)]), { contentType: 'application/x-ipynb+json' });
    await this.mutate(async (tx) => {
      await this.store.setSchedule(tx, row.id, {
        cron: cron.source,
        timezone: cron.timeZone,
        nextRunAt: cron.next(new Date()),
        sourceKey,
        selection: input.selection ?? row.selection,
      });
      await audit(tx, {
        actorId: who.id,
        action: 'dashboard.schedule',
        resourceType: 'dashboard',
        resourceId: row.id,
        details: { cron: cron.source, timezone: cron.timeZone },
      });
    });
    return this.get(who, slug);
  }

  /** Starts a refresh now (editors); progress and failures show in the dashboard's `lastRun`. */
  async refreshNow(who: Principal, slug: string): Promise<DashboardView> {
    const row = await this.access(who, slug, 'editor');
    if (!row.sourceKey)
      throw new TandemError('CONFLICT', `dashboard ${slug} has no schedule: set one (with its notebook) before refreshing`);
    if (this.running.has(row.id)) throw new TandemError('CONFLICT', `dashboard ${slug} is already refreshing`);
    await this.store.markRunning(row.id, new Date());
    this.startRefresh(row);
    return this.get(who, slug);
  }

  /** Claims due schedules and starts their refreshes; the server calls this every tick. */
  async runDue(now = new Date()): Promise<number> {
    const due = await this.store.claimDue(now, (schedule, after) => parseCron(schedule.cron, schedule.timezone).next(after));
    for (const row of due) if (!this.running.has(row.id)) this.startRefresh(row);
    return due.length;
  }

  private startRefresh(row: DashboardRow): void {
    const run = this.refresh(row).finally(() => this.running.delete(row.id));
    this.running.set(row.id, run);
  }

  /** Re-executes the kept notebook as its owner and publishes the result; a failure keeps the last good version. */
  private async refresh(row: DashboardRow): Promise<void> {
    const token = row.createdBy ? await this.auth.createToken(row.createdBy, `dashboard refresh ${row.slug}`) : undefined;
    try {
      const notebook = JSON.parse(await text(await this.artifacts.get(row.sourceKey!))) as Notebook;
      const executed = await executeNotebook(notebook, {
        signal: this.closing.signal,
        env: { ...this.kernelEnv, ...(token ? { TANDEM_TOKEN: token.token } : {}) },
      });
      const content = extractContent(executed, row.selection ?? undefined);
      const current = await this.store.findById(row.id);
      if (!current) return;
      const version = await this.mutate((tx) =>
        this.store.addVersion(tx, row.id, {
          title: current.title,
          description: current.description,
          content,
          origin: 'schedule',
          createdBy: row.createdBy,
        }),
      );
      await this.store.finishRun(row.id, 'succeeded', null);
      this.changed(row, version);
    } catch (error) {
      const message = error instanceof TandemError ? error.message : `refresh failed: ${(error as Error).message}`;
      this.log.warn('dashboard refresh failed', { slug: row.slug, error: message });
      await this.store.finishRun(row.id, 'failed', message).catch(() => undefined);
    } finally {
      if (token && row.createdBy) await this.auth.revokeToken(row.createdBy, token.id).catch(() => undefined);
    }
  }

  /** Stops refreshes in flight (they end as failed runs) and waits for them. */
  async close(): Promise<void> {
    this.closing.abort();
    await Promise.allSettled(this.running.values());
  }

  // ---- helpers

  /** A published version and its audit entry, in the caller's transaction. */
  private async addVersion(
    tx: Queryable,
    dashboardId: string,
    who: Principal,
    input: PublishInput,
    content: DashboardContent,
    action: string,
  ): Promise<number> {
    const number = await this.store.addVersion(tx, dashboardId, {
      title: input.title,
      description: input.description ?? '',
      content,
      origin: 'publish',
      createdBy: who.id,
    });
    await audit(tx, { actorId: who.id, action, resourceType: 'dashboard', resourceId: dashboardId, details: { version: number } });
    return number;
  }

  /** Every change runs here, so no page visit keeps seeing what was before it. */
  private async mutate<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.visits.clear();
    try {
      return await this.store.transaction(fn);
    } finally {
      this.visits.clear();
    }
  }

  private async access(who: Principal, slug: string, needed: Role): Promise<DashboardRow & { role: Role }> {
    const row = await this.store.find(slug);
    if (!row) throw new TandemError('NOT_FOUND', `dashboard ${slug} not found`);
    return { ...row, role: await this.permissions.require(who, 'dashboard', row.id, needed) };
  }

  /** Viewers see what the page shows; the schedule and run status are for editors. */
  private view(row: DashboardRow, role: Role): DashboardView {
    const { sourceKey: _source, selection: _selection, ...dashboard } = row as DashboardRow & { role?: Role };
    const editor = atLeast(role, 'editor');
    return {
      ...dashboard,
      schedule: editor ? dashboard.schedule : null,
      lastRun: editor ? dashboard.lastRun : null,
      hasLink: editor && dashboard.hasLink,
      role,
      url: pageUrl(row.slug),
    };
  }

  private changed(row: Pick<Dashboard, 'id' | 'slug'>, version: number): void {
    this.events.publish({ type: 'dashboard.version', resourceType: 'dashboard', resourceId: row.id, data: { slug: row.slug, version } });
  }
}

export const pageUrl = (slug: string): string => `/tandem/d/${encodeURIComponent(slug)}`;

function slugify(title: string): string {
  const base = title
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return base || 'dashboard';
}

export function createDashboardsService(ctx: AppContext): DashboardsService {
  const url = ctx.config.publicUrl ?? (ctx.config.port ? `http://${ctx.config.host}:${ctx.config.port}` : undefined);
  return new DashboardsService(
    new DashboardsStore(ctx.db, ctx.permissions),
    ctx.artifacts,
    ctx.permissions,
    ctx.auth,
    ctx.events,
    ctx.log,
    new LiveNotebooks(ctx.db),
    url ? { TANDEM_URL: url } : {},
  );
}
