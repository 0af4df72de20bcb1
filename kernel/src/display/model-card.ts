// How a registered model version looks in a cell: a compact card (name, version, aliases, metrics,
// what it was trained from, files) instead of the raw server answer.
import type { ModelVersion } from '@tandem/server/api';
import type { MimeBundle } from '../kernel/channel.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const formatMetric = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toPrecision(4));
const formatBytes = (n: number) => (n < 1000 ? `${n} B` : n < 1e6 ? `${(n / 1e3).toFixed(1)} KB` : `${(n / 1e6).toFixed(1)} MB`);

/** `model.name` is how the cell named it, `model.fullName` its `owner/name`: links use that, and the card shows it when it differs. */
export function modelVersionBundle(model: { name: string; fullName: string }, version: ModelVersion, serverUrl: string): MimeBundle {
  const metrics = Object.entries(version.metrics);
  const from = [
    version.lineage.source,
    version.runId && `run ${version.runId.slice(0, 8)}`,
    version.lineage.jobId && `job ${version.lineage.jobId}`,
    version.lineage.notebook,
  ]
    .filter(Boolean)
    .join(' · ');
  const text = [
    `${model.name} v${version.number}${version.aliases.length ? ` (${version.aliases.join(', ')})` : ''}`,
    metrics.length ? metrics.map(([k, v]) => `${k}=${formatMetric(v)}`).join(' ') : '',
    version.files.length ? `files: ${version.files.map((f) => f.path).join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const link = `${serverUrl}/tandem/api/models/${encodeURIComponent(model.fullName)}/versions/${version.number}`;
  const qualified =
    model.name === model.fullName ? '' : ` <span style="color:var(--jp-ui-font-color2,#616161)">${escape(model.fullName)}</span>`;
  const html = `<div class="tandem-model-version" style="font-family:var(--jp-ui-font-family,sans-serif);font-size:12px">
<div><a href="${escape(link)}" target="_blank" data-tandem-model="${escape(model.fullName)}" data-tandem-version="${version.number}"><b>${escape(model.name)}</b> v${version.number}</a>${qualified}${version.aliases.map((a) => ` <code>${escape(a)}</code>`).join('')}</div>
${version.description ? `<div style="color:var(--jp-ui-font-color1,#424242)">${escape(version.description)}</div>` : ''}${
    metrics.length
      ? `<div>${metrics.map(([k, v]) => `<span style="margin-right:12px">${escape(k)} <b>${formatMetric(v)}</b></span>`).join('')}</div>`
      : ''
  }${from ? `<div style="color:var(--jp-ui-font-color2,#616161)">from ${escape(from)}</div>` : ''}${
    version.files.length
      ? `<div style="color:var(--jp-ui-font-color2,#616161)">${version.files.map((f) => `${escape(f.path)} (${formatBytes(f.size)})`).join(', ')}</div>`
      : ''
  }</div>`;
  return { 'text/html': html, 'text/plain': text };
}
