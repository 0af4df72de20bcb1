import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, expect, it } from 'vitest';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import { describeEachStore } from '../support/backends.js';

describeEachStore('ArtifactStore', (backend) => {
  let store: (ArtifactStore & { cleanup(): Promise<void> }) | undefined;
  afterEach(async () => store?.cleanup());

  it('put() streams an object and reports its size and sha256', async () => {
    store = await backend.open();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const result = await store.put('models/m1/v1/model.bin', Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    expect(result).toEqual({ size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    expect((await store.stat('models/m1/v1/model.bin'))?.size).toBe(data.length);
    const back = Buffer.concat(await (await store.get('models/m1/v1/model.bin')).toArray());
    expect(back.equals(data)).toBe(true);
  });

  it('get() honours an inclusive byte range', async () => {
    store = await backend.open();
    await store.put('r/file.txt', Readable.from([Buffer.from('0123456789')]));
    expect(await text(await store.get('r/file.txt', { start: 2, end: 5 }))).toBe('2345');
  });

  it('a failed upload leaves no object behind', async () => {
    store = await backend.open();
    const failing = new Readable({
      read() {
        this.push(randomBytes(1024 * 1024));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(store.put('broken/file.bin', failing)).rejects.toThrow();
    expect(await store.stat('broken/file.bin')).toBeUndefined();
  });

  it('put() enforces maxBytes', async () => {
    store = await backend.open();
    await expect(store.put('big/file.bin', Readable.from([randomBytes(2048)]), { maxBytes: 1024 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(await store.stat('big/file.bin')).toBeUndefined();
  });

  it('rejects keys that try to escape', async () => {
    store = await backend.open();
    for (const key of ['../etc/passwd', 'a/../../b', '/abs', 'a//b', '']) {
      await expect(store.put(key, Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('list() and delete() see complete objects by prefix', async () => {
    store = await backend.open();
    await store.put('p/a.txt', Readable.from([Buffer.from('a')]));
    await store.put('p/sub/b.txt', Readable.from([Buffer.from('bb')]));
    await store.put('q/c.txt', Readable.from([Buffer.from('c')]));
    const keys: string[] = [];
    for await (const item of store.list('p/')) keys.push(item.key);
    expect(keys.sort()).toEqual(['p/a.txt', 'p/sub/b.txt']);
    await store.delete('p/a.txt');
    expect(await store.stat('p/a.txt')).toBeUndefined();
    await expect(store.get('p/a.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
