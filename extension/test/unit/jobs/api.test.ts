// The data behind the Jobs panel (JobsApi) against a real Tandem server: the filters the panel's
// controls send, a job's event cursor and long poll, cancel and retry. No worker runs, so the
// jobs stay queued until cancelled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../server/test/support/server.js';
import { FINAL, JobsApi, type Job } from '../../../src/jobs/api';
import { TandemClient } from '../../../src/requests';

describe('JobsApi against a real Tandem server', { timeout: 60_000 }, () => {
  let server: TestServer;
  let api: JobsApi;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer({ db: 'pglite' });
    api = new JobsApi(new TandemClient({ url: server.url, token: server.adminToken }));
    const submit = async (name: string, kind: 'gpu' | 'spark') => {
      const res = await server.api('POST', 'jobs', { body: { kind, name, spec: { script: 'print(1)' } } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    ids.mlp = await submit('train mlp', 'gpu');
    ids.etl = await submit('nightly etl', 'spark');
    ids.gbt = await submit('train gbt', 'spark');
  }, 120_000);
  afterAll(() => server?.stop());

  const names = (jobs: Job[]) => jobs.map((j) => j.name).sort();

  it('list() treats the panel’s "Any status" and "Any kind" (empty values) and a blank search as no filter', async () => {
    const { jobs, total } = await api.list({ q: '', status: '', kind: '' });
    expect(total).toBe(3);
    expect(names(jobs)).toEqual(['nightly etl', 'train gbt', 'train mlp']);
  });

  it('list() filters by kind, status and text', async () => {
    expect(names((await api.list({ kind: 'spark' })).jobs)).toEqual(['nightly etl', 'train gbt']);
    expect(names((await api.list({ q: 'train' })).jobs)).toEqual(['train gbt', 'train mlp']);
    expect(names((await api.list({ q: 'train', kind: 'gpu', status: 'queued' })).jobs)).toEqual(['train mlp']);
    expect((await api.list({ status: 'running' })).total).toBe(0);
  });

  it('get() returns one job as the panel shows it', async () => {
    expect(await api.get(ids.mlp!)).toMatchObject({ id: ids.mlp, kind: 'gpu', name: 'train mlp', status: 'queued', progress: null });
  });

  it('events() answers at once without waitMs, and a long poll ends when the job changes', async () => {
    const first = await api.events(ids.etl!, 0, 0);
    expect(first.job.status).toBe('queued');
    const cursor = first.events.at(-1)?.id ?? 0;
    const started = Date.now();
    const polling = api.events(ids.etl!, cursor, 25_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cancelled = await api.cancel(ids.etl!);
    expect(cancelled.status).toBe('cancelled');
    const next = await polling;
    expect(next.job.status).toBe('cancelled');
    expect(next.events.length).toBeGreaterThan(0);
    expect(next.events.every((e) => e.id > cursor)).toBe(true);
    expect(Date.now() - started).toBeLessThan(25_000); // it did not wait out the poll
    expect(FINAL).toContain(next.job.status);
  });

  it('events() stops when its signal aborts, as the job view does when closed', async () => {
    const cursor = (await api.events(ids.gbt!, 0, 0)).events.at(-1)?.id ?? 0;
    const stop = new AbortController();
    const polling = api.events(ids.gbt!, cursor, 25_000, stop.signal).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop.abort();
    const outcome = await polling;
    expect(outcome).toMatchObject({ name: 'TandemApiError', code: 'NETWORK' });
    expect(stop.signal.aborted).toBe(true);
  });

  it('retry() of a finished job starts a new queued job; cancel() of a finished one is a CONFLICT', async () => {
    const again = await api.retry(ids.etl!);
    expect(again.id).not.toBe(ids.etl);
    expect(again).toMatchObject({ name: 'nightly etl', status: 'queued' });
    await expect(api.cancel(ids.etl!)).rejects.toMatchObject({ code: 'CONFLICT', status: 409 });
    expect(FINAL).toEqual(['succeeded', 'failed', 'cancelled']);
  });
});
