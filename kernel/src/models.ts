/**
 * `models` in cells: register model versions, look them up, download (load) them into a local
 * cache and score Arrow tables with ONNX models in the kernel.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Schema, Table } from 'apache-arrow';
import type {
  Column,
  Lineage,
  Model,
  ModelFile,
  ModelPage,
  ModelVersion,
  ModelWithRole,
  StartedUpload,
  StartUploadRequest,
} from '@tandem/server/api';
import { apiSettings, request, TandemApiError } from './api.js';
import { serve } from './deployments.js';
import { displayedAs } from './display/mime-bundle.js';
import { modelVersionBundle } from './display/model-card.js';
import { scoreOnnx, type ScoreOptions } from './models-onnx.js';
import { currentNotebook } from './notebook.js';

export type { Column, Model, ModelFile, ModelVersion, Signature } from '@tandem/server/api';

export interface RegisterOptions {
  /** A name (your own model of that name, else the one you may edit, else a new one of yours) or `owner/name`. */
  name: string;
  /** Files by relative path: bytes, or the path of a local file (streamed, not read into memory). */
  files?: Record<string, Uint8Array | { file: string }>;
  /** A local directory uploaded with its structure. */
  dir?: string;
  /** ONNX model bytes, stored as `model.onnx`. */
  onnx?: Uint8Array;
  params?: Record<string, string | number | boolean | null>;
  metrics?: Record<string, number>;
  /** Markdown model card, for the version. */
  description?: string;
  /** Input/output columns; Arrow schemas are converted. */
  signature?: { inputs: Column[] | Schema; outputs: Column[] | Schema };
  lineage?: Lineage;
  /** The experiment run that trained it (a run or its id, one you can see): the version's `runId`; the run gets tagged with the version. */
  run?: { id: string } | string;
  /** Point this alias at the new version, e.g. `staging`. */
  alias?: string;
}

export type VersionRef = { version?: number; alias?: string };

const enc = encodeURIComponent;
// Slashes are encoded too, so that `..` inside a path reaches the server (which rejects it) instead of being resolved by URL normalization.
const filePath = enc;

/** A sha256 fingerprint of an Arrow table's schema and row count, for lineage. */
export function fingerprint(table: Table): string {
  return createHash('sha256')
    .update(JSON.stringify(table.schema.fields.map((f) => [f.name, String(f.type)])))
    .update(String(table.numRows))
    .digest('hex')
    .slice(0, 16);
}

/** Columns of an Arrow schema or table, as a signature half. */
export function columnsOf(source: Schema | Table | Column[]): Column[] {
  if (Array.isArray(source)) return source;
  const schema = 'schema' in source ? source.schema : source;
  return schema.fields.map((f) => ({ name: f.name, type: String(f.type) }));
}

interface Upload {
  path: string;
  size: number;
  sha256: string;
  open(): Readable;
}

async function uploadsOf(options: RegisterOptions): Promise<Upload[]> {
  const out: Upload[] = [];
  const fromBytes = (p: string, bytes: Uint8Array): Upload => ({
    path: p,
    size: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    open: () => Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]),
  });
  const fromFile = async (p: string, file: string): Promise<Upload> => ({
    path: p,
    size: (await stat(file)).size,
    sha256: (await sha256OfFile(file))!,
    open: () => createReadStream(file),
  });
  if (options.onnx) out.push(fromBytes('model.onnx', options.onnx));
  for (const [p, content] of Object.entries(options.files ?? {})) {
    out.push(content instanceof Uint8Array ? fromBytes(p, content) : await fromFile(p, content.file));
  }
  if (options.dir) {
    for (const rel of await walk(options.dir)) out.push(await fromFile(rel, path.join(options.dir, rel)));
  }
  if (out.length === 0) throw new TandemApiError('INVALID_ARGUMENT', 'models.register needs files, dir or onnx', 400);
  return out;
}

async function walk(root: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(root, prefix), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      return e.isDirectory() ? walk(root, rel) : Promise.resolve(e.isFile() ? [rel] : []);
    }),
  );
  return nested.flat().sort();
}

/**
 * Registers a new version (creating the model on first use): streams every file with its
 * sha256, then commits. A failed upload is abandoned on the server, so no broken version appears.
 */
export async function register(options: RegisterOptions): Promise<ModelVersion> {
  const uploads = await uploadsOf(options);
  const signature = options.signature && { inputs: columnsOf(options.signature.inputs), outputs: columnsOf(options.signature.outputs) };
  const notebook = currentNotebook();
  const lineage = { ...(notebook ? { notebook } : {}), ...options.lineage };
  const start: StartUploadRequest = {
    createModel: true,
    params: options.params,
    metrics: options.metrics,
    description: options.description,
    signature,
    lineage,
    run: typeof options.run === 'string' ? options.run : options.run?.id,
  };
  // The rest names the model the server chose by its qualified name: a bare name may resolve otherwise later.
  const { uploadId, model } = await request<StartedUpload>(`models/${enc(options.name)}/uploads`, { method: 'POST', json: start });
  const base = `models/${enc(model)}`;
  try {
    for (const file of uploads) {
      await request(`${base}/uploads/${uploadId}/files/${filePath(file.path)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'x-tandem-sha256': file.sha256, 'content-length': String(file.size) },
        body: file.open() as unknown as RequestInit['body'],
      });
    }
    const version = await request<ModelVersion>(`${base}/uploads/${uploadId}/commit`, { method: 'POST' });
    if (options.alias) await setAlias(model, options.alias, version.number);
    return asCard(options.name, model, options.alias ? { ...version, aliases: [...version.aliases, options.alias] } : version);
  } catch (error) {
    await request(`${base}/uploads/${uploadId}`, { method: 'DELETE' }).catch(() => undefined);
    throw error;
  }
}

/**
 * A version by number or alias; the latest version when neither is given. `name` is `owner/name`
 * or a bare name (your own model of that name, else the only one you can see); `model` in the
 * answer is the qualified name.
 */
export async function get(name: string, ref: VersionRef = {}): Promise<ModelVersion & { model: string }> {
  const model = await request<ModelWithRole>(`models/${enc(name)}`);
  // Later requests name the model the bare name resolved to, not the bare name again.
  const base = `models/${enc(model.fullName)}`;
  let version: ModelVersion;
  if (ref.alias) version = await request<ModelVersion>(`${base}/aliases/${enc(ref.alias)}`);
  else {
    const number = ref.version ?? model.latestVersion;
    if (number === null) throw new TandemApiError('NOT_FOUND', `model ${name} has no versions yet`, 404);
    version = await request<ModelVersion>(`${base}/versions/${number}`);
  }
  return asCard(name, model.fullName, { ...version, model: model.fullName });
}

/** A version shows as a compact card in cells, not as the raw answer: named as the cell named it, linked by `fullName`. */
const asCard = <T extends ModelVersion>(name: string, fullName: string, version: T): T =>
  displayedAs(version, (v) => modelVersionBundle({ name, fullName }, v, apiSettings().url));

/** Models you can see; `query` takes the API's filters, e.g. `{ filter: 'metric.auc>0.9', orderBy: 'metric.auc' }`. */
export async function search(query: Record<string, string | number | string[]> = {}): Promise<ModelPage> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) for (const v of [value].flat()) params.append(key, String(v));
  return request(`models?${params}`);
}

export async function setAlias(name: string, alias: string, version: number): Promise<Model> {
  return request<Model>(`models/${enc(name)}/aliases/${enc(alias)}`, { method: 'PUT', json: { version } });
}

export interface LoadedModel {
  name: string;
  version: ModelVersion;
  /** Local folder holding the version's files. */
  dir: string;
  path(file: string): string;
  /** Scores an Arrow table with the version's `.onnx` file; returns the outputs as a table. */
  score(table: Table, options?: ScoreOptions): Promise<Table>;
}

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.TANDEM_MODEL_CACHE ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tandem', 'models');
}

/**
 * Downloads a version's files into the cache (`TANDEM_MODEL_CACHE`, default ~/.cache/tandem/models),
 * verifying each sha256 and skipping files already cached with the same hash.
 */
export async function load(name: string, ref: VersionRef & { cacheDir?: string } = {}): Promise<LoadedModel> {
  const version = await get(name, ref);
  // Cached per owner: two people's same-named models never share a folder.
  const dir = path.join(ref.cacheDir ?? cacheRoot(), ...version.model.split('/'), String(version.number));
  for (const file of version.files) await download(version.model, version, file, path.join(dir, ...file.path.split('/')));
  const onnxFile = version.files.find((f) => f.path.endsWith('.onnx'));
  return {
    name,
    version,
    dir,
    path: (file) => path.join(dir, ...file.split('/')),
    score: async (table, options) => {
      if (!onnxFile) throw new TandemApiError('INVALID_ARGUMENT', `${name} version ${version.number} has no .onnx file to score with`, 400);
      return scoreOnnx(path.join(dir, ...onnxFile.path.split('/')), table, { signature: version.signature ?? undefined, ...options });
    },
  };
}

async function download(name: string, version: ModelVersion, file: ModelFile, target: string): Promise<void> {
  if ((await sha256OfFile(target)) === file.sha256) return;
  await mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.${randomUUID()}.part`;
  const response = await request<Response>(`models/${enc(name)}/versions/${version.number}/files/${filePath(file.path)}`, { raw: true });
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), hashing, createWriteStream(temp));
    const got = hash.digest('hex');
    if (got !== file.sha256)
      throw new TandemApiError('INTERNAL', `download of ${file.path} is corrupt: sha256 ${got}, expected ${file.sha256}`, 0);
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
}

/** Streams a file through sha256; undefined when it does not exist. */
async function sha256OfFile(file: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

/** `serve(name, { alias })` (deployments.ts): serves an alias of the model over HTTP. */
export const models = { register, get, search, load, setAlias, serve, fingerprint, columnsOf };
