// The model behind the Pipelines section on a stand-in for the pipelines API: what it reads for
// the selection, how fast it polls, and that failed actions stay shown.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PipelineRun, PipelinesApi } from '../../../src/pipelines/api';
import { FAST_POLL_MS, PipelinesModel, Poller, SLOW_POLL_MS } from '../../../src/pipelines/pipelines-model';
import { pipeline, run, summary } from './fixtures';

function stub(state: { run: PipelineRun }) {
  const calls: string[] = [];
  const api = {
    list: async () => (calls.push('list'), { items: [pipeline({ lastRun: summary({ status: state.run.status }) })], total: 1 }),
    get: async (id: string) => (calls.push(`get ${id}`), pipeline()),
    runs: async (id: string) => (
      calls.push(`runs ${id}`),
      { items: [summary({ status: state.run.status, finishedAt: state.run.finishedAt })], total: 1 }
    ),
    run: async (id: string) => (calls.push(`run ${id}`), state.run),
    start: async () => {
      calls.push('start');
      throw new Error('parameter data is required');
    },
    cancel: async (id: string) => (calls.push(`cancel ${id}`), state.run),
    retry: async (id: string) => (calls.push(`retry ${id}`), state.run),
    define: async (text: string) => {
      calls.push(`define ${text}`);
      if (text.includes('cycle')) throw new Error('steps: the steps form a cycle: a -> a');
      return pipeline({ id: 'p2', name: 'fresh' });
    },
    redefine: async (id: string, text: string) => (calls.push(`redefine ${id} ${text}`), pipeline()),
  };
  return { api: api as unknown as PipelinesApi, calls };
}

describe('PipelinesModel', () => {
  it('lists pipelines; selecting one reads its runs and the newest run with steps', async () => {
    const state = { run: run() };
    const { api, calls } = stub(state);
    const model = new PipelinesModel(api);
    await model.refresh();
    expect(calls).toEqual(['list']);
    await model.select('p1');
    expect(calls).toEqual(['list', 'list', 'runs p1', 'run r1']);
    expect(model.selectedRun).toBe('r1');
    expect(model.value.run?.steps.map((s) => s.id)).toEqual(['train']);
    expect(model.value.pipeline?.name).toBe('nightly');
  });

  it('polls fast while a run is active and slowly once it finished; a finished run is not read again', async () => {
    const state = { run: run() };
    const { api, calls } = stub(state);
    const model = new PipelinesModel(api);
    await model.select('p1');
    expect(model.active).toBe(true);
    expect(model.pollMs).toBe(FAST_POLL_MS);
    let emitted = 0;
    model.stateChanged.connect(() => void (emitted += 1));
    await model.refresh(); // nothing changed: no signal
    expect(emitted).toBe(0);
    state.run = run({ status: 'succeeded', finishedAt: '2024-01-01T00:01:00.000Z' });
    await model.refresh();
    expect(emitted).toBe(1);
    expect(model.active).toBe(false);
    expect(model.pollMs).toBe(SLOW_POLL_MS);
    calls.length = 0;
    await model.refresh();
    expect(calls).toEqual(['list', 'runs p1']);
  });

  it('keeps a failed action’s message until the next action', async () => {
    const state = { run: run() };
    const { api, calls } = stub(state);
    const model = new PipelinesModel(api);
    await model.select('p1');
    expect(await model.start({ data: 'x' })).toBeUndefined();
    expect(model.message).toBe('parameter data is required');
    await model.refresh();
    expect(model.message).toBe('parameter data is required');
    await model.cancel('r1');
    expect(model.message).toBeUndefined();
    expect(calls).toContain('cancel r1');
  });
});

describe('PipelinesModel actions', () => {
  it('is busy while an action is on its way and ignores another meanwhile (a double click starts one run)', async () => {
    const { api, calls } = stub({ run: run() });
    let answer!: (r: PipelineRun) => void;
    (api as any).start = () => (calls.push('start'), new Promise<PipelineRun>((resolve) => (answer = resolve)));
    const model = new PipelinesModel(api);
    await model.select('p1');
    const first = model.start();
    expect(model.busy).toBe(true);
    expect(await model.start()).toBeUndefined();
    answer(run({ id: 'r2' }));
    expect((await first)?.id).toBe('r2');
    expect(model.busy).toBe(false);
    expect(calls.filter((c) => c === 'start')).toHaveLength(1);
  });
});

describe('PipelinesModel.save', () => {
  it('defines a new pipeline from its text and selects it', async () => {
    const { api, calls } = stub({ run: run() });
    const model = new PipelinesModel(api);
    expect(await model.save('name: fresh')).toBeUndefined();
    expect(model.selected).toBe('p2');
    expect(calls).toContain('define name: fresh');
  });

  it('replaces the definition of the pipeline it edits', async () => {
    const { api, calls } = stub({ run: run() });
    const model = new PipelinesModel(api);
    expect(await model.save('{"name":"nightly"}', 'p1')).toBeUndefined();
    expect(calls).toContain('redefine p1 {"name":"nightly"}');
    expect(model.selected).toBe('p1');
  });

  it('answers the server’s refusal and changes no selection', async () => {
    const { api } = stub({ run: run() });
    const model = new PipelinesModel(api);
    await model.select('p1');
    expect(await model.save('cycle')).toBe('steps: the steps form a cycle: a -> a');
    expect(model.selected).toBe('p1');
  });
});

describe('Poller', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('ticks after each delay while visible, skips while hidden, and stops when disposed', async () => {
    let ticks = 0;
    let visible = true;
    let delay = FAST_POLL_MS;
    const poller = new Poller(
      async () => void (ticks += 1),
      () => delay,
      () => visible,
    );
    poller.start();
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS * 2);
    expect(ticks).toBe(2);
    delay = SLOW_POLL_MS;
    await vi.advanceTimersByTimeAsync(FAST_POLL_MS); // the third tick, scheduled with the slow delay
    expect(ticks).toBe(3);
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS - 1);
    expect(ticks).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(ticks).toBe(4);
    visible = false;
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 3);
    expect(ticks).toBe(4);
    poller.stop();
    expect(poller.running).toBe(false);
    visible = true;
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 3);
    expect(ticks).toBe(4);
    poller.start();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS);
    expect(ticks).toBe(5);
    poller.dispose();
    poller.start();
    await vi.advanceTimersByTimeAsync(SLOW_POLL_MS * 3);
    expect(ticks).toBe(5);
  });
});
