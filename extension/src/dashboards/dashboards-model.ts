// The state behind the Dashboards panel, without the DOM: the dashboards the person can see, and
// one dashboard with its versions and the changes its view makes. The views (panel.ts,
// dashboard-view.ts) render them and update on `stateChanged`.
import { RemoteState } from '../remote-state';
import type { DashboardInfo, DashboardLink, DashboardsApi, DashboardVersion } from './api';

/** The dashboards the caller can see, recently updated first. */
export class DashboardsListModel extends RemoteState<DashboardInfo[]> {
  constructor(private readonly api: Pick<DashboardsApi, 'list'>) {
    super([]);
  }

  protected fetch(): Promise<DashboardInfo[]> {
    return this.api.list();
  }
}

export interface DashboardState {
  /** Undefined until loaded, and once deleted. */
  dashboard?: DashboardInfo;
  /** Newest first; empty for viewers, who may not list them. */
  versions: DashboardVersion[];
  /**
   * The secret link made in this view. The server keeps only a fingerprint of it, so this is the
   * one time it can be shown; it goes when the view closes or the link is revoked.
   */
  newLink?: DashboardLink;
  /** Set once the dashboard was deleted from this view. */
  deleted?: boolean;
}

/** One dashboard and the changes its view makes, each followed by a refresh. */
export class DashboardModel extends RemoteState<DashboardState> {
  private newLink?: DashboardLink;
  private deleted = false;

  constructor(
    readonly api: DashboardsApi,
    readonly slug: string,
  ) {
    super({ versions: [] });
  }

  get role(): DashboardInfo['role'] | undefined {
    return this.value.dashboard?.role;
  }

  get canEdit(): boolean {
    return this.role === 'owner' || this.role === 'editor';
  }

  get isOwner(): boolean {
    return this.role === 'owner';
  }

  /** A new secret link; the one before it stops working. */
  replaceLink(): Promise<boolean> {
    return this.act(async () => (this.newLink = await this.api.createLink(this.slug)));
  }

  revokeLink(): Promise<boolean> {
    return this.act(async () => {
      await this.api.deleteLink(this.slug);
      this.newLink = undefined;
    });
  }

  /**
   * Sets the refresh schedule. A dashboard without one needs the notebook to re-run: `notebook` is
   * asked for only then (the server keeps it, and the cells chosen at publish, from then on).
   */
  setSchedule(cron: string, timezone: string, notebook: () => Promise<unknown>): Promise<boolean> {
    return this.act(async () => {
      const kept = this.value.dashboard?.schedule;
      return this.api.setSchedule(this.slug, { cron, timezone, ...(kept ? {} : { notebook: await notebook() }) });
    });
  }

  stopSchedule(): Promise<boolean> {
    return this.act(() => this.api.setSchedule(this.slug, { cron: null }));
  }

  refreshNow(): Promise<boolean> {
    return this.act(() => this.api.refreshNow(this.slug));
  }

  revert(version: number): Promise<boolean> {
    return this.act(() => this.api.revert(this.slug, version));
  }

  delete(): Promise<boolean> {
    return this.act(async () => {
      await this.api.delete(this.slug);
      this.deleted = true;
    });
  }

  /** Runs a change, then refreshes; a failure shows in `error` (and is emitted) instead of being thrown. Answers whether it succeeded. */
  private async act(change: () => Promise<unknown>): Promise<boolean> {
    try {
      await change();
    } catch (e) {
      this.fail(e);
      return false;
    }
    await this.refresh();
    return true;
  }

  protected async fetch(): Promise<DashboardState> {
    if (this.deleted) return { versions: [], deleted: true };
    const dashboard = await this.api.get(this.slug);
    const editor = dashboard.role === 'owner' || dashboard.role === 'editor';
    // hasLink false: revoked, here or elsewhere, so the link made here no longer works either.
    if (!dashboard.hasLink) this.newLink = undefined;
    return { dashboard, versions: editor ? await this.api.versions(this.slug) : [], newLink: this.newLink };
  }
}
