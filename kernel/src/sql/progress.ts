// Shows a live "running for 12 s, 40 %" line under a cell while a long query runs.
import { randomUUID } from 'node:crypto';
import { publishDisplay } from '../kernel/channel.js';

const SHOW_AFTER_MS = 1000;
const EVERY_MS = 500;

export interface ProgressSource {
  /** 0–100, or -1 when DuckDB cannot estimate it. */
  percentage(): number;
}

export function trackProgress(label: string, source: ProgressSource): { done(summary: string): void } {
  const started = performance.now();
  const displayId = randomUUID();
  let shown = false;
  const line = () => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const pct = source.percentage();
    return `${label}: running for ${seconds} s${pct >= 0 ? `, ${pct.toFixed(0)} %` : ''}`;
  };
  const tick = () => {
    publishDisplay({ 'text/plain': line() }, { displayId, update: shown });
    shown = true;
  };
  const first = setTimeout(() => {
    tick();
    timer = setInterval(tick, EVERY_MS);
  }, SHOW_AFTER_MS);
  let timer: NodeJS.Timeout | undefined;
  return {
    done(summary) {
      clearTimeout(first);
      clearInterval(timer);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (shown) publishDisplay({ 'text/plain': `${label}: ${summary} in ${seconds} s` }, { displayId, update: true });
    },
  };
}
