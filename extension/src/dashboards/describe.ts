// How the Dashboards panel words a dashboard's state, shared by its list rows and its detail view.
import type { TranslationBundle } from '@jupyterlab/translation';
import { h } from '../dom';
import type { DashboardInfo } from './api';

const when = (iso: string) => new Date(iso).toLocaleString();

/** "0 6 * * 1-5 (Europe/Berlin), next 24/11/2026, 06:00", or that there is none. */
export function scheduleText(dashboard: DashboardInfo, trans: TranslationBundle): string {
  const { schedule } = dashboard;
  if (!schedule) return trans.__('no refresh schedule');
  const next = schedule.nextRunAt ? trans.__(', next %1', when(schedule.nextRunAt)) : '';
  return trans.__('refreshes %1 (%2)%3', schedule.cron, schedule.timezone, next);
}

/**
 * The last refresh: a status chip, when, its error, and a link to the job that ran it; null when
 * there was none (or the caller may not see it).
 */
export function lastRunLine(dashboard: DashboardInfo, trans: TranslationBundle, openJob: (id: string) => void): HTMLElement | null {
  const run = dashboard.lastRun;
  if (!run) return null;
  const status = { running: trans.__('running'), succeeded: trans.__('succeeded'), failed: trans.__('failed') }[run.status];
  return h(
    'div',
    { class: 'tandem-dashboards-run' },
    trans.__('Last refresh'),
    h('span', { class: `tandem-dashboards-chip tandem-dashboards-${run.status}` }, status),
    when(run.at),
    run.jobId &&
      h(
        'a',
        {
          href: '#',
          class: 'tandem-dashboards-job',
          'data-job': run.jobId,
          title: trans.__('Show the refresh job in the Jobs panel'),
          onclick: (e) => {
            e.preventDefault();
            e.stopPropagation();
            openJob(run.jobId!);
          },
        },
        trans.__('job'),
      ),
    run.error && h('div', { class: 'tandem-dashboards-run-error' }, run.error),
  );
}

/** The chips after a title: current version and live mode. */
export function chips(dashboard: DashboardInfo, trans: TranslationBundle): HTMLElement[] {
  return [
    dashboard.currentVersion !== null &&
      h(
        'span',
        { class: 'tandem-dashboards-chip tandem-dashboards-version', title: trans.__('current version') },
        `v${dashboard.currentVersion}`,
      ),
    dashboard.liveNotebookId !== null &&
      h(
        'span',
        { class: 'tandem-dashboards-chip tandem-dashboards-live', title: trans.__('follows its shared notebook live') },
        trans.__('● live'),
      ),
  ].filter((chip): chip is HTMLSpanElement => chip !== false);
}
