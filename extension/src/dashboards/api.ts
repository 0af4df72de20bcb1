import type { TandemClient } from '../requests';

/** What the server answers about a dashboard (server/src/dashboards/dashboards.store.ts). */
export interface DashboardInfo {
  slug: string;
  title: string;
  description: string;
  currentVersion: number | null;
  role: 'owner' | 'editor' | 'viewer';
  url: string;
  schedule: { cron: string; timezone: string; nextRunAt: string | null } | null;
  lastRun: { at: string; status: 'running' | 'succeeded' | 'failed'; error: string | null } | null;
  liveNotebookId: string | null;
}

export interface CellChoice {
  index: number;
  code: boolean;
  outputs: boolean;
}

export interface PublishRequest {
  title: string;
  description: string;
  notebook: unknown;
  selection: CellChoice[];
}

/** The dashboards REST API, through the shared TandemClient. */
export class DashboardsApi {
  constructor(readonly client: TandemClient) {}

  get(slug: string): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}`);
  }

  create(body: PublishRequest & { notebookPath?: string }): Promise<{ dashboard: DashboardInfo; version: number }> {
    return this.client.request('dashboards', { method: 'POST', json: body });
  }

  republish(slug: string, body: PublishRequest): Promise<{ dashboard: DashboardInfo; version: number }> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/versions`, { method: 'POST', json: body });
  }

  createLink(slug: string): Promise<{ key: string; url: string }> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/link`, { method: 'POST' });
  }

  setSchedule(
    slug: string,
    body: { cron: string | null; timezone?: string; notebook?: unknown; selection?: CellChoice[] },
  ): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/schedule`, { method: 'PUT', json: body });
  }

  /** Follow a shared notebook's outputs (or stop, with null). */
  setLive(slug: string, body: { notebookId: string | null; selection?: CellChoice[] }): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/live`, { method: 'PUT', json: body });
  }

  /** The page for signed-in viewers: the token is exchanged for a cookie and dropped from the URL. */
  pageUrl(slug: string): string {
    return `${this.client.url}/tandem/d/${encodeURIComponent(slug)}?token=${encodeURIComponent(this.client.token)}`;
  }
}
