import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFolderStore } from '../../src/artifacts/folder-store.js';
import { AuthStore } from '../../src/auth/auth.store.js';
import { Permissions } from '../../src/auth/permissions.js';
import type { Principal } from '../../src/auth/principal.js';
import { EventBus, type TandemEvent } from '../../src/events.js';
import { parseFilter, parseOrderBy, RUN_VOCABULARY } from '../../src/tracking/tracking.filter.js';
import { TrackingService, type Batch } from '../../src/tracking/tracking.service.js';
import { TrackingStore } from '../../src/tracking/tracking.store.js';
import { DB_BACKENDS, describeEachDb } from '../support/backends.js';

type Backend = (typeof DB_BACKENDS)[number];

/** A tracking service on a fresh database of `backend`, with users made on demand. */
async function setUp(backend: Backend) {
  const db = await backend.open();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-tracking-'));
  const auth = new AuthStore(db);
  const permissions = new Permissions(db);
  const events: TandemEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const tracking = new TrackingService(new TrackingStore(db, permissions), await createFolderStore(dir), permissions, bus, auth, {
    maxArtifactBytes: 1024,
    heartbeatTimeoutSeconds: 120,
    mlflowHeartbeatTimeoutSeconds: 3600,
  });
  const user = async (name: string): Promise<Principal> => {
    const u = await auth.createUser({ name });
    return { id: u.id, name, displayName: name, isAdmin: false, teamIds: [], tokenKind: 'user' };
  };
  return {
    db,
    tracking,
    events,
    user,
    async close() {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const search = (filter: string, orderBy: string[] = []) => ({
  conditions: parseFilter(filter, RUN_VOCABULARY),
  order: orderBy.map((o) => parseOrderBy(o, RUN_VOCABULARY)),
  view: 'active' as const,
  limit: 100,
  offset: 0,
});

const points = (key: string, n: number, from = 0): NonNullable<Batch['metrics']> =>
  Array.from({ length: n }, (_, i) => ({ key, value: (from + i) / 1000, step: from + i, timestamp: 1_700_000_000_000 + from + i }));

describeEachDb('the tracking service', (backend) => {
  let t: Awaited<ReturnType<typeof setUp>>;
  let alice: Principal;
  let experimentId: string;

  beforeAll(async () => {
    t = await setUp(backend);
    alice = await t.user('alice');
    experimentId = (await t.tracking.createExperiment(alice, { name: 'churn' })).id;
  });
  afterAll(() => t.close());

  it('keeps a batch of 1000 points as a series and each key’s latest point for search', async () => {
    const run = await t.tracking.createRun(alice, { experimentId, name: 'baseline' });
    await t.tracking.log(alice, run.id, { metrics: [...points('loss', 1000), ...points('acc', 10)], params: [['lr', '0.01']] });
    const got = await t.tracking.getRun(alice, run.id);
    expect(got.metrics.loss).toEqual({ value: 0.999, step: 999, timestamp: 1_700_000_000_999 });
    expect(got.params).toEqual({ lr: '0.01' });
    const history = await t.tracking.metricHistory(alice, run.id, 'loss', { limit: 400, offset: 800 });
    expect(history.total).toBe(1000);
    expect(history.items).toHaveLength(200);
    expect(history.items[0]).toEqual({ value: 0.8, step: 800, timestamp: 1_700_000_000_800 });
    expect(history.nextPageToken).toBeUndefined();
  });

  it('takes the latest point by step, then time, whatever order the points arrive in', async () => {
    const run = await t.tracking.createRun(alice, { experimentId });
    await t.tracking.log(alice, run.id, { metrics: [{ key: 'm', value: 5, step: 9, timestamp: 1 }] });
    await t.tracking.log(alice, run.id, {
      metrics: [
        { key: 'm', value: 1, step: 3, timestamp: 100 },
        { key: 'm', value: 7, step: 9, timestamp: 2 },
      ],
    });
    expect((await t.tracking.getRun(alice, run.id)).metrics.m).toEqual({ value: 7, step: 9, timestamp: 2 });
  });

  it('stores NaN and infinities and answers them as MLflow’s strings', async () => {
    const run = await t.tracking.createRun(alice, { experimentId });
    await t.tracking.log(alice, run.id, {
      metrics: [
        { key: 'nan', value: 'NaN', step: 0 },
        { key: 'inf', value: 'Infinity', step: 0 },
        { key: 'ninf', value: '-Infinity', step: 0 },
      ],
    });
    const { metrics } = await t.tracking.getRun(alice, run.id);
    expect([metrics.nan?.value, metrics.inf?.value, metrics.ninf?.value]).toEqual(['NaN', 'Infinity', '-Infinity']);
    expect((await t.tracking.metricHistory(alice, run.id, 'nan', { limit: 10, offset: 0 })).items[0]?.value).toBe('NaN');
  });

  it('refuses to change a logged param and stores nothing of that batch', async () => {
    const run = await t.tracking.createRun(alice, { experimentId });
    await t.tracking.log(alice, run.id, {
      params: [
        ['lr', '0.01'],
        ['depth', '4'],
      ],
    });
    // The same value again is fine, as in MLflow.
    await t.tracking.log(alice, run.id, { params: [['lr', '0.01']] });
    await expect(
      t.tracking.log(alice, run.id, {
        params: [
          ['lr', '0.02'],
          ['new', 'x'],
        ],
        metrics: points('lost', 3),
        tags: [['t', 'v']],
      }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/param lr .* already logged as "0.01" and cannot change \(attempted "0.02"\)/),
    });
    const after = await t.tracking.getRun(alice, run.id);
    expect(after.params).toEqual({ lr: '0.01', depth: '4' });
    expect(after.metrics).toEqual({});
    expect(after.tags).toEqual({});
    await expect(
      t.tracking.log(alice, run.id, {
        params: [
          ['a', '1'],
          ['a', '2'],
        ],
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/param a is given twice/),
    });
  });

  it('marks a RUNNING run KILLED once its heartbeat lapses, keeping every acknowledged metric, and leaves live ones alone', async () => {
    const silent = await t.tracking.createRun(alice, { experimentId, heartbeatTimeoutSeconds: 30 });
    const live = await t.tracking.createRun(alice, { experimentId, heartbeatTimeoutSeconds: 30 });
    const finished = await t.tracking.createRun(alice, { experimentId, heartbeatTimeoutSeconds: 30 });
    await t.tracking.log(alice, silent.id, { metrics: points('loss', 500) });
    await t.tracking.updateRun(alice, finished.id, { status: 'FINISHED' });
    // 20 s on, the live one heartbeats; 40 s on, only the silent one has been quiet for over 30 s.
    await t.db.query(`UPDATE runs SET last_seen_at = now() - interval '20 seconds' WHERE id = ANY($1::text[])`, [
      [silent.id, live.id, finished.id],
    ]);
    await t.tracking.heartbeat(alice, live.id);
    expect(await t.tracking.reapSilent(new Date(Date.now() + 20_000))).toBe(1);
    const killed = await t.tracking.getRun(alice, silent.id);
    expect(killed.status).toBe('KILLED');
    expect(killed.endTime).toEqual(killed.lastSeenAt);
    expect((await t.tracking.metricHistory(alice, silent.id, 'loss', { limit: 1000, offset: 0 })).total).toBe(500);
    expect((await t.tracking.getRun(alice, live.id)).status).toBe('RUNNING');
    expect((await t.tracking.getRun(alice, finished.id)).status).toBe('FINISHED');
    expect(t.events).toContainEqual(
      expect.objectContaining({ type: 'run.updated', resourceId: silent.id, data: { experimentId, status: 'KILLED' } }),
    );
  });

  it('searches with metric, param, tag and attribute filters and orders by a metric', async () => {
    const exp = (await t.tracking.createExperiment(alice, { name: 'search' })).id;
    const made: string[] = [];
    for (let i = 0; i < 6; i++) {
      const run = await t.tracking.createRun(alice, { experimentId: exp, name: `r${i}` });
      made.push(run.id);
      await t.tracking.log(alice, run.id, {
        metrics: [{ key: 'acc', value: 0.8 + i * 0.03, step: 0 }],
        params: [['lr', i % 2 ? '0.01' : '0.1']],
        tags: [['team', i < 3 ? 'x' : 'y']],
      });
      if (i === 5) await t.tracking.updateRun(alice, run.id, { status: 'FINISHED' });
    }
    const names = async (filter: string, orderBy: string[] = []) =>
      (await t.tracking.searchRuns(alice, { ...search(filter, orderBy), experimentIds: [exp] })).items.map((r) => r.name);
    expect(await names("metrics.acc > 0.85 and params.lr = '0.01'", ['metrics.acc DESC'])).toEqual(['r5', 'r3']);
    expect(await names("tags.team = 'x'", ['metrics.acc'])).toEqual(['r0', 'r1', 'r2']);
    expect(await names("attributes.status = 'FINISHED'")).toEqual(['r5']);
    expect(await names("run_name LIKE 'r%' AND params.lr IN ('0.1')", ['attributes.run_name DESC'])).toEqual(['r4', 'r2', 'r0']);
    expect(await names('metrics.missing > 0')).toEqual([]);
    // Newest first by default; a page holds `limit`, and the token continues it.
    const first = await t.tracking.searchRuns(alice, { ...search(''), experimentIds: [exp], limit: 4 });
    expect(first.items.map((r) => r.name)).toEqual(['r5', 'r4', 'r3', 'r2']);
    const offset = JSON.parse(Buffer.from(first.nextPageToken!, 'base64url').toString()).offset as number;
    const second = await t.tracking.searchRuns(alice, { ...search(''), experimentIds: [exp], limit: 4, offset });
    expect(second.items.map((r) => r.name)).toEqual(['r1', 'r0']);
    expect(second.nextPageToken).toBeUndefined();
  });

  it('hides other people’s experiments and runs, and lets viewers read but not write', async () => {
    const bob = await t.user('bob');
    const run = await t.tracking.createRun(alice, { experimentId });
    await expect(t.tracking.getRun(bob, run.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(t.tracking.experiment(bob, experimentId, 'viewer')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await t.tracking.searchRuns(bob, { ...search('') })).items).toEqual([]);
    await t.tracking.share(alice, experimentId, { type: 'user', name: 'bob' }, 'viewer');
    expect((await t.tracking.getRun(bob, run.id)).id).toBe(run.id);
    await expect(t.tracking.log(bob, run.id, { metrics: points('x', 1) })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(t.tracking.createRun(bob, { experimentId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('gives each person their own Default experiment, and names are unique per creator only', async () => {
    const carol = await t.user('carol');
    const aliceDefault = await t.tracking.defaultExperiment(alice);
    expect(await t.tracking.defaultExperiment(alice)).toMatchObject({ id: aliceDefault.id, name: 'Default', role: 'owner' });
    expect((await t.tracking.defaultExperiment(carol)).id).not.toBe(aliceDefault.id);
    const carolsChurn = await t.tracking.createExperiment(carol, { name: 'churn' });
    expect(carolsChurn.id).not.toBe(experimentId);
    await expect(t.tracking.createExperiment(alice, { name: 'churn' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect((await t.tracking.experimentByName(carol, 'churn')).id).toBe(carolsChurn.id);
  });

  it('streams artifacts with their sha256, replaces a path on re-upload and refuses unsafe paths', async () => {
    const run = await t.tracking.createRun(alice, { experimentId });
    const put = async (p: string, text: string) => t.tracking.uploadArtifact(alice, run.id, p, Readable.from([Buffer.from(text)]));
    await put('model/weights.bin', 'one');
    const replaced = await put('model/weights.bin', 'two');
    await put('summary.txt', 'hello');
    expect(replaced).toMatchObject({ path: 'model/weights.bin', size: 3, sha256: createHash('sha256').update('two').digest('hex') });
    const { file, open } = await t.tracking.openArtifact(alice, run.id, 'model/weights.bin');
    let text = '';
    for await (const chunk of await open()) text += String(chunk);
    expect({ text, size: file.size }).toEqual({ text: 'two', size: 3 });
    expect(await t.tracking.artifactEntries(alice, run.id, '')).toEqual([
      { path: 'model', isDir: true },
      { path: 'summary.txt', isDir: false, size: 5 },
    ]);
    for (const bad of ['../x', '/etc/passwd', 'a//b', 'a\\b', './a', 'a/\u0001'])
      await expect(put(bad, 'x'), bad).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(put('big.bin', 'x'.repeat(2000))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses writes to a deleted run and runs in a deleted experiment, until restored', async () => {
    const exp = (await t.tracking.createExperiment(alice, { name: 'bin' })).id;
    const run = await t.tracking.createRun(alice, { experimentId: exp });
    await t.tracking.setRunDeleted(alice, run.id, true);
    await expect(t.tracking.log(alice, run.id, { metrics: points('x', 1) })).rejects.toMatchObject({ code: 'CONFLICT' });
    await t.tracking.setRunDeleted(alice, run.id, false);
    await t.tracking.log(alice, run.id, { metrics: points('x', 1) });
    await t.tracking.setExperimentDeleted(alice, exp, true);
    await expect(t.tracking.createRun(alice, { experimentId: exp })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

// PGlite is one connection: lock behaviour is only real on PostgreSQL.
describe('concurrent writers on PostgreSQL', () => {
  let t: Awaited<ReturnType<typeof setUp>>;
  let alice: Principal;
  let experimentId: string;

  beforeAll(async () => {
    t = await setUp(DB_BACKENDS.find((b) => b.name === 'postgres')!);
    alice = await t.user('alice');
    experimentId = (await t.tracking.createExperiment(alice, { name: 'concurrency' })).id;
  });
  afterAll(() => t.close());

  it('20 writers logging to one run at once lose no point, and the latest values are the highest steps', async () => {
    const run = await t.tracking.createRun(alice, { experimentId });
    // Every writer logs the same keys (so they contend on the same latest-value rows) over its own steps.
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let b = 0; b < 5; b++) {
          const base = (w * 5 + b) * 100;
          await t.tracking.log(alice, run.id, {
            metrics: [...points('loss', 100, base), ...points('acc', 100, base)],
            tags: [[`w${w}`, String(b)]],
          });
        }
      }),
    );
    const [{ n }] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM run_metrics WHERE run_id = $1', [run.id]);
    expect(n).toBe(20 * 5 * 200);
    const got = await t.tracking.getRun(alice, run.id);
    expect(got.metrics.loss).toMatchObject({ step: 9999, value: 9.999 });
    expect(got.metrics.acc).toMatchObject({ step: 9999 });
    expect(Object.keys(got.tags)).toHaveLength(20);
  });

  it('of 20 writers setting one param to different values at once, one wins and the others are told', async () => {
    const run = await t.tracking.createRun(alice, { experimentId });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, w) => t.tracking.log(alice, run.id, { params: [['seed', String(w)]] })),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((o) => (o.reason as { code: string }).code)).toEqual(Array(19).fill('CONFLICT'));
    const seed = (await t.tracking.getRun(alice, run.id)).params.seed;
    expect(outcomes[Number(seed)]?.status).toBe('fulfilled');
  });

  it('concurrent first uses of the Default experiment make one', async () => {
    const dave = await t.user('dave');
    const ids = await Promise.all(Array.from({ length: 8 }, () => t.tracking.defaultExperiment(dave)));
    expect(new Set(ids.map((e) => e.id)).size).toBe(1);
  });
});

describeEachDb('run search on a server that keeps the runs it read', (backend) => {
  let t: Awaited<ReturnType<typeof setUp>>;
  let other: TrackingService;
  let alice: Principal;
  let experimentId: string;
  let runId: string;

  beforeAll(async () => {
    t = await setUp(backend);
    // A second server on the same database: it keeps its own runs, and must see what the first changed.
    const permissions = new Permissions(t.db);
    other = new TrackingService(
      new TrackingStore(t.db, permissions),
      await createFolderStore(await mkdtemp(path.join(os.tmpdir(), 'tandem-other-'))),
      permissions,
      new EventBus(),
      new AuthStore(t.db),
      {
        maxArtifactBytes: 1024,
        heartbeatTimeoutSeconds: 120,
        mlflowHeartbeatTimeoutSeconds: 3600,
      },
    );
    alice = await t.user('alice');
    experimentId = (await t.tracking.createExperiment(alice, { name: 'kept' })).id;
    runId = (await t.tracking.createRun(alice, { experimentId, name: 'first', heartbeatTimeoutSeconds: 30 })).id;
  });
  afterAll(() => t.close());

  /** The run as each server's search answers it, after both searched before the change. */
  const searched = async (view: 'active' | 'all' = 'active') => {
    const found = await Promise.all(
      [t.tracking, other].map(
        async (server) => (await server.searchRuns(alice, { ...search(''), view, experimentIds: [experimentId] })).items,
      ),
    );
    expect(found[0]).toEqual(found[1]);
    return found[0]!.find((r) => r.id === runId);
  };
  const afterChange = async (change: () => Promise<unknown>, view: 'active' | 'all' = 'active') => {
    await searched(view);
    await change();
    return searched(view);
  };

  it('finds an admin the runs of an experiment shared with nobody, and a missing experiment is not found', async () => {
    const admin: Principal = { ...(await t.user('root')), isAdmin: true };
    expect((await t.tracking.searchRuns(admin, { ...search(''), experimentIds: [experimentId] })).items.map((r) => r.id)).toEqual([runId]);
    await expect(t.tracking.searchRuns(admin, { ...search(''), experimentIds: ['missing'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const outsider = await t.user('mallory');
    await expect(t.tracking.searchRuns(outsider, { ...search(''), experimentIds: [experimentId] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('searches several experiments at once, and refuses the search when one of them is not the caller’s to see', async () => {
    const second = await t.tracking.createExperiment(alice, { name: 'several-second' });
    const other = await t.tracking.createRun(alice, { experimentId: second.id });
    const both = await t.tracking.searchRuns(alice, { ...search(''), experimentIds: [experimentId, second.id] });
    expect(both.items.map((r) => r.id).sort()).toEqual([runId, other.id].sort());
    const mallory = await t.user('mallory-several');
    const hers = await t.tracking.createExperiment(mallory, { name: 'hers' });
    await expect(t.tracking.searchRuns(alice, { ...search(''), experimentIds: [experimentId, hers.id] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `experiment ${hers.id} not found`,
    });
  });

  it('answers a metric, a param, a tag and an input logged since the last search', async () => {
    expect(
      (await afterChange(() => t.tracking.log(alice, runId, { metrics: [{ key: 'loss', value: 0.5, step: 1 }] })))?.metrics.loss?.value,
    ).toBe(0.5);
    expect(
      (await afterChange(() => t.tracking.log(alice, runId, { metrics: [{ key: 'loss', value: 0.25, step: 2 }] })))?.metrics.loss?.value,
    ).toBe(0.25);
    expect((await afterChange(() => t.tracking.log(alice, runId, { params: [['lr', '0.1']] })))?.params).toEqual({ lr: '0.1' });
    expect((await afterChange(() => t.tracking.log(alice, runId, { tags: [['team', 'growth']] })))?.tags).toEqual({ team: 'growth' });
    expect((await afterChange(() => t.tracking.log(alice, runId, { tags: [['team', 'risk']] })))?.tags).toEqual({ team: 'risk' });
    expect((await afterChange(() => t.tracking.log(alice, runId, { removeTags: ['team'] })))?.tags).toEqual({});
    const input = {
      name: 'train',
      digest: 'abc',
      sourceType: 'local',
      source: 'train.csv',
      schema: null,
      profile: null,
      context: 'training',
    };
    expect((await afterChange(() => t.tracking.log(alice, runId, { inputs: [input] })))?.inputs).toEqual([input]);
  });

  it('answers a rename, a heartbeat, a lapsed heartbeat, a deletion and a restore made since the last search', async () => {
    expect((await afterChange(() => t.tracking.updateRun(alice, runId, { name: 'renamed' })))?.name).toBe('renamed');
    const before = (await searched())!.lastSeenAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await afterChange(() => t.tracking.heartbeat(alice, runId)))!.lastSeenAt.getTime()).toBeGreaterThan(before.getTime());
    expect((await afterChange(() => t.tracking.reapSilent(new Date(Date.now() + 60_000))))?.status).toBe('KILLED');
    expect((await afterChange(() => t.tracking.setRunDeleted(alice, runId, true), 'all'))?.lifecycleStage).toBe('deleted');
    expect((await afterChange(() => t.tracking.setRunDeleted(alice, runId, false), 'all'))?.lifecycleStage).toBe('active');
  });
});
