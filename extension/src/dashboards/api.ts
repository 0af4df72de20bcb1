import type {
  CreateDashboardRequest,
  DashboardLink,
  DashboardList,
  DashboardVersion,
  DashboardVersionList,
  DashboardView,
  LiveRequest,
  Published,
  PublishRequest,
  ScheduleRequest,
} from '@tandem/server/api';
import type { TandemClient } from '../requests';

export type { CellChoice, DashboardLink, DashboardVersion, Published, PublishRequest } from '@tandem/server/api';

/** What the server answers about a dashboard: the dashboard, the caller's role and the page's path. */
export type DashboardInfo = DashboardView;

/** The dashboards REST API, through the shared TandemClient. */
export class DashboardsApi {
  constructor(readonly client: TandemClient) {}

  /** The dashboards the caller can see, recently updated first. */
  async list(): Promise<DashboardInfo[]> {
    return (await this.client.request<DashboardList>('dashboards?limit=200')).items;
  }

  get(slug: string): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}`);
  }

  /** Newest first (editors). */
  async versions(slug: string): Promise<DashboardVersion[]> {
    return (await this.client.request<DashboardVersionList>(`dashboards/${encodeURIComponent(slug)}/versions`)).versions;
  }

  /** Makes an older version current again (editors). */
  revert(slug: string, version: number): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/revert`, { method: 'POST', json: { version } });
  }

  /** Deletes the dashboard, its versions and its link (owners). */
  async delete(slug: string): Promise<void> {
    await this.client.request(`dashboards/${encodeURIComponent(slug)}`, { method: 'DELETE' });
  }

  create(body: CreateDashboardRequest): Promise<Published> {
    return this.client.request('dashboards', { method: 'POST', json: body });
  }

  republish(slug: string, body: PublishRequest): Promise<Published> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/versions`, { method: 'POST', json: body });
  }

  createLink(slug: string): Promise<DashboardLink> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/link`, { method: 'POST' });
  }

  /** Revokes the secret link: it stops working at once (owners). */
  async deleteLink(slug: string): Promise<void> {
    await this.client.request(`dashboards/${encodeURIComponent(slug)}/link`, { method: 'DELETE' });
  }

  /** Starts a refresh now; its job shows in `lastRun` (editors, with a schedule). */
  refreshNow(slug: string): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/refresh`, { method: 'POST' });
  }

  setSchedule(slug: string, body: ScheduleRequest): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/schedule`, { method: 'PUT', json: body });
  }

  /** Follow a shared notebook's outputs (or stop, with null). */
  setLive(slug: string, body: LiveRequest): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/live`, { method: 'PUT', json: body });
  }

  /** The page's address as people it is shared with open it (no credentials in it): what "Copy link" copies. */
  linkUrl(slug: string, version?: number): string {
    return `${this.client.url}/tandem/d/${encodeURIComponent(slug)}${version ? `?version=${version}` : ''}`;
  }

  /** The page for signed-in viewers: a token is exchanged for a cookie and dropped from the URL; a session needs none. */
  pageUrl(slug: string, version?: number): string {
    return this.client.authorizedUrl(this.linkUrl(slug, version));
  }
}
