// Controls the Publish dialog and the Dashboards panel share: the schedule fields and a Copy button.
import { Clipboard } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { checkIcon, copyIcon, type LabIcon } from '@jupyterlab/ui-components';
import { h } from '../dom';

const ZONES_ID = 'tandem-time-zones';
const COPIED_MS = 2000;

/** A themed button (JupyterLab's colours, not the browser's grey), with an icon when given. */
export function button(
  label: string,
  onclick: () => void,
  options: { icon?: LabIcon; kind?: 'accept' | 'warn'; title?: string; class?: string } = {},
): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      class: ['jp-mod-styled', 'tandem-button', options.kind && `jp-mod-${options.kind}`, options.class].filter(Boolean).join(' '),
      title: options.title,
      onclick: (e) => {
        // Buttons sit in rows that open on click: the button's action is the only one.
        e.stopPropagation();
        onclick();
      },
    },
    options.icon ? options.icon.element({ tag: 'span', className: 'tandem-button-icon' }) : null,
    h('span', { class: 'tandem-button-label' }, label),
  );
}

/**
 * A Copy button: puts `text` on the clipboard and says so ("Copied", with a check) for two
 * seconds, which screen readers announce.
 */
export function copyButton(text: string | (() => string), trans: TranslationBundle, label = trans.__('Copy')): HTMLButtonElement {
  let timer: number | undefined;
  const copy = h('button', { type: 'button', class: 'jp-mod-styled tandem-button tandem-copy' });
  const show = (icon: LabIcon, caption: string) =>
    copy.replaceChildren(
      icon.element({ tag: 'span', className: 'tandem-button-icon' }),
      h('span', { class: 'tandem-button-label', 'aria-live': 'polite' }, caption),
    );
  show(copyIcon, label);
  copy.addEventListener('click', (e) => {
    e.stopPropagation();
    Clipboard.copyToSystem(typeof text === 'string' ? text : text());
    copy.classList.add('tandem-mod-copied');
    show(checkIcon, trans.__('Copied'));
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      copy.classList.remove('tandem-mod-copied');
      show(copyIcon, label);
    }, COPIED_MS);
  });
  return copy;
}

/** The cron and time zone inputs of a refresh schedule; time zones are offered from one shared list. */
export function scheduleInputs(
  values: { cron: string; timezone: string },
  trans: TranslationBundle,
): { cron: HTMLInputElement; timezone: HTMLInputElement } {
  if (!document.getElementById(ZONES_ID))
    document.body.append(
      h('datalist', { id: ZONES_ID }, ...Intl.supportedValuesOf('timeZone').map((zone) => h('option', { value: zone }))),
    );
  return {
    cron: h('input', {
      class: 'jp-mod-styled',
      value: values.cron,
      placeholder: trans.__('e.g. 0 6 * * 1-5 (06:00 on weekdays); empty: no refresh'),
      'aria-label': trans.__('Refresh schedule'),
    }),
    timezone: h('input', { class: 'jp-mod-styled', value: values.timezone, list: ZONES_ID, 'aria-label': trans.__('Time zone') }),
  };
}
