/**
 * `deployments` in cells: the deployments serving registered models (`models.serve()` makes one),
 * their API keys, and predictions through them. Failures are TandemApiError with the server's message.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type {
  CreateDeploymentRequest,
  CreatedDeploymentKey,
  Deployment,
  DeploymentKey,
  DeploymentPage,
  DeploymentSettings,
  PredictionLogPage,
  PredictRequest,
  PredictResponse,
  PredictValue,
  UpdateDeploymentRequest,
} from '@tandem/server/api';
import { apiSettings, request, TandemApiError } from './api.js';
import { displayedAs } from './display/mime-bundle.js';
import type { MimeBundle } from './kernel/channel.js';
import { cacheDir, cached } from './sql/cache.js';

export type { CreatedDeploymentKey, Deployment, DeploymentKey, DeploymentSettings, PredictResponse } from '@tandem/server/api';

const enc = encodeURIComponent;

/** Deployments of models you can see; `model` (a name or `owner/name`) keeps those of one model. */
export async function list(query: { model?: string } = {}): Promise<Deployment[]> {
  const params = new URLSearchParams({ limit: '200', ...(query.model ? { model: query.model } : {}) });
  const page = await request<DeploymentPage>(`deployments?${params}`);
  return page.items.map(asCard);
}

export async function get(id: string): Promise<Deployment> {
  return asCard(await request<Deployment>(`deployments/${enc(id)}`));
}

export async function create(body: CreateDeploymentRequest): Promise<Deployment> {
  return asCard(await request<Deployment>('deployments', { method: 'POST', json: body }));
}

/** Changes batching, queue, timeout and log settings and the splits; they apply to requests that arrive afterwards. */
export async function update(id: string, settings: UpdateDeploymentRequest): Promise<Deployment> {
  return asCard(await request<Deployment>(`deployments/${enc(id)}`, { method: 'PATCH', json: settings }));
}

/** Stops serving and deletes the deployment with its keys. */
export async function remove(id: string): Promise<void> {
  await request(`deployments/${enc(id)}`, { method: 'DELETE' });
}

/** A key for an application; `secret` is answered only this once. */
export async function createKey(id: string, name?: string): Promise<CreatedDeploymentKey> {
  return request<CreatedDeploymentKey>(`deployments/${enc(id)}/keys`, { method: 'POST', json: name ? { name } : {} });
}

export async function listKeys(id: string): Promise<DeploymentKey[]> {
  return (await request<{ items: DeploymentKey[] }>(`deployments/${enc(id)}/keys`)).items;
}

export async function revokeKey(id: string, keyId: string): Promise<void> {
  await request(`deployments/${enc(id)}/keys/${enc(keyId)}`, { method: 'DELETE' });
}

/**
 * Predicts with what `alias` of `model` serves: `rows` (one object per row, keyed by input name or
 * signature column) or a whole request (`{ columns }`).
 */
export async function predict(
  model: string,
  alias: string,
  rows: Record<string, PredictValue>[] | PredictRequest,
): Promise<PredictResponse> {
  // The serve routes sit beside /tandem/api; `..` keeps the call on the shared client and its errors.
  return request<PredictResponse>(`../serve/${enc(model)}/${enc(alias)}/predict`, {
    method: 'POST',
    json: Array.isArray(rows) ? { rows } : rows,
  });
}

/** Polls until the deployment is no longer loading its first version, or `ms` passed; answers the last state. */
export async function waitUntilLoaded(id: string, ms = 30_000): Promise<Deployment> {
  const until = Date.now() + ms;
  for (;;) {
    const deployment = await get(id);
    if (deployment.status.state !== 'loading' || Date.now() >= until) return deployment;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface ServeOptions extends Partial<DeploymentSettings> {
  alias: string;
  /** How long to wait for the first version to load before answering (ms; 0: do not wait). Default 30 000. */
  waitMs?: number;
}

/**
 * Serves `alias` of `model`: creates the deployment, or answers the existing one (with the given
 * settings applied), once its first version loaded or failed to.
 */
export async function serve(model: string, options: ServeOptions): Promise<Deployment> {
  const { alias, waitMs = 30_000, ...settings } = options;
  let deployment: Deployment;
  try {
    deployment = await create({ model, alias, ...settings });
  } catch (error) {
    if (!(error instanceof TandemApiError) || error.code !== 'ALREADY_EXISTS') throw error;
    const existing = (await list({ model })).find((d) => d.alias === alias);
    if (!existing) throw error;
    deployment = Object.keys(settings).length > 0 ? await update(existing.id, settings) : existing;
  }
  return waitMs > 0 ? waitUntilLoaded(deployment.id, waitMs) : deployment;
}

export interface LogOptions {
  /** The last this many hours (default 24). */
  hours?: number;
  /** … or from this time on. */
  since?: Date;
  /** Keep the log's own columns (`_ts`, `_version`, `_split`, `_latency_ms`, `_status`, `_error`, `_prediction`) and failed requests. */
  all?: boolean;
}

const HOUR_MS = 3_600_000;
const LOG_COLUMNS = ['_ts', '_version', '_split', '_latency_ms', '_status', '_error', '_prediction'];

/**
 * The deployment's prediction log (editors) as a SQL query over its Parquet files, downloaded once
 * into a local cache: by default the inputs of answered requests, as a monitor compares them with
 * training data — monitor.drift('train.parquet', await deployments.log(id, { hours: 24 })).
 */
export async function log(id: string, options: LogOptions = {}): Promise<string> {
  const { hours = 24, since, all = false } = options;
  if (!(typeof hours === 'number' && hours > 0))
    throw new TypeError(`deployments.log(): option "hours" must be a positive number, not ${JSON.stringify(hours)}`);
  if (since !== undefined && !(since instanceof Date && !Number.isNaN(since.getTime())))
    throw new TypeError('deployments.log(): option "since" must be a valid Date');
  const from = since?.getTime() ?? Date.now() - hours * HOUR_MS;
  const files: string[] = [];
  // Newest hour first: the listing stops at the first file whose hour ended before `from`.
  for (let token: string | undefined, done = false; !done;) {
    const page = await request<PredictionLogPage>(`deployments/${enc(id)}/logs?limit=200${token ? `&pageToken=${enc(token)}` : ''}`);
    for (const file of page.items) {
      if (Date.parse(file.hour) + HOUR_MS <= from) done = true;
      else files.push(await localLogFile(id, file.key));
    }
    token = page.nextPageToken;
    done ||= !token;
  }
  if (files.length === 0)
    throw new Error(
      `deployments.log(): deployment ${id} logged no request since ${new Date(from).toISOString()} (is its logSampleRate above 0?)`,
    );
  const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
  const where = `_ts >= epoch_ms(${Math.floor(from)})${all ? '' : ' AND _status = 200'}`;
  return `SELECT *${all ? '' : ` EXCLUDE (${LOG_COLUMNS.join(', ')})`} FROM read_parquet([${list}], union_by_name = true) WHERE ${where}`;
}

/** A log file in the local cache; files are never rewritten, so a cached one is kept. */
async function localLogFile(id: string, key: string): Promise<string> {
  const file = path.join(cacheDir(), 'serving-logs', `${createHash('sha256').update(key).digest('hex').slice(0, 24)}.parquet`);
  return cached(file, async (partial) => {
    const response = await request<Response>(`deployments/${enc(id)}/logs/file?key=${enc(key)}`, { raw: true });
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(partial));
  });
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What a deployment's state says, as one line: `ready, serving v3 (loading v4)`. */
export function describeStatus({ status }: Deployment): string {
  const serving = status.servedVersion === null ? '' : `, serving v${status.servedVersion}`;
  const loading = status.loadingVersion === null ? '' : ` (loading v${status.loadingVersion})`;
  const error = status.lastError ? `; v${status.lastError.version ?? '?'} failed to load: ${status.lastError.message}` : '';
  return `${status.state}${serving}${loading}${error}`;
}

/** A deployment shows in cells as a card: model and alias, status, the endpoint's full URL. */
export function deploymentBundle(deployment: Deployment, serverUrl: string): MimeBundle {
  const url = `${serverUrl}${deployment.endpoint}`;
  const status = describeStatus(deployment);
  const color = {
    ready: 'var(--jp-success-color1,#388e3c)',
    loading: 'var(--jp-warn-color1,#f57c00)',
    unavailable: 'var(--jp-error-color1,#d32f2f)',
  };
  const html = `<div class="tandem-deployment" data-tandem-deployment="${escape(deployment.id)}" style="font-family:var(--jp-ui-font-family,sans-serif);font-size:12px">
<div><b>${escape(deployment.model)}</b> <code>${escape(deployment.alias)}</code> <span style="color:${color[deployment.status.state]}">${escape(status)}</span></div>
<div>POST <code>${escape(url)}</code></div></div>`;
  return { 'text/html': html, 'text/plain': `${deployment.model} ${deployment.alias}: ${status}\nPOST ${url}` };
}

const asCard = (deployment: Deployment): Deployment => displayedAs(deployment, (d) => deploymentBundle(d, apiSettings().url));

export const deployments = { list, get, create, update, remove, createKey, listKeys, revokeKey, predict, waitUntilLoaded, serve, log };
