// How a cell's value is shown: objects may describe themselves with `toMimeBundle`, otherwise
// a rich renderer is picked by shape (Arrow table, SVG element), with `text/plain` always present.
// Values whose state changes after the cell (a running job) show themselves instead, as a
// display they keep updating.
import { inspect } from 'node:util';
import type { MimeBundle } from '../kernel/channel.js';

/** Values carrying this symbol render themselves (tables, figures, md/html helpers). */
export const toMimeBundle = Symbol.for('tandem.toMimeBundle');

export interface SelfDisplaying {
  [toMimeBundle](): MimeBundle;
}

/**
 * Gives a plain data object (a server answer) a display of its own without changing its data: the
 * symbol is not enumerable, so spreading, JSON and equality checks see the object as before.
 */
export function displayedAs<T extends object>(value: T, bundle: (value: T) => MimeBundle): T {
  Object.defineProperty(value, toMimeBundle, { value: () => bundle(value), enumerable: false, configurable: true });
  return value;
}

/** Values carrying this symbol show themselves as a cell's value, in a display they keep up to date. */
export const showsItself = Symbol.for('tandem.showsItself');

export interface ShowingItself {
  [showsItself](): void;
}

type Formatter = (value: object) => MimeBundle | undefined;
const formatters: Formatter[] = [];

/** Lets SDK modules (tables, plots) recognise their values without this module importing them. */
export function addFormatter(formatter: Formatter): void {
  formatters.push(formatter);
}

/**
 * What the cell shows as its result for `value`; nothing for a value that showed itself (its live
 * display is already under the cell).
 */
export function mimeBundleOf<T>(value: T): T extends ShowingItself ? undefined : unknown extends T ? MimeBundle | undefined : MimeBundle;
export function mimeBundleOf(value: unknown): MimeBundle | undefined {
  const show = value !== null && typeof value === 'object' ? (value as Partial<ShowingItself>)[showsItself] : undefined;
  if (typeof show === 'function') {
    show.call(value);
    return undefined;
  }
  return snapshotOf(value);
}

/** How `value` looks now, as one bundle: for displays and dashboards, which show a moment, not a live view. */
export function snapshotOf(value: unknown): MimeBundle {
  if (value !== null && typeof value === 'object') {
    const own = (value as Partial<SelfDisplaying>)[toMimeBundle];
    if (typeof own === 'function') return own.call(value);
    for (const format of formatters) {
      const bundle = format(value);
      if (bundle) return bundle;
    }
  }
  return { 'text/plain': typeof value === 'string' ? inspect(value) : inspect(value, { colors: false, depth: 4 }) };
}
