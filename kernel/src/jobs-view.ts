// How a job looks in a cell: status and progress bar, metric sparklines, collapsible logs, and
// a final summary linking the registered model. Plain HTML + inline SVG so it renders anywhere.
import type { Job as JobInfo } from '@tandem/server/api';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface MetricPoint {
  step: number;
  value: number;
}

export interface JobView {
  job: JobInfo;
  series: Record<string, MetricPoint[]>;
  logs: string[];
  progressMessage?: string;
  serverUrl: string;
  note?: string;
}

const COLORS: Record<JobInfo['status'], string> = {
  queued: '#757575',
  running: '#1976d2',
  succeeded: '#2e7d32',
  failed: '#c62828',
  cancelled: '#ef6c00',
};

function sparkline(name: string, points: MetricPoint[]): string {
  const w = 220;
  const h = 48;
  const values = points.map((p) => p.value);
  const [min, max] = [Math.min(...values), Math.max(...values)];
  const x = (i: number) => (points.length === 1 ? w / 2 : (i / (points.length - 1)) * (w - 4) + 2);
  const y = (v: number) => (max === min ? h / 2 : h - 4 - ((v - min) / (max - min)) * (h - 8));
  const path = points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const last = values.at(-1)!;
  return `<div style="display:inline-block;margin:4px 12px 4px 0"><div style="font-size:11px">${escape(name)} <b>${formatNumber(last)}</b></div>
<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" style="background:#fafafa;border:1px solid #e0e0e0"><polyline fill="none" stroke="#1976d2" stroke-width="1.5" points="${path}"/></svg></div>`;
}

const formatNumber = (v: number) => (Math.abs(v) >= 1000 || Number.isInteger(v) ? String(v) : v.toPrecision(4));

export function jobHtml(view: JobView): string {
  const { job } = view;
  const pct = Math.round((job.status === 'succeeded' ? 1 : (job.progress ?? 0)) * 100);
  const charts = Object.entries(view.series)
    .filter(([, points]) => points.length > 1)
    .map(([name, points]) => sparkline(name, points))
    .join('');
  const scalars = Object.entries(job.metrics)
    .filter(([name]) => !(view.series[name]?.length > 1))
    .map(([name, value]) => `<span style="margin-right:12px">${escape(name)} <b>${formatNumber(value)}</b></span>`)
    .join('');
  const model = job.result?.model
    ? `<div>Registered <a href="${escape(`${view.serverUrl}/tandem/api/models/${encodeURIComponent(String(job.result.model))}/versions/${job.result.version}`)}" target="_blank" data-tandem-model="${escape(String(job.result.model))}" data-tandem-version="${job.result.version}">${escape(String(job.result.model))} v${job.result.version}</a></div>`
    : '';
  const logs = view.logs.length
    ? `<details${job.status === 'failed' ? ' open' : ''}><summary>Logs (${view.logs.length} lines)</summary><pre style="max-height:240px;overflow:auto;font-size:11px">${escape(view.logs.slice(-300).join('\n'))}</pre></details>`
    : '';
  return `<div class="tandem-job" data-job-id="${escape(job.id)}" style="font-family:var(--jp-ui-font-family,sans-serif);font-size:12px">
<div><b>${escape(job.name)}</b> <span style="color:${COLORS[job.status]}">${job.status}</span>${job.attempt > 1 ? ` (attempt ${job.attempt}/${job.maxAttempts})` : ''} <code style="color:#757575">${escape(job.id)}</code></div>
<div style="display:flex;align-items:center;gap:8px"><div style="width:240px;height:8px;background:#e0e0e0;border-radius:4px"><div style="width:${pct}%;height:8px;background:${COLORS[job.status]};border-radius:4px"></div></div><span>${pct} %</span><span style="color:#616161">${escape(view.progressMessage ?? '')}</span></div>
${job.error ? `<pre style="color:#c62828;white-space:pre-wrap">${escape(job.error)}</pre>` : ''}${scalars ? `<div>${scalars}</div>` : ''}${charts}${model}${logs}${view.note ? `<div style="color:#616161">${escape(view.note)}</div>` : ''}</div>`;
}

export function jobText(view: JobView): string {
  const { job } = view;
  const metrics = Object.entries(job.metrics)
    .map(([k, v]) => `${k}=${formatNumber(v)}`)
    .join(' ');
  const model = job.result?.model ? ` → ${String(job.result.model)} v${job.result.version}` : '';
  const pct = job.progress === null ? '' : ` ${Math.round(job.progress * 100)} %`;
  return `${job.name} [${job.status}${pct}]${model}${metrics ? ` ${metrics}` : ''}${job.error ? `\n${job.error}` : ''}${view.note ? `\n${view.note}` : ''}`;
}
