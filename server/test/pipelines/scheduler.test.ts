import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PipelinesStore } from '../../src/pipelines/pipelines.store.js';
import { createPipelinesService, type PipelinesService } from '../../src/pipelines/pipelines.service.js';
import type { RunningWorker } from '../../src/worker/agent.js';
import { startNotebookWorker } from '../jobs/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { define, startRun, stepOf, waitForRun, webhookReceiver } from './support.js';

const DAY = 24 * 3600_000;

/**
 * The server ticks every second with the wall clock; `tick(now)` takes a chosen instant, so these
 * tests fire schedules days ahead, on two more services over the same database (as two more
 * server processes would be). Schedules here are daily at 03:00, far from the wall clock's next.
 */
describe('the pipeline scheduler', () => {
  let server: TestServer;
  let a: PipelinesService;
  let b: PipelinesService;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', env: { TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
    a = createPipelinesService(server.ctx);
    b = createPipelinesService(server.ctx);
    hook = await webhookReceiver();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await hook?.close();
    await server?.stop();
  });

  const runsOf = async (id: string) => (await server.api('GET', `pipelines/${id}/runs?limit=200`)).body.items as any[];
  const daily = (name: string, catchup: 'skip' | 'all') =>
    define(server, {
      name,
      schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin', catchup },
      maxConcurrentRuns: 5,
      steps: [{ id: 'tell', kind: 'webhook', url: hook.url }],
    });

  it('fires each missed time once with two servers ticking at once (catch-up all)', async () => {
    const pipeline = await daily('nightly-all', 'all');
    const later = new Date(new Date(pipeline.nextRunAt).getTime() + 2 * DAY + 60_000);
    await Promise.all([a.tick(later), b.tick(later), a.tick(later), b.tick(later)]);
    await Promise.all([a.tick(later), b.tick(later)]);
    const runs = await runsOf(pipeline.id);
    expect(runs.map((r) => r.scheduledFor).sort()).toEqual(
      [0, 1, 2].map((d) => new Date(new Date(pipeline.nextRunAt).getTime() + d * DAY).toISOString()),
    );
    expect(runs.every((r) => r.trigger === 'schedule')).toBe(true);
    expect((await server.api('GET', `pipelines/${pipeline.id}`)).body.nextRunAt).toBe(
      new Date(new Date(pipeline.nextRunAt).getTime() + 3 * DAY).toISOString(),
    );
  });

  it('ticks once more after a tick that was nudged meanwhile (a wake-up at a due time is not lost)', async () => {
    const c = createPipelinesService(server.ctx);
    let ticks = 0;
    let finishFirst!: () => void;
    const firstTick = new Promise<void>((resolve) => (finishFirst = resolve));
    c.tick = async () => {
      if (++ticks === 1) await firstTick;
    };
    c.nudge();
    c.nudge();
    c.nudge();
    finishFirst();
    await vi.waitFor(() => expect(ticks).toBe(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ticks).toBe(2);
    await c.close();
  });

  it('runs only the latest missed time with catch-up skip', async () => {
    const pipeline = await daily('nightly-skip', 'skip');
    const later = new Date(new Date(pipeline.nextRunAt).getTime() + 4 * DAY + 60_000);
    await Promise.all([a.tick(later), b.tick(later)]);
    const runs = await runsOf(pipeline.id);
    expect(runs).toHaveLength(1);
    expect(runs[0].scheduledFor).toBe(new Date(new Date(pipeline.nextRunAt).getTime() + 4 * DAY).toISOString());
  });

  it('a run whose server died mid-advance is resumed by another once its lease expired', async () => {
    const pipeline = await define(server, { name: 'orphaned', steps: [{ id: 'tell', kind: 'webhook', url: hook.url }] });
    const store = new PipelinesStore(server.ctx.db, server.ctx.permissions);
    // A run created and leased by a server that then vanished (no tick of its own advances it).
    const runId = (await store.createRun((await store.find(pipeline.id))!, { trigger: 'manual', runAs: pipeline.definedBy, params: {} }))!;
    await store.startQueued(pipeline.id, new Date());
    expect(await store.lease(runId, 'dead-server', 300)).toBe(true);
    await a.advance(runId);
    expect((await store.getRun(runId))!.steps[0]!.status).toBe('pending');
    await new Promise((r) => setTimeout(r, 400));
    await a.advance(runId);
    expect((await waitForRun(server, runId)).status).toBe('succeeded');
  });

  describe('notebook steps on a real worker', () => {
    let worker: RunningWorker;
    beforeAll(async () => {
      worker = await startNotebookWorker(server);
    });
    afterAll(async () => {
      await worker?.stop();
    });

    it('injects parameters after the parameters cell and hands pipelines.output values to the gate', async () => {
      const content = {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)', language: 'typescript' } },
        cells: [
          { cell_type: 'code', source: 'const alpha = 1;', metadata: { tags: ['parameters'] }, outputs: [], execution_count: null },
          {
            cell_type: 'code',
            source: "import { pipelines } from '@tandem/kernel';\npipelines.output('score', alpha * 2);",
            metadata: {},
            outputs: [],
            execution_count: null,
          },
        ],
      };
      const notebook = await server.api('POST', 'notebooks', { body: { name: 'scored.ipynb', content } });
      expect(notebook.status, JSON.stringify(notebook.body)).toBe(201);
      const pipeline = await define(server, {
        name: 'scored',
        parameters: { alpha: { default: 1 } },
        steps: [
          { id: 'score', kind: 'notebook', notebook: notebook.body.id, parameters: { alpha: '{{ params.alpha }}' } },
          { id: 'high', kind: 'gate', needs: ['score'], expression: 'steps.score.score > 5' },
        ],
      });
      const run = await startRun(server, pipeline.id, { alpha: 3 });
      const done = await waitForRun(server, run.id, undefined, 120_000);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(stepOf(done, 'score').outputs).toMatchObject({ score: 6 });
      expect(stepOf(done, 'high').outputs).toMatchObject({ passed: true });
      const outputs = (await server.api('GET', `jobs/${stepOf(done, 'score').jobId}/outputs`)).body;
      expect(JSON.stringify(outputs)).toContain('notebook.ipynb');
    }, 150_000);
  });
});

describe('pipelines on the embedded database (PGlite, one connection)', () => {
  let server: TestServer;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  beforeAll(async () => {
    server = await startTestServer({ db: 'pglite', env: { TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
    hook = await webhookReceiver();
  });
  afterAll(async () => {
    await hook?.close();
    await server?.stop();
  });

  it('fires a schedule and runs a chain to the end', async () => {
    const ticker = createPipelinesService(server.ctx);
    try {
      const pipeline = await define(server, {
        name: 'embedded',
        schedule: { cron: '0 3 * * *' },
        steps: [
          { id: 'one', kind: 'webhook', url: hook.url },
          { id: 'two', kind: 'webhook', needs: ['one'], url: hook.url },
        ],
      });
      await ticker.tick(new Date(new Date(pipeline.nextRunAt).getTime() + 60_000));
      const [run] = (await server.api('GET', `pipelines/${pipeline.id}/runs`)).body.items;
      expect((await waitForRun(server, run.id)).status).toBe('succeeded');
    } finally {
      await ticker.close();
    }
  });
});
