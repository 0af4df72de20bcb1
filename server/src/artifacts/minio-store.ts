import { pipeline } from 'node:stream/promises';
import * as Minio from 'minio';
import type { S3Config } from '../config.js';
import { TandemError } from '../errors.js';
import { assertValidKey, DigestStream, type ArtifactStore } from './store.js';

/** Parts of 16 MiB keep memory flat on multi-GB uploads while staying well above S3's 5 MiB minimum. */
const PART_SIZE = 16 * 1024 * 1024;

/** Artifacts in an S3 bucket (MinIO) through the `minio` client; the bucket is created if missing. */
export async function createMinioStore(s3: S3Config): Promise<ArtifactStore> {
  const url = new URL(s3.endpoint);
  const client = new Minio.Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL: url.protocol === 'https:',
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    partSize: PART_SIZE,
  });
  const unavailable = (cause: unknown) =>
    new TandemError('UNAVAILABLE', `object store at ${s3.endpoint} is unavailable: ${String(cause)}`, { cause });
  const notFound = (key: string, cause: unknown) =>
    isMissing(cause) ? new TandemError('NOT_FOUND', `artifact ${key} not found`, { cause }) : unavailable(cause);

  try {
    if (!(await client.bucketExists(s3.bucket))) await client.makeBucket(s3.bucket, s3.region);
  } catch (cause) {
    // Two servers may race to create the bucket; only a real failure matters.
    if ((cause as { code?: string }).code !== 'BucketAlreadyOwnedByYou') throw unavailable(cause);
  }

  return {
    kind: 's3',
    async put(key, body, options = {}) {
      assertValidKey(key);
      const digest = new DigestStream(options);
      // The client never notices a failing source stream, so the upload races the pipeline: a
      // source error (client gone, size limit) wins, and the unfinished multipart upload is
      // removed. No partial object ever becomes visible.
      const streamFailed = pipeline(body, digest).then(
        () => new Promise<never>(() => undefined),
        (error: unknown) => Promise.reject(asUploadError(error)),
      );
      try {
        await Promise.race([
          client.putObject(s3.bucket, key, digest, undefined, {
            'Content-Type': options.contentType ?? 'application/octet-stream',
          }),
          streamFailed,
        ]);
      } catch (error) {
        await client.removeIncompleteUpload(s3.bucket, key).catch(() => undefined);
        throw error instanceof TandemError ? error : unavailable(error);
      }
      return { size: digest.size, sha256: digest.digest() };
    },
    async get(key, range) {
      assertValidKey(key);
      try {
        if (!range) return await client.getObject(s3.bucket, key);
        const length = range.end === undefined ? 0 : range.end - range.start + 1;
        return await client.getPartialObject(s3.bucket, key, range.start, length);
      } catch (cause) {
        throw notFound(key, cause);
      }
    },
    async stat(key) {
      assertValidKey(key);
      try {
        const info = await client.statObject(s3.bucket, key);
        return { key, size: info.size, lastModified: info.lastModified };
      } catch (cause) {
        if (isMissing(cause)) return undefined;
        throw unavailable(cause);
      }
    },
    async delete(key) {
      assertValidKey(key);
      await client.removeObject(s3.bucket, key).catch((cause: unknown) => {
        if (!isMissing(cause)) throw unavailable(cause);
      });
    },
    async *list(prefix) {
      const stream = client.listObjectsV2(s3.bucket, prefix, true);
      for await (const item of stream as AsyncIterable<{ name?: string; size: number; lastModified?: Date }>) {
        if (item.name) yield { key: item.name, size: item.size, lastModified: item.lastModified };
      }
    },
    async ping() {
      await client.bucketExists(s3.bucket).catch((cause: unknown) => {
        throw unavailable(cause);
      });
    },
  };
}

function asUploadError(error: unknown): TandemError {
  return error instanceof TandemError
    ? error
    : new TandemError('INVALID_ARGUMENT', `upload stream failed: ${String(error)}`, { cause: error });
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchObject';
}
