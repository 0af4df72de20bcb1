import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOverHttp } from '../../server/test/models/support.js';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { mimeBundleOf } from '../src/display/mime-bundle.js';
import { models } from '../src/models.js';
import { linearModel } from './models-fixtures.js';

describe('models client against a real Tandem server', () => {
  let server: TestServer;
  let dir: string;
  const env = { ...process.env };

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-kernel-models-'));
    process.env.TANDEM_URL = server.url;
    process.env.TANDEM_TOKEN = server.adminToken;
    process.env.TANDEM_MODEL_CACHE = path.join(dir, 'cache');
  });
  afterAll(async () => {
    process.env = env;
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('register() uploads ONNX bytes with metrics, signature from an Arrow table and an alias', async () => {
    const train = tableFromArrays({ a: Float64Array.from([1, 2]), b: Float64Array.from([3, 4]) });
    const version = await models.register({
      name: 'linear',
      onnx: linearModel([2, -1], 0.5),
      metrics: { rmse: 0.1 },
      params: { lr: 0.01 },
      signature: { inputs: train.schema, outputs: [{ name: 'score', type: 'Float32' }] },
      lineage: { datasetFingerprint: models.fingerprint(train) },
      alias: 'production',
    });
    expect(version).toMatchObject({ number: 1, aliases: ['production'], signature: { inputs: [{ name: 'a' }, { name: 'b' }] } });
    expect(version.files).toEqual([expect.objectContaining({ path: 'model.onnx' })]);
  });

  it('register() uploads a directory with its structure, streamed from disk', async () => {
    const src = path.join(dir, 'src');
    await mkdir(path.join(src, 'weights'), { recursive: true });
    await writeFile(path.join(src, 'config.json'), '{"k":1}');
    await writeFile(path.join(src, 'weights', 'w.bin'), Buffer.alloc(3000, 7));
    const version = await models.register({ name: 'folder-model', dir: src });
    expect(version.files.map((f) => [f.path, f.size])).toEqual([
      ['config.json', 7],
      ['weights/w.bin', 3000],
    ]);
  });

  it('get() finds the latest version, a number or an alias, and names what is missing', async () => {
    expect((await models.get('linear')).number).toBe(1);
    expect((await models.get('linear', { alias: 'production' })).number).toBe(1);
    await expect(models.get('linear', { version: 7 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'model linear has no version 7',
    });
    await expect(models.get('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('load() downloads into the cache, verifies sha256 and scores an Arrow table with the ONNX file', async () => {
    const loaded = await models.load('linear', { alias: 'production' });
    expect(await readFile(loaded.path('model.onnx'))).toEqual(Buffer.from(linearModel([2, -1], 0.5)));
    const scores = await loaded.score(tableFromArrays({ a: Float64Array.from([1, 2]), b: Float64Array.from([1, 0]) }));
    expect(Array.from(scores.getChild('score')!.toArray() as Float32Array)).toEqual([1.5, 4.5]);
  });

  it('load() replaces a corrupted cached file instead of trusting it', async () => {
    const first = await models.load('folder-model');
    await writeFile(first.path('config.json'), 'tampered');
    const again = await models.load('folder-model');
    expect(await readFile(again.path('config.json'), 'utf8')).toBe('{"k":1}');
  });

  it('search() passes filters through', async () => {
    const found = await models.search({ filter: 'metric.rmse<0.5' });
    expect(found.items.map((m) => m.name)).toEqual(['linear']);
  });

  it('a failed register() leaves no version behind', async () => {
    await expect(models.register({ name: 'linear', files: { '../escape': new Uint8Array([1]) } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect((await models.get('linear')).number).toBe(1);
  });

  it('get() and load() take owner/name; a bare name means your own model of that name', async () => {
    // ana's own `linear`, beside the one this kernel's user (admin) registered above.
    const ana = await server.user('ana');
    expect((await registerOverHttp(server, 'linear', { 'notes.txt': 'ana’s' }, { token: ana.token })).status).toBe(201);
    const own = await models.get('linear');
    expect(own).toMatchObject({ model: 'admin/linear', number: 1 });
    const anas = await models.get('ana/linear');
    expect(anas).toMatchObject({ model: 'ana/linear', number: 1, files: [expect.objectContaining({ path: 'notes.txt' })] });
    const card = mimeBundleOf(anas);
    expect(card['text/plain']).toMatch(/^ana\/linear v1\n/);
    expect(card['text/html']).toContain('data-tandem-model="ana/linear"');
    expect(card['text/html']).toContain('/tandem/api/models/ana%2Flinear/versions/1');
    // Linked by the qualified name, shown as the cell named it, with the owner beside it.
    expect(mimeBundleOf(own)['text/html']).toMatch(/<b>linear<\/b> v1<\/a> <span[^>]*>admin\/linear<\/span>/);
    const loaded = await models.load('ana/linear');
    expect(await readFile(loaded.path('notes.txt'), 'utf8')).toBe('ana’s');
    expect(loaded.dir).toBe(path.join(dir, 'cache', 'ana', 'linear', '1'));
    expect((await models.load('linear')).dir).toBe(path.join(dir, 'cache', 'admin', 'linear', '1'));
  });
});
