import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFolderStore } from '../../src/artifacts/folder-store.js';
import { AuthStore } from '../../src/auth/auth.store.js';
import { Permissions } from '../../src/auth/permissions.js';
import type { Principal } from '../../src/auth/principal.js';
import { EventBus } from '../../src/events.js';
import { ModelsService } from '../../src/models/models.service.js';
import { ModelsStore } from '../../src/models/models.store.js';
import { REGISTERED_MODEL_TAG, TrackingService } from '../../src/tracking/tracking.service.js';
import { TrackingStore } from '../../src/tracking/tracking.store.js';
import { describeEachDb } from '../support/backends.js';

const bytes = (text: string) => Readable.from([Buffer.from(text)]);

describeEachDb('model versions and the runs that produced them', (backend) => {
  let db: Awaited<ReturnType<typeof backend.open>>;
  let dir: string;
  let models: ModelsService;
  let tracking: TrackingService;
  let auth: AuthStore;
  let alice: Principal;
  let bob: Principal;
  let experiment: string;
  let runs = 0;

  const principal = async (name: string): Promise<Principal> => {
    const user = await auth.createUser({ name });
    return { id: user.id, name, displayName: name, isAdmin: false, teamIds: [], tokenKind: 'user' };
  };
  const newRun = async () => (await tracking.createRun(alice, { experimentId: experiment, name: `run ${++runs}` })).id;
  const register = (model: string, run: string | undefined, actor = alice) =>
    models.registerVersion({ model, actor, run, files: [{ path: 'model.onnx', body: bytes('weights') }] });
  const pendingCount = async () =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM model_versions WHERE status = 'pending'`))[0]!.n;

  beforeAll(async () => {
    db = await backend.open();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-run-lineage-'));
    auth = new AuthStore(db);
    const permissions = new Permissions(db);
    const bus = new EventBus();
    const artifacts = await createFolderStore(dir);
    tracking = new TrackingService(new TrackingStore(db, permissions), artifacts, permissions, bus, auth, {
      maxArtifactBytes: 1024,
      heartbeatTimeoutSeconds: 120,
      mlflowHeartbeatTimeoutSeconds: 3600,
    });
    models = new ModelsService(new ModelsStore(db, permissions), artifacts, permissions, bus, auth, tracking, {
      maxFileBytes: 1024,
      maxFilesPerVersion: 3,
      pendingTtlMs: 60_000,
    });
    alice = await principal('alice');
    bob = await principal('bob');
    experiment = (await tracking.createExperiment(alice, { name: 'churn' })).id;
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a version registered with a run stores its id, answers it everywhere, and tags the run with owner/name:version', async () => {
    const run = await newRun();
    const version = await register('churn', run);
    expect(version).toMatchObject({ status: 'ready', number: 1, runId: run });
    expect(await models.getVersion(alice, 'churn', { version: 1 })).toMatchObject({ runId: run });
    expect((await models.listVersions(alice, 'churn', { limit: 10, offset: 0 })).items[0]).toMatchObject({ runId: run });
    expect((await tracking.getRun(alice, run)).tags).toMatchObject({ [REGISTERED_MODEL_TAG]: 'alice/churn:1' });
    expect(await register('churn', undefined)).toMatchObject({ number: 2, runId: null });
  });

  it('a run the registering user cannot see is refused as a missing one, before anything is created', async () => {
    const run = await newRun();
    const hidden = await register('bobs', run, bob).catch((e: unknown) => e);
    const missing = await register('bobs', 'a'.repeat(32), bob).catch((e: unknown) => e);
    expect(hidden).toMatchObject({ code: 'NOT_FOUND', message: `run ${run} not found` });
    expect(missing).toMatchObject({ code: 'NOT_FOUND', message: `run ${'a'.repeat(32)} not found` });
    await expect(models.getModel(bob, 'bobs')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await pendingCount()).toBe(0);
    expect((await tracking.getRun(alice, run)).tags).not.toHaveProperty(REGISTERED_MODEL_TAG);
  });

  it('a viewer of the run may register from it; one who lost the run between start and commit cannot commit', async () => {
    const run = await newRun();
    await tracking.share(alice, experiment, { type: 'user', name: 'bob' }, 'viewer');
    expect(await register('from-alice', run, bob)).toMatchObject({ runId: run, createdBy: bob.id });
    expect((await tracking.getRun(alice, run)).tags).toMatchObject({ [REGISTERED_MODEL_TAG]: 'bob/from-alice:1' });

    const pending = await models.startVersion(bob, 'from-alice', { run });
    await models.uploadFile(bob, pending.model, pending.id, { path: 'model.onnx', body: bytes('w') });
    await tracking.share(alice, experiment, { type: 'user', name: 'bob' }, null);
    await expect(models.commitVersion(bob, pending.model, pending.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await models.getModel(bob, 'from-alice')).latestVersion).toBe(1);
    await models.abortVersion(bob, pending.model, pending.id);
  });

  it('registerFromRun() refuses, before creating anything, a folder of more files than a version holds or with names a version cannot hold', async () => {
    const run = await newRun();
    for (const file of ['big/a', 'big/b', 'big/c', 'big/d', 'odd/my weights.bin'])
      await tracking.uploadArtifact(alice, run, file, bytes('w'));
    await expect(models.registerFromRun(alice, run, { model: 'big', artifact: 'big' })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(models.registerFromRun(alice, run, { model: 'odd', artifact: 'odd' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('my weights.bin'),
    });
    for (const name of ['big', 'odd']) await expect(models.getModel(alice, name)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await pendingCount()).toBe(0);
  });

  it('purging a run keeps its versions, which then name no run', async () => {
    const run = await newRun();
    await register('purged', run);
    // Runs are only soft-deleted through the API; this is what removing one for good does.
    await db.transaction(async (tx) => {
      await tx.query('DELETE FROM run_tags WHERE run_id = $1', [run]);
      await tx.query('DELETE FROM runs WHERE id = $1', [run]);
    });
    expect(await models.getVersion(alice, 'purged', { version: 1 })).toMatchObject({
      number: 1,
      runId: null,
      files: [{ path: 'model.onnx' }],
    });
  });
});
