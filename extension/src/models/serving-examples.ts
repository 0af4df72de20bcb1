// What the Serving section shows as text, without the DOM: example calls and a readable status.
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Column, DeploymentStatus, DeploymentTrafficStats, PredictValue, TrafficSplit } from '@tandem/server/api';

/** One example row with the signature's input columns (a placeholder value of each column's type). */
export function exampleRow(columns: readonly Column[] | undefined): Record<string, PredictValue> {
  // Without a signature the input names are unknown: a placeholder the reader replaces.
  if (!columns?.length) return { input: 0 };
  return Object.fromEntries(columns.map((c) => [c.name, placeholder(c.type)]));
}

function placeholder(type: string): PredictValue {
  if (/utf8|string|str/i.test(type)) return '';
  if (/bool/i.test(type)) return false;
  return 0;
}

/** The environment variable the examples read the deployment key from. */
export const KEY_VARIABLE = 'TANDEM_KEY';

export function curlExample(url: string, row: Record<string, PredictValue>): string {
  const body = JSON.stringify({ rows: [row] }).replace(/'/g, `'\\''`);
  return [
    `curl -H "Authorization: Bearer $${KEY_VARIABLE}" -H 'content-type: application/json' \\`,
    `  -d '${body}' \\`,
    `  '${url}'`,
  ].join('\n');
}

export function fetchExample(url: string, row: Record<string, PredictValue>): string {
  return [
    `const response = await fetch(${JSON.stringify(url)}, {`,
    `  method: 'POST',`,
    `  headers: { authorization: \`Bearer \${process.env.${KEY_VARIABLE}}\`, 'content-type': 'application/json' },`,
    `  body: JSON.stringify({ rows: [${JSON.stringify(row)}] }),`,
    `});`,
    `if (!response.ok) throw new Error((await response.json()).error.message);`,
    `const { predictions, version } = await response.json();`,
  ].join('\n');
}

/** `ready · serving v3 · loading v4`, for the status line. */
export function statusText(status: DeploymentStatus, trans: TranslationBundle): string {
  const state = { ready: trans.__('ready'), loading: trans.__('loading'), unavailable: trans.__('unavailable') }[status.state];
  return [
    state,
    status.servedVersion !== null && trans.__('serving v%1', status.servedVersion),
    status.loadingVersion !== null && trans.__('loading v%1', status.loadingVersion),
  ]
    .filter(Boolean)
    .join(' · ');
}

/** The last load failure as a sentence, or '' when there is none. */
export function lastErrorText(status: DeploymentStatus, trans: TranslationBundle): string {
  const error = status.lastError;
  if (!error) return '';
  const when = new Date(error.at).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
  return error.version === null
    ? trans.__('Could not load (%1): %2', when, error.message)
    : trans.__('Version %1 could not be loaded (%2): %3', error.version, when, error.message);
}

/** `v4 · 10% · ready serving v4`, for a canary's or shadow's line. */
export function splitText(split: TrafficSplit, status: DeploymentStatus | null, trans: TranslationBundle): string {
  return [trans.__('v%1', split.version), `${split.percent}%`, status && statusText(status, trans)].filter(Boolean).join(' · ');
}

/** What a split is called in the traffic table. */
export function splitName(split: DeploymentTrafficStats['splits'][number]['split'], trans: TranslationBundle): string {
  return { primary: trans.__('alias'), canary: trans.__('canary'), shadow: trans.__('shadow') }[split];
}

/** A rate or latency as the traffic table shows it: three significant digits at most. */
export function trafficNumber(value: number): string {
  if (value === 0) return '0';
  return value >= 100 ? String(Math.round(value)) : String(Number(value.toPrecision(value >= 1 ? 3 : 2)));
}
