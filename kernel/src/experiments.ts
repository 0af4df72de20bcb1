/**
 * `experiments` in cells: every training attempt becomes a run with its params, metric series,
 * tags and artifacts.
 *
 *   await experiments.run('churn', async (run) => {
 *     run.params({ lr: 0.01 });
 *     for (let step = 0; step < 1000; step++) run.log({ loss }, { step });
 *     await run.artifact('model.onnx');
 *   });
 *
 * `run.log`, `run.params` and `run.tags` only queue (see run-log-queue.ts): a loop is not slowed
 * by the network. Whatever could not be stored is reported by the next awaited call (`flush`,
 * `artifact`, `end`). An open run heartbeats, so a kernel that dies leaves it KILLED on the
 * server once the heartbeat lapses; `run()` ends it FAILED when the callback throws and KILLED
 * when the cell is interrupted.
 */
import { readdir, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type {
  ExperimentPage,
  ExperimentWithRole,
  LogBatchRequest,
  MetricValue,
  Run as RunInfo,
  RunArtifact,
  RunPage,
  RunStatus,
} from '@tandem/server/api';
import { apiSettings, request, TandemApiError } from './api.js';
import { displayedAs, toMimeBundle } from './display/mime-bundle.js';
import { latestValues, runCard, runsTable } from './display/run-card.js';
import { onInterrupt, type MimeBundle } from './kernel/channel.js';
import { currentCell, currentNotebook } from './notebook.js';
import { RunLogError, RunLogQueue, type LogQueueOptions } from './run-log-queue.js';

export type { RunInfo, RunStatus };
export { RunLogError };

export interface StartOptions {
  /** Default: `run-` and the first 8 digits of its id. */
  name?: string;
  /** The enclosing run, for nested runs. */
  parent?: ExperimentRun | string;
  params?: Record<string, string | number | boolean>;
  tags?: Record<string, string>;
  /** How long the run may go unheard before the server marks it KILLED (10–86400 s, default 120). */
  heartbeatTimeoutSeconds?: number;
  /** Batching of logged data (tests shorten it). */
  logQueue?: LogQueueOptions;
}

export interface SearchOptions {
  /** Experiment names or ids; default every experiment you can see. */
  experiment?: string | string[];
  /** MLflow's syntax, e.g. `metrics.acc > 0.9 AND params.lr = '0.01'`. */
  filter?: string;
  /** e.g. `metrics.acc DESC`. */
  orderBy?: string | string[];
  /** At most 1000 (default 100). */
  limit?: number;
}

const enc = encodeURIComponent;
const FINAL: RunStatus[] = ['FINISHED', 'FAILED', 'KILLED'];

/** JSON has no NaN or infinities: they travel as MLflow's strings. */
function metricValue(key: string, value: unknown): MetricValue {
  if (typeof value !== 'number') throw new TypeError(`metric ${key} must be a number (got ${typeof value})`);
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

/** A run this kernel writes to. Shows itself as a card: name, status, id, latest metrics. */
export class ExperimentRun {
  status: RunStatus = 'RUNNING';
  private readonly latest: Record<string, MetricValue> = {};
  private readonly logged: Record<string, string> = {};
  /** Points logged per key without a step: the next one's step. */
  private readonly nextStep = new Map<string, number>();
  private readonly queue: RunLogQueue;
  private readonly heartbeat: NodeJS.Timeout;
  private ending?: Promise<RunInfo>;

  constructor(
    readonly info: RunInfo,
    readonly experiment: string,
    options: Pick<StartOptions, 'logQueue'> = {},
  ) {
    const label = `${info.name} (${info.id})`;
    this.queue = new RunLogQueue((batch) => this.send(batch), label, options.logQueue);
    for (const [key, value] of Object.entries(info.params)) this.logged[key] = value;
    // Well within the timeout, so a slow request or two do not get a live run reaped.
    const every = Math.max(1000, (info.heartbeatTimeoutSeconds * 1000) / 4);
    this.heartbeat = setInterval(() => {
      // A missed heartbeat is retried by the next; logging failures surface through the queue.
      request(`runs/${info.id}/heartbeat`, { method: 'POST' }).catch(() => undefined);
    }, every).unref();
  }

  get id(): string {
    return this.info.id;
  }

  get name(): string {
    return this.info.name;
  }

  /** Queues metric values at one step (default: one past the last step logged for each key). */
  log(values: Record<string, number>, options: { step?: number; timestamp?: number } = {}): this {
    this.assertOpen();
    const timestamp = options.timestamp ?? Date.now();
    for (const [key, raw] of Object.entries(values)) {
      const value = metricValue(key, raw);
      const step = options.step ?? this.nextStep.get(key) ?? 0;
      this.nextStep.set(key, step + 1);
      this.latest[key] = value;
      this.queue.metric({ key, value, step, timestamp });
    }
    return this;
  }

  /** Queues params. They are immutable: a different value for a logged key throws here, before anything is queued. */
  params(values: Record<string, string | number | boolean>): this {
    this.assertOpen();
    const entries = Object.entries(values).map(([k, v]): [string, string] => [k, String(v)]);
    const changed = entries.find(([k, v]) => this.logged[k] !== undefined && this.logged[k] !== v);
    if (changed)
      throw new Error(
        `param ${changed[0]} of run ${this.name} is already ${JSON.stringify(this.logged[changed[0]])} and cannot become ${JSON.stringify(changed[1])}: params are immutable, start a new run`,
      );
    for (const [k, v] of entries) {
      this.logged[k] = v;
      this.queue.param(k, v);
    }
    return this;
  }

  /** Queues tags to set, or to remove (null). */
  tags(values: Record<string, string | null>): this {
    this.assertOpen();
    for (const [k, v] of Object.entries(values)) this.queue.tag(k, v);
    return this;
  }

  /**
   * Uploads a local file, or a folder with its structure, into the run's artifacts (streamed):
   * under `as` (default the file or folder name).
   */
  async artifact(localPath: string, options: { as?: string } = {}): Promise<RunArtifact[]> {
    this.assertOpen();
    await this.flush();
    const base = options.as ?? path.basename(path.resolve(localPath));
    const files = (await stat(localPath)).isDirectory()
      ? (await readdir(localPath, { recursive: true, withFileTypes: true }))
          .filter((e) => e.isFile())
          .map((e) => path.join(e.parentPath, e.name))
          .sort()
      : [localPath];
    const uploaded: RunArtifact[] = [];
    for (const file of files) {
      const relative =
        files.length === 1 && file === localPath ? base : path.posix.join(base, ...path.relative(localPath, file).split(path.sep));
      const { size } = await stat(file);
      uploaded.push(
        await request<RunArtifact>(`runs/${this.id}/artifacts/${relative.split('/').map(enc).join('/')}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
          body: createReadStream(file) as unknown as RequestInit['body'],
        }),
      );
    }
    return uploaded;
  }

  /** Waits until everything logged so far is stored; throws a RunLogError if some of it was not. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /**
   * Sends what is queued and ends the run (FINISHED unless told otherwise). The run ends even if
   * logging failed; the RunLogError is thrown afterwards, so nothing is silently lost.
   */
  end(status: Exclude<RunStatus, 'RUNNING'> = 'FINISHED'): Promise<RunInfo> {
    this.ending ??= this.finish(status);
    return this.ending;
  }

  /** The run as the server has it now. */
  async refresh(): Promise<RunInfo> {
    return asCard(await request<RunInfo>(`runs/${this.id}`), this.experiment);
  }

  [toMimeBundle](): MimeBundle {
    return runCard(
      { id: this.id, name: this.name, experiment: this.experiment, status: this.status, metrics: this.latest, params: this.logged },
      apiSettings().url,
    );
  }

  private async finish(status: Exclude<RunStatus, 'RUNNING'>): Promise<RunInfo> {
    clearInterval(this.heartbeat);
    this.status = status;
    let lost: unknown;
    await this.queue.flush().catch((error: unknown) => (lost = error));
    this.queue.stop();
    const info = await request<RunInfo>(`runs/${this.id}`, { method: 'PATCH', json: { status } });
    if (lost) throw lost;
    return asCard(info, this.experiment);
  }

  private send(batch: LogBatchRequest): Promise<void> {
    return request(`runs/${this.id}/log`, { method: 'POST', json: batch });
  }

  private assertOpen(): void {
    if (FINAL.includes(this.status))
      throw new Error(`run ${this.name} (${this.id}) has ended (${this.status}): start a new run to log more`);
  }
}

/** A run answer shows as its card. */
const asCard = (info: RunInfo, experiment: string): RunInfo =>
  displayedAs(info, (run) =>
    runCard(
      { id: run.id, name: run.name, experiment, status: run.status, metrics: latestValues(run), params: run.params },
      apiSettings().url,
    ),
  );

/** Experiment ids by name, per server and person: a loop starting runs looks each name up once. */
const known = new Map<string, Promise<ExperimentWithRole>>();

/** Your own experiment of that name, else one of that name you may edit, else a new one of yours. */
function experimentNamed(name: string): Promise<ExperimentWithRole> {
  const { url, token } = apiSettings();
  const key = JSON.stringify([url, token, name]);
  let found = known.get(key);
  if (!found) {
    found = findOrCreate(name);
    known.set(key, found);
    found.catch(() => known.delete(key));
  }
  return found;
}

/** The experiments of that name you can see: yours and those others shared with you. */
async function visibleNamed(name: string): Promise<ExperimentWithRole[]> {
  const filter = `name = '${name.replace(/'/g, "''")}'`;
  return (await request<ExperimentPage>(`experiments?${new URLSearchParams({ filter, limit: '100' })}`)).items;
}

async function findOrCreate(name: string): Promise<ExperimentWithRole> {
  const lookup = async () => {
    const items = await visibleNamed(name);
    return items.find((e) => e.role === 'owner') ?? items.find((e) => e.role === 'editor');
  };
  const existing = await lookup();
  if (existing) return existing;
  try {
    return await request<ExperimentWithRole>('experiments', { method: 'POST', json: { name } });
  } catch (error) {
    // Another kernel of yours made it just now.
    if (!(error instanceof TandemApiError && error.code === 'ALREADY_EXISTS')) throw error;
    const made = await lookup();
    if (!made) throw error;
    return made;
  }
}

async function start(experiment: string, options: StartOptions = {}): Promise<ExperimentRun> {
  const found = await experimentNamed(experiment);
  const notebook = currentNotebook();
  const cell = currentCell();
  const parent = typeof options.parent === 'string' ? options.parent : options.parent?.id;
  const info = await request<RunInfo>('runs', {
    method: 'POST',
    json: {
      experimentId: found.id,
      ...(options.name ? { name: options.name } : {}),
      ...(parent ? { parentRunId: parent } : {}),
      ...(notebook ? { notebook } : {}),
      ...(cell ? { cell } : {}),
      ...(options.heartbeatTimeoutSeconds ? { heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds } : {}),
      ...(options.params ? { params: options.params } : {}),
      ...(options.tags ? { tags: options.tags } : {}),
    },
  });
  return new ExperimentRun(info, found.name, options);
}

/**
 * Runs `fn` inside a new run and answers what it answers. The run ends FINISHED when `fn`
 * resolves, FAILED when it throws (the error is rethrown), KILLED when the cell is interrupted.
 */
async function run<T>(experiment: string, fn: (run: ExperimentRun) => Promise<T> | T, options: StartOptions = {}): Promise<T> {
  const opened = await start(experiment, options);
  let interrupted = () => undefined as void;
  const interruption = new Promise<'interrupted'>((resolve) => (interrupted = () => resolve('interrupted')));
  const stopListening = onInterrupt(interrupted);
  // Also settles when the cell gave up on it (interrupted): its rejection is handled here.
  const work = (async () => fn(opened))().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  try {
    const outcome = await Promise.race([work, interruption]);
    if (outcome === 'interrupted') {
      await opened.end('KILLED').catch(() => undefined);
      throw new Error(`interrupted: run ${opened.name} (${opened.id}) was marked KILLED`);
    }
    if (!outcome.ok) {
      // The callback's error is the one that matters; a logging failure on top is not reported.
      await opened.end('FAILED').catch(() => undefined);
      throw outcome.error;
    }
    await opened.end('FINISHED');
    return outcome.value;
  } finally {
    stopListening();
  }
}

/** Runs matching a filter, best first when ordered; shown as a table. */
async function search(options: SearchOptions = {}): Promise<RunInfo[]> {
  const query = new URLSearchParams();
  for (const name of [options.experiment ?? []].flat()) query.append('experimentId', (await experimentRef(name)).id);
  if (options.filter) query.set('filter', options.filter);
  for (const order of [options.orderBy ?? []].flat()) query.append('orderBy', order);
  query.set('limit', String(options.limit ?? 100));
  const { items } = await request<RunPage>(`runs?${query}`);
  return displayedAs(items, (runs) => runsTable(runs, apiSettings().url));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An experiment by id, or by name among those you can see (your own first). */
async function experimentRef(ref: string): Promise<ExperimentWithRole> {
  if (UUID.test(ref)) return request<ExperimentWithRole>(`experiments/${ref}`);
  const items = await visibleNamed(ref);
  const found = items.find((e) => e.role === 'owner') ?? items[0];
  if (!found) throw new TandemApiError('NOT_FOUND', `experiment ${JSON.stringify(ref)} not found`, 404);
  return found;
}

/** A run by id, shown as its card. */
async function get(id: string): Promise<RunInfo> {
  const info = await request<RunInfo>(`runs/${enc(id)}`);
  const experiment = await request<ExperimentWithRole>(`experiments/${info.experimentId}`);
  return asCard(info, experiment.name);
}

export const experiments = { run, start, search, get };
