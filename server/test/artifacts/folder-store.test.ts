import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderStore } from '../../src/artifacts/folder-store.js';

describe('the folder artifact store', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'tandem-folder-store-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('removes uploads a crash cut short when it opens', async () => {
    await mkdir(path.join(root, '.uploads'), { recursive: true });
    await writeFile(path.join(root, '.uploads', 'left-by-a-crash'), randomBytes(1024));
    await createFolderStore(root);
    expect(await readdir(path.join(root, '.uploads'))).toEqual([]);
  });

  it('leaves no partial file behind when an upload fails', async () => {
    const store = await createFolderStore(root);
    const failing = new Readable({
      read() {
        this.push(randomBytes(256 * 1024));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(store.put('broken/file.bin', failing)).rejects.toThrow('client went away');
    expect(await readdir(path.join(root, '.uploads'))).toEqual([]);
  });
});
