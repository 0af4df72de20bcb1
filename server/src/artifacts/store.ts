import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { TandemError } from '../errors.js';

export interface ArtifactInfo {
  key: string;
  size: number;
  lastModified?: Date;
}

export interface PutResult {
  size: number;
  sha256: string;
}

export interface PutOptions {
  contentType?: string;
  /** Uploads larger than this fail with PAYLOAD_TOO_LARGE and leave nothing behind. */
  maxBytes?: number;
  /** The bytes must hash to this (hex); otherwise the upload fails with INVALID_ARGUMENT and leaves nothing behind. */
  sha256?: string;
}

/**
 * Object storage for artifacts. `put` streams (never buffers a whole object), computes the
 * sha256 on the way, and only makes the object visible once it is complete.
 */
export interface ArtifactStore {
  readonly kind: 'folder' | 's3';
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  /** Streams an object; NOT_FOUND when absent. `range` is inclusive, like HTTP. */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  stat(key: string): Promise<ArtifactInfo | undefined>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<ArtifactInfo>;
  /** Throws UNAVAILABLE when the backend cannot be reached. */
  ping(): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._@=+-]*$/;

/** Rejects keys that could escape their prefix or the folder store's root. */
export function assertValidKey(key: string): void {
  const segments = key.split('/');
  const bad = key.length === 0 || key.length > 1024 || segments.some((s) => !SEGMENT.test(s) || s === '..' || s === '.');
  if (bad) {
    throw new TandemError(
      'INVALID_ARGUMENT',
      `invalid artifact key ${JSON.stringify(key.slice(0, 200))}: use '/'-separated names of letters, digits and . _ @ = + -`,
    );
  }
}

/**
 * Counts and hashes bytes as they pass; fails once more than `maxBytes` went through, or at the
 * end when the bytes do not hash to `expectedSha256`, so the store never publishes them.
 */
export class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
  private readonly maxBytes: number;
  private readonly expectedSha256: string | undefined;
  private hex: string | undefined;
  size = 0;

  constructor({ maxBytes = Number.POSITIVE_INFINITY, sha256 }: Pick<PutOptions, 'maxBytes' | 'sha256'> = {}) {
    super();
    this.maxBytes = maxBytes;
    this.expectedSha256 = sha256?.toLowerCase();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      done(new TandemError('PAYLOAD_TOO_LARGE', `artifact exceeds the limit of ${this.maxBytes} bytes`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const actual = this.digest();
    if (this.expectedSha256 && actual !== this.expectedSha256) {
      done(new TandemError('INVALID_ARGUMENT', `sha256 mismatch: expected ${this.expectedSha256}, the received bytes hash to ${actual}`));
      return;
    }
    done();
  }

  digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }
}
