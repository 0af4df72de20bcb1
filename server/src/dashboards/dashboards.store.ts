import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { Permissions, Role } from '../auth/permissions.js';
import { PgCode, pgErrorCode, type Db, type Queryable } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { CellChoice, DashboardContent } from './content.js';
import type {
  Dashboard as ApiDashboard,
  DashboardRunStatus,
  DashboardSchedule,
  DashboardVersion as ApiDashboardVersion,
  DashboardVersionOrigin,
} from '../api/index.js';

// The entities are the API contract's (../api), with the server's Dates.
export type RunStatus = DashboardRunStatus;
export type VersionOrigin = DashboardVersionOrigin;
export type Dashboard = ApiDashboard<Date>;
export type Schedule = DashboardSchedule<Date>;

/** Internal fields never sent to clients. */
export interface DashboardRow extends Dashboard {
  sourceKey: string | null;
  selection: CellChoice[] | null;
  /** Who set the refresh schedule: refreshes run as them while they may still edit the dashboard. */
  scheduleSetBy: string | null;
  /** The notebook job of the latest refresh. */
  lastRunJobId: string | null;
  /** Who made the dashboard follow its live notebook: pages show it while they may read the notebook. */
  liveSetBy: string | null;
}

export type DashboardVersion = ApiDashboardVersion<Date>;

export interface DashboardVersionWithContent extends DashboardVersion {
  content: DashboardContent;
}

const COLUMNS = `id, slug, title, description, notebook_path, created_by, created_at, updated_at, current_version,
  link_key_hash IS NOT NULL AS has_link, schedule_cron, schedule_timezone, next_run_at, last_run_at, last_run_status, last_run_error,
  source_key, selection, live_notebook_id, schedule_set_by, last_run_job_id, live_set_by`;

interface Row {
  id: string;
  slug: string;
  title: string;
  description: string;
  notebook_path: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  current_version: number | null;
  has_link: boolean;
  schedule_cron: string | null;
  schedule_timezone: string;
  next_run_at: Date | null;
  last_run_at: Date | null;
  last_run_status: RunStatus | null;
  last_run_error: string | null;
  source_key: string | null;
  selection: CellChoice[] | null;
  live_notebook_id: string | null;
  schedule_set_by: string | null;
  last_run_job_id: string | null;
  live_set_by: string | null;
}

const toDashboard = (r: Row): DashboardRow => ({
  id: r.id,
  slug: r.slug,
  title: r.title,
  description: r.description,
  notebookPath: r.notebook_path,
  createdBy: r.created_by,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
  currentVersion: r.current_version,
  hasLink: r.has_link,
  schedule: r.schedule_cron
    ? { cron: r.schedule_cron, timezone: r.schedule_timezone, nextRunAt: r.next_run_at && new Date(r.next_run_at) }
    : null,
  lastRun:
    r.last_run_at && r.last_run_status
      ? { at: new Date(r.last_run_at), status: r.last_run_status, error: r.last_run_error, jobId: r.last_run_job_id }
      : null,
  liveNotebookId: r.live_notebook_id,
  sourceKey: r.source_key,
  selection: r.selection,
  scheduleSetBy: r.schedule_set_by,
  lastRunJobId: r.last_run_job_id,
  liveSetBy: r.live_set_by,
});

const VERSION_COLUMNS = 'number, title, description, origin, created_by AS "createdBy", created_at AS "createdAt"';

/** Dashboards and their immutable versions in PostgreSQL. */
export class DashboardsStore {
  constructor(
    private readonly db: Db,
    private readonly permissions: Permissions,
  ) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  async create(
    tx: Queryable,
    input: { slug: string; title: string; description: string; notebookPath?: string; createdBy: string },
  ): Promise<DashboardRow> {
    try {
      const [row] = await tx.query<Row>(
        `INSERT INTO dashboards (id, slug, title, description, notebook_path, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [randomUUID(), input.slug, input.title, input.description, input.notebookPath ?? null, input.createdBy],
      );
      return toDashboard(row!);
    } catch (error) {
      if (pgErrorCode(error) === PgCode.uniqueViolation)
        throw new TandemError('ALREADY_EXISTS', `slug: a dashboard named ${input.slug} already exists`, { cause: error });
      throw error;
    }
  }

  async find(slug: string, q: Queryable = this.db): Promise<DashboardRow | undefined> {
    const [row] = await q.query<Row>(`SELECT ${COLUMNS} FROM dashboards WHERE slug = $1`, [slug]);
    return row && toDashboard(row);
  }

  async findById(id: string, q: Queryable = this.db): Promise<DashboardRow | undefined> {
    const [row] = await q.query<Row>(`SELECT ${COLUMNS} FROM dashboards WHERE id = $1`, [id]);
    return row && toDashboard(row);
  }

  async findByLinkKeyHash(slug: string, hash: string): Promise<DashboardRow | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM dashboards WHERE slug = $1 AND link_key_hash = $2`, [slug, hash]);
    return row && toDashboard(row);
  }

  /** A page of the dashboards the caller can see, each with the caller's role. */
  async list(who: Principal, limit: number, offset: number): Promise<(DashboardRow & { role: Role })[]> {
    const roles = this.permissions.roleJoin(who, 'dashboard', 'dashboards.id', 3);
    const rows = await this.db.query<Row & { role: Role }>(
      `SELECT ${COLUMNS}, r.role FROM dashboards ${roles.sql} ORDER BY updated_at DESC LIMIT $1 OFFSET $2`,
      [limit, offset, ...roles.params],
    );
    return rows.map((row) => ({ ...toDashboard(row), role: row.role }));
  }

  /** Adds the next version and makes it current; the row lock orders concurrent publishes. */
  async addVersion(
    tx: Queryable,
    dashboardId: string,
    v: { title: string; description: string; content: DashboardContent; origin: VersionOrigin; createdBy: string | null },
  ): Promise<number> {
    const [row] = await tx.query<{ number: number }>(
      `UPDATE dashboards SET next_version = next_version + 1, current_version = next_version, title = $2, description = $3, updated_at = now()
       WHERE id = $1 RETURNING next_version - 1 AS number`,
      [dashboardId, v.title, v.description],
    );
    if (!row) throw new TandemError('NOT_FOUND', `dashboard ${dashboardId} not found`);
    await tx.query(
      'INSERT INTO dashboard_versions (dashboard_id, number, title, description, content, origin, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [dashboardId, row.number, v.title, v.description, JSON.stringify(v.content), v.origin, v.createdBy],
    );
    return row.number;
  }

  async versions(dashboardId: string): Promise<DashboardVersion[]> {
    return this.db.query<DashboardVersion>(
      `SELECT ${VERSION_COLUMNS} FROM dashboard_versions WHERE dashboard_id = $1 ORDER BY number DESC`,
      [dashboardId],
    );
  }

  async version(dashboardId: string, number: number): Promise<DashboardVersionWithContent | undefined> {
    const [row] = await this.db.query<DashboardVersionWithContent>(
      `SELECT ${VERSION_COLUMNS}, content FROM dashboard_versions WHERE dashboard_id = $1 AND number = $2`,
      [dashboardId, number],
    );
    return row;
  }

  async setCurrent(tx: Queryable, dashboardId: string, number: number): Promise<void> {
    await tx.query(
      `UPDATE dashboards d SET current_version = v.number, title = v.title, description = v.description, updated_at = now()
       FROM dashboard_versions v WHERE d.id = $1 AND v.dashboard_id = d.id AND v.number = $2`,
      [dashboardId, number],
    );
  }

  /** The cells a publish chose (null: all), which later refreshes and live mode show unless told otherwise. */
  async setSelection(tx: Queryable, id: string, selection: CellChoice[] | null): Promise<void> {
    await tx.query('UPDATE dashboards SET selection = $2 WHERE id = $1', [id, selection ? JSON.stringify(selection) : null]);
  }

  async setLinkKeyHash(tx: Queryable, id: string, hash: string | null): Promise<void> {
    await tx.query('UPDATE dashboards SET link_key_hash = $2, updated_at = now() WHERE id = $1', [id, hash]);
  }

  /** Follows a shared notebook (or stops, with null); `selection` picks the cells shown. */
  async setLive(
    tx: Queryable,
    id: string,
    live: { notebookId: string | null; selection: CellChoice[] | null; setBy: string },
  ): Promise<void> {
    await tx.query(
      'UPDATE dashboards SET live_notebook_id = $2, selection = COALESCE($3, selection), live_set_by = $4, updated_at = now() WHERE id = $1',
      [id, live.notebookId, live.selection ? JSON.stringify(live.selection) : null, live.notebookId ? live.setBy : null],
    );
  }

  /** Sets or (null) stops the schedule; the cells shown stay chosen when a schedule stops or names none. */
  async setSchedule(
    tx: Queryable,
    id: string,
    schedule: (Schedule & { nextRunAt: Date; sourceKey: string; selection: CellChoice[] | null; setBy: string }) | null,
  ): Promise<void> {
    await tx.query(
      `UPDATE dashboards SET schedule_cron = $2, schedule_timezone = $3, next_run_at = $4, source_key = $5, selection = COALESCE($6, selection),
         schedule_set_by = $7, updated_at = now()
        WHERE id = $1`,
      [
        id,
        schedule?.cron ?? null,
        schedule?.timezone ?? 'UTC',
        schedule?.nextRunAt ?? null,
        schedule?.sourceKey ?? null,
        schedule?.selection ? JSON.stringify(schedule.selection) : null,
        schedule?.setBy ?? null,
      ],
    );
  }

  /**
   * Claims scheduled dashboards that are due: moves their next run forward in the same statement,
   * so two servers on one database never run the same refresh twice.
   */
  async claimDue(now: Date, nextRun: (schedule: Schedule, after: Date) => Date): Promise<DashboardRow[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx.query<Row>(
        `SELECT ${COLUMNS} FROM dashboards WHERE schedule_cron IS NOT NULL AND next_run_at <= $1
           AND (last_run_status IS DISTINCT FROM 'running' OR last_run_at < $1::timestamptz - interval '1 hour')
         ORDER BY next_run_at LIMIT 10 FOR UPDATE SKIP LOCKED`,
        [now],
      );
      const dashboards = due.map(toDashboard);
      for (const dashboard of dashboards) {
        await tx.query(
          `UPDATE dashboards SET next_run_at = $2, last_run_at = $3, last_run_status = 'running', last_run_error = NULL WHERE id = $1`,
          [dashboard.id, nextRun(dashboard.schedule!, now), now],
        );
      }
      return dashboards;
    });
  }

  /** Marks a refresh as started unless one is running already; answers whether it was marked. */
  async markRunning(id: string, at: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE dashboards SET last_run_at = $2, last_run_status = 'running', last_run_error = NULL, last_run_job_id = NULL
        WHERE id = $1 AND last_run_status IS DISTINCT FROM 'running' RETURNING id`,
      [id, at],
    );
    return rows.length > 0;
  }

  /** The notebook job now running the dashboard's refresh. */
  async setRunJob(id: string, jobId: string): Promise<void> {
    await this.db.query(`UPDATE dashboards SET last_run_job_id = $2 WHERE id = $1 AND last_run_status = 'running'`, [id, jobId]);
  }

  /**
   * Ends the running refresh (the one of `jobId`, when given). Answers false when it was not
   * running (any more): another server finished it, so its version is not added twice.
   */
  async finishRun(
    id: string,
    outcome: { status: 'succeeded' | 'failed'; error: string | null; jobId?: string },
    q: Queryable = this.db,
  ): Promise<boolean> {
    const rows = await q.query(
      `UPDATE dashboards SET last_run_status = $2, last_run_error = $3
        WHERE id = $1 AND last_run_status = 'running' AND ($4::text IS NULL OR last_run_job_id = $4) RETURNING id`,
      [id, outcome.status, outcome.error, outcome.jobId ?? null],
    );
    return rows.length > 0;
  }

  /** The dashboard whose running refresh is this job, if any. */
  async refreshOfJob(jobId: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ id: string }>(
      `SELECT id FROM dashboards WHERE last_run_job_id = $1 AND last_run_status = 'running'`,
      [jobId],
    );
    return row?.id;
  }

  /** Refreshes whose notebook job may have ended meanwhile (a restart, another server's job). */
  async runningRefreshes(): Promise<{ id: string; jobId: string }[]> {
    return this.db.query(
      `SELECT id, last_run_job_id AS "jobId" FROM dashboards WHERE last_run_status = 'running' AND last_run_job_id IS NOT NULL`,
    );
  }

  async delete(tx: Queryable, id: string): Promise<void> {
    await tx.query('DELETE FROM dashboards WHERE id = $1', [id]);
  }
}
