import type { Role } from './common.js';

export type DashboardRunStatus = 'running' | 'succeeded' | 'failed';
export type DashboardVersionOrigin = 'publish' | 'schedule';

/** A refresh schedule: cron fields on the wall clock of an IANA time zone. */
export interface DashboardSchedule<Time = string> {
  cron: string;
  timezone: string;
  nextRunAt: Time | null;
}

export interface DashboardLastRun<Time = string> {
  at: Time;
  status: DashboardRunStatus;
  error: string | null;
  /** The notebook job that ran the refresh (its log says what happened), once submitted. */
  jobId: string | null;
}

/** A published dashboard; the server holds `Date`s, the wire ISO strings. */
export interface Dashboard<Time = string> {
  id: string;
  slug: string;
  title: string;
  description: string;
  notebookPath: string | null;
  createdBy: string | null;
  createdAt: Time;
  updatedAt: Time;
  currentVersion: number | null;
  /** A secret view link exists (told to editors only). */
  hasLink: boolean;
  /** Editors only; null for viewers. */
  schedule: DashboardSchedule<Time> | null;
  /** Editors only; null for viewers. */
  lastRun: DashboardLastRun<Time> | null;
  /** Live mode: the shared notebook whose outputs the page follows. */
  liveNotebookId: string | null;
}

/** What the dashboard routes answer: the dashboard, the caller's role and the page's path. */
export interface DashboardView<Time = string> extends Dashboard<Time> {
  role: Role;
  /** The page, relative to the server: `/tandem/d/<slug>`. */
  url: string;
}

/** `GET /dashboards` (recently updated first). */
export interface DashboardList<Time = string> {
  items: DashboardView<Time>[];
}

export interface DashboardVersion<Time = string> {
  number: number;
  title: string;
  description: string;
  origin: DashboardVersionOrigin;
  createdBy: string | null;
  createdAt: Time;
}

/** `GET /dashboards/:slug/versions` (newest first). */
export interface DashboardVersionList<Time = string> {
  versions: DashboardVersion<Time>[];
}

/** Which cells a dashboard shows: the cell's index, with its code (default no) and outputs (default yes). */
export interface CellChoice {
  index: number;
  code?: boolean;
  outputs?: boolean;
}

/** `POST /dashboards/:slug/versions` (republish). */
export interface PublishRequest {
  title: string;
  description?: string;
  /** An .ipynb notebook (at least `{ cells }`). */
  notebook: unknown;
  selection?: CellChoice[];
  /**
   * The refresh schedule, set in the same request (the notebook is kept to re-run it). It is
   * checked before anything is written: a bad cron or time zone publishes nothing. Absent, the
   * schedule stays as it was; cron null stops it.
   */
  schedule?: PublishSchedule;
}

/** A schedule sent with a publish: cron fields on the wall clock of `timezone` (default UTC), or null for none. */
export interface PublishSchedule {
  cron: string | null;
  timezone?: string;
}

/** `POST /dashboards`: the slug defaults to one made from the title. */
export interface CreateDashboardRequest extends PublishRequest {
  slug?: string;
  notebookPath?: string;
}

/** What publishing answers. */
export interface Published<Time = string> {
  dashboard: DashboardView<Time>;
  version: number;
}

/** `POST /dashboards/:slug/revert`. */
export interface RevertRequest {
  version: number;
}

/** `POST /dashboards/:slug/link`: the secret view link (replaces the previous one). */
export interface DashboardLink {
  key: string;
  url: string;
}

/** `PUT /dashboards/:slug/schedule`: cron null stops refreshing. */
export interface ScheduleRequest {
  cron: string | null;
  timezone?: string;
  notebook?: unknown;
  selection?: CellChoice[];
}

/** `PUT /dashboards/:slug/live`: notebookId null stops following. */
export interface LiveRequest {
  notebookId: string | null;
  selection?: CellChoice[];
}
