// The models behind the Jobs panel, on a stand-in for the jobs API: the list its filters ask for,
// and one job followed over its event cursor. The API itself is tested against a real server in
// api.test.ts; the views in the browser suite.
import { describe, expect, it } from 'vitest';
import type { Job, JobEvent, JobsApi } from '../../../src/jobs/api';
import { JobModel, JobsListModel } from '../../../src/jobs/jobs-model';

const job = (over: Partial<Job> = {}): Job =>
  ({
    id: 'j1',
    kind: 'gpu',
    name: 'train mlp',
    status: 'running',
    attempt: 1,
    maxAttempts: 3,
    progress: null,
    metrics: {},
    error: null,
    result: null,
    cancelRequested: false,
    createdAt: '2024-01-01T00:00:00.000Z',
    finishedAt: null,
    ...over,
  }) as Job;

let eventId = 0;
const event = (type: JobEvent['type'], data: Record<string, unknown>): JobEvent =>
  ({ id: ++eventId, attempt: 1, at: '2024-01-01T00:00:00.000Z', type, data }) as JobEvent;

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('JobsListModel', () => {
  it('refresh() sends the filters (blank text trimmed away), keeps the jobs and emits once per change', async () => {
    const filters: unknown[] = [];
    let jobs = [job()];
    const model = new JobsListModel({ list: async (filter) => (filters.push(filter), { jobs, total: jobs.length }) });
    let emitted = 0;
    model.stateChanged.connect(() => void (emitted += 1));
    model.query = { q: '  ', status: 'running', kind: 'gpu' };
    await model.refresh();
    expect(filters).toEqual([{ q: '', status: 'running', kind: 'gpu' }]);
    expect(model.value).toEqual({ jobs: [job()], total: 1 });
    await model.refresh(); // polling: nothing changed
    expect(emitted).toBe(1);
    jobs = [job({ progress: 0.5 })];
    await model.refresh();
    expect(emitted).toBe(2);
    expect(model.value.jobs[0]!.progress).toBe(0.5);
  });
});

describe('JobModel', () => {
  /** Answers the model's polls from `answers`, one per poll, then waits until aborted. */
  function api(answers: (() => { events: JobEvent[]; job: Job })[]) {
    const polls: { after: number; waitMs: number }[] = [];
    const calls: string[] = [];
    const stub = {
      events: (_id: string, after: number, waitMs: number, signal?: AbortSignal) => {
        polls.push({ after, waitMs });
        const next = answers.shift();
        if (next) return Promise.resolve().then(next);
        return new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      },
      cancel: async (id: string) => {
        calls.push(`cancel ${id}`);
        throw new Error('the job has already finished');
      },
      retry: async (id: string) => (calls.push(`retry ${id}`), job({ id: 'j2', status: 'queued' })),
    };
    return { stub: stub as unknown as JobsApi, polls, calls };
  }

  it('follows the event cursor: log and state lines as they come, the progress message, the job; it stops once the job is final', async () => {
    const first = [event('log', { line: 'epoch 1' }), event('progress', { message: 'epoch 1/2' }), event('log', { line: 'epoch 2' })];
    const second = [event('state', { status: 'failed', error: 'out of memory' })];
    const { stub, polls } = api([
      () => ({ events: first, job: job({ progress: 0.5 }) }),
      () => ({ events: second, job: job({ status: 'failed', error: 'out of memory' }) }),
      () => ({ events: [], job: job({ status: 'failed', error: 'out of memory' }) }),
    ]);
    const model = new JobModel(stub, 'j1');
    const logged: string[][] = [];
    const states: string[] = [];
    model.logged.connect((_, lines) => void logged.push(lines));
    model.stateChanged.connect(() => void states.push(`${model.job?.status} ${model.message}`));
    await model.followed;
    expect(logged).toEqual([['epoch 1', 'epoch 2'], ['── failed: out of memory']]);
    expect(states).toEqual(['running epoch 1/2', 'failed epoch 1/2']);
    // The first poll answers at once; then it long-polls after the last event seen.
    expect(polls).toEqual([
      { after: 0, waitMs: 0 },
      { after: first.at(-1)!.id, waitMs: 10_000 },
      { after: second[0]!.id, waitMs: 10_000 },
    ]);
  });

  it('shows a failed poll as its message and polls again', async () => {
    const { stub } = api([
      () => {
        throw new Error('cannot reach the Tandem server');
      },
      () => ({ events: [], job: job({ status: 'succeeded' }) }),
    ]);
    const model = new JobModel(stub, 'j1', 10);
    const states: string[] = [];
    model.stateChanged.connect(() => void states.push(`${model.job?.status} ${model.message}`));
    await model.followed;
    // The message stays until a newer one (a progress message or another failure) replaces it.
    expect(states).toEqual(['undefined cannot reach the Tandem server', 'succeeded cannot reach the Tandem server']);
  });

  it('shows a failed cancel as its message; retry() answers the new job’s id', async () => {
    const { stub, calls } = api([]);
    const model = new JobModel(stub, 'j1');
    await model.cancel();
    expect(model.message).toBe('the job has already finished');
    expect(await model.retry()).toBe('j2');
    expect(calls).toEqual(['cancel j1', 'retry j1']);
    model.dispose();
  });

  it('stops following when disposed, in the middle of a long poll', async () => {
    const { stub, polls } = api([() => ({ events: [event('log', { line: 'started' })], job: job() })]);
    const model = new JobModel(stub, 'j1');
    await until(() => polls.length === 2, 'the long poll');
    model.dispose();
    await model.followed;
    expect(model.isDisposed).toBe(true);
    expect(polls).toHaveLength(2);
  });
});
