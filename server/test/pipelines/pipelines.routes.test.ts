import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerClient } from '../../src/worker/worker.client.js';
import { registeredWorker, workerToken } from '../jobs/support.js';
import { registerOverHttp, upload } from '../models/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { define, startRun, stepOf, waitForRun, webhookReceiver } from './support.js';

const WEBHOOK_ENV = { TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1,localhost' };

describe('pipelines', () => {
  let server: TestServer;
  let worker: WorkerClient;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;

  /** The worker claims the next job and ends it as told (metrics reported at the end). */
  const finishNextJob = async (outcome: { status: 'succeeded' | 'failed'; error?: string; metrics?: Record<string, number> }) => {
    const job = await worker.claim(60_000, 10_000);
    expect(job, 'a job to claim').toBeDefined();
    await worker.complete(job!, outcome);
    return job!;
  };

  beforeAll(async () => {
    server = await startTestServer({ env: WEBHOOK_ENV });
    worker = await registeredWorker(server, ['gpu'], await workerToken(server));
    hook = await webhookReceiver();
    for (const accuracy of [0.8, 0.95]) {
      const res = await registerOverHttp(server, 'churn', { 'model.bin': 'x' }, { metadata: { metrics: { accuracy } } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    expect((await server.api('PUT', 'models/churn/aliases/champion', { body: { version: 1 } })).status).toBe(200);
  });
  afterAll(async () => {
    await hook?.close();
    await server?.stop();
  });

  describe('definitions', () => {
    const bad = async (definition: unknown, message: RegExp, contentType?: string) => {
      const res =
        contentType === undefined
          ? await server.api('POST', 'pipelines', { body: definition })
          : await fetch(`${server.url}/tandem/api/pipelines`, {
              method: 'POST',
              headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': contentType },
              body: definition as string,
            }).then(async (r) => ({ status: r.status, body: await r.json() }));
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.message).toMatch(message);
    };
    const hello = { id: 'hello', kind: 'webhook', url: 'http://127.0.0.1:1/x' };

    it('refuses a cycle, naming it', () =>
      bad(
        {
          name: 'cyclic',
          steps: [
            { ...hello, id: 'a', needs: ['b'] },
            { ...hello, id: 'b', needs: ['a'] },
          ],
        },
        /cycle: a -> b -> a/,
      ));
    it('refuses an unknown step kind, listing the known ones', () =>
      bad({ name: 'x', steps: [{ id: 'a', kind: 'shell' }] }, /kind: one of notebook, spark/));
    it('refuses an artifact trigger without its experiment, and filters another kind of event has not', async () => {
      await bad({ name: 'x', on: [{ on: 'artifact.logged' }], steps: [hello] }, /on\.0\.experiment: artifact.logged needs the experiment/);
      await bad({ name: 'x', on: [{ on: 'model.alias.set', path: 'a.csv' }], steps: [hello] }, /model.alias.set has no path filter/);
    });
    it('refuses {{ event.* }} in a pipeline no event starts, or a field its events do not have', async () => {
      const reading = (field: string) => ({ ...hello, body: { x: `{{ event.${field} }}` } });
      await bad({ name: 'x', steps: [reading('path')] }, /event.path: only a pipeline with an event trigger/);
      await bad(
        { name: 'x', on: [{ on: 'model.version.created' }], steps: [reading('path')] },
        /event.path is not a field of this pipeline's events \(they have: model, version\)/,
      );
    });
    it('refuses a step that needs a missing step', () =>
      bad({ name: 'x', steps: [{ ...hello, needs: ['nope'] }] }, /needs "nope", which is not a step/));
    it('refuses a bad cron, naming the field', () =>
      bad({ name: 'x', steps: [hello], schedule: { cron: '61 * * * *' } }, /minute "61" is outside 0-59/));
    it('refuses a reference to a step not upstream', () =>
      bad(
        {
          name: 'x',
          steps: [hello, { id: 'b', kind: 'alias', model: 'm', alias: 'a', version: '{{ steps.c.version }}' }, { ...hello, id: 'c' }],
        },
        /refers to step "c", which it does not need/,
      ));
    it('refuses a reference it cannot read', () =>
      bad({ name: 'x', steps: [{ ...hello, body: { x: '{{ train.version }}' } }] }, /step "hello": cannot read "\{\{ train.version \}\}"/));
    it('refuses a reference to an unknown parameter', () =>
      bad({ name: 'x', steps: [{ ...hello, body: { x: '{{ params.nope }}' } }] }, /params.nope, which is not a parameter/));
    it('refuses a gate expression it cannot read', () =>
      bad(
        { name: 'x', steps: [hello, { id: 'g', kind: 'gate', needs: ['hello'], expression: 'steps.hello.status >' }] },
        /expression: expected a value/,
      ));
    it('refuses a bad job spec inside a step, with its path', () =>
      bad({ name: 'x', steps: [{ id: 't', kind: 'gpu', spec: { gpus: 0 } }] }, /give exactly one of script, file or template/));
    it('refuses YAML it cannot parse', () => bad('name: [unclosed', /not valid YAML/, 'application/yaml'));

    it('takes YAML, and defining the same name again replaces the definition', async () => {
      const yaml = `name: from-yaml\nsteps:\n  - id: ping\n    kind: webhook\n    url: ${hook.url}\n`;
      const res = await fetch(`${server.url}/tandem/api/pipelines`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/yaml' },
        body: yaml,
      });
      expect(res.status).toBe(201);
      const first = (await res.json()) as { id: string };
      const again = await server.api('POST', 'pipelines', {
        body: { name: 'from-yaml', description: 'v2', steps: [{ id: 'ping', kind: 'webhook', url: hook.url }] },
      });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id: first.id, description: 'v2' });
    });
  });

  describe('runs', () => {
    it('trains, passes the gate, moves the alias and calls the webhook with the outputs', async () => {
      const pipeline = await define(server, {
        name: 'retrain',
        parameters: { minAccuracy: { default: 0.5 } },
        steps: [
          { id: 'train', kind: 'gpu', spec: { script: 'print(1)', gpus: 0 } },
          { id: 'good', kind: 'gate', needs: ['train'], expression: 'steps.train.accuracy >= params.minAccuracy' },
          {
            id: 'better',
            kind: 'gate',
            needs: ['good'],
            compare: { step: 'train', metric: 'accuracy', model: 'churn', alias: 'champion' },
          },
          { id: 'promote', kind: 'alias', needs: ['better'], model: 'churn', alias: 'champion', version: 2 },
          {
            id: 'tell',
            kind: 'webhook',
            needs: ['promote'],
            url: hook.url,
            body: { text: 'promoted v{{ steps.promote.version }} over v{{ steps.promote.previous }}' },
          },
        ],
      });
      const run = await startRun(server, pipeline.id, { minAccuracy: 0.7 });
      expect(run).toMatchObject({ number: 1, trigger: 'manual', params: { minAccuracy: 0.7 } });
      const job = await finishNextJob({ status: 'succeeded', metrics: { accuracy: 0.9 } });
      expect(job.name).toBe('pipeline retrain #1: train');
      const done = await waitForRun(server, run.id);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(stepOf(done, 'train').outputs).toMatchObject({ jobId: job.id, accuracy: 0.9 });
      expect(stepOf(done, 'better').outputs).toMatchObject({ passed: true, candidate: 0.9, current: 0.8 });
      expect(stepOf(done, 'promote').outputs).toEqual({ model: 'admin/churn', alias: 'champion', version: 2, previous: 1 });
      expect((await server.api('GET', 'models/churn')).body.aliases.champion).toBe(2);
      expect(hook.received.at(-1)!.body).toEqual({ text: 'promoted v2 over v1' });
    });

    it('skips what comes after a gate that does not pass, and the run still succeeds', async () => {
      const pipeline = await define(server, {
        name: 'keep-champion',
        steps: [
          { id: 'train', kind: 'gpu', spec: { script: 'print(1)', gpus: 0 } },
          {
            id: 'better',
            kind: 'gate',
            needs: ['train'],
            compare: { step: 'train', metric: 'accuracy', model: 'churn', alias: 'champion', minDelta: 0.01 },
          },
          { id: 'promote', kind: 'alias', needs: ['better'], model: 'churn', alias: 'champion', version: 1 },
        ],
      });
      const run = await startRun(server, pipeline.id);
      await finishNextJob({ status: 'succeeded', metrics: { accuracy: 0.9 } });
      const done = await waitForRun(server, run.id);
      expect(done.status).toBe('succeeded');
      expect(stepOf(done, 'better').outputs).toMatchObject({ passed: false, candidate: 0.9, current: 0.95 });
      expect(stepOf(done, 'promote')).toMatchObject({ status: 'skipped', error: 'gate better did not pass' });
      expect((await server.api('GET', 'models/churn')).body.aliases.champion).toBe(2);
    });

    it('retries a failed step after its delay, then fails the run; a retry of the run re-runs only what did not succeed', async () => {
      const pipeline = await define(server, {
        name: 'flaky',
        steps: [
          { id: 'first', kind: 'webhook', url: hook.url },
          { id: 'train', kind: 'gpu', needs: ['first'], spec: { script: 'print(1)', gpus: 0 }, retries: 1, retryDelaySeconds: 0.2 },
          { id: 'after', kind: 'webhook', needs: ['train'], url: hook.url },
        ],
      });
      const calls = hook.received.length;
      const run = await startRun(server, pipeline.id);
      await finishNextJob({ status: 'failed', error: 'out of memory' });
      await waitForRun(server, run.id, (r) => stepOf(r, 'train').status === 'retrying');
      await finishNextJob({ status: 'failed', error: 'out of memory again' });
      const failed = await waitForRun(server, run.id);
      expect(failed).toMatchObject({ status: 'failed', error: 'step train failed: job failed: out of memory again' });
      expect(stepOf(failed, 'train')).toMatchObject({ status: 'failed', attempt: 2 });
      expect(stepOf(failed, 'after')).toMatchObject({ status: 'skipped', error: 'step train failed' });

      const retried = await server.api('POST', `pipeline-runs/${run.id}/retry`);
      expect(retried.status).toBe(200);
      await finishNextJob({ status: 'succeeded' });
      const done = await waitForRun(server, run.id);
      expect(done.status).toBe('succeeded');
      // `first` ran once: its outputs were kept.
      expect(hook.received.length - calls).toBe(2);
    });

    it('cancels a run: the running job is cancelled and later steps do not start', async () => {
      const pipeline = await define(server, {
        name: 'to-cancel',
        steps: [
          { id: 'train', kind: 'gpu', spec: { script: 'print(1)', gpus: 0 } },
          { id: 'after', kind: 'webhook', needs: ['train'], url: hook.url },
        ],
      });
      const run = await startRun(server, pipeline.id);
      const job = await worker.claim(60_000, 10_000);
      const running = await waitForRun(server, run.id, (r) => stepOf(r, 'train').status === 'running');
      const cancelled = await server.api('POST', `pipeline-runs/${run.id}/cancel`);
      expect(cancelled.body).toMatchObject({ status: 'cancelled', error: 'cancelled by admin' });
      expect(stepOf(cancelled.body, 'after').status).toBe('cancelled');
      expect((await server.api('GET', `jobs/${stepOf(running, 'train').jobId}`)).body.cancelRequested).toBe(true);
      await worker.complete(job!, { status: 'cancelled' });
      expect((await server.api('POST', `pipeline-runs/${run.id}/cancel`)).status).toBe(409);
    });

    it('fails a step that runs past its timeout and cancels its job', async () => {
      const pipeline = await define(server, {
        name: 'slow',
        steps: [{ id: 'train', kind: 'gpu', spec: { script: 'print(1)', gpus: 0 }, timeoutSeconds: 1 }],
      });
      const run = await startRun(server, pipeline.id);
      const job = await worker.claim(60_000, 10_000);
      const done = await waitForRun(server, run.id);
      expect(done).toMatchObject({ status: 'failed', error: 'step train failed: timed out after 1 s' });
      expect((await server.api('GET', `jobs/${job!.id}`)).body.cancelRequested).toBe(true);
      await worker.complete(job!, { status: 'cancelled' });
    });

    it('queues runs beyond maxConcurrentRuns and starts the next when one ends', async () => {
      const pipeline = await define(server, {
        name: 'one-at-a-time',
        maxConcurrentRuns: 1,
        steps: [{ id: 'train', kind: 'gpu', spec: { script: 'print(1)', gpus: 0 } }],
      });
      const first = await startRun(server, pipeline.id);
      const second = await startRun(server, pipeline.id);
      expect([first.status, second.status]).toEqual(['running', 'queued']);
      await finishNextJob({ status: 'succeeded' });
      expect((await waitForRun(server, first.id)).status).toBe('succeeded');
      await waitForRun(server, second.id, (r) => r.status === 'running');
      await finishNextJob({ status: 'succeeded' });
      expect((await waitForRun(server, second.id)).status).toBe('succeeded');
    });

    it('refuses a manual run with an unknown or missing parameter', async () => {
      const pipeline = await define(server, {
        name: 'needs-param',
        parameters: { data: { required: true } },
        steps: [{ id: 'a', kind: 'webhook', url: hook.url }],
      });
      const missing = await server.api('POST', `pipelines/${pipeline.id}/runs`, { body: {} });
      expect(missing).toMatchObject({ status: 400, body: { error: { message: 'params.data: required parameter missing' } } });
      const unknown = await server.api('POST', `pipelines/${pipeline.id}/runs`, { body: { params: { data: 'x', other: 1 } } });
      expect(unknown.body.error.message).toBe('params.other: pipeline needs-param has no such parameter');
    });

    it('starts a run when a new version of a watched model is registered, once per version', async () => {
      const pipeline = await define(server, {
        name: 'on-version',
        on: [{ on: 'model.version.created', model: 'churn' }],
        steps: [{ id: 'tell', kind: 'webhook', url: hook.url }],
      });
      await registerOverHttp(server, 'churn', { 'model.bin': 'y' });
      const deadline = Date.now() + 10_000;
      let runs: any[] = [];
      while (Date.now() < deadline && runs.length === 0) {
        runs = (await server.api('GET', `pipelines/${pipeline.id}/runs`)).body.items;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ trigger: 'event', reason: 'model.version.created admin/churn v3' });
      expect((await waitForRun(server, runs[0].id)).status).toBe('succeeded');
    });
  });

  describe('on a file logged to an experiment (a new dataset)', () => {
    let experimentId: string;
    let trackingRun: string;
    const runsOf = async (id: string) => (await server.api('GET', `pipelines/${id}/runs`)).body.items as any[];
    const eventually = async (id: string, count: number) => {
      const deadline = Date.now() + 10_000;
      let runs = await runsOf(id);
      while (Date.now() < deadline && runs.length < count) {
        await new Promise((r) => setTimeout(r, 100));
        runs = await runsOf(id);
      }
      return runs;
    };

    beforeAll(async () => {
      experimentId = (await server.api('POST', 'experiments', { body: { name: 'datasets' } })).body.id;
      trackingRun = (await server.api('POST', 'runs', { body: { experimentId, name: 'ingest' } })).body.id;
    });

    it('starts a run for each new matching file, handing its steps the path and run, and never twice for the same content', async () => {
      const pipeline = await define(server, {
        name: 'on-dataset',
        on: [{ on: 'artifact.logged', experiment: 'datasets', path: 'daily/**/*.csv' }],
        steps: [{ id: 'tell', kind: 'webhook', url: hook.url, body: { file: '{{ event.path }}', run: '{{ event.runId }}' } }],
      });
      const before = hook.received.length;
      for (const [path, content] of [
        ['daily/2026/12/03.csv', 'a,b'],
        ['daily/2026/12/03.csv', 'a,b'], // the same bytes again
        ['daily/readme.txt', 'not data'],
        ['weekly/03.csv', 'elsewhere'],
      ])
        expect((await upload(server, `runs/${trackingRun}/artifacts/${path}`, content, server.adminToken)).status).toBe(200);
      const runs = await eventually(pipeline.id, 1);
      await new Promise((r) => setTimeout(r, 300)); // room for a wrong second run to show up
      expect(await runsOf(pipeline.id)).toHaveLength(1);
      const run = await waitForRun(server, runs[0].id);
      expect(run).toMatchObject({
        status: 'succeeded',
        trigger: 'event',
        event: { experiment: 'datasets', runId: trackingRun, path: 'daily/2026/12/03.csv' },
      });
      expect(hook.received.slice(before).map((r) => r.body)).toEqual([
        expect.objectContaining({ file: 'daily/2026/12/03.csv', run: trackingRun }),
      ]);
      expect((await upload(server, `runs/${trackingRun}/artifacts/daily/2026/12/03.csv`, 'a,b\n1,2', server.adminToken)).status).toBe(200);
      expect(await eventually(pipeline.id, 2)).toHaveLength(2);
    });

    it('a step that logs what its own pipeline watches starts other pipelines, not its own again', async () => {
      const watched = { on: 'artifact.logged', experiment: 'datasets', path: 'loop/*.csv' };
      const cleaning = await define(server, {
        name: 'loop',
        on: [watched],
        steps: [{ id: 'clean', kind: 'gpu', spec: { script: 'pass', gpus: 0 } }],
      });
      const downstream = await define(server, { name: 'downstream', on: [watched], steps: [{ id: 'a', kind: 'webhook', url: hook.url }] });
      expect((await upload(server, `runs/${trackingRun}/artifacts/loop/raw.csv`, 'raw', server.adminToken)).status).toBe(200);
      const [first] = await eventually(cleaning.id, 1);
      const job = await worker.claim(60_000, 10_000);
      expect(job?.name).toContain('pipeline loop');
      expect((await upload(server, `runs/${trackingRun}/artifacts/loop/clean.csv`, 'clean', job!.token)).status).toBe(200);
      await worker.complete(job!, { status: 'succeeded' });
      expect((await waitForRun(server, first.id)).status).toBe('succeeded');
      expect(await eventually(downstream.id, 2)).toHaveLength(2);
      expect(await runsOf(cleaning.id)).toHaveLength(1);
    });

    it('does not start a pipeline whose definer cannot see the experiment', async () => {
      const mallory = await server.user('pipe-mallory');
      const spying = await define(
        server,
        {
          name: 'spy',
          on: [{ on: 'artifact.logged', experiment: 'datasets' }],
          steps: [{ id: 'leak', kind: 'webhook', url: hook.url, body: { p: '{{ event.path }}' } }],
        },
        mallory.token,
      );
      const watching = await define(server, {
        name: 'watch-all',
        on: [{ on: 'artifact.logged', experiment: 'datasets' }],
        steps: [{ id: 'a', kind: 'webhook', url: hook.url }],
      });
      expect((await upload(server, `runs/${trackingRun}/artifacts/secret/plan.csv`, 'x', server.adminToken)).status).toBe(200);
      expect(await eventually(watching.id, 1)).toHaveLength(1);
      expect((await server.api('GET', `pipelines/${spying.id}/runs`, { token: mallory.token })).body.items).toEqual([]);
    });
  });

  describe('who may do what', () => {
    let alice: { id: string; token: string };
    let bob: { id: string; token: string };
    let pipelineId: string;

    beforeAll(async () => {
      alice = await server.user('pipe-alice');
      bob = await server.user('pipe-bob');
      pipelineId = (await define(server, { name: 'private', steps: [{ id: 'a', kind: 'webhook', url: hook.url }] }, alice.token)).id;
    });

    it('another user neither sees nor runs it', async () => {
      expect((await server.api('GET', `pipelines/${pipelineId}`, { token: bob.token })).status).toBe(404);
      expect((await server.api('POST', `pipelines/${pipelineId}/runs`, { token: bob.token, body: {} })).status).toBe(404);
      expect((await server.api('GET', 'pipelines', { token: bob.token })).body.items.map((p: any) => p.id)).not.toContain(pipelineId);
    });

    it('a viewer sees runs but may not start, cancel or delete', async () => {
      await server.api('PUT', `pipelines/${pipelineId}/grants`, {
        token: alice.token,
        body: { type: 'user', name: 'pipe-bob', role: 'viewer' },
      });
      const run = await startRun(server, pipelineId, {}, alice.token);
      expect((await server.api('GET', `pipeline-runs/${run.id}`, { token: bob.token })).status).toBe(200);
      expect((await server.api('POST', `pipelines/${pipelineId}/runs`, { token: bob.token, body: {} })).status).toBe(403);
      expect((await server.api('POST', `pipeline-runs/${run.id}/cancel`, { token: bob.token })).status).toBe(403);
      expect((await server.api('DELETE', `pipelines/${pipelineId}`, { token: bob.token })).status).toBe(403);
      const edit = await server.api('PUT', `pipelines/${pipelineId}`, {
        token: bob.token,
        body: { name: 'private', steps: [{ id: 'a', kind: 'webhook', url: 'http://127.0.0.1:1/evil' }] },
      });
      expect(edit.status).toBe(403);
      expect((await server.api('GET', `pipelines/${pipelineId}`, { token: alice.token })).body.definition.steps[0].url).toBe(hook.url);
    });

    it('an editor replaces the definition (as YAML too), keeping its name, and its runs then go as the editor', async () => {
      const dave = await server.user('pipe-dave');
      const edited = await define(server, { name: 'shared-edit', steps: [{ id: 'a', kind: 'webhook', url: hook.url }] }, alice.token);
      await server.api('PUT', `pipelines/${edited.id}/grants`, {
        token: alice.token,
        body: { type: 'user', name: 'pipe-dave', role: 'editor' },
      });
      const yaml = `name: shared-edit\ndescription: now with two steps\nsteps:\n  - { id: a, kind: webhook, url: "${hook.url}" }\n  - { id: b, kind: webhook, url: "${hook.url}", needs: [a] }\n`;
      const res = await fetch(`${server.url}/tandem/api/pipelines/${edited.id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${dave.token}`, 'content-type': 'application/yaml' },
        body: yaml,
      });
      const body = (await res.json()) as any;
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({ id: edited.id, description: 'now with two steps', definedBy: dave.id, role: 'editor' });
      expect(body.definition.steps.map((s: any) => s.id)).toEqual(['a', 'b']);
      const renamed = await server.api('PUT', `pipelines/${edited.id}`, {
        token: dave.token,
        body: { name: 'other', steps: [{ id: 'a', kind: 'webhook', url: hook.url }] },
      });
      expect(renamed).toMatchObject({
        status: 400,
        body: { error: { message: expect.stringMatching(/^name: pipeline shared-edit keeps its name/) } },
      });
      const cyclic = await server.api('PUT', `pipelines/${edited.id}`, {
        token: dave.token,
        body: { name: 'shared-edit', steps: [{ id: 'a', kind: 'webhook', url: hook.url, needs: ['a'] }] },
      });
      expect(cyclic.status).toBe(400);
      expect(
        (
          await server.api('PUT', `pipelines/00000000-0000-4000-8000-000000000000`, {
            token: dave.token,
            body: { name: 'x', steps: [{ id: 'a', kind: 'webhook', url: hook.url }] },
          })
        ).status,
      ).toBe(404);
    });

    it('the event stream tells each person only of pipelines they can see', async () => {
      const listen = async (token: string) => {
        const res = await fetch(`${server.url}/tandem/api/pipelines/events`, { headers: { authorization: `Bearer ${token}` } });
        const reader = res.body!.getReader();
        let text = '';
        const reading = (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            text += Buffer.from(value).toString('utf8');
          }
        })().catch(() => undefined);
        return { text: () => text, close: () => reader.cancel().then(() => reading) };
      };
      const carol = await server.user('pipe-carol');
      const [asAlice, asCarol] = await Promise.all([listen(alice.token), listen(carol.token)]);
      const run = await startRun(server, pipelineId, {}, alice.token);
      await waitForRun(server, run.id);
      await new Promise((r) => setTimeout(r, 200));
      await Promise.all([asAlice.close(), asCarol.close()]);
      expect(asAlice.text()).toContain(`"type":"pipeline.run.finished","pipelineId":"${pipelineId}"`);
      expect(asCarol.text()).not.toContain(pipelineId);
    });

    it('a worker token is refused', async () => {
      const token = await workerToken(server);
      expect((await server.api('GET', 'pipelines', { token })).status).toBe(403);
      expect(
        (
          await server.api('PUT', `pipelines/${pipelineId}`, {
            token,
            body: { name: 'private', steps: [{ id: 'a', kind: 'webhook', url: hook.url }] },
          })
        ).status,
      ).toBe(403);
    });

    it('replacing a definition: another user gets a 404, a revoked token a 401, hostile bodies a 400, and nothing changes', async () => {
      const carol = await server.user('pipe-carol-put');
      const put = (token: string, body: unknown) => server.api('PUT', `pipelines/${pipelineId}`, { token, body });
      expect((await put(carol.token, { name: 'private', steps: [{ id: 'a', kind: 'webhook', url: hook.url }] })).status).toBe(404);
      const laptop = await server.api('POST', 'tokens', { token: alice.token, body: { name: 'laptop' } });
      await server.api('DELETE', `tokens/${laptop.body.id}`, { token: alice.token });
      expect((await put(laptop.body.token, { name: 'private', steps: [{ id: 'a', kind: 'webhook', url: hook.url }] })).status).toBe(401);
      for (const hostile of [
        null,
        [],
        'name: private',
        { name: 'private', steps: [{ id: 'a', kind: 'webhook', url: hook.url }], extra: 1 },
      ]) {
        const res = await put(alice.token, hostile);
        expect(res.status, JSON.stringify(hostile)).toBe(400);
      }
      const yaml = await fetch(`${server.url}/tandem/api/pipelines/${pipelineId}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/yaml' },
        body: 'name: private\nsteps: [ {id: a, kind: webhook, url: "',
      });
      expect(yaml.status).toBe(400);
      expect(((await yaml.json()) as any).error.message).toMatch(/not valid YAML/);
      expect((await server.api('GET', `pipelines/${pipelineId}`, { token: alice.token })).body.definition.steps[0].url).toBe(hook.url);
    });

    it('steps run as the person behind the run: an alias step cannot move a model they cannot edit', async () => {
      const pipeline = await define(
        server,
        { name: 'steal-alias', steps: [{ id: 'move', kind: 'alias', model: 'admin/churn', alias: 'champion', version: 1 }] },
        bob.token,
      );
      const run = await startRun(server, pipeline.id, {}, bob.token);
      const done = await waitForRun(server, run.id);
      expect(done.status).toBe('failed');
      expect(stepOf(done, 'move').error).toMatch(/not found|only|editor/);
      expect((await server.api('GET', 'models/churn')).body.aliases.champion).toBe(2);
    });
  });
});
