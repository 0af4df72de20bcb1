import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TandemError } from '../errors.js';
import { assertValidKey, DigestStream, type ArtifactInfo, type ArtifactStore } from './store.js';

const TMP = '.uploads';

/**
 * Artifacts as files under one folder: the embedded default for `npm start`, used by one server
 * process. Uploads cut short by a crash are removed when it starts again.
 */
export async function createFolderStore(root: string): Promise<ArtifactStore> {
  const base = path.resolve(root);
  await rm(path.join(base, TMP), { recursive: true, force: true });
  await mkdir(path.join(base, TMP), { recursive: true });
  const fileOf = (key: string) => {
    assertValidKey(key);
    return path.join(base, ...key.split('/'));
  };

  return {
    kind: 'folder',
    async put(key, body, options = {}) {
      const target = fileOf(key);
      const temp = path.join(base, TMP, randomUUID());
      const digest = new DigestStream(options);
      try {
        await pipeline(body, digest, createWriteStream(temp));
        await mkdir(path.dirname(target), { recursive: true });
        // rename is atomic: readers see the old object or the complete new one, never a part.
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      return { size: digest.size, sha256: digest.digest() };
    },
    async get(key, range) {
      const file = fileOf(key);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) throw new TandemError('NOT_FOUND', `artifact ${key} not found`);
      return createReadStream(file, range ? { start: range.start, end: range.end } : undefined);
    },
    async stat(key) {
      const info = await stat(fileOf(key)).catch(() => undefined);
      return info?.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
    },
    async delete(key) {
      await rm(fileOf(key), { force: true });
    },
    async *list(prefix) {
      const dir = prefix ? fileOf(prefix.replace(/\/$/, '')) : base;
      yield* walk(dir, prefix.replace(/\/?$/, prefix ? '/' : ''));
    },
    async ping() {
      await stat(base).catch((cause: unknown) => {
        throw new TandemError('UNAVAILABLE', `artifact folder ${base} is not accessible`, { cause });
      });
    },
  };
}

async function* walk(dir: string, keyPrefix: string): AsyncGenerator<ArtifactInfo> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === TMP) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full, `${keyPrefix}${entry.name}/`);
    else {
      const info = await stat(full);
      yield { key: `${keyPrefix}${entry.name}`, size: info.size, lastModified: info.mtime };
    }
  }
}
