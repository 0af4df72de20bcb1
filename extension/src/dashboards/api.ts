import type {
  CreateDashboardRequest,
  DashboardLink,
  DashboardView,
  LiveRequest,
  Published,
  PublishRequest,
  ScheduleRequest,
} from '@tandem/server/api';
import type { TandemClient } from '../requests';

export type { CellChoice, DashboardLink, Published, PublishRequest } from '@tandem/server/api';

/** What the server answers about a dashboard: the dashboard, the caller's role and the page's path. */
export type DashboardInfo = DashboardView;

/** The dashboards REST API, through the shared TandemClient. */
export class DashboardsApi {
  constructor(readonly client: TandemClient) {}

  get(slug: string): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}`);
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

  setSchedule(slug: string, body: ScheduleRequest): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/schedule`, { method: 'PUT', json: body });
  }

  /** Follow a shared notebook's outputs (or stop, with null). */
  setLive(slug: string, body: LiveRequest): Promise<DashboardInfo> {
    return this.client.request(`dashboards/${encodeURIComponent(slug)}/live`, { method: 'PUT', json: body });
  }

  /** The page for signed-in viewers: the token is exchanged for a cookie and dropped from the URL. */
  pageUrl(slug: string): string {
    return `${this.client.url}/tandem/d/${encodeURIComponent(slug)}?token=${encodeURIComponent(this.client.token)}`;
  }
}
