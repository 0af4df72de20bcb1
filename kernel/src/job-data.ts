/**
 * Data for Spark and GPU jobs, taken the way users have it: a CSV, Parquet, JSON or Arrow file
 * next to the notebook, an `s3://` object or `tandem://` model file, or an Arrow/arquero table
 * (such as the result of `await sql`…``). Workers may run on other machines, so nothing local
 * is passed as a path: files and tables are uploaded to the Tandem server once per content
 * (sha256), with progress for large ones, and the job names them by hash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import type { DataRef, JobDataInfo } from '@tandem/server/api';
import { request, TandemApiError } from './api.js';
import { publishDisplay } from './kernel/channel.js';
import { loadArrowTable } from './sql/arrow-to-duckdb.js';
import { file as remoteFile } from './sql/remote-files.js';
import { duckdb, isQueryable, toArrow, type Queryable } from './sql/sql.js';

/** A file path or URL, or a table. */
export type DataSource = string | Queryable;

/** What a job spec carries for uploaded data: the worker downloads it by hash. */
export type { DataRef };

const ARROW_FILE = /\.(arrow|feather|ipc)$/i;
/** URL schemes a Spark worker reads itself (shared storage); everything else is uploaded. */
const WORKER_URL = /^(hdfs|gs|abfs|abfss|wasb|wasbs|s3a|dbfs):\/\//i;
const SHOW_UPLOAD_FROM_BYTES = 8 * 1024 * 1024;

/**
 * Makes `source` reachable by a worker: uploads it (unless the server already has this content
 * from you) and returns its reference; URLs of shared storage Spark reads itself pass unchanged.
 * `option` names the option in errors.
 */
export async function stageData(source: DataSource, option = 'data'): Promise<DataRef | string> {
  if (typeof source !== 'string') {
    if (!isQueryable(source))
      throw new TypeError(`${option}: expected a file path, an s3:// URL or an Arrow/arquero table, got ${describe(source)}`);
    return withTempParquet(toArrow(source), (file) => uploadFile(file, 'table.parquet'));
  }
  if (WORKER_URL.test(source)) return source;
  if (/^(s3|tandem):\/\//.test(source)) return uploadFile(await remoteFile(source), path.basename(source));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('file://')) {
    throw new Error(`${option}: ${source}: URLs of this kind cannot be read by workers; give a local file, an s3:// object or a table`);
  }
  const local = path.resolve(source.startsWith('file://') ? fileURLToPath(source) : source);
  const info = await stat(local).catch(() => undefined);
  if (!info) throw new Error(`${option}: ${source} does not exist on this machine (looked at ${local})`);
  if (info.isDirectory()) return parquetFolder(local, option);
  if (ARROW_FILE.test(local)) {
    const table = arrow.tableFromIPC(await readFile(local));
    return withTempParquet(table, (file) => uploadFile(file, `${path.basename(local).replace(ARROW_FILE, '')}.parquet`));
  }
  return uploadFile(local, path.basename(local));
}

/** Stages each entry of a script job's `data` option; scripts get uploaded data only, by name. */
export async function stageDataMap(data: Record<string, DataSource>): Promise<Record<string, DataRef>> {
  const staged: Record<string, DataRef> = {};
  for (const [name, source] of Object.entries(data)) {
    const ref = await stageData(source, `data.${name}`);
    if (typeof ref === 'string') throw new Error(`data.${name}: ${ref} is read by Spark itself; pass it to the script in args instead`);
    staged[name] = ref;
  }
  return staged;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ? `a ${value.constructor.name}` : 'an object';
}

/** A folder of Parquet files (as Spark writes them) becomes one Parquet file. */
async function parquetFolder(folder: string, option: string): Promise<DataRef> {
  const conn = await duckdb();
  return withTempDir(async (dir) => {
    const out = path.join(dir, `${path.basename(folder)}.parquet`);
    try {
      await conn.run(`COPY (SELECT * FROM read_parquet($1)) TO '${out.replace(/'/g, "''")}' (FORMAT parquet)`, [
        path.join(folder, '**', '*.parquet'),
      ]);
    } catch (cause) {
      throw new Error(`${option}: ${folder} is a folder without readable Parquet files: ${(cause as Error).message}`, { cause });
    }
    return uploadFile(out, path.basename(out));
  });
}

async function withTempParquet<T>(table: arrow.Table, use: (file: string) => Promise<T>): Promise<T> {
  const conn = await duckdb();
  const name = `__tandem_upload_${randomUUID().replace(/-/g, '')}`;
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'table.parquet');
    await loadArrowTable(conn, name, table);
    try {
      await conn.run(`COPY "${name}" TO '${file.replace(/'/g, "''")}' (FORMAT parquet)`);
    } finally {
      await conn.run(`DROP TABLE IF EXISTS "${name}"`);
    }
    return use(file);
  });
}

async function withTempDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-data-'));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Hashes of files already hashed in this kernel, by path, size and modification time. */
const hashes = new Map<string, string>();

async function sha256Of(file: string): Promise<{ sha256: string; size: number }> {
  const info = await stat(file);
  const key = `${file}\0${info.size}\0${info.mtimeMs}`;
  let sha256 = hashes.get(key);
  if (!sha256) {
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), hash);
    sha256 = hash.digest('hex');
    hashes.set(key, sha256);
  }
  return { sha256, size: info.size };
}

/** Uploads a file under its content hash unless the server already has it from this user. */
async function uploadFile(file: string, name: string): Promise<DataRef> {
  const { sha256, size } = await sha256Of(file);
  const ref = { sha256, name: safeName(name) };
  const known = await request<JobDataInfo>(`job-data/${sha256}`).then(
    () => true,
    (error: unknown) => {
      if (error instanceof TandemApiError && error.code === 'NOT_FOUND') return false;
      throw error;
    },
  );
  if (known) return ref;
  const progress = size >= SHOW_UPLOAD_FROM_BYTES ? uploadProgress(ref.name, size) : undefined;
  const body = createReadStream(file).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        progress?.add(chunk.length);
        done(null, chunk);
      },
    }),
  );
  try {
    await request<JobDataInfo>(`job-data/${sha256}`, {
      method: 'PUT',
      body: body as unknown as RequestInit['body'],
      headers: { 'content-type': 'application/octet-stream' },
    });
  } finally {
    progress?.done();
  }
  return ref;
}

/** The server accepts letters, digits and . _ - in file names; the extension tells the format. */
function safeName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(-200);
  return cleaned || 'data';
}

/** A live "uploading x: 12.0 of 120.0 MB" line under the cell. */
function uploadProgress(name: string, total: number): { add(bytes: number): void; done(): void } {
  const displayId = randomUUID();
  const started = performance.now();
  let sent = 0;
  let shownAt = 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const show = (text: string, update: boolean) => publishDisplay({ 'text/plain': text }, { displayId, update });
  show(`uploading ${name}: 0.0 of ${mb(total)} MB`, false);
  return {
    add(bytes) {
      sent += bytes;
      if (performance.now() - shownAt < 250) return;
      shownAt = performance.now();
      show(`uploading ${name}: ${mb(sent)} of ${mb(total)} MB (${((100 * sent) / total).toFixed(0)} %)`, true);
    },
    done() {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      show(
        sent >= total ? `uploaded ${name}: ${mb(total)} MB in ${seconds} s` : `uploading ${name} stopped at ${mb(sent)} of ${mb(total)} MB`,
        true,
      );
    },
  };
}
