// Remote files in SQL: DuckDB cannot load httpfs here, so `s3://bucket/key` objects are downloaded
// through the minio client (TANDEM_S3_* environment), and `tandem://models/<name>/<version>/<path>`
// files of registered versions through the Tandem server, into local caches that DuckDB reads.
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as Minio from 'minio';
import { load, type VersionRef } from '../models.js';
import { cacheDir, cached } from './cache.js';

let client: Minio.Client | undefined;

function s3Client(): Minio.Client {
  if (client) return client;
  const { TANDEM_S3_ENDPOINT: endpoint, TANDEM_S3_ACCESS_KEY: accessKey, TANDEM_S3_SECRET_KEY: secretKey } = process.env;
  if (!endpoint || !accessKey || !secretKey) {
    throw new Error('s3:// paths need TANDEM_S3_ENDPOINT, TANDEM_S3_ACCESS_KEY and TANDEM_S3_SECRET_KEY in the kernel environment');
  }
  const url = new URL(endpoint);
  client = new Minio.Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL: url.protocol === 'https:',
    accessKey,
    secretKey,
    region: process.env.TANDEM_S3_REGION ?? 'us-east-1',
  });
  return client;
}

/** Forgets the client so a changed TANDEM_S3_* environment takes effect. */
export function resetS3Client(): void {
  client = undefined;
}

/** Downloads `s3://bucket/key` (re-downloading when the object's ETag changes) and returns the local path. */
export async function localCopyOf(url: string): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new Error(`${url} is not an s3://bucket/key path`);
  const [, bucket, key] = match;
  const s3 = s3Client();
  const info = await s3.statObject(bucket, key).catch((cause) => {
    throw new Error(`cannot read ${url}: ${cause?.code ?? cause?.message ?? cause}`, { cause });
  });
  const id = createHash('sha256').update(`${bucket}/${key}@${info.etag}`).digest('hex').slice(0, 24);
  // Keep the extension: DuckDB picks the reader (CSV, Parquet, JSON) from it.
  return cached(path.join(cacheDir(), `${id}-${path.basename(key)}`), (partial) => s3.fGetObject(bucket, key, partial));
}

/**
 * `tandem://models/churn/3/data/train.parquet` (a version number, an alias such as `production`,
 * or `latest`; `models/eve%2Fchurn/...` for eve's): the version's files are downloaded once into
 * the sha256-verified model cache.
 */
async function modelFile(url: string): Promise<string> {
  const match = /^tandem:\/\/models\/([^/]+)\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new Error(`${url} is not a tandem://models/<name>/<version|alias|latest>/<path> URL`);
  const [, encoded, at, file] = match;
  const name = decodeURIComponent(encoded);
  const ref: VersionRef = /^\d+$/.test(at) ? { version: Number(at) } : at === 'latest' ? {} : { alias: at };
  const loaded = await load(name, ref);
  if (!loaded.version.files.some((f) => f.path === file)) {
    throw new Error(
      `${url}: version ${loaded.version.number} of ${name} has no file ${file} (it has ${loaded.version.files.map((f) => f.path).join(', ')})`,
    );
  }
  return loaded.path(file);
}

/** The local path of an `s3://` or `tandem://` file, e.g. to bind as a parameter: sql`select * from read_parquet(${await file(url)})`. */
export async function file(url: string): Promise<string> {
  if (url.startsWith('s3://')) return localCopyOf(url);
  if (url.startsWith('tandem://')) return modelFile(url);
  throw new Error(`file(): ${url} is neither an s3:// nor a tandem:// URL`);
}

const REMOTE_LITERAL = /'((?:s3|tandem):\/\/(?:[^']|'')+)'/g;

/** Replaces every quoted `'s3://…'` or `'tandem://…'` literal in `query` with the quoted path of its local copy. */
export async function withLocalFiles(query: string): Promise<string> {
  const urls = [...new Set([...query.matchAll(REMOTE_LITERAL)].map((m) => m[1]))];
  if (urls.length === 0) return query;
  const local = new Map(await Promise.all(urls.map(async (url) => [url, await file(url.replace(/''/g, "'"))] as const)));
  return query.replace(REMOTE_LITERAL, (_, url: string) => `'${local.get(url)!.replace(/'/g, "''")}'`);
}
