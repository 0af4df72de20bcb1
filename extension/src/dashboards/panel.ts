import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { launchIcon, refreshIcon, SidePanel, ToolbarButton } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import { h, KeyedRows } from '../dom';
import type { DashboardInfo, DashboardsApi } from './api';
import { button, copyButton } from './controls';
import { DashboardDetail } from './dashboard-view';
import { DashboardModel, DashboardsListModel } from './dashboards-model';
import { chips, lastRunLine, scheduleText } from './describe';

/** Refreshes (and their jobs) move on their own: the panel looks again this often while it is shown. */
const REFRESH_MS = 5000;

export interface DashboardsPanelOptions {
  api: DashboardsApi;
  openJob: (id: string) => void;
  loadNotebook: (path: string) => Promise<unknown>;
  translator?: ITranslator;
}

/**
 * Left-sidebar Dashboards panel: the dashboards the person can see, each with its version,
 * schedule, last refresh and live state; one opens into its detail (links, schedule, versions,
 * delete). The list's state is a DashboardsListModel; a refresh updates only the rows that changed.
 */
export class DashboardsPanel extends SidePanel {
  readonly model: DashboardsListModel;
  private readonly trans: TranslationBundle;
  private readonly list = new Widget({ node: h('div', { class: 'tandem-dashboards-list' }) });
  private readonly rows = new KeyedRows<DashboardInfo>(
    h('ul', { class: 'tandem-dashboards-results' }),
    (dashboard) => dashboard.slug,
    (dashboard) => this.item(dashboard),
  );
  private readonly status = h('div', { class: 'tandem-dashboards-status', role: 'status' });
  private detail?: DashboardDetail;
  private readonly timer: number;

  constructor(private readonly options: DashboardsPanelOptions) {
    super({ content: new Panel(), translator: options.translator });
    const trans = (this.trans = (options.translator ?? nullTranslator).load('tandem'));
    this.id = 'tandem-dashboards';
    this.title.caption = trans.__('Dashboards');
    this.addClass('tandem-dashboards-panel');
    this.header.addWidget(new Widget({ node: h('h2', { class: 'jp-text-truncated' }, trans.__('Dashboards')) }));
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({ icon: refreshIcon, tooltip: trans.__('Refresh the dashboards'), onClick: () => void this.refresh() }),
    );
    this.model = new DashboardsListModel(options.api);
    this.model.stateChanged.connect(this.render, this);
    this.list.node.append(this.status, this.rows.node);
    this.addWidget(this.list);
    this.timer = window.setInterval(() => {
      if (this.isVisible) void this.refresh();
    }, REFRESH_MS);
    void this.refresh();
  }

  override dispose(): void {
    window.clearInterval(this.timer);
    this.detail?.dispose();
    this.model.dispose();
    super.dispose();
  }

  /** Refreshes what is shown: the list, or the open dashboard. */
  refresh(): Promise<void> {
    return this.detail ? this.detail.model.refresh() : this.model.refresh();
  }

  /** Shows one dashboard's detail in place of the list. */
  open(slug: string): void {
    this.detail?.dispose();
    const { api, openJob, loadNotebook } = this.options;
    this.detail = new DashboardDetail(new DashboardModel(api, slug), {
      onBack: () => this.backToList(),
      openJob,
      loadNotebook,
      trans: this.trans,
    });
    this.list.hide();
    this.addWidget(this.detail);
    void this.detail.model.refresh();
  }

  protected override onAfterShow(): void {
    // Published from a notebook while the panel was hidden: show it without waiting for the timer.
    void this.refresh();
  }

  private backToList(): void {
    this.detail?.dispose();
    this.detail = undefined;
    this.list.show();
    void this.refresh();
  }

  private render(): void {
    const items = this.model.value;
    const error = this.model.error;
    this.rows.update(items);
    this.status.textContent =
      error ??
      (!this.model.loaded
        ? this.trans.__('Loading…')
        : items.length === 0
          ? this.trans.__('No dashboards yet. Publish one from a notebook’s toolbar (Publish).')
          : this.trans._n('%1 dashboard', '%1 dashboards', items.length));
    this.status.classList.toggle('tandem-dashboards-error', error !== undefined);
  }

  private item(dashboard: DashboardInfo): HTMLElement {
    const trans = this.trans;
    const { api, openJob } = this.options;
    const open = () => this.open(dashboard.slug);
    const editor = dashboard.role !== 'viewer';
    return h(
      'li',
      {
        class: 'tandem-dashboards-item',
        'data-slug': dashboard.slug,
        tabindex: 0,
        title: trans.__('Show versions, schedule and links of %1', dashboard.title),
        onclick: open,
        onkeydown: (e) => (e as KeyboardEvent).key === 'Enter' && e.target === e.currentTarget && open(),
      },
      h(
        'div',
        { class: 'tandem-dashboards-item-name' },
        h('span', { class: 'tandem-dashboards-title' }, dashboard.title),
        ...chips(dashboard, trans),
      ),
      h('div', { class: 'tandem-dashboards-meta' }, [dashboard.slug, editor && scheduleText(dashboard, trans)].filter(Boolean).join(' · ')),
      lastRunLine(dashboard, trans, openJob),
      h(
        'div',
        { class: 'tandem-dashboards-actions' },
        button(trans.__('Open'), () => window.open(api.pageUrl(dashboard.slug), '_blank', 'noopener'), {
          icon: launchIcon,
          title: trans.__('Open the dashboard in a new browser tab'),
        }),
        copyButton(() => api.linkUrl(dashboard.slug), trans, trans.__('Copy link')),
      ),
    );
  }
}
