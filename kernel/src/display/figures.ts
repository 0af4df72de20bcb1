// Observable Plot figures rendered to SVG in the kernel (linkedom as the DOM), and md/html helpers.
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { publishDisplay, type MimeBundle } from '../kernel/channel.js';
import { snapshotOf, toMimeBundle, type SelfDisplaying } from './mime-bundle.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

interface DomElement {
  tagName: string;
  outerHTML: string;
  setAttribute(name: string, value: string): void;
  querySelectorAll(selector: string): Iterable<DomElement>;
}

const displayable = (bundle: MimeBundle): SelfDisplaying => ({ [toMimeBundle]: () => bundle });

/** Renders `Plot.plot(options)` server-side: an SVG image, or HTML when Plot wraps it in a figure (legends, titles). */
export function plot(options: Plot.PlotOptions): SelfDisplaying {
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const node = Plot.plot({ ...options, document } as Plot.PlotOptions) as unknown as DomElement;
  for (const svg of node.tagName.toLowerCase() === 'svg' ? [node] : [...node.querySelectorAll('svg')]) {
    svg.setAttribute('xmlns', SVG_NS);
  }
  const markup = node.outerHTML;
  return displayable(
    node.tagName.toLowerCase() === 'svg'
      ? { 'image/svg+xml': markup, 'text/plain': '<Plot figure>' }
      : { 'text/html': markup, 'text/plain': '<Plot figure>' },
  );
}

export const md = (text: string): SelfDisplaying => displayable({ 'text/markdown': text, 'text/plain': text });

export const html = (markup: string): SelfDisplaying => displayable({ 'text/html': markup, 'text/plain': markup });

/** Shows `value` as it is now (not only as the cell's last expression); `id` lets a later display replace it. */
export function display(value: unknown, options: { id?: string; update?: boolean } = {}): void {
  publishDisplay(snapshotOf(value), { displayId: options.id, update: options.update });
}
