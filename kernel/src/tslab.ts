// `import * as tslab from 'tslab'` in a cell: tslab's display API on the Tandem kernel, so that
// notebooks written for tslab run unchanged. Displays go out as tslab sent them: one MIME type
// each, binary data in base64, and a `newDisplay()` that replaces its own output on every call.
import { randomBytes } from 'node:crypto';
import { publishDisplay } from './kernel/channel.js';

export interface Display {
  javascript(s: string): void;
  html(s: string): void;
  markdown(s: string): void;
  latex(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
  jpeg(b: Uint8Array): void;
  gif(b: Uint8Array): void;
  pdf(b: Uint8Array): void;
  text(s: string): void;
  raw(contentType: string, b: string | Uint8Array): void;
}

class TslabDisplay implements Display {
  private shown = false;

  constructor(private readonly id?: string) {}

  raw(contentType: string, b: string | Uint8Array): void {
    const data = typeof b === 'string' ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    publishDisplay({ [contentType]: data }, { displayId: this.id, update: this.shown });
    if (this.id) this.shown = true;
  }

  javascript = (s: string) => this.raw('text/javascript', s);
  html = (s: string) => this.raw('text/html', s);
  markdown = (s: string) => this.raw('text/markdown', s);
  latex = (s: string) => this.raw('text/latex', s);
  svg = (s: string) => this.raw('image/svg+xml', s);
  png = (b: Uint8Array) => this.raw('image/png', b);
  jpeg = (b: Uint8Array) => this.raw('image/jpeg', b);
  gif = (b: Uint8Array) => this.raw('image/gif', b);
  pdf = (b: Uint8Array) => this.raw('application/pdf', b);
  text = (s: string) => this.raw('text/plain', s);
}

/** Shows rich output in the running cell's output area. */
export const display: Display = new TslabDisplay();

/** A display that the first call shows and every later call replaces. */
export function newDisplay(): Display {
  return new TslabDisplay(randomBytes(8).toString('hex'));
}

/** The tslab release whose API this module provides, and what the kernel runs on. */
export const versions = {
  tslab: '1.0.22',
  typescript: (require('typescript/package.json') as { version: string }).version,
  node: process.version,
};
