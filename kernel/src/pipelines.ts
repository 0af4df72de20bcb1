/**
 * `pipelines` in cells: define a DAG of steps (notebooks, Spark and GPU jobs, gates, alias moves,
 * dashboard refreshes, webhooks) run on a schedule, on model events or by hand, and follow runs.
 * In a notebook run as a pipeline step, `pipelines.output(name, value)` hands a value on to later steps.
 */
import {
  PIPELINE_OUTPUT_MIME,
  TandemApiError,
  type Page,
  type Pipeline,
  type PipelineDefinition,
  type PipelineRun,
  type PipelineRunSummary,
  type PipelineValue,
} from '@tandem/server/api';
import { request } from './api.js';
import { displayedAs } from './display/mime-bundle.js';
import { stageData, type DataRef, type DataSource } from './job-data.js';
import { publishDisplay, type MimeBundle } from './kernel/channel.js';

export type { Pipeline, PipelineDefinition, PipelineRun, PipelineStep, PipelineValue } from '@tandem/server/api';

const enc = encodeURIComponent;
const FINAL = ['succeeded', 'failed', 'cancelled'];

/** Creates your pipeline `definition.name`, or replaces its definition; answers it as a card. */
export async function define(definition: PipelineDefinition): Promise<Pipeline> {
  return asCard(await request<Pipeline>('pipelines', { method: 'POST', json: definition }));
}

export async function list(): Promise<Pipeline[]> {
  return (await request<Page<Pipeline>>('pipelines?limit=200')).items.map(asCard);
}

/** A pipeline by id, or by name among those you can see. */
export async function get(idOrName: string): Promise<Pipeline> {
  return asCard(await request<Pipeline>(`pipelines/${enc(await idOf(idOrName))}`));
}

export async function remove(idOrName: string): Promise<void> {
  await request(`pipelines/${enc(await idOf(idOrName))}`, { method: 'DELETE' });
}

export interface RunOptions {
  params?: Record<string, PipelineValue>;
  /** Wait until the run ends (default true); false answers it as soon as it started. */
  wait?: boolean;
  /** How long to wait at most (ms, default 1 hour); the run goes on afterwards. */
  timeoutMs?: number;
}

/** Runs the pipeline now, as you, and (by default) waits for it to end. */
export async function run(idOrName: string, options: RunOptions = {}): Promise<PipelineRun> {
  const started = await request<PipelineRun>(`pipelines/${enc(await idOf(idOrName))}/runs`, {
    method: 'POST',
    json: { params: options.params ?? {} },
  });
  return options.wait === false ? asRunCard(started) : waitFor(started.id, options.timeoutMs);
}

/** Polls a run until it ends or `timeoutMs` passed; answers it as it is then. */
export async function waitFor(runId: string, timeoutMs = 3_600_000): Promise<PipelineRun> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const current = await request<PipelineRun>(`pipeline-runs/${enc(runId)}`);
    if (FINAL.includes(current.status) || Date.now() >= until) return asRunCard(current);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function runs(idOrName: string): Promise<PipelineRunSummary[]> {
  return (await request<Page<PipelineRunSummary>>(`pipelines/${enc(await idOf(idOrName))}/runs?limit=200`)).items;
}

export async function cancel(runId: string): Promise<PipelineRun> {
  return asRunCard(await request<PipelineRun>(`pipeline-runs/${enc(runId)}/cancel`, { method: 'POST' }));
}

/** Runs a failed or cancelled run again from the steps that did not succeed. */
export async function retry(runId: string): Promise<PipelineRun> {
  return asRunCard(await request<PipelineRun>(`pipeline-runs/${enc(runId)}/retry`, { method: 'POST' }));
}

/**
 * Uploads data (a file, an s3:// object or a table) once for a pipeline's Spark and GPU steps to
 * read on any worker, and answers the reference to put in a step's spec. The data stays as it was
 * uploaded: a step that should read fresh data every run reads it from shared storage instead.
 */
export function data(source: DataSource): Promise<DataRef | string> {
  return stageData(source, 'pipelines.data');
}

/**
 * Hands `value` on to the steps after this notebook's (read as `{{ steps.<step>.<name> }}`).
 * Outside a pipeline it only shows what it would hand on.
 */
export function output(name: string, value: PipelineValue): void {
  if (!/^[A-Za-z_][\w.-]*$/.test(name))
    throw new TypeError(`pipelines.output: name "${name}" must start with a letter or _ and hold letters, digits, _, - and .`);
  if (value !== null && !['string', 'number', 'boolean'].includes(typeof value))
    throw new TypeError(`pipelines.output: value of "${name}" must be a string, number, boolean or null (got ${typeof value})`);
  publishDisplay({ [PIPELINE_OUTPUT_MIME]: { name, value }, 'text/plain': `pipeline output ${name} = ${JSON.stringify(value)}` });
}

async function idOf(idOrName: string): Promise<string> {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName)) return idOrName;
  const found = (await list()).filter((p) => p.name === idOrName);
  if (found.length === 1) return found[0]!.id;
  throw found.length === 0
    ? new TandemApiError('NOT_FOUND', `pipeline ${idOrName} not found`, 404)
    : new TandemApiError('CONFLICT', `${found.length} pipelines you can see are called ${idOrName}: use its id`, 409);
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function pipelineBundle(p: Pipeline): MimeBundle {
  const schedule = p.definition.schedule
    ? `${p.definition.schedule.cron} (${p.definition.schedule.timezone ?? 'UTC'}), next ${p.nextRunAt ?? '—'}`
    : 'no schedule';
  const last = p.lastRun ? `last run #${p.lastRun.number} ${p.lastRun.status}` : 'not run yet';
  const steps = p.definition.steps.map((s) => s.id).join(' → ');
  return {
    'text/plain': `pipeline ${p.name}: ${p.definition.steps.length} steps (${steps}); ${schedule}; ${last}`,
    'text/html': `<div class="tandem-pipeline" data-tandem-pipeline="${escape(p.id)}"><b>${escape(p.name)}</b> · ${escape(steps)}<br>${escape(schedule)} · ${escape(last)}</div>`,
  };
}

function runBundle(run: PipelineRun): MimeBundle {
  const lines = run.steps.map((s) => `  ${s.id}: ${s.status}${s.error ? ` (${s.error})` : ''}`);
  return { 'text/plain': [`run #${run.number} ${run.status}${run.error ? `: ${run.error}` : ''}`, ...lines].join('\n') };
}

const asCard = (p: Pipeline): Pipeline => displayedAs(p, pipelineBundle);
const asRunCard = (r: PipelineRun): PipelineRun => displayedAs(r, runBundle);

export const pipelines = { define, list, get, remove, run, waitFor, runs, cancel, retry, output, data };
