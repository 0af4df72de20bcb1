import { Dialog, showDialog } from '@jupyterlab/apputils';
import { nullTranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h } from '../dom';
import type { CellChoice } from './api';
import { describeCells, selectionOf, type NotebookCell } from './cells';
import { copyButton, scheduleInputs } from './controls';

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
  const { cron, timezone } = scheduleInputs(defaults, trans);
  const shareLink = h('input', { type: 'checkbox', class: 'jp-mod-styled', 'aria-label': trans.__('Create a share link') });
  const live = h('input', {
    type: 'checkbox',
    class: 'jp-mod-styled',
    checked: defaults.live === true,
    'aria-label': trans.__('Follow live'),
  });
  const rows = describeCells(cells).map((cell) => {
    const isCode = cell.kind === 'code';
    const name = `${cell.label} ${cell.preview}`.trim();
    const show = h('input', {
      type: 'checkbox',
      class: 'jp-mod-styled',
      checked: cell.chosen,
      disabled: cell.publishes,
      'aria-label': trans.__('Show %1', name),
    });
    const code = h('input', {
      type: 'checkbox',
      class: 'jp-mod-styled',
      disabled: !isCode || cell.publishes,
      'aria-label': trans.__('Show code of %1', name),
    });
    const row = h(
      'tr',
      {
        class: `tandem-publish-cell${cell.publishes ? ' tandem-publish-publisher' : ''}`,
        'data-index': cell.index,
        title: cell.publishes ? trans.__('This cell publishes the dashboard: it is never shown on it') : undefined,
      },
      h('td', {}, show),
      h('td', {}, isCode ? code : ''),
      h('td', { class: 'tandem-publish-kind' }, cell.label),
      h(
        'td',
        { class: 'tandem-publish-preview' },
        cell.preview || trans.__('(empty)'),
        cell.publishes && h('span', { class: 'tandem-publish-note' }, trans.__('publishes the dashboard, never shown')),
      ),
    );
    return { row, show, code, cell };
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
      h('label', {}, trans.__('Time zone of the schedule'), timezone),
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
  const dialog = new Dialog({
    title: defaults.republish ? trans.__('Republish dashboard (new version)') : trans.__('Publish as dashboard'),
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: defaults.republish ? trans.__('Republish') : trans.__('Publish') })],
    focusNodeSelector: 'input',
  });
  // Lets the dialog grow past JupyterLab's 500 px, so the cell list is a list and not a slit.
  dialog.addClass('tandem-publish-dialog');
  const result = await dialog.launch();
  if (!result.button.accept) return undefined;
  return {
    title: title.value.trim() || defaults.title,
    description: description.value,
    selection: selectionOf(rows.map(({ cell, show, code }) => ({ cell, show: show.checked, code: code.checked }))),
    cron: cron.value.trim(),
    timezone: timezone.value.trim() || defaults.timezone,
    shareLink: shareLink.checked,
    live: defaults.live !== undefined && live.checked,
  };
}

/** Tells where the dashboard lives, with the secret link to copy when one was made. */
export async function showPublished(
  info: { title: string; version: number; pageUrl: string; shareUrl?: string },
  trans: TranslationBundle = nullTranslator.load('tandem'),
): Promise<void> {
  const body = info.shareUrl
    ? h(
        'div',
        { class: 'tandem-publish' },
        h(
          'label',
          {},
          trans.__('Secret share link: anyone with it can view'),
          h(
            'span',
            { class: 'tandem-link-row' },
            h('input', { class: 'jp-mod-styled', readonly: true, value: info.shareUrl, 'aria-label': trans.__('Share link') }),
            copyButton(info.shareUrl, trans),
          ),
        ),
        h(
          'div',
          { class: 'tandem-publish-hint' },
          trans.__(
            'Copy it now: Tandem keeps only a fingerprint of it and cannot show it again. Replace or revoke it in the Dashboards panel.',
          ),
        ),
      )
    : h('div', { class: 'tandem-publish' }, trans.__('People you share it with find it in their Dashboards panel.'));
  const result = await showDialog({
    title: trans.__('Published “%1”, version %2', info.title, info.version),
    body: new Widget({ node: body }),
    buttons: [Dialog.cancelButton({ label: trans.__('Close') }), Dialog.okButton({ label: trans.__('Open dashboard') })],
  });
  if (result.button.accept) window.open(info.pageUrl, '_blank', 'noopener');
}
