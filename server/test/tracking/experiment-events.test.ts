// Views of an experiment follow its runs live over server-sent events; only its viewers may listen.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentEvent } from '../../src/api/index.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Listener {
  status: number;
  events: ExperimentEvent[];
  /** The reason of the stream's `end` event, once it ended. */
  ended?: string;
  closed: boolean;
}

describe('experiment events', () => {
  let server: TestServer;
  let owner: string;
  let viewer: string;
  let outsider: string;
  let experiment: string;
  const controllers: AbortController[] = [];

  /** Opens the stream as `token` (?token=, as browsers do) and collects what it sends. */
  const listen = async (token: string, id = experiment): Promise<Listener> => {
    const controller = new AbortController();
    controllers.push(controller);
    const res = await fetch(`${server.url}/tandem/api/experiments/${id}/events?token=${token}`, { signal: controller.signal });
    const listener: Listener = { status: res.status, events: [], closed: false };
    if (res.status !== 200) return listener;
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const decoder = new TextDecoder();
    void (async () => {
      let buffered = '';
      let name = '';
      for await (const chunk of res.body!) {
        const lines = (buffered + decoder.decode(chunk, { stream: true })).split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ') && name === 'experiment') listener.events.push(JSON.parse(line.slice(6)));
          else if (line.startsWith('data: ') && name === 'end') listener.ended = JSON.parse(line.slice(6)).reason;
        }
      }
      listener.closed = true;
    })().catch(() => undefined);
    return listener;
  };
  const types = (l: Listener) => l.events.map((e) => `${e.type}${e.status ? ` ${e.status}` : ''}`);

  beforeAll(async () => {
    server = await startTestServer();
    owner = (await server.user('owner')).token;
    viewer = (await server.user('viewer')).token;
    outsider = (await server.user('outsider')).token;
    experiment = (await server.api('POST', 'experiments', { token: owner, body: { name: 'live' } })).body.id;
    await server.api('PUT', `experiments/${experiment}/grants`, { token: owner, body: { type: 'user', name: 'viewer', role: 'viewer' } });
  });
  afterEach(() => {
    for (const c of controllers.splice(0)) c.abort();
  });
  afterAll(() => server.stop());

  it('tells a viewer when runs start, log and end, in order, with nothing of other experiments', async () => {
    const watching = await listen(viewer);
    expect(watching.status).toBe(200);
    const other = (await server.api('POST', 'experiments', { token: owner, body: { name: 'elsewhere' } })).body.id;
    await server.api('POST', 'runs', { token: owner, body: { experimentId: other } });
    const run = (await server.api('POST', 'runs', { token: owner, body: { experimentId: experiment, name: 'a' } })).body.id;
    for (let step = 0; step < 3; step++)
      await server.api('POST', `runs/${run}/log`, { token: owner, body: { metrics: [{ key: 'loss', value: 1, step }] } });
    await server.api('PATCH', `runs/${run}`, { token: owner, body: { status: 'FINISHED' } });
    await expect.poll(() => types(watching)).toContain('run.updated FINISHED');
    // Three quick batches are announced at least once and at most once per 250 ms; the last always is.
    await expect.poll(() => types(watching).at(-1), { timeout: 2_000 }).toBe('run.logged');
    const seen = types(watching);
    expect(seen[0]).toBe('run.created');
    expect(seen.filter((t) => t === 'run.logged').length).toBeLessThanOrEqual(3);
    expect(watching.events.every((e) => e.experimentId === experiment && e.runId === run)).toBe(true);
  });

  it('answers 404 to someone the experiment is not shared with, and to an unknown experiment', async () => {
    expect((await listen(outsider)).status).toBe(404);
    expect((await listen(viewer, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const anonymous = await fetch(`${server.url}/tandem/api/experiments/${experiment}/events`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
  });

  it('refuses a revoked token, and ends a stream opened with a token when it is revoked', async () => {
    const laptop = (await server.api('POST', 'tokens', { token: viewer, body: { name: 'laptop' } })).body as { id: string; token: string };
    const open = await listen(laptop.token);
    expect(open.status).toBe(200);
    const other = await listen(viewer);
    expect((await server.api('DELETE', `tokens/${laptop.id}`, { token: viewer })).status).toBe(204);
    await expect.poll(() => open.closed).toBe(true);
    expect(open.ended).toMatch(/revoked/);
    expect((await listen(laptop.token)).status).toBe(401);
    await server.api('POST', 'runs', { token: owner, body: { experimentId: experiment, name: 'after' } });
    await expect.poll(() => types(other)).toContain('run.created');
    expect(other.closed).toBe(false);
  });

  it('ends the stream of a viewer the experiment is no longer shared with', async () => {
    const reader = await server.user('reader');
    await server.api('PUT', `experiments/${experiment}/grants`, { token: owner, body: { type: 'user', name: 'reader', role: 'viewer' } });
    const watching = await listen(reader.token);
    expect(watching.status).toBe(200);
    await server.api('PUT', `experiments/${experiment}/grants`, { token: owner, body: { type: 'user', name: 'reader', role: null } });
    await expect.poll(() => watching.closed).toBe(true);
    expect(watching.ended).toMatch(/no longer have access/);
  });
});
