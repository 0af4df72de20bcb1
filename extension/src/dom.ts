/** Tiny DOM builder shared by Tandem's widgets: `h('button', { class: 'x', onclick }, 'text')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | ((e: Event) => void) | undefined> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (key in el && typeof value !== 'string') (el as unknown as Record<string, unknown>)[key] = value;
    else el.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

/** Numbers as people read them (1,208; 0.912), as the kernel's displays show them. */
export { formatNumber } from '@tandem/server/api';

/** A size as people read it: 512 B, 3.4 KB, 1.2 GB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(Math.max(n, 1)) / Math.log(1024)));
  return `${Number((n / 1024 ** i).toFixed(1))} ${units[i]}`;
}

/**
 * Children keyed by id (a model's name, a job's id, a page's section): `update()` builds a node only
 * for an item that is new or changed, moves the others into order and drops the gone ones, so that
 * focus, scroll position and text selection in what stayed survive a refresh.
 */
export class KeyedRows<T> {
  private readonly rows = new Map<string, { signature: string; node: HTMLElement }>();

  constructor(
    readonly node: HTMLElement,
    private readonly key: (item: T) => string,
    private readonly render: (item: T) => HTMLElement,
  ) {}

  update(items: readonly T[]): void {
    // Moving or replacing a node blurs what has focus in it: it (or the node that replaced it) gets it back.
    const active = document.activeElement;
    const focused = active instanceof HTMLElement && this.node.contains(active) ? active : undefined;
    let replacement: HTMLElement | undefined;
    const seen = new Set<string>();
    let at = this.node.firstChild;
    for (const item of items) {
      const key = this.key(item);
      seen.add(key);
      const signature = JSON.stringify(item);
      let row = this.rows.get(key);
      if (row?.signature !== signature) {
        const node = this.render(item);
        if (row) {
          if (focused && row.node.contains(focused)) replacement = node;
          if (at === row.node) at = node;
          row.node.replaceWith(node);
        }
        row = { signature, node };
        this.rows.set(key, row);
      }
      if (row.node === at) at = at.nextSibling;
      else this.node.insertBefore(row.node, at);
    }
    for (const [key, row] of this.rows) {
      if (seen.has(key)) continue;
      row.node.remove();
      this.rows.delete(key);
    }
    const target = focused?.isConnected ? focused : replacement;
    if (target && document.activeElement !== target) target.focus({ preventScroll: true });
  }
}
