// How a job looks in a cell. The card is a job in a few lines (name, status, progress while it
// runs, duration, metrics, facts, the registered model, its id): the job handle and the value of
// `await job.wait()`. The view is what `job.wait()` follows live under the cell: the card plus
// metric sparklines and the log. Plain HTML + inline SVG in JupyterLab's theme colours, so it
// renders anywhere and reads in the dark theme; text/plain says the same in a few lines.
import { formatDuration, formatFact, formatNumber, type Job as JobInfo } from '@tandem/server/api';
import type { MimeBundle } from './kernel/channel.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface MetricPoint {
  step: number;
  value: number;
}

/** What the cell knows of a job besides the server's answer. */
export interface JobState {
  job: JobInfo;
  /** The last progress message: what runs now, or how it ended ("done: 25 Spark jobs, 36/36 tasks"). */
  progressMessage?: string;
  serverUrl: string;
  /** Why following stopped, when it did before the job ended. */
  note?: string;
}

export interface JobView extends JobState {
  series: Record<string, MetricPoint[]>;
  logs: string[];
}

const FINAL: JobInfo['status'][] = ['succeeded', 'failed', 'cancelled'];

const COLORS: Record<JobInfo['status'], string> = {
  queued: 'var(--jp-ui-font-color2, #757575)',
  running: 'var(--jp-brand-color1, #1976d2)',
  succeeded: 'var(--jp-success-color1, #2e7d32)',
  failed: 'var(--jp-error-color1, #c62828)',
  cancelled: 'var(--jp-warn-color1, #ef6c00)',
};
const MUTED = 'color:var(--jp-ui-font-color2, #616161)';

/** Run time so far, or in all once finished; none before it started. */
function duration(job: JobInfo): string | undefined {
  if (!job.startedAt) return undefined;
  const end = job.finishedAt && FINAL.includes(job.status) ? Date.parse(job.finishedAt) : Date.now();
  return formatDuration(Math.max(0, end - Date.parse(job.startedAt)));
}

/** Percent done: a finished job that did not succeed shows how far it got, not a full bar. */
const percent = (job: JobInfo) => Math.round((job.status === 'succeeded' ? 1 : (job.progress ?? 0)) * 100);

function statusLine({ job }: JobState): string {
  const took = duration(job);
  const verb = job.status === 'running' ? 'running for' : FINAL.includes(job.status) ? `${job.status} in` : job.status;
  return took && job.status !== 'queued' ? `${verb} ${took}` : job.status;
}

function modelLink({ job, serverUrl }: JobState): string {
  if (!job.result?.model) return '';
  const model = String(job.result.model);
  const href = `${serverUrl}/tandem/api/models/${encodeURIComponent(model)}/versions/${job.result.version}`;
  return `<a href="${escape(href)}" target="_blank" data-tandem-model="${escape(model)}" data-tandem-version="${job.result.version}">${escape(model)} v${job.result.version}</a>`;
}

function progressBar(state: JobState): string {
  const { job } = state;
  const pct = percent(job);
  const bar = `<div style="width:200px;height:6px;background:var(--jp-layout-color3, #e0e0e0);border-radius:3px"><div style="width:${pct}%;height:6px;background:${COLORS[job.status]};border-radius:3px"></div></div>`;
  return `<div style="display:flex;align-items:center;gap:8px">${bar}<span>${pct} %</span><span style="${MUTED}">${escape(state.progressMessage ?? '')}</span></div>`;
}

function cardHtml(state: JobState, extra = ''): string {
  const { job } = state;
  const metrics = Object.entries(job.metrics)
    .map(([k, v]) => `<span style="margin-right:12px">${escape(k)} <b>${escape(formatNumber(v))}</b></span>`)
    .join('');
  const facts = Object.entries(job.info)
    .map(([k, v]) => `<span style="margin-right:12px">${escape(formatFact(k, v))}</span>`)
    .join('');
  const model = modelLink(state);
  return `<div class="tandem-job" data-job-id="${escape(job.id)}" style="font-family:var(--jp-ui-font-family, sans-serif);font-size:12px;color:var(--jp-ui-font-color1, #212121)">
<div><b>${escape(job.name)}</b> <span class="tandem-job-status" style="color:${COLORS[job.status]}">${escape(statusLine(state))}</span> <code style="${MUTED}">${escape(job.id)}</code></div>
${progressBar(state)}${job.error ? `<pre style="color:${COLORS.failed};white-space:pre-wrap">${escape(job.error)}</pre>` : ''}${
    metrics ? `<div class="tandem-job-metrics">${metrics}</div>` : ''
  }${facts ? `<div class="tandem-job-info" style="${MUTED}">${facts}</div>` : ''}${
    model ? `<div>Registered ${model}</div>` : ''
  }${extra}${state.note ? `<div style="${MUTED}">${escape(state.note)}</div>` : ''}</div>`;
}

/** A few lines: name and status, progress, metrics, facts, model, id. */
function cardText(state: JobState): string {
  const { job } = state;
  const progress = FINAL.includes(job.status) ? '' : ` ${percent(job)} %`;
  const lines = [
    `${job.name}: ${statusLine(state)}${progress}${state.progressMessage ? ` · ${state.progressMessage}` : ''}`,
    Object.entries(job.metrics)
      .map(([k, v]) => `${k} ${formatNumber(v)}`)
      .join(' · '),
    Object.entries(job.info)
      .map(([k, v]) => formatFact(k, v))
      .join(' · '),
    job.result?.model ? `registered ${String(job.result.model)} v${job.result.version}` : '',
    `job ${job.id}`,
    job.error ?? '',
    state.note ?? '',
  ];
  return lines.filter(Boolean).join('\n');
}

export function jobCard(state: JobState): MimeBundle {
  return { 'text/html': cardHtml(state), 'text/plain': cardText(state) };
}

function sparkline(name: string, points: MetricPoint[]): string {
  const w = 220;
  const h = 48;
  const values = points.map((p) => p.value);
  const [min, max] = [Math.min(...values), Math.max(...values)];
  const x = (i: number) => (points.length === 1 ? w / 2 : (i / (points.length - 1)) * (w - 4) + 2);
  const y = (v: number) => (max === min ? h / 2 : h - 4 - ((v - min) / (max - min)) * (h - 8));
  const path = points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  return `<div style="display:inline-block;margin:4px 12px 4px 0"><div style="font-size:11px">${escape(name)} <b>${formatNumber(values.at(-1)!)}</b></div>
<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" style="background:var(--jp-layout-color2, #fafafa);border:1px solid var(--jp-border-color2, #e0e0e0)"><polyline fill="none" stroke="var(--jp-brand-color1, #1976d2)" stroke-width="1.5" points="${path}"/></svg></div>`;
}

/** The card with a sparkline per metric series and the log (open when the job failed). */
export function jobView(view: JobView): MimeBundle {
  const charts = Object.entries(view.series)
    .filter(([, points]) => points.length > 1)
    .map(([name, points]) => sparkline(name, points))
    .join('');
  const logs = view.logs.length
    ? `<details${view.job.status === 'failed' ? ' open' : ''}><summary>Logs (${formatNumber(view.logs.length)} lines)</summary><pre style="max-height:240px;overflow:auto;font-size:11px">${escape(view.logs.slice(-300).join('\n'))}</pre></details>`
    : '';
  return { 'text/html': cardHtml(view, `${charts ? `<div>${charts}</div>` : ''}${logs}`), 'text/plain': cardText(view) };
}
