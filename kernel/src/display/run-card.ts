// How experiment runs look in a cell: one run as a compact card (name, status, id with a link,
// latest metrics, params), a search answer as a table, instead of the raw server answers.
import type { MetricValue, Run, RunStatus } from '@tandem/server/api';
import type { MimeBundle } from '../kernel/channel.js';

/** What a card shows: a run as the server answered it, or as a writer knows it while it logs. */
export interface RunCardState {
  id: string;
  name: string;
  experiment: string;
  status: RunStatus;
  metrics: Record<string, MetricValue>;
  params: Record<string, string>;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const formatValue = (v: MetricValue) => (typeof v !== 'number' ? v : Number.isInteger(v) ? v.toLocaleString('en-US') : v.toPrecision(4));
const STATUS_COLOR: Record<RunStatus, string> = { RUNNING: '#1976d2', FINISHED: '#388e3c', FAILED: '#d32f2f', KILLED: '#f57c00' };
const MUTED = 'color:var(--jp-ui-font-color2,#616161)';
const runLink = (serverUrl: string, id: string) => `${serverUrl}/tandem/api/runs/${id}`;
const status = (s: RunStatus) => `<span style="color:${STATUS_COLOR[s]};font-weight:600">${s}</span>`;

/** A run's latest metrics as the server answers them, by name. */
export const latestValues = (run: Pick<Run, 'metrics'>): Record<string, MetricValue> =>
  Object.fromEntries(Object.entries(run.metrics).map(([k, p]) => [k, p.value]));

export function runCard(run: RunCardState, serverUrl: string): MimeBundle {
  const metrics = Object.entries(run.metrics);
  const params = Object.entries(run.params);
  const text = [
    `run ${run.name} (${run.id}) in ${run.experiment}: ${run.status}`,
    metrics.length ? metrics.map(([k, v]) => `${k}=${formatValue(v)}`).join(' ') : '',
    params.length ? `params: ${params.map(([k, v]) => `${k}=${v}`).join(' ')}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const html = `<div class="tandem-run" data-tandem-run="${escape(run.id)}" style="font-family:var(--jp-ui-font-family,sans-serif);font-size:12px">
<div><a href="${escape(runLink(serverUrl, run.id))}" target="_blank"><b>${escape(run.name)}</b></a> ${status(run.status)} <span style="${MUTED}">${escape(run.experiment)} · ${escape(run.id)}</span></div>${
    metrics.length
      ? `\n<div>${metrics.map(([k, v]) => `<span style="margin-right:12px">${escape(k)} <b>${escape(formatValue(v))}</b></span>`).join('')}</div>`
      : ''
  }${params.length ? `\n<div style="${MUTED}">${params.map(([k, v]) => `${escape(k)}=${escape(v)}`).join(' · ')}</div>` : ''}</div>`;
  return { 'text/html': html, 'text/plain': text };
}

/**
 * Runs as a table: name, status, start and duration, then every param and metric any of them has
 * (params first), so a search answer reads as a comparison.
 */
export function runsTable(runs: Run[], serverUrl: string): MimeBundle {
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const duration = (r: Run) => {
    const ms = (r.endTime ? Date.parse(r.endTime) : Date.now()) - Date.parse(r.startTime);
    return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
  };
  const rows = runs.map((r) => [
    r.name,
    r.status,
    r.startTime.slice(0, 19).replace('T', ' '),
    duration(r),
    ...paramKeys.map((k) => r.params[k] ?? ''),
    ...metricKeys.map((k) => (r.metrics[k] ? formatValue(r.metrics[k].value) : '')),
  ]);
  const header = ['run', 'status', 'started', 'duration', ...paramKeys.map((k) => `params.${k}`), ...metricKeys.map((k) => `metrics.${k}`)];
  const widths = header.map((h, i) => Math.min(30, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.slice(0, 30).padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const count = `${runs.length} run${runs.length === 1 ? '' : 's'}`;
  const text = runs.length
    ? [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), `(${count})`].join('\n')
    : 'no runs';
  const body = runs
    .map(
      (r, n) =>
        `<tr data-tandem-run="${escape(r.id)}"><td><a href="${escape(runLink(serverUrl, r.id))}" target="_blank">${escape(r.name)}</a></td><td>${status(r.status)}</td>${rows[
          n
        ]!.slice(2)
          .map((c) => `<td>${escape(c)}</td>`)
          .join('')}</tr>`,
    )
    .join('');
  const html = `<table class="tandem-runs"><thead><tr>${header.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table><p>${count}</p>`;
  return { 'text/html': html, 'text/plain': text };
}
