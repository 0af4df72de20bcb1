// The state behind the Experiments panel (ExperimentsApi, ExperimentsListModel, RunsModel,
// CompareModel) against a real Tandem server: what the list and the runs table hold, how filter,
// sort, paging, columns and selection change them, live updates, and what the compare view draws
// from. The widgets need a DOM and are driven in Chromium (test/browser/experiments.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../server/test/support/server.js';
import { ExperimentsApi, type Run } from '../../../src/experiments/api';
import { CompareModel, paramRows } from '../../../src/experiments/compare-model';
import { ExperimentsListModel, quote } from '../../../src/experiments/experiments-model';
import { Pager } from '../../../src/experiments/paged-state';
import { durationMs, keysOf, orderByOf, RunsModel } from '../../../src/experiments/runs-model';
import { TandemClient } from '../../../src/requests';

describe('the Experiments panel’s models against a real Tandem server', { timeout: 60_000 }, () => {
  let server: TestServer;
  let api: ExperimentsApi;
  let strangerApi: ExperimentsApi;
  let count = 0;

  beforeAll(async () => {
    // PGlite: the unit project has no PostgreSQL; the browser suite runs the panel on PostgreSQL.
    server = await startTestServer({ db: 'pglite' });
    api = new ExperimentsApi(new TandemClient({ url: server.url, token: server.adminToken }));
    strangerApi = new ExperimentsApi(new TandemClient({ url: server.url, token: (await server.user('stranger')).token }));
  }, 120_000);
  afterAll(() => server?.stop());

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await server.api(method, path, { body });
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return res.body;
  };
  /** An experiment with runs that logged `acc` over three steps and the given params. */
  const seed = async (runs: { name: string; lr: number; acc: number[]; finish?: boolean }[]) => {
    const experiment = await call('POST', 'experiments', { name: `exp-${++count}` });
    const ids: string[] = [];
    for (const run of runs) {
      const created = await call('POST', 'runs', { experimentId: experiment.id, name: run.name, params: { lr: run.lr, layers: 2 } });
      await call('POST', `runs/${created.id}/log`, { metrics: run.acc.map((value, step) => ({ key: 'acc', value, step })) });
      if (run.finish !== false) await call('PATCH', `runs/${created.id}`, { status: 'FINISHED' });
      ids.push(created.id);
    }
    return { experiment, ids };
  };
  const emissions = (model: { stateChanged: { connect(fn: () => void): unknown } }) => {
    const seen = { count: 0 };
    model.stateChanged.connect(() => void (seen.count += 1));
    return seen;
  };

  it('the list searches experiment names; strangers see none of them', async () => {
    const { experiment } = await seed([]);
    const list = new ExperimentsListModel(api);
    await list.setSearch(experiment.name);
    expect(list.value.items.map((e) => e.name)).toEqual([experiment.name]);
    await list.setSearch('no such experiment');
    expect(list.value).toMatchObject({ items: [], total: 0 });
    const theirs = new ExperimentsListModel(strangerApi);
    await theirs.refresh();
    expect(theirs.value.items).toEqual([]);
  });

  it('a pager remembers the tokens of the pages it went through', () => {
    const pager = new Pager();
    pager.next('a');
    pager.next('b');
    expect([pager.index, pager.token]).toEqual([2, 'b']);
    expect(pager.previous()).toBe(true);
    expect(pager.token).toBe('a');
    pager.reset();
    expect([pager.index, pager.token, pager.previous()]).toEqual([0, undefined, false]);
    expect(quote("it's")).toBe("'it''s'");
  });

  it('the runs table filters with the MLflow syntax and sorts by a clicked column', async () => {
    const { experiment } = await seed([
      { name: 'slow', lr: 0.001, acc: [0.5, 0.6, 0.7] },
      { name: 'fast', lr: 0.1, acc: [0.6, 0.8, 0.95] },
      { name: 'mid', lr: 0.01, acc: [0.55, 0.7, 0.9] },
    ]);
    const runs = new RunsModel(api, experiment.id);
    await runs.refresh();
    expect(runs.value.runs.map((r) => r.name)).toEqual(['mid', 'fast', 'slow']);
    expect(runs.columns).toEqual(['params.layers', 'params.lr', 'metrics.acc']);
    await runs.sortBy('metrics.acc');
    expect(runs.sort).toEqual({ column: 'metrics.acc', desc: true });
    expect(runs.value.runs.map((r) => r.name)).toEqual(['fast', 'mid', 'slow']);
    await runs.sortBy('metrics.acc');
    expect(runs.value.runs.map((r) => r.name)).toEqual(['slow', 'mid', 'fast']);
    await runs.setFilter("metrics.acc > 0.8 and params.lr = '0.01'");
    expect(runs.value.runs.map((r) => r.name)).toEqual(['mid']);
    expect(orderByOf({ column: 'metrics.train loss', desc: false })).toBe('metrics.`train loss` ASC');
    expect(orderByOf({ column: 'duration', desc: false })).toBeUndefined();
  });

  it('a refused filter says what the server said, names the token, and keeps the rows', async () => {
    const { experiment } = await seed([{ name: 'only', lr: 0.1, acc: [0.1] }]);
    const runs = new RunsModel(api, experiment.id);
    await runs.refresh();
    await runs.setFilter('metrics.acc >> 3');
    expect(runs.value.filterError).toMatch(/query\.filter: .*position \d+ \(found '>'\)/);
    expect(runs.error).toBeUndefined();
    expect(runs.value.runs.map((r) => r.name)).toEqual(['only']);
    await runs.setFilter('metrics.acc > 0');
    expect(runs.value.filterError).toBeUndefined();
  });

  it('pages through the runs with the server’s tokens', async () => {
    const { experiment } = await seed(Array.from({ length: 55 }, (_, i) => ({ name: `r${i}`, lr: i, acc: [i / 100], finish: false })));
    const runs = new RunsModel(api, experiment.id);
    await runs.refresh();
    expect(runs.value.runs).toHaveLength(50);
    await runs.nextPage();
    expect([runs.pager.index, runs.value.runs.length, runs.value.nextPageToken]).toEqual([1, 5, undefined]);
    await runs.previousPage();
    expect(runs.value.runs).toHaveLength(50);
  });

  it('columns and the selection change without a fetch; compare needs 2 to 10 runs', async () => {
    const { experiment } = await seed([
      { name: 'a', lr: 0.1, acc: [0.1] },
      { name: 'b', lr: 0.2, acc: [0.2] },
    ]);
    const runs = new RunsModel(api, experiment.id);
    await runs.refresh();
    const seen = emissions(runs);
    runs.toggleColumn('params.layers');
    expect(runs.columns).toEqual(['params.lr', 'metrics.acc']);
    const [a, b] = runs.value.runs as [Run, Run];
    runs.toggleSelected(a);
    expect(runs.canCompare).toBe(false);
    runs.toggleSelected(b);
    expect(runs.canCompare).toBe(true);
    expect(runs.selected.map((r) => r.name)).toEqual([a.name, b.name]);
    expect(seen.count).toBe(3);
  });

  it('a run that logged is re-read into its row; a new run searches the page again', async () => {
    const { experiment, ids } = await seed([
      { name: 'live', lr: 0.1, acc: [0.1], finish: false },
      { name: 'done', lr: 0.2, acc: [0.2] },
    ]);
    const runs = new RunsModel(api, experiment.id);
    await runs.refresh();
    const done = runs.value.runs.find((r) => r.name === 'done');
    await call('POST', `runs/${ids[0]}/log`, { metrics: [{ key: 'acc', value: 0.42, step: 1 }] });
    await runs.applyEvent({ type: 'run.logged', at: new Date().toISOString(), experimentId: experiment.id, runId: ids[0] });
    expect(runs.value.runs.map((r) => r.name)).toEqual(['done', 'live']);
    expect(runs.value.runs.find((r) => r.id === ids[0])!.metrics.acc).toMatchObject({ value: 0.42, step: 1 });
    // The other row is the very same object: the view keeps its node.
    expect(runs.value.runs.find((r) => r.name === 'done')).toBe(done);
    const added = await call('POST', 'runs', { experimentId: experiment.id, name: 'new' });
    await runs.applyEvent({ type: 'run.created', at: new Date().toISOString(), experimentId: experiment.id, runId: added.id });
    expect(runs.value.runs.map((r) => r.name)).toContain('new');
  });

  it('keys, durations and param rows come from the runs as they are', async () => {
    const { ids } = await seed([
      { name: 'x', lr: 0.1, acc: [0.1] },
      { name: 'y', lr: 0.2, acc: [0.2] },
    ]);
    const [x, y] = await Promise.all(ids.map((id) => api.run(id)));
    expect(keysOf([x!, y!])).toEqual({ params: ['layers', 'lr'], metrics: ['acc'] });
    expect(durationMs(x!)).toBeGreaterThanOrEqual(0);
    expect(durationMs({ ...x!, endTime: null }, Date.parse(x!.startTime) + 5000)).toBe(5000);
    expect(paramRows([x!, y!])).toEqual([
      { key: 'layers', values: ['2', '2'], differs: false },
      { key: 'lr', values: ['0.1', '0.2'], differs: true },
    ]);
  });

  it('the compare model holds each chosen metric’s curve per run, in step order, NaN left out', async () => {
    const { ids } = await seed([
      { name: 'p', lr: 0.1, acc: [0.1, 0.2, 0.3] },
      { name: 'q', lr: 0.2, acc: [0.3, 0.5] },
    ]);
    await call('POST', `runs/${ids[0]}/log`, {
      metrics: [
        { key: 'loss', value: 'NaN', step: 0 },
        { key: 'loss', value: 1.5, step: 1 },
      ],
    });
    const compare = new CompareModel(api, ids);
    await compare.refresh();
    expect(compare.metricKeys).toEqual(['acc', 'loss']);
    expect(compare.value.curves.acc).toEqual({
      [ids[0]!]: [
        [0, 0.1],
        [1, 0.2],
        [2, 0.3],
      ],
      [ids[1]!]: [
        [0, 0.3],
        [1, 0.5],
      ],
    });
    expect(compare.value.curves.loss).toEqual({ [ids[0]!]: [[1, 1.5]] });
    expect(compare.axisMetric).toBe('acc');
    await compare.toggleMetric('acc');
    expect(compare.metrics).toEqual(['loss']);
    expect(Object.keys(compare.value.curves)).toEqual(['loss']);
  });

  it('registering answers the server’s refusal as an error with its message', async () => {
    const { ids } = await seed([{ name: 'reg', lr: 0.1, acc: [0.1] }]);
    expect(await api.artifacts(ids[0]!)).toEqual([]);
    await expect(api.register(ids[0]!, { model: 'churn', artifact: 'model.onnx' })).rejects.toMatchObject({ message: expect.any(String) });
    await expect(strangerApi.run(ids[0]!)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
