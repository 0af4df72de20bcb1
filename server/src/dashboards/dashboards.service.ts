import { createHash, randomBytes } from 'node:crypto';
import type { DashboardView as ApiDashboardView } from '../api/index.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast, type Permissions, type Role } from '../auth/permissions.js';
import { Sharing, type Grantee, type NamedGrant } from '../auth/sharing.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import type { PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { audited, createOwned, type Transactor } from '../mutations.js';
import { extractContent, type CellChoice, type DashboardContent, type Notebook } from './content.js';
import {
  DashboardsStore,
  type Dashboard,
  type DashboardRow,
  type DashboardVersion,
  type DashboardVersionWithContent,
} from './dashboards.store.js';

export interface PublishInput {
  title: string;
  description?: string;
  notebook: Notebook;
  selection?: CellChoice[];
}

export type DashboardView = ApiDashboardView<Date>;

const VISIT_TTL_MS = 1000;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Publishing, versions, sharing and secret links of dashboards, and who may open their pages.
 * Scheduled refreshes and live mode are in `dashboards.refresh.ts`.
 */
export class DashboardsService {
  /**
   * Page visits resolved in the last second (slug + link key or caller → dashboard and role): a
   * popular dashboard then costs no query per view. Every change made here clears it; changes made
   * elsewhere (team membership, another server) show within a second.
   */
  private readonly visits = new Map<string, { at: number; result: Promise<{ row: DashboardRow; role: Role }> }>();
  private readonly sharing: Sharing;

  /** Every change to dashboards runs in this, so no page visit keeps seeing what was before it. */
  readonly changes: Transactor = {
    transaction: async (fn) => {
      this.visits.clear();
      try {
        return await this.store.transaction(fn);
      } finally {
        this.visits.clear();
      }
    },
  };

  constructor(
    private readonly store: DashboardsStore,
    private readonly artifacts: ArtifactStore,
    private readonly permissions: Permissions,
    auth: AuthStore,
    private readonly events: EventBus,
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
    const { version } = await createOwned(
      { db: this.changes, permissions: this.permissions, events: this.events },
      who,
      {
        type: 'dashboard',
        action: 'dashboard.create',
        details: (created) => ({ version: created.version }),
        event: (created: DashboardRow & { version: number }) => versionEvent(created, created.version),
      },
      async (tx) => {
        const created = await this.store.create(tx, {
          slug,
          title: input.title,
          description: input.description ?? '',
          notebookPath: input.notebookPath,
          createdBy: who.id,
        });
        await this.store.setSelection(tx, created.id, input.selection ?? null);
        return { ...created, version: await this.store.addVersion(tx, created.id, published(who, input, content)) };
      },
    );
    return { dashboard: await this.get(who, slug), version };
  }

  /**
   * Republishing adds a version; earlier versions stay as they were. The chosen cells are kept, so a
   * schedule set later (from the Dashboards panel, with the notebook alone) shows the same cells.
   */
  async publish(who: Principal, slug: string, input: PublishInput): Promise<{ dashboard: DashboardView; version: number }> {
    const row = await this.access(who, slug, 'editor');
    const content = extractContent(input.notebook, input.selection);
    const version = await audited(
      this.changes,
      who,
      (number: number) => onDashboard(row.id, 'dashboard.publish', { version: number }),
      async (tx) => {
        await this.store.setSelection(tx, row.id, input.selection ?? null);
        return this.store.addVersion(tx, row.id, published(who, input, content));
      },
    );
    this.changed(row, version);
    return { dashboard: await this.get(who, slug), version };
  }

  async get(who: Principal, slug: string): Promise<DashboardView> {
    const row = await this.access(who, slug, 'viewer');
    return this.view(row, row.role);
  }

  async list(who: Principal, page: PageRequest): Promise<DashboardView[]> {
    const rows = await this.store.list(who, page.limit, page.offset);
    return rows.map((r) => this.view(r, r.role));
  }

  async delete(who: Principal, slug: string): Promise<void> {
    const row = await this.access(who, slug, 'owner');
    await audited(this.changes, who, onDashboard(row.id, 'dashboard.delete', { slug }), async (tx) => {
      await this.store.delete(tx, row.id);
      await this.permissions.removeAll('dashboard', row.id, tx);
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
    await audited(this.changes, who, onDashboard(row.id, 'dashboard.revert', { version: number }), (tx) =>
      this.store.setCurrent(tx, row.id, number),
    );
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
    await this.sharing.share(who, { type: 'dashboard', id: row.id, label: slug }, to, role, this.changes);
  }

  /** A new secret link (replacing any earlier one, which stops working). Only its hash is stored. */
  async createLink(who: Principal, slug: string): Promise<{ key: string; url: string }> {
    const row = await this.access(who, slug, 'owner');
    const key = randomBytes(24).toString('base64url');
    await audited(this.changes, who, onDashboard(row.id, 'dashboard.link.create'), (tx) =>
      this.store.setLinkKeyHash(tx, row.id, sha256(key)),
    );
    return { key, url: `${pageUrl(slug)}?key=${key}` };
  }

  async deleteLink(who: Principal, slug: string): Promise<void> {
    const row = await this.access(who, slug, 'owner');
    await audited(this.changes, who, onDashboard(row.id, 'dashboard.link.delete'), (tx) => this.store.setLinkKeyHash(tx, row.id, null));
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

  // ---- helpers

  /** The dashboard and the caller's role, or NOT_FOUND (no existence leaks) / FORBIDDEN. */
  async access(who: Principal, slug: string, needed: Role): Promise<DashboardRow & { role: Role }> {
    const row = await this.store.find(slug);
    if (!row) throw new TandemError('NOT_FOUND', `dashboard ${slug} not found`);
    // Labelled by slug: an unseen dashboard answers as one that does not exist, never with its id.
    return { ...row, role: await this.permissions.require(who, 'dashboard', row.id, needed, { label: slug }) };
  }

  /** Viewers see what the page shows; the schedule and run status are for editors. */
  private view(row: DashboardRow, role: Role): DashboardView {
    const {
      sourceKey: _source,
      selection: _selection,
      scheduleSetBy: _setBy,
      lastRunJobId: _job,
      liveSetBy: _liveSetBy,
      ...dashboard
    } = row as DashboardRow & { role?: Role };
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

  /** Tells listeners (pages, panels) that `version` is now the dashboard's current one. */
  changed(row: Pick<Dashboard, 'id' | 'slug'>, version: number): void {
    this.events.publish(versionEvent(row, version));
  }
}

/** The audit entry of a change to dashboard `id`. */
export const onDashboard = (id: string, action: string, details?: Record<string, unknown>) => ({
  action,
  resourceType: 'dashboard',
  resourceId: id,
  details,
});

const versionEvent = (row: Pick<Dashboard, 'id' | 'slug'>, version: number): Omit<TandemEvent, 'at'> => ({
  type: 'dashboard.version',
  resourceType: 'dashboard',
  resourceId: row.id,
  data: { slug: row.slug, version },
});

/** A version as the caller publishes it. */
const published = (who: Principal, input: PublishInput, content: DashboardContent) => ({
  title: input.title,
  description: input.description ?? '',
  content,
  origin: 'publish' as const,
  createdBy: who.id,
});

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
  return new DashboardsService(new DashboardsStore(ctx.db, ctx.permissions), ctx.artifacts, ctx.permissions, ctx.auth, ctx.events);
}
