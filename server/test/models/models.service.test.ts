import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { createFolderStore } from '../../src/artifacts/folder-store.js';
import type { ArtifactStore } from '../../src/artifacts/store.js';
import { AuthStore } from '../../src/auth/auth.store.js';
import { Permissions } from '../../src/auth/permissions.js';
import type { Principal } from '../../src/auth/principal.js';
import { EventBus, type TandemEvent } from '../../src/events.js';
import { searchQuery } from '../../src/models/models.search.js';
import { ModelsService } from '../../src/models/models.service.js';
import { ModelsStore } from '../../src/models/models.store.js';
import { TrackingService } from '../../src/tracking/tracking.service.js';
import { TrackingStore } from '../../src/tracking/tracking.store.js';
import { describeEachDb } from '../support/backends.js';

const bytes = (text: string) => Readable.from([Buffer.from(text)]);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const search = (query: Record<string, unknown>) => searchQuery.parse(query);

describeEachDb('ModelsService', (backend) => {
  let db: Awaited<ReturnType<typeof backend.open>>;
  let dir: string;
  let models: ModelsService;
  let artifacts: ArtifactStore;
  let alice: Principal;
  let principal: (name: string) => Promise<Principal>;
  let users = 0;
  const events: TandemEvent[] = [];
  /** A user no other test knows, so shares and searches start from nothing. */
  const someone = () => principal(`user${++users}`);
  /** A model of alice's with `count` versions (file `v<n>.bin` holding `v<n>`), for tests that need one. */
  const modelWith = async (name: string, count: number) => {
    for (let n = 1; n <= count; n++)
      await models.registerVersion({ model: name, actor: alice, files: [{ path: `v${n}.bin`, body: bytes(`v${n}`) }] });
  };
  const pendingOf = (name: string) =>
    db.query(`SELECT 1 FROM model_versions WHERE status = 'pending' AND model_id = (SELECT id FROM models WHERE name = $1)`, [name]);

  beforeAll(async () => {
    db = await backend.open();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-models-'));
    const auth = new AuthStore(db);
    const permissions = new Permissions(db);
    const bus = new EventBus();
    bus.subscribe((e) => events.push(e));
    artifacts = await createFolderStore(dir);
    const tracking = new TrackingService(new TrackingStore(db, permissions), artifacts, permissions, bus, auth, {
      maxArtifactBytes: 1024,
      heartbeatTimeoutSeconds: 120,
      mlflowHeartbeatTimeoutSeconds: 3600,
    });
    models = new ModelsService(new ModelsStore(db, permissions), artifacts, permissions, bus, auth, tracking, {
      maxFileBytes: 1024,
      maxFilesPerVersion: 3,
      pendingTtlMs: 60_000,
    });
    principal = async (name: string): Promise<Principal> => {
      const user = await auth.createUser({ name });
      return { id: user.id, name, displayName: name, isAdmin: false, teamIds: [], tokenKind: 'user' };
    };
    alice = await principal('alice');
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('registerVersion() creates the model, numbers versions from 1 and records size and sha256 of each file', async () => {
    const v1 = await models.registerVersion({
      model: 'churn',
      actor: alice,
      files: [{ path: 'model.onnx', body: bytes('one') }],
      metrics: { accuracy: 0.8 },
    });
    const v2 = await models.registerVersion({
      model: 'churn',
      actor: alice,
      files: [{ path: 'weights/a.bin', body: bytes('two'), sha256: sha('two') }],
      metrics: { accuracy: 0.9 },
      params: { depth: 4 },
      lineage: { notebook: 'churn.ipynb', jobId: 'job-1', datasetFingerprint: 'abc', author: 'alice' },
      signature: { inputs: [{ name: 'x', type: 'float32' }], outputs: [{ name: 'y', type: 'float32' }] },
    });
    expect([v1.number, v2.number]).toEqual([1, 2]);
    expect(v1.files).toEqual([expect.objectContaining({ path: 'model.onnx', size: 3, sha256: sha('one') })]);
    expect(v2.files).toEqual([expect.objectContaining({ path: 'weights/a.bin', size: 3, sha256: sha('two') })]);
    expect(v2.lineage).toMatchObject({ jobId: 'job-1' });
    const model = await models.getModel(alice, 'churn');
    expect(model).toMatchObject({ latestVersion: 2, latestMetrics: { accuracy: 0.9 }, role: 'owner' });
    expect(events.map((e) => e.type)).toContain('model.version.created');
  });

  it('registerVersion() copies files already in the artifact store (job outputs) and audits the registration', async () => {
    await artifacts.put('jobs/j1/out/model.bin', bytes('from a job'));
    const version = await models.registerVersion({
      model: 'job-output',
      actor: alice,
      files: [{ path: 'model.bin', fromKey: 'jobs/j1/out/model.bin' }],
      lineage: { jobId: 'j1' },
    });
    expect(version.files).toEqual([expect.objectContaining({ size: 10, sha256: sha('from a job') })]);
    const entries = await db.query<{ action: string }>(`SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY id`, [
      version.modelId,
    ]);
    expect(entries.map((e) => e.action)).toEqual(['model.create', 'model.version.create']);
    await models.deleteModel(alice, 'job-output');
  });

  it('readFile() streams the stored bytes, also a byte range', async () => {
    await modelWith('readable', 1);
    await models.registerVersion({ model: 'readable', actor: alice, files: [{ path: 'weights/a.bin', body: bytes('two') }] });
    const { file } = await models.findFile(alice, 'readable', { version: 2 }, 'weights/a.bin');
    const read = async (range?: { start: number; end: number }) =>
      Buffer.concat(await (await models.readFile(file, range)).toArray()).toString();
    expect(await read()).toBe('two');
    expect(await read({ start: 1, end: 2 })).toBe('wo');
  });

  it('a pending version is invisible until committed, and commit gives it the next number', async () => {
    await modelWith('staged', 2);
    const pending = await models.startVersion(alice, 'staged', { metrics: { accuracy: 0.5 } });
    await models.uploadFile(alice, 'staged', pending.id, { path: 'm.bin', body: bytes('x') });
    expect((await models.listVersions(alice, 'staged', { limit: 10, offset: 0 })).items.map((v) => v.number)).toEqual([2, 1]);
    expect((await models.getModel(alice, 'staged')).latestVersion).toBe(2);
    const committed = await models.commitVersion(alice, 'staged', pending.id);
    expect(committed).toMatchObject({ number: 3, status: 'ready' });
    expect((await models.listVersions(alice, 'staged', { limit: 10, offset: 0 })).items.map((v) => v.number)).toEqual([3, 2, 1]);
    await expect(models.commitVersion(alice, 'staged', pending.id)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('registerVersion() with a wrong sha256 fails with INVALID_ARGUMENT and leaves no version behind', async () => {
    await modelWith('checked', 1);
    await expect(
      models.registerVersion({ model: 'checked', actor: alice, files: [{ path: 'bad.bin', body: bytes('abc'), sha256: sha('xyz') }] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('sha256 mismatch') });
    const versions = await models.listVersions(alice, 'checked', { limit: 10, offset: 0 });
    expect(versions.total).toBe(1);
    expect(await pendingOf('checked')).toEqual([]);
  });

  it('rejects oversized files with PAYLOAD_TOO_LARGE, too many files and traversal paths with clear errors', async () => {
    await modelWith('limited', 1);
    await expect(
      models.registerVersion({ model: 'limited', actor: alice, files: [{ path: 'big.bin', body: Readable.from([Buffer.alloc(2048)]) }] }),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    const files = ['a', 'b', 'c', 'd'].map((p) => ({ path: p, body: bytes(p) }));
    await expect(models.registerVersion({ model: 'limited', actor: alice, files })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringContaining('at most 3 files'),
    });
    for (const bad of ['../x', 'a/../../x', '/abs', '', 'a//b', '.hidden']) {
      await expect(
        models.registerVersion({ model: 'limited', actor: alice, files: [{ path: bad, body: bytes('x') }] }),
      ).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    expect(await pendingOf('limited')).toEqual([]);
    expect((await models.listVersions(alice, 'limited', { limit: 10, offset: 0 })).total).toBe(1);
  });

  it('commitVersion() refuses an upload without files', async () => {
    await modelWith('empty-upload', 1);
    const pending = await models.startVersion(alice, 'empty-upload', {});
    await expect(models.commitVersion(alice, 'empty-upload', pending.id)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await models.abortVersion(alice, 'empty-upload', pending.id);
  });

  it('sweepPending() removes uploads older than the TTL with their files', async () => {
    await modelWith('abandoned', 1);
    const pending = await models.startVersion(alice, 'abandoned', {});
    const file = await models.uploadFile(alice, 'abandoned', pending.id, { path: 'left.bin', body: bytes('left') });
    expect(await models.sweepPending(Date.now())).toBe(0);
    expect(await models.sweepPending(Date.now() + 120_000)).toBeGreaterThanOrEqual(1);
    expect(await pendingOf('abandoned')).toEqual([]);
    expect(await artifacts.stat(file.key)).toBeUndefined();
    await expect(models.commitVersion(alice, 'abandoned', pending.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('setAlias() points an alias at a version and moves it on the next call', async () => {
    await modelWith('aliased', 3);
    await models.setAlias(alice, 'aliased', 'production', 1);
    expect((await models.getVersion(alice, 'aliased', { alias: 'production' })).number).toBe(1);
    const moved = await models.setAlias(alice, 'aliased', 'production', 3);
    expect(moved.aliases).toEqual({ production: 3 });
    expect((await models.getVersion(alice, 'aliased', { alias: 'production' })).aliases).toEqual(['production']);
    expect((await models.getVersion(alice, 'aliased', { version: 1 })).aliases).toEqual([]);
    await expect(models.setAlias(alice, 'aliased', 'staging', 99)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'model aliased has no version 99',
    });
  });

  it('others get NOT_FOUND until shared with, then exactly the granted role', async () => {
    await modelWith('guarded', 1);
    const bob = await someone();
    await expect(models.getModel(bob, 'guarded')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'model guarded not found' });
    await models.share(alice, 'guarded', { type: 'user', name: bob.name }, 'viewer');
    expect((await models.getModel(bob, 'guarded')).role).toBe('viewer');
    await expect(models.setAlias(bob, 'guarded', 'staging', 1)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(models.share(alice, 'guarded', { type: 'user', name: 'alice' }, null)).rejects.toMatchObject({ code: 'CONFLICT' });
    await models.share(alice, 'guarded', { type: 'user', name: bob.name }, null);
    await expect(models.getModel(bob, 'guarded')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('names are unique per owner: registerVersion() takes owner/name as jobs pass it, a bare name is the caller’s own', async () => {
    const bob = await someone();
    await modelWith('twin', 1);
    const bobs = await models.registerVersion({ model: 'twin', actor: bob, files: [{ path: 'b.bin', body: bytes('b') }] });
    expect(bobs.number).toBe(1);
    expect(await models.getModel(bob, 'twin')).toMatchObject({ owner: bob.name, fullName: `${bob.name}/twin`, role: 'owner' });
    await models.share(bob, 'twin', { type: 'user', name: 'alice' }, 'editor');
    const into = await models.registerVersion({ model: `${bob.name}/twin`, actor: alice, files: [{ path: 'a.bin', body: bytes('a') }] });
    expect(into).toMatchObject({ modelId: bobs.modelId, number: 2 });
    expect(events.at(-1)).toMatchObject({
      type: 'model.version.created',
      data: { name: 'twin', fullName: `${bob.name}/twin`, version: 2 },
    });
    expect(await models.getModel(alice, 'twin')).toMatchObject({ fullName: 'alice/twin', latestVersion: 1 });
    const pending = await models.startVersion(alice, `${bob.name}/twin`, {});
    expect(pending.model).toBe(`${bob.name}/twin`);
    await models.abortVersion(alice, pending.model, pending.id);
    expect((await models.search(alice, search({ prefix: 'twin' }))).items.map((m) => m.fullName)).toEqual([
      'alice/twin',
      `${bob.name}/twin`,
    ]);
  });

  it('search() filters by prefix, substring, tag, alias and metric, orders by metric and pages with tokens', async () => {
    // Someone with only these models, so the search sees nothing of the other tests'.
    const carol = await someone();
    for (const [name, accuracy, team] of [
      ['fraud-a', 0.95, 'risk'],
      ['fraud-b', 0.7, 'risk'],
      ['vision', 0.99, 'cv'],
      ['plain', undefined, undefined],
    ] as const) {
      await models.createModel(carol, { name, tags: team ? { team } : {} });
      await models.registerVersion({
        model: name,
        actor: carol,
        files: [{ path: 'm', body: bytes(name) }],
        metrics: accuracy === undefined ? {} : { accuracy },
      });
    }
    await models.setAlias(carol, 'fraud-b', 'staging', 1);
    const names = async (q: Record<string, unknown>) => (await models.search(carol, search(q))).items.map((m) => m.name);
    expect(await names({ prefix: 'fraud' })).toEqual(['fraud-a', 'fraud-b']);
    expect(await names({ q: 'ISIO' })).toEqual(['vision']);
    expect(await names({ tag: 'team:risk' })).toEqual(['fraud-a', 'fraud-b']);
    expect(await names({ tag: 'team' })).toEqual(['fraud-a', 'fraud-b', 'vision']);
    expect(await names({ alias: 'staging' })).toEqual(['fraud-b']);
    expect(await names({ filter: 'metric.accuracy>0.9' })).toEqual(['fraud-a', 'vision']);
    expect(await names({ filter: ['accuracy>=0.7', 'accuracy<0.99'], tag: 'team:risk' })).toEqual(['fraud-a', 'fraud-b']);
    expect(await names({ orderBy: 'metric.accuracy', prefix: 'f' })).toEqual(['fraud-a', 'fraud-b']);
    expect(await names({ prefix: '%' })).toEqual([]);

    const first = await models.search(carol, search({ limit: '2' }));
    expect(first.total).toBe(4);
    const second = await models.search(carol, search({ limit: '2', pageToken: first.nextPageToken }));
    expect([...first.items, ...second.items].map((m) => m.name)).toEqual(['fraud-a', 'fraud-b', 'plain', 'vision']);
    expect(second.nextPageToken).toBeUndefined();
    expect((await models.search(await someone(), search({}))).items).toEqual([]);
  });

  it('search input rejects bad filters, order keys and page tokens', () => {
    expect(() => searchQuery.parse({ filter: 'accuracy>>1' })).toThrow();
    expect(() => searchQuery.parse({ orderBy: 'drop table' })).toThrow();
    expect(() => search({ pageToken: 'nonsense' })).toThrow(/pageToken/);
  });

  it('deleteModel() needs the owner and removes versions and files', async () => {
    await modelWith('doomed', 2);
    const bob = await someone();
    const files = [1, 2].map((n) => `v${n}.bin`);
    const keys = await Promise.all(files.map(async (f, i) => (await models.findFile(alice, 'doomed', { version: i + 1 }, f)).file.key));
    await models.share(alice, 'doomed', { type: 'user', name: bob.name }, 'editor');
    await expect(models.deleteModel(bob, 'doomed')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await models.deleteModel(alice, 'doomed');
    await expect(models.getModel(alice, 'doomed')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await db.query(`SELECT 1 FROM grants WHERE resource_type = 'model' AND principal_id = $1`, [bob.id])).toEqual([]);
    for (const key of keys) expect(await artifacts.stat(key)).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'model.deleted', data: { name: 'doomed' } });
  });
});
