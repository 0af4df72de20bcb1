// Spark and GPU jobs log themselves as experiment runs, server-side, as their events arrive: a
// worker driven by hand through the real worker client, on real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, MetricPoint, Run } from '../../src/api/index.js';
import type { ClaimedJob } from '../../src/worker/worker.client.js';
import { bytes, inlineJob, registeredWorker, workerToken } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The worker client types only what agents use; the claim answers the whole job. */
type Claimed = ClaimedJob & Pick<Job, 'runId' | 'experimentId'>;

describe('jobs logged as runs', () => {
  let server: TestServer;
  let count = 0;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
  });
  afterAll(() => server.stop());

  /** A fresh person with a worker of their own, so no test claims another test's job. */
  const person = async (kinds: ('gpu' | 'notebook')[] = ['gpu']) => {
    const name = `trainer-${++count}`;
    const user = await server.user(name);
    const worker = await registeredWorker(server, kinds, await workerToken(server, user.token));
    const as = { token: user.token };
    const submit = async (body: unknown): Promise<Job> => {
      const res = await server.api('POST', 'jobs', { ...as, body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body;
    };
    const claim = async (leaseMs = 60_000) => (await worker.claim(leaseMs, 5000)) as Claimed;
    const run = async (id: string): Promise<Run> => (await server.api('GET', `runs/${id}`, as)).body;
    const series = async (id: string, key: string): Promise<[number, MetricPoint['value']][]> =>
      (await server.api('GET', `runs/${id}/metrics/${key}`, as)).body.items.map((p: MetricPoint) => [p.step, p.value]);
    const job = async (id: string): Promise<Job> => (await server.api('GET', `jobs/${id}`, as)).body;
    return { name, user, worker, as, submit, claim, run, series, job };
  };

  it('a GPU job’s attempt is a run in an experiment named after the job: its settings as params, metric events as series, info as tags', async () => {
    const me = await person();
    const submitted = await me.submit(inlineJob('train()', { name: 'train churn', maxAttempts: 1 }));
    const claimed = await me.claim();
    expect(claimed.runId).toMatch(/^[0-9a-f]{32}$/);
    expect(claimed.experimentId).toBe(submitted.experimentId);
    const experiment = (await server.api('GET', `experiments/${submitted.experimentId}`, me.as)).body;
    expect(experiment).toMatchObject({ name: 'train churn', role: 'owner' });

    expect(await me.run(claimed.runId!)).toMatchObject({
      name: 'train churn',
      status: 'RUNNING',
      jobId: submitted.id,
      params: { gpus: '0', args: '' },
      tags: { 'tandem.job.kind': 'gpu', 'tandem.job.attempt': '1' },
    });
    await me.worker.events(claimed, [
      { type: 'metric', data: { step: 1, loss: 0.5, acc: 0.7 } },
      { type: 'log', data: { stream: 'stdout', line: 'epoch 1' } },
      { type: 'metric', data: { step: 2, loss: 0.3, acc: 0.8 } },
      { type: 'info', data: { train_rows: 1208, device: 'cpu' } },
    ]);
    await me.worker.events(claimed, [{ type: 'metric', data: { step: 3, loss: 0.2 } }]);
    expect(await me.series(claimed.runId!, 'loss')).toEqual([
      [1, 0.5],
      [2, 0.3],
      [3, 0.2],
    ]);
    await me.worker.complete(claimed, { status: 'succeeded', metrics: { acc: 0.8, auc: 0.93 } });

    const run = await me.run(claimed.runId!);
    expect(run).toMatchObject({
      status: 'FINISHED',
      endTime: expect.any(String),
      tags: { train_rows: '1208', device: 'cpu' },
      metrics: { loss: { value: 0.2, step: 3 }, acc: { value: 0.8, step: 2 }, auc: { value: 0.93, step: 0 } },
    });
    // The final acc repeated the streamed one: it is not a second point.
    expect(await me.series(claimed.runId!, 'acc')).toEqual([
      [1, 0.7],
      [2, 0.8],
    ]);
    const found = await server.api(
      'GET',
      `runs?experimentId=${submitted.experimentId}&filter=${encodeURIComponent(`attributes.job_id = '${submitted.id}'`)}`,
      me.as,
    );
    expect(found.body.items.map((r: Run) => r.id)).toEqual([claimed.runId]);
  });

  it('jobs of the same name log into one experiment; the submitter may name another, by name or id', async () => {
    const me = await person();
    const a = await me.submit(inlineJob('x', { name: 'nightly' }));
    const b = await me.submit(inlineJob('x', { name: 'nightly' }));
    expect(b.experimentId).toBe(a.experimentId);
    const named = await me.submit(inlineJob('x', { name: 'nightly', experiment: 'churn' }));
    const churn = (await server.api('GET', `experiments/${named.experimentId}`, me.as)).body;
    expect(churn).toMatchObject({ name: 'churn', role: 'owner' });
    expect((await me.submit(inlineJob('x', { experiment: churn.id }))).experimentId).toBe(churn.id);
  });

  it('a job may log into an experiment shared with its submitter to edit; a viewer’s or a stranger’s is refused at submit', async () => {
    const owner = await person();
    const editor = await person();
    const viewer = await person();
    const shared = (await server.api('POST', 'experiments', { ...owner.as, body: { name: 'team churn' } })).body.id;
    for (const [who, role] of [
      [editor, 'editor'],
      [viewer, 'viewer'],
    ] as const)
      await server.api('PUT', `experiments/${shared}/grants`, { ...owner.as, body: { type: 'user', name: who.name, role } });
    const byEditor = await editor.submit(inlineJob('x', { experiment: 'team churn' }));
    expect(byEditor.experimentId).toBe(shared);
    const claimed = await editor.claim();
    expect((await owner.run(claimed.runId!)).userName).toBe(editor.name);

    const refused = await server.api('POST', 'jobs', { ...viewer.as, body: inlineJob('x', { experiment: shared }) });
    expect(refused).toMatchObject({
      status: 403,
      body: { error: { code: 'FORBIDDEN', message: expect.stringMatching(/editor role required/) } },
    });
    const stranger = await person();
    const hidden = await server.api('POST', 'jobs', { ...stranger.as, body: inlineJob('x', { experiment: shared }) });
    expect(hidden).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    // By name, a viewer gets an experiment of their own instead of writing into the shared one.
    const own = await viewer.submit(inlineJob('x', { experiment: 'team churn' }));
    expect(own.experimentId).not.toBe(shared);
    expect((await server.api('GET', 'jobs', stranger.as)).body.jobs).toEqual([]);
  });

  it('the run ends as the job does: FAILED when it fails, KILLED when it is cancelled', async () => {
    const me = await person();
    await me.submit(inlineJob('x', { maxAttempts: 1 }));
    const failing = await me.claim();
    await me.worker.events(failing, [{ type: 'metric', data: { step: 1, loss: 9 } }]);
    await me.worker.complete(failing, { status: 'failed', error: 'exit 1' });
    expect(await me.run(failing.runId!)).toMatchObject({ status: 'FAILED', metrics: { loss: { value: 9 } } });

    await me.submit(inlineJob('x', { maxAttempts: 1 }));
    const cancelled = await me.claim();
    await server.api('POST', `jobs/${cancelled.id}/cancel`, me.as);
    await me.worker.complete(cancelled, { status: 'cancelled' });
    expect((await me.run(cancelled.runId!)).status).toBe('KILLED');
  });

  it('an attempt whose worker vanished is KILLED, and the retry logs a run of its own', async () => {
    const me = await person();
    const submitted = await me.submit(inlineJob('x', { name: 'flaky', maxAttempts: 2 }));
    const first = await me.claim(1000);
    await me.worker.events(first, [{ type: 'metric', data: { step: 1, loss: 1 } }]);
    // The lease lapses; the next claim requeues the job and takes its second attempt.
    let second: Claimed | undefined;
    await expect
      .poll(
        async () => {
          second = (await me.worker.claim(60_000, 0)) as Claimed | undefined;
          return second?.attempt;
        },
        { timeout: 30_000, interval: 300 },
      )
      .toBe(2);
    expect(await me.run(first.runId!)).toMatchObject({ status: 'KILLED', metrics: { loss: { value: 1 } } });
    expect(second!.runId).not.toBe(first.runId);
    expect(await me.run(second!.runId!)).toMatchObject({
      name: 'flaky (attempt 2)',
      status: 'RUNNING',
      tags: { 'tandem.job.attempt': '2' },
    });
    // The lost attempt cannot write into either run any more.
    await expect(me.worker.events(first, [{ type: 'metric', data: { step: 2, loss: 0 } }])).rejects.toMatchObject({ status: 409 });
    await me.worker.complete(second!, { status: 'succeeded' });
    expect((await me.run(second!.runId!)).metrics).toEqual({});
    expect((await me.job(submitted.id)).runId).toBe(second!.runId);
  }, 60_000);

  it('the model a job registers names the run, which is tagged with the version', async () => {
    const me = await person();
    await me.submit(inlineJob('x', { register: { model: 'churn-gbm' } }));
    const claimed = await me.claim();
    await me.worker.upload(claimed, 'model.onnx', bytes('weights'));
    await me.worker.complete(claimed, { status: 'succeeded', metrics: { auc: 0.9 } });
    const version = (await server.api('GET', 'models/churn-gbm/versions/1', me.as)).body;
    expect(version).toMatchObject({ runId: claimed.runId, lineage: { jobId: claimed.id } });
    expect((await me.run(claimed.runId!)).tags).toMatchObject({ 'tandem.registeredModel': `${me.name}/churn-gbm:1` });
  });

  it('a job whose submitter lost the run’s experiment still registers its model, naming no run', async () => {
    const owner = await person();
    const me = await person();
    const shared = (await server.api('POST', 'experiments', { ...owner.as, body: { name: 'lent' } })).body.id;
    const grant = (role: string | null) =>
      server.api('PUT', `experiments/${shared}/grants`, { ...owner.as, body: { type: 'user', name: me.name, role } });
    await grant('editor');
    const submitted = await me.submit(inlineJob('x', { experiment: shared, register: { model: 'lent-gbm' } }));
    const claimed = await me.claim();
    await me.worker.upload(claimed, 'model.onnx', bytes('weights'));
    await grant(null);
    await me.worker.complete(claimed, { status: 'succeeded' });
    expect((await me.job(submitted.id)).status).toBe('succeeded');
    expect((await server.api('GET', 'models/lent-gbm/versions/1', me.as)).body).toMatchObject({
      runId: null,
      lineage: { jobId: claimed.id },
    });
  });

  it('notebook jobs are not tracked unless they name an experiment', async () => {
    const me = await person(['notebook']);
    const notebook = { kind: 'notebook', spec: { notebook: { cells: [] } } };
    expect((await me.submit(notebook)).experimentId).toBeNull();
    expect((await me.claim()).runId).toBeNull();
    expect((await me.submit({ ...notebook, experiment: 'refreshes' })).experimentId).toEqual(expect.any(String));
  });

  it('tracking never fails a job: with its experiment deleted after submit, the job runs untracked', async () => {
    const me = await person();
    const submitted = await me.submit(inlineJob('x', { name: 'orphan', maxAttempts: 1 }));
    expect((await server.api('DELETE', `experiments/${submitted.experimentId}`, me.as)).status).toBe(204);
    const claimed = await me.claim();
    expect(claimed.runId).toBeNull();
    await me.worker.events(claimed, [{ type: 'metric', data: { loss: 1 } }]);
    await me.worker.complete(claimed, { status: 'succeeded' });
    expect((await me.job(submitted.id)).status).toBe('succeeded');
    // Submitting into it now is refused, saying why.
    const refused = await server.api('POST', 'jobs', { ...me.as, body: inlineJob('x', { experiment: submitted.experimentId }) });
    expect(refused).toMatchObject({ status: 409, body: { error: { message: expect.stringMatching(/is deleted: restore it/) } } });
  });

  it('refuses a bad experiment option at the edge', async () => {
    const me = await person();
    const res = await server.api('POST', 'jobs', { ...me.as, body: inlineJob('x', { experiment: '   ' }) });
    expect(res.status).toBe(400);
  });
});
