import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Page, PredictionLogFile, PredictResponse } from '../api/index.js';
import type { ArtifactStore } from '../artifacts/store.js';
import { pageOf, type PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../logger.js';
import { SERVER_ROOT } from '../paths.js';

/** One answered or refused prediction request, as the service ran it. */
export interface LogEntry {
  split: 'primary' | 'canary' | 'shadow';
  /** The version that answered, or that was serving when the request failed (null: none was). */
  version: number | null;
  latencyMs: number;
  /** The HTTP status the request was answered with. */
  status: number;
  error: string | null;
  /** The predict body as sent: `{ rows }` or `{ columns }`. */
  body: object;
  answer: PredictResponse | undefined;
}

export interface PredictionLogStats {
  rowsBuffered: number;
  rowsWritten: number;
  /** Rows given up because too many writes were already under way (the store is slow or down). */
  rowsDropped: number;
  files: number;
  failures: number;
}

export interface PredictionLogOptions {
  /** Buffered rows are written this often (ms). */
  flushMs?: number;
  /** … or as soon as a deployment has this many. */
  maxRows?: number;
}

const PREFIX = 'serving-logs';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Rows per message to the encoder: requests are served between messages, so a flush never stalls them long. */
const PART_ROWS = 1000;
/** Input fields beyond this many in one file are not logged: a stray body must not make a file of a million columns. */
const MAX_FEATURES = 1000;
const MAX_PENDING = 16;
/** The log's own columns: an input of the same name is logged as `input<name>`. */
const RESERVED = new Set(['_ts', '_version', '_split', '_latency_ms', '_status', '_error', '_prediction']);
const PARQUET = 'application/vnd.apache.parquet';
/** Largest log file a replica may send: 10k rows of a wide model stay far below it. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;
const LOG_KEY = /^serving-logs\/([0-9a-f-]{36})\/date=(\d{4})-(\d{2})-(\d{2})\/hour=(\d{2})\/[0-9a-f]+-\d+-\d+\.parquet$/;

/** A deployment's rows since its last flush, column by column (input columns padded with nulls). */
interface Rows {
  /** The UTC hour they fall in (ms): a file holds one hour partition. */
  hour: number;
  count: number;
  ts: number[];
  version: (number | null)[];
  split: string[];
  latencyMs: number[];
  status: number[];
  error: (string | null)[];
  inputs: Map<string, unknown[]>;
  prediction: unknown[];
}

interface SchemaElement {
  name: string;
  type?: 'BOOLEAN' | 'INT32' | 'INT64' | 'DOUBLE' | 'BYTE_ARRAY';
  converted_type?: 'UTF8' | 'TIMESTAMP_MILLIS';
  repetition_type?: 'REQUIRED' | 'OPTIONAL';
  num_children?: number;
}

type Kind = 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'JSON';

/**
 * Sampled prediction logs, written to the artifact store as Parquet files partitioned by UTC hour,
 * for monitoring. Recording is cheap (the sample is drawn first, then a few array pushes); rows are
 * buffered per deployment and encoded off the event loop, in one worker thread. Writing never
 * fails a request: failures are logged and counted.
 */
export class PredictionLog {
  private readonly buffers = new Map<string, Rows>();
  private readonly pending = new Set<Promise<void>>();
  private readonly encoder = new Encoder();
  /** Names this process's files apart from other replicas'. */
  private readonly processId = randomBytes(4).toString('hex');
  private readonly flushMs: number;
  private readonly maxRows: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private seq = 0;
  private counts = { rowsBuffered: 0, rowsWritten: 0, rowsDropped: 0, files: 0, failures: 0 };

  constructor(
    /** The server's artifact store, or a replica's way of sending files to the server (which lists and deletes nothing). */
    private readonly artifacts: Pick<ArtifactStore, 'put' | 'get' | 'stat' | 'delete' | 'list'>,
    private readonly log: Logger,
    options: PredictionLogOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 10_000;
    this.maxRows = options.maxRows ?? 10_000;
  }

  /** Logs a request with probability `sampleRate` (0: never), one log row per predicted row. */
  record(deploymentId: string, entry: LogEntry, sampleRate: number): void {
    if (Math.random() >= sampleRate || this.closed) return;
    try {
      this.append(deploymentId, entry);
    } catch (error) {
      this.counts.failures++;
      this.log.warn('logging a prediction failed', { deploymentId, error: String(error) });
    }
  }

  /** Deletes the deployment's hour partitions that ended more than `retentionDays` ago; answers how many files went. */
  async sweep(deploymentId: string, retentionDays: number): Promise<number> {
    const cutoff = Date.now() - retentionDays * DAY_MS;
    const old: string[] = [];
    for await (const file of this.artifacts.list(prefixOf(deploymentId))) {
      const hour = hourOf(file.key);
      if (hour !== undefined && hour + HOUR_MS <= cutoff) old.push(file.key);
    }
    for (const key of old) await this.artifacts.delete(key);
    return old.length;
  }

  /** For a deleted deployment: drops its buffered rows and deletes its files (in the background, once writes under way landed). */
  forget(deploymentId: string): void {
    const rows = this.buffers.get(deploymentId);
    if (rows) {
      this.buffers.delete(deploymentId);
      this.counts.rowsBuffered -= rows.count;
    }
    const writes = [...this.pending];
    this.track(
      (async () => {
        await Promise.allSettled(writes);
        const keys: string[] = [];
        for await (const file of this.artifacts.list(prefixOf(deploymentId))) keys.push(file.key);
        for (const key of keys) await this.artifacts.delete(key);
      })().catch((error: unknown) => this.log.warn('deleting a deployment’s prediction logs failed', { deploymentId, ...describe(error) })),
    );
  }

  /** The deployment's log files, newest hour first. */
  async files(deploymentId: string, page: PageRequest): Promise<Page<PredictionLogFile>> {
    const all: PredictionLogFile[] = [];
    for await (const file of this.artifacts.list(prefixOf(deploymentId))) {
      const hour = hourOf(file.key);
      if (hour !== undefined) all.push({ key: file.key, size: file.size, hour: new Date(hour).toISOString() });
    }
    all.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    return pageOf(all, page);
  }

  /**
   * One of the deployment's log files. Only keys shaped as this log writes them are read, so no
   * key can reach another prefix (`..`, absolute paths); another deployment's key is NOT_FOUND.
   */
  async open(deploymentId: string, key: string): Promise<{ stream: Readable; size: number }> {
    const info = ownKey(deploymentId, key) ? await this.artifacts.stat(key) : undefined;
    if (!info) throw new TandemError('NOT_FOUND', `deployment ${deploymentId} has no log file ${key}`);
    return { stream: await this.artifacts.get(key), size: info.size };
  }

  /** Stores a file a replica's log wrote for the deployment, under a key shaped as this log writes them. */
  async accept(deploymentId: string, key: string, body: Readable): Promise<void> {
    if (!ownKey(deploymentId, key)) throw new TandemError('FORBIDDEN', `query.key: ${key} is not a log file of deployment ${deploymentId}`);
    await this.artifacts.put(key, body, { contentType: PARQUET, maxBytes: MAX_FILE_BYTES });
  }

  stats(): PredictionLogStats {
    return { ...this.counts };
  }

  /** Writes everything buffered and waits for it (so that shutting down loses nothing), then stops the encoder. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const id of [...this.buffers.keys()]) this.flush(id);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.encoder.close();
  }

  private append(deploymentId: string, entry: LogEntry): void {
    const now = Date.now();
    const hour = now - (now % HOUR_MS);
    let rows = this.buffers.get(deploymentId);
    if (rows && rows.hour !== hour) {
      this.flush(deploymentId);
      rows = undefined;
    }
    if (!rows) {
      rows = emptyRows(hour);
      this.buffers.set(deploymentId, rows);
      this.timer ??= setInterval(() => {
        for (const id of [...this.buffers.keys()]) this.flush(id);
      }, this.flushMs).unref();
    }
    const n = appendInputs(rows, entry.body);
    const predictions = entry.answer?.predictions;
    for (let i = 0; i < n; i++) {
      rows.ts.push(now);
      rows.version.push(entry.version);
      rows.split.push(entry.split);
      rows.latencyMs.push(entry.latencyMs);
      rows.status.push(entry.status);
      rows.error.push(entry.error);
      rows.prediction.push(predictions?.[i] ?? null);
    }
    rows.count += n;
    this.counts.rowsBuffered += n;
    if (rows.count >= this.maxRows) this.flush(deploymentId);
  }

  private flush(deploymentId: string): void {
    const rows = this.buffers.get(deploymentId);
    if (!rows) return;
    this.buffers.delete(deploymentId);
    this.counts.rowsBuffered -= rows.count;
    if (this.pending.size >= MAX_PENDING) {
      this.counts.rowsDropped += rows.count;
      this.log.warn('prediction log rows dropped: too many writes under way', { deploymentId, rows: rows.count });
      return;
    }
    this.track(
      this.write(deploymentId, rows).then(
        () => {
          this.counts.rowsWritten += rows.count;
          this.counts.files++;
        },
        (error: unknown) => {
          this.counts.failures++;
          this.log.warn('writing a prediction log file failed', { deploymentId, rows: rows.count, ...describe(error) });
        },
      ),
    );
  }

  private async write(deploymentId: string, rows: Rows): Promise<void> {
    const inputs = [...rows.inputs].map(([name, values]) => ({ name, values, kind: kindOf(values) }));
    const predictionKind = kindOf(rows.prediction);
    const schema: SchemaElement[] = [
      { name: 'root', num_children: 7 + inputs.length },
      { name: '_ts', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'REQUIRED' },
      { name: '_version', type: 'INT32', repetition_type: 'OPTIONAL' },
      { name: '_split', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: '_latency_ms', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: '_status', type: 'INT32', repetition_type: 'REQUIRED' },
      { name: '_error', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ...inputs.map(({ name, kind }) => element(name, kind)),
      element('_prediction', predictionKind),
    ];
    const bytes = await this.encoder.encode(schema, rows.count, (start, end) => [
      rows.ts.slice(start, end),
      rows.version.slice(start, end),
      rows.split.slice(start, end),
      rows.latencyMs.slice(start, end),
      rows.status.slice(start, end),
      rows.error.slice(start, end),
      ...inputs.map(({ values, kind }) => convert(values.slice(start, end), kind)),
      convert(rows.prediction.slice(start, end), predictionKind),
    ]);
    const key = `${prefixOf(deploymentId)}${partition(rows.hour)}/${this.processId}-${Date.now()}-${++this.seq}.parquet`;
    await this.artifacts.put(key, Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), { contentType: PARQUET });
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}

/**
 * The Parquet encoder thread (serving.logs.worker.mjs), started on first use. It holds the
 * process open only while it has work, so an idle log never delays exit.
 */
class Encoder {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void }>();
  private jobs = 0;

  async encode(schema: SchemaElement[], rows: number, slice: (start: number, end: number) => unknown[][]): Promise<Uint8Array> {
    const worker = this.start();
    const job = ++this.jobs;
    const done = new Promise<Uint8Array>((resolve, reject) => this.waiting.set(job, { resolve, reject }));
    // Settled while parts are still being sent when the worker dies; awaited below.
    done.catch(() => undefined);
    worker.ref();
    for (let start = 0; start < rows; start += PART_ROWS) {
      if (start > 0) await nextTurn();
      worker.postMessage({ type: 'part', job, columns: slice(start, Math.min(rows, start + PART_ROWS)) });
    }
    worker.postMessage({ type: 'encode', job, schema });
    return done;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerFile());
    worker.unref();
    worker.on('message', (message: { job: number; bytes?: ArrayBuffer; error?: unknown }) => {
      const waiter = this.waiting.get(message.job);
      if (!waiter) return;
      this.waiting.delete(message.job);
      if (this.waiting.size === 0) worker.unref();
      if (message.bytes) waiter.resolve(new Uint8Array(message.bytes));
      else waiter.reject(new Error('encoding a prediction log file failed', { cause: message.error }));
    });
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', (cause) => failAll(new Error('the prediction log encoder failed', { cause })));
    worker.on('exit', (code) => failAll(new Error(`the prediction log encoder exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

/** Beside this module when a build copied it there, else in src/: worker threads load plain JavaScript only. */
function workerFile(): URL {
  const beside = new URL('./serving.logs.worker.mjs', import.meta.url);
  return existsSync(beside) ? beside : pathToFileURL(path.join(SERVER_ROOT, 'src/serving/serving.logs.worker.mjs'));
}

const prefixOf = (deploymentId: string): string => `${PREFIX}/${deploymentId}/`;

function partition(hour: number): string {
  const iso = new Date(hour).toISOString();
  return `date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/** The start of a log file's hour partition (ms), or undefined for a key this log did not write. */
function hourOf(key: string): number | undefined {
  const match = LOG_KEY.exec(key);
  return match ? Date.UTC(Number(match[2]), Number(match[3]) - 1, Number(match[4]), Number(match[5])) : undefined;
}

const emptyRows = (hour: number): Rows => ({
  hour,
  count: 0,
  ts: [],
  version: [],
  split: [],
  latencyMs: [],
  status: [],
  error: [],
  inputs: new Map(),
  prediction: [],
});

const isColumn = (values: unknown): values is ArrayLike<unknown> =>
  Array.isArray(values) || (ArrayBuffer.isView(values) && !(values instanceof DataView));

/** Appends the body's input values, one row per predicted row; answers how many rows (at least one, for a body with none). */
function appendInputs(rows: Rows, body: object): number {
  const base = rows.count;
  let n = 0;
  if ('rows' in body && Array.isArray(body.rows)) {
    const given = body.rows as unknown[];
    n = given.length;
    for (let i = 0; i < n; i++) {
      const row = given[i];
      if (row === null || typeof row !== 'object') continue;
      for (const name in row) inputColumn(rows, name, base + i)?.push((row as Record<string, unknown>)[name]);
    }
  } else if ('columns' in body && body.columns !== null && typeof body.columns === 'object') {
    const given = body.columns as Record<string, unknown>;
    for (const name in given) {
      const values = given[name];
      if (!isColumn(values)) continue;
      n = Math.max(n, values.length);
      const column = inputColumn(rows, name, base);
      if (column) for (let i = 0; i < values.length; i++) column.push(values[i]);
    }
  }
  n = Math.max(n, 1);
  for (const column of rows.inputs.values()) while (column.length < base + n) column.push(null);
  return n;
}

/** The column of input `name`, padded with nulls to `length`; undefined once the file has MAX_FEATURES inputs. */
function inputColumn(rows: Rows, name: string, length: number): unknown[] | undefined {
  const key = RESERVED.has(name) ? `input${name}` : name;
  let column = rows.inputs.get(key);
  if (!column) {
    if (rows.inputs.size >= MAX_FEATURES) return undefined;
    column = [];
    rows.inputs.set(key, column);
  }
  while (column.length < length) column.push(null);
  return column;
}

/** A column's Parquet kind: one scalar type throughout, else JSON text. */
function kindOf(values: unknown[]): Kind {
  let kind: Kind | undefined;
  for (const value of values) {
    if (value === null || value === undefined) continue;
    const type = typeof value;
    const k: Kind =
      type === 'number' || type === 'bigint' ? 'DOUBLE' : type === 'boolean' ? 'BOOLEAN' : type === 'string' ? 'STRING' : 'JSON';
    if (kind === undefined) kind = k;
    else if (kind !== k) return 'JSON';
  }
  return kind ?? 'STRING';
}

function element(name: string, kind: Kind): SchemaElement {
  if (kind === 'DOUBLE') return { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' };
  if (kind === 'BOOLEAN') return { name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' };
  return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
}

function convert(values: unknown[], kind: Kind): unknown[] {
  if (kind === 'DOUBLE') return values.map((v) => (v === null || v === undefined ? null : Number(v)));
  if (kind === 'JSON') return values.map((v) => (v === null || v === undefined ? null : JSON.stringify(v, plainJson)));
  return values.map((v) => v ?? null);
}

/** JSON for what JSON.stringify cannot take as is: 64-bit integers and typed arrays (Arrow inputs). */
function plainJson(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<unknown>);
  return value;
}

const describe = (error: unknown): Record<string, string> => ({
  error: String(error),
  cause: String((error as Error | undefined)?.cause ?? ''),
});

/**
 * Whether `key` is a log file of the deployment. Only keys shaped as this log writes them pass,
 * so that no key reaches another prefix (`..`, absolute paths); a malformed one is a 400.
 */
function ownKey(deploymentId: string, key: string): boolean {
  const match = LOG_KEY.exec(key);
  if (!match)
    throw new TandemError(
      'INVALID_ARGUMENT',
      `query.key: ${JSON.stringify(key.slice(0, 200))} is not a prediction log file; take keys from GET /deployments/${deploymentId}/logs`,
    );
  return match[1] === deploymentId;
}
