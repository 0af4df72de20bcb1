import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { caretLeftIcon, deleteIcon, launchIcon, linkIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { h, KeyedRows } from '../dom';
import type { DashboardInfo, DashboardVersion } from './api';
import { button, copyButton, scheduleInputs } from './controls';
import type { DashboardModel } from './dashboards-model';
import { chips, lastRunLine, scheduleText } from './describe';

export interface DashboardViewOptions {
  onBack: () => void;
  openJob: (id: string) => void;
  /** The notebook a dashboard was published from, as saved (to start a schedule, which re-runs it). */
  loadNotebook: (path: string) => Promise<unknown>;
  trans: TranslationBundle;
}

/**
 * One dashboard in the Dashboards panel: open it, copy its link, make or revoke its secret link,
 * edit its refresh schedule, list its versions, delete it. Built once; each `stateChanged` of its
 * DashboardModel updates the parts that show state, so typing in the schedule survives a refresh.
 */
export class DashboardDetail extends Widget {
  private readonly trans: TranslationBundle;
  private readonly heading = h('div', { class: 'tandem-dashboards-detail-name' });
  private readonly meta = h('div', { class: 'tandem-dashboards-meta' });
  private readonly status = h('div', { class: 'tandem-dashboards-status', role: 'status' });
  private readonly linkSection = h('section', { class: 'tandem-dashboards-section tandem-dashboards-link' });
  private readonly scheduleSection = h('section', { class: 'tandem-dashboards-section tandem-dashboards-schedule' });
  private readonly versionsSection = h('section', { class: 'tandem-dashboards-section tandem-dashboards-versions' });
  private readonly deleteSection = h('section', { class: 'tandem-dashboards-section tandem-dashboards-delete-section' });
  private readonly linkState = h('div', { class: 'tandem-dashboards-hint' });
  private readonly newLink = h('div', { class: 'tandem-dashboards-new-link' });
  private readonly linkButtons = h('div', { class: 'tandem-dashboards-actions' });
  private readonly scheduleState = h('div', { class: 'tandem-dashboards-hint' });
  private readonly lastRun = h('div');
  private readonly scheduleButtons = h('div', { class: 'tandem-dashboards-actions' });
  private readonly cron: HTMLInputElement;
  private readonly timezone: HTMLInputElement;
  private readonly versions: KeyedRows<{ version: DashboardVersion; current: boolean }>;
  /** The schedule the inputs last showed: they follow the server only when it changes, not while typed in. */
  private shownSchedule = '';
  private renderedLink?: string;

  constructor(
    readonly model: DashboardModel,
    private readonly options: DashboardViewOptions,
  ) {
    super({ node: h('div', { class: 'tandem-dashboards-detail' }) });
    const trans = (this.trans = options.trans);
    ({ cron: this.cron, timezone: this.timezone } = scheduleInputs({ cron: '', timezone: '' }, trans));
    this.versions = new KeyedRows(
      h('ul', { class: 'tandem-dashboards-version-list' }),
      ({ version }) => String(version.number),
      (row) => this.versionItem(row.version, row.current),
    );
    const slug = model.slug;
    const api = model.api;
    this.linkSection.append(h('h3', {}, trans.__('Secret link')), this.linkState, this.newLink, this.linkButtons);
    this.scheduleSection.append(
      h('h3', {}, trans.__('Refresh schedule')),
      h('label', {}, trans.__('Cron (empty: no refresh)'), this.cron),
      h('label', {}, trans.__('Time zone'), this.timezone),
      this.scheduleButtons,
      this.scheduleState,
      this.lastRun,
    );
    this.versionsSection.append(h('h3', {}, trans.__('Versions')), this.versions.node);
    this.deleteSection.append(
      button(trans.__('Delete dashboard…'), () => void this.confirmDelete(), {
        icon: deleteIcon,
        kind: 'warn',
        class: 'tandem-dashboards-delete',
      }),
    );
    this.node.append(
      h(
        'div',
        { class: 'tandem-dashboards-detail-header' },
        button(trans.__('All dashboards'), options.onBack, {
          icon: caretLeftIcon,
          title: trans.__('Back to all dashboards'),
          class: 'tandem-dashboards-back',
        }),
      ),
      this.heading,
      this.meta,
      h(
        'div',
        { class: 'tandem-dashboards-actions' },
        button(trans.__('Open'), () => window.open(api.pageUrl(slug), '_blank', 'noopener'), {
          icon: launchIcon,
          title: trans.__('Open the dashboard in a new browser tab'),
        }),
        copyButton(() => api.linkUrl(slug), trans, trans.__('Copy link')),
      ),
      this.status,
      this.linkSection,
      this.scheduleSection,
      this.versionsSection,
      this.deleteSection,
    );
    model.stateChanged.connect(this.render, this);
    this.render();
  }

  override dispose(): void {
    this.model.dispose();
    super.dispose();
  }

  private render(): void {
    const { dashboard, versions, newLink, deleted } = this.model.value;
    const trans = this.trans;
    this.status.textContent = this.model.error ?? (this.model.loaded ? '' : trans.__('Loading…'));
    this.status.classList.toggle('tandem-dashboards-error', this.model.error !== undefined);
    if (deleted) return this.options.onBack();
    if (!dashboard) return;
    this.heading.replaceChildren(dashboard.title, ...chips(dashboard, trans));
    this.meta.textContent = [
      dashboard.slug,
      trans.__('you are %1', dashboard.role),
      trans.__('updated %1', new Date(dashboard.updatedAt).toLocaleString()),
      dashboard.notebookPath && trans.__('from %1', dashboard.notebookPath),
    ]
      .filter(Boolean)
      .join(' · ');
    const editor = this.model.canEdit;
    for (const section of [this.linkSection, this.scheduleSection, this.versionsSection]) section.hidden = !editor;
    this.deleteSection.hidden = !this.model.isOwner;
    if (!editor) {
      this.status.textContent ||= trans.__('Its editors see its versions, schedule and secret link.');
      return;
    }
    this.renderLink(dashboard, newLink?.url);
    this.renderSchedule(dashboard);
    this.versions.update(versions.map((version) => ({ version, current: version.number === dashboard.currentVersion })));
  }

  private renderLink(dashboard: DashboardInfo, made: string | undefined): void {
    const trans = this.trans;
    this.linkState.textContent = dashboard.hasLink
      ? trans.__('Active: anyone with the secret link can view, without signing in.')
      : trans.__('None: only people it is shared with can open it.');
    if (made !== this.renderedLink) {
      this.renderedLink = made;
      const url = made && `${this.model.api.client.url}${made}`;
      this.newLink.replaceChildren(
        ...(url
          ? [
              h(
                'div',
                { class: 'tandem-link-row' },
                h('input', { class: 'jp-mod-styled', readonly: true, value: url, 'aria-label': trans.__('Secret link') }),
                copyButton(url, trans),
              ),
              h(
                'div',
                { class: 'tandem-dashboards-hint' },
                trans.__('Copy it now: Tandem keeps only a fingerprint of it and cannot show it again.'),
              ),
            ]
          : []),
      );
    }
    const owner = this.model.isOwner;
    this.linkButtons.replaceChildren(
      ...(owner
        ? [
            button(
              dashboard.hasLink ? trans.__('Replace link…') : trans.__('Create link'),
              () => void this.replaceLink(dashboard.hasLink),
              {
                icon: linkIcon,
                class: 'tandem-dashboards-replace-link',
              },
            ),
            dashboard.hasLink &&
              button(trans.__('Revoke link…'), () => void this.revokeLink(), { kind: 'warn', class: 'tandem-dashboards-revoke-link' }),
          ].filter((b): b is HTMLButtonElement => b !== false)
        : [h('span', { class: 'tandem-dashboards-hint' }, trans.__('Only its owner makes or revokes the secret link.'))]),
    );
  }

  private renderSchedule(dashboard: DashboardInfo): void {
    const trans = this.trans;
    const { schedule } = dashboard;
    const shown = JSON.stringify(schedule && [schedule.cron, schedule.timezone]);
    if (shown !== this.shownSchedule) {
      this.shownSchedule = shown;
      this.cron.value = schedule?.cron ?? '';
      this.timezone.value = schedule?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    }
    this.scheduleState.textContent = schedule
      ? scheduleText(dashboard, trans)
      : dashboard.notebookPath
        ? trans.__('No schedule. Saving one re-runs %1 as saved, headless, on a worker.', dashboard.notebookPath)
        : trans.__('No schedule. It was published from a cell: publish it from its notebook to schedule it.');
    this.lastRun.replaceChildren(lastRunLine(dashboard, trans, this.options.openJob) ?? '');
    this.scheduleButtons.replaceChildren(
      button(trans.__('Save schedule'), () => void this.saveSchedule(), { kind: 'accept', class: 'tandem-dashboards-save-schedule' }),
      ...(schedule
        ? [
            button(trans.__('Stop refreshing'), () => void this.stopSchedule(), { class: 'tandem-dashboards-stop-schedule' }),
            button(trans.__('Refresh now'), () => void this.model.refreshNow(), {
              icon: refreshIcon,
              class: 'tandem-dashboards-refresh-now',
            }),
          ]
        : []),
    );
  }

  private versionItem(version: DashboardVersion, current: boolean): HTMLElement {
    const trans = this.trans;
    const { api, slug } = this.model;
    return h(
      'li',
      { class: 'tandem-dashboards-version-item', 'data-version': version.number },
      h(
        'div',
        { class: 'tandem-dashboards-item-name' },
        `v${version.number}`,
        current && h('span', { class: 'tandem-dashboards-chip tandem-dashboards-current' }, trans.__('current')),
        h('span', { class: 'tandem-dashboards-version-title' }, version.title),
      ),
      h(
        'div',
        { class: 'tandem-dashboards-meta' },
        `${version.origin === 'schedule' ? trans.__('refreshed') : trans.__('published')} ${new Date(version.createdAt).toLocaleString()}`,
      ),
      h(
        'div',
        { class: 'tandem-dashboards-actions' },
        button(trans.__('Open'), () => window.open(api.pageUrl(slug, version.number), '_blank', 'noopener'), {
          icon: launchIcon,
          title: trans.__('Open version %1 in a new browser tab', version.number),
        }),
        !current &&
          button(trans.__('Make current'), () => void this.model.revert(version.number), {
            title: trans.__('Show version %1 to viewers again (later versions are kept)', version.number),
          }),
      ),
    );
  }

  private async saveSchedule(): Promise<void> {
    const cron = this.cron.value.trim();
    if (!cron) return this.stopSchedule();
    const path = this.model.value.dashboard?.notebookPath;
    await this.model.setSchedule(cron, this.timezone.value.trim(), async () => {
      if (!path)
        throw new Error(this.trans.__('notebook: this dashboard was published from a cell; publish it from its notebook to schedule it'));
      return this.options.loadNotebook(path);
    });
  }

  private async stopSchedule(): Promise<void> {
    if (await this.model.stopSchedule()) this.cron.value = '';
  }

  private async replaceLink(exists: boolean): Promise<void> {
    if (exists && !(await this.confirm(this.trans.__('Replace the secret link?'), this.trans.__('Replace'), this.linkWarning()))) return;
    await this.model.replaceLink();
  }

  private async revokeLink(): Promise<void> {
    if (!(await this.confirm(this.trans.__('Revoke the secret link?'), this.trans.__('Revoke'), this.linkWarning()))) return;
    await this.model.revokeLink();
  }

  private linkWarning(): string {
    return this.trans.__('Anyone who has the current link can no longer open the dashboard, at once. People it is shared with still can.');
  }

  private async confirmDelete(): Promise<void> {
    const dashboard = this.model.value.dashboard;
    if (!dashboard) return;
    const trans = this.trans;
    const sure = await this.confirm(
      trans.__('Delete “%1”?', dashboard.title),
      trans.__('Delete'),
      trans._n(
        'Its version, schedule and secret link go too: nobody can open it any more. This cannot be undone.',
        'Its %1 versions, schedule and secret link go too: nobody can open it any more. This cannot be undone.',
        Math.max(this.model.value.versions.length, 1),
      ),
    );
    if (sure) await this.model.delete();
  }

  private async confirm(title: string, label: string, body: string): Promise<boolean> {
    const result = await showDialog({
      title,
      body,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })],
    });
    return result.button.accept;
  }
}
