// `s3://bucket/key` paths in SQL: DuckDB cannot load httpfs here, so objects are downloaded
// through the minio client (TANDEM_S3_* environment) into a local cache that DuckDB reads.
import { createHash } from 'node:crypto';
import { mkdir, rename, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as Minio from 'minio';

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

const cacheDir = () => process.env.TANDEM_SQL_CACHE ?? path.join(os.tmpdir(), 'tandem-sql-cache');

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
  const file = path.join(cacheDir(), `${id}-${path.basename(key)}`);
  if (await stat(file).then(() => true, () => false)) return file;
  await mkdir(cacheDir(), { recursive: true });
  const partial = `${file}.${process.pid}.part`;
  await s3.fGetObject(bucket, key, partial);
  await rename(partial, file);
  return file;
}

const S3_LITERAL = /'(s3:\/\/(?:[^']|'')+)'/g;

/** Replaces every quoted `'s3://…'` literal in `query` with the quoted path of its local copy. */
export async function withLocalFiles(query: string): Promise<string> {
  const urls = [...new Set([...query.matchAll(S3_LITERAL)].map((m) => m[1]))];
  if (urls.length === 0) return query;
  const local = new Map(await Promise.all(urls.map(async (url) => [url, await localCopyOf(url.replace(/''/g, "'"))] as const)));
  return query.replace(S3_LITERAL, (_, url: string) => `'${local.get(url)!.replace(/'/g, "''")}'`);
}
