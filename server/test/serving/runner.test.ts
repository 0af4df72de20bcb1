// The runner's batching and swapping rules, on a stand-in model whose runs the test finishes by
// hand (the HTTP tests run real ONNX sessions; here the order of events is what is checked).
import { describe, expect, it } from 'vitest';
import type { DeploymentSettings, PredictValue } from '../../src/api/index.js';
import { TandemError } from '../../src/errors.js';
import type { Encoded, LoadedModel } from '../../src/serving/serving.model.js';
import { Runner } from '../../src/serving/serving.runner.js';

interface Run {
  rows: number[];
  finish(): void;
  fail(error: Error): void;
}

class HandModel implements LoadedModel {
  readonly versionId: string;
  readonly inputs = [];
  readonly outputs = ['y'];
  readonly fields = ['x'];
  readonly runs: Run[] = [];
  released = false;

  constructor(
    readonly version: number,
    readonly batchable = true,
  ) {
    this.versionId = `v${version}`;
  }

  encode(body: { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> }): Encoded {
    if (!('rows' in body)) throw new TandemError('INVALID_ARGUMENT', 'rows only');
    return { rows: body.rows.length, data: new Map() };
  }

  run(batch: Encoded[]) {
    return new Promise<PredictValue[][]>((resolve, reject) => {
      this.runs.push({
        rows: batch.map((e) => e.rows),
        finish: () => resolve(batch.map((e) => Array.from({ length: e.rows }, () => this.version))),
        fail: reject,
      });
    });
  }

  async release() {
    this.released = true;
  }
}

const SETTINGS: DeploymentSettings = { maxBatchSize: 4, maxWaitMs: 0, queueLimit: 100, timeoutMs: 5000 };
const rows = (n: number) => ({ rows: Array.from({ length: n }, () => ({ x: 1 })) });
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

function runnerWith(models: Record<number, HandModel | Error>, settings: Partial<DeploymentSettings> = {}) {
  const batches: number[] = [];
  const runner = new Runner(
    { ...SETTINGS, ...settings },
    {
      load: async (v) => {
        const model = models[v]!;
        if (model instanceof Error) throw model;
        return model;
      },
      batched: (n) => batches.push(n),
      swapped: () => undefined,
      failed: () => undefined,
    },
  );
  return { runner, batches };
}

describe('the runner', () => {
  it('refuses requests with 503 until a version is loaded', async () => {
    const { runner } = runnerWith({ 1: new HandModel(1) });
    expect(() => runner.predict(rows(1))).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
    runner.follow(1);
    expect(runner.status()).toMatchObject({ state: 'loading', loadingVersion: 1 });
    await runner.settled();
    expect(runner.status()).toMatchObject({ state: 'ready', servedVersion: 1, loadingVersion: null });
  });

  it('forms the next batch from requests that arrive while one runs, up to max batch size rows', async () => {
    const model = new HandModel(1);
    const { runner, batches } = runnerWith({ 1: model }, { maxBatchSize: 4 });
    runner.follow(1);
    await runner.settled();
    const sizes = [1, 1, 1, 1, 2, 1, 5];
    const answers = sizes.map((n) => runner.predict(rows(n)));
    // Two batches in flight at most; the others wait in the queue.
    expect(model.runs.map((r) => r.rows)).toEqual([[1], [1]]);
    model.runs[0]!.finish();
    await tick();
    expect(model.runs[2]!.rows).toEqual([1, 1, 2]);
    model.runs[1]!.finish();
    await tick();
    // What would overflow the batch waits for the next one; a request larger than the batch size runs alone, unsplit.
    expect(model.runs[3]!.rows).toEqual([1]);
    model.runs[2]!.finish();
    await tick();
    expect(model.runs[4]!.rows).toEqual([5]);
    model.runs[3]!.finish();
    model.runs[4]!.finish();
    expect((await Promise.all(answers)).map((a) => a.predictions.length)).toEqual(sizes);
    expect(batches).toEqual([1, 1, 4, 1, 5]);
  });

  it('keeps requests on the version they were checked against across a swap, and releases the old one after them', async () => {
    const v1 = new HandModel(1);
    const v2 = new HandModel(2);
    const { runner } = runnerWith({ 1: v1, 2: v2 });
    runner.follow(1);
    await runner.settled();
    const before = [runner.predict(rows(1)), runner.predict(rows(1)), runner.predict(rows(1))];
    runner.follow(2);
    await runner.settled();
    const after = runner.predict(rows(1));
    expect(v1.released).toBe(false);
    v1.runs[0]!.finish();
    v1.runs[1]!.finish();
    await tick();
    // The third request of v1 was queued at the swap: it runs on v1, beside v2's first.
    expect(v1.runs).toHaveLength(3);
    expect(v2.runs).toHaveLength(1);
    expect(v1.released).toBe(false);
    v1.runs[2]!.finish();
    await tick();
    expect((await Promise.all(before)).map((a) => a.version)).toEqual([1, 1, 1]);
    expect(v1.released).toBe(true);
    v2.runs[0]!.finish();
    expect((await after).version).toBe(2);
  });

  it('a version that fails to load leaves the serving one and records the error; a newer move wins over a slower load', async () => {
    const v1 = new HandModel(1);
    const { runner } = runnerWith({ 1: v1, 2: new Error('corrupt'), 3: new HandModel(3) });
    runner.follow(1);
    await runner.settled();
    runner.follow(2);
    await runner.settled();
    expect(runner.status()).toMatchObject({ state: 'ready', servedVersion: 1, lastError: { version: 2, message: 'corrupt' } });
    // The failed version is not retried at once (an alias pointing at it must not reload it on every reconcile).
    runner.follow(2);
    expect(runner.status().loadingVersion).toBeNull();
    runner.follow(3);
    await runner.settled();
    expect(runner.status()).toMatchObject({ servedVersion: 3, lastError: null });
    expect(v1.released).toBe(true);
  });

  it('answers 429 beyond the queue limit and 504 after the timeout, queued or running', async () => {
    const model = new HandModel(1);
    const { runner } = runnerWith({ 1: model }, { queueLimit: 1, timeoutMs: 50, maxWaitMs: 0 });
    runner.follow(1);
    await runner.settled();
    const running = [runner.predict(rows(1)), runner.predict(rows(1))];
    const queued = runner.predict(rows(1));
    expect(() => runner.predict(rows(1))).toThrow(expect.objectContaining({ code: 'TOO_MANY_REQUESTS' }));
    for (const p of [...running, queued]) await expect(p).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    // Late answers of timed-out requests are dropped; the runner keeps going.
    model.runs.forEach((r) => r.finish());
    await tick();
    const next = runner.predict(rows(1));
    await tick();
    model.runs.at(-1)!.finish();
    expect((await next).version).toBe(1);
  });

  it('a failed run fails only its batch', async () => {
    const model = new HandModel(1);
    const { runner } = runnerWith({ 1: model });
    runner.follow(1);
    await runner.settled();
    const doomed = runner.predict(rows(1));
    const fine = runner.predict(rows(1));
    model.runs[0]!.fail(new Error('boom'));
    await expect(doomed).rejects.toMatchObject({ code: 'INTERNAL' });
    model.runs[1]!.finish();
    expect((await fine).version).toBe(1);
  });

  it('closing refuses what is queued and releases the model once running batches end', async () => {
    const model = new HandModel(1);
    const { runner } = runnerWith({ 1: model });
    runner.follow(1);
    await runner.settled();
    const running = [runner.predict(rows(1)), runner.predict(rows(1))];
    const queued = runner.predict(rows(1));
    await runner.close();
    await expect(queued).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(model.released).toBe(false);
    model.runs.forEach((r) => r.finish());
    expect((await Promise.all(running)).length).toBe(2);
    await tick();
    expect(model.released).toBe(true);
  });
});
