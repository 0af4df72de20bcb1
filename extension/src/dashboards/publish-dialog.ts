import { Dialog, showDialog } from '@jupyterlab/apputils';
import { nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { CellChoice } from './api';

interface NotebookCell {
  cell_type: string;
  source: string | string[];
  outputs?: unknown[];
}

export interface PublishChoices {
  title: string;
  description: string;
  selection: CellChoice[];
  /** Cron expression for scheduled refresh, or '' for none. */
  cron: string;
  /** IANA time zone whose wall clock the cron fields describe. */
  timezone: string;
  shareLink: boolean;
  /** Follow the shared notebook's outputs as collaborators run it. */
  live: boolean;
}

const preview = (cell: NotebookCell, trans: TranslationBundle) => {
  const text = (Array.isArray(cell.source) ? cell.source.join('') : cell.source).trim().split('\n')[0] ?? '';
  return text.length > 80 ? `${text.slice(0, 80)}…` : text || trans.__('(empty)');
};

/**
 * Asks what to publish: title, description, and per cell whether it shows and whether its code
 * shows (hidden by default: managers see results, not code). Resolves to undefined on cancel.
 */
export async function askPublishChoices(
  cells: NotebookCell[],
  defaults: { title: string; description: string; cron: string; timezone: string; republish: boolean; live?: boolean },
  trans: TranslationBundle = nullTranslator.load('tandem'),
): Promise<PublishChoices | undefined> {
  const title = h('input', { class: 'jp-mod-styled', value: defaults.title, 'aria-label': trans.__('Dashboard title') });
  const description = h('textarea', {
    class: 'jp-mod-styled',
    rows: 2,
    placeholder: trans.__('Description (markdown)'),
    'aria-label': trans.__('Dashboard description'),
  });
  description.value = defaults.description;
  const cron = h('input', {
    class: 'jp-mod-styled',
    value: defaults.cron,
    placeholder: trans.__('e.g. 0 6 * * 1-5 (06:00 on weekdays); empty: no refresh'),
    'aria-label': trans.__('Refresh schedule'),
  });
  const timezone = h('input', {
    class: 'jp-mod-styled',
    value: defaults.timezone,
    list: 'tandem-time-zones',
    'aria-label': trans.__('Time zone'),
  });
  const zones = h(
    'datalist',
    { id: 'tandem-time-zones' },
    ...Intl.supportedValuesOf('timeZone').map((zone) => h('option', { value: zone })),
  );
  const shareLink = h('input', { type: 'checkbox', 'aria-label': trans.__('Create a share link') });
  const live = h('input', { type: 'checkbox', checked: defaults.live === true, 'aria-label': trans.__('Follow live') });
  const rows = cells.map((cell, index) => {
    const isCode = cell.cell_type === 'code';
    const show = h('input', {
      type: 'checkbox',
      checked: cell.cell_type === 'markdown' || (cell.outputs?.length ?? 0) > 0,
      'aria-label': trans.__('Show cell %1', index + 1),
    });
    const code = h('input', { type: 'checkbox', disabled: !isCode, 'aria-label': trans.__('Show code of cell %1', index + 1) });
    const row = h(
      'tr',
      { class: 'tandem-publish-cell' },
      h('td', {}, show),
      h('td', {}, isCode ? code : ''),
      h('td', { class: 'tandem-publish-kind' }, isCode ? `[${index + 1}]` : 'md'),
      h('td', { class: 'tandem-publish-preview' }, preview(cell, trans)),
    );
    return { row, show, code, index };
  });
  const body = new Widget({
    node: h(
      'div',
      { class: 'tandem-publish' },
      h('label', {}, trans.__('Title'), title),
      h('label', {}, trans.__('Description'), description),
      h('div', { class: 'tandem-publish-hint' }, trans.__('Choose what viewers see. Code stays hidden unless you tick “code”.')),
      h(
        'div',
        { class: 'tandem-publish-cells' },
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h('tr', {}, h('th', {}, trans.__('show')), h('th', {}, trans.__('code')), h('th', {}, ''), h('th', {}, trans.__('cell'))),
          ),
          h('tbody', {}, ...rows.map((r) => r.row)),
        ),
      ),
      h('label', {}, trans.__('Refresh schedule (cron) — re-runs this notebook headless'), cron),
      h('label', {}, trans.__('Time zone of the schedule'), timezone, zones),
      h('label', { class: 'tandem-publish-inline' }, shareLink, trans.__('Create a secret share link (anyone with it can view)')),
      defaults.live !== undefined &&
        h(
          'label',
          { class: 'tandem-publish-inline' },
          live,
          trans.__('Live: follow this shared notebook’s outputs as collaborators run it'),
        ),
    ),
  });
  const result = await showDialog({
    title: defaults.republish ? trans.__('Republish dashboard (new version)') : trans.__('Publish as dashboard'),
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: defaults.republish ? trans.__('Republish') : trans.__('Publish') })],
    focusNodeSelector: 'input',
  });
  if (!result.button.accept) return undefined;
  return {
    title: title.value.trim() || defaults.title,
    description: description.value,
    selection: rows.filter((r) => r.show.checked).map((r) => ({ index: r.index, code: r.code.checked, outputs: true })),
    cron: cron.value.trim(),
    timezone: timezone.value.trim() || defaults.timezone,
    shareLink: shareLink.checked,
    live: defaults.live !== undefined && live.checked,
  };
}

/** Tells where the dashboard lives, with the share link to copy when one was made. */
export async function showPublished(
  info: { title: string; version: number; pageUrl: string; shareUrl?: string },
  trans: TranslationBundle = nullTranslator.load('tandem'),
): Promise<void> {
  const link = info.shareUrl
    ? h('input', { class: 'jp-mod-styled tandem-publish-link', readonly: true, value: info.shareUrl, 'aria-label': trans.__('Share link') })
    : null;
  const result = await showDialog({
    title: trans.__('Published “%1”, version %2', info.title, info.version),
    body: new Widget({
      node: h(
        'div',
        { class: 'tandem-publish' },
        link
          ? h('label', {}, trans.__('Share link (copy it now: it is shown only once)'), link)
          : trans.__('Viewers you share it with open it from the link below.'),
      ),
    }),
    buttons: [Dialog.cancelButton({ label: trans.__('Close') }), Dialog.okButton({ label: trans.__('Open dashboard') })],
  });
  if (result.button.accept) window.open(info.pageUrl, '_blank', 'noopener');
}
