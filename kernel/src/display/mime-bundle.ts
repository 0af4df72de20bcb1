// How a cell's value is shown: objects may describe themselves with `toMimeBundle`, otherwise
// a rich renderer is picked by shape (Arrow table, SVG element), with `text/plain` always present.
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

type Formatter = (value: object) => MimeBundle | undefined;
const formatters: Formatter[] = [];

/** Lets SDK modules (tables, plots) recognise their values without this module importing them. */
export function addFormatter(formatter: Formatter): void {
  formatters.push(formatter);
}

export function mimeBundleOf(value: unknown): MimeBundle {
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
