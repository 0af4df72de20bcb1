import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerToken } from '../jobs/support.js';
import { upload } from '../models/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Role = 'anonymous' | 'outsider' | 'viewer' | 'editor' | 'owner';
const ROLES: Role[] = ['anonymous', 'outsider', 'viewer', 'editor', 'owner'];
const RANK: Record<Role, number> = { anonymous: -1, outsider: 0, viewer: 1, editor: 2, owner: 3 };

/** The status each caller must get for an operation that needs `needed`. */
const expected = (who: Role, needed: Exclude<Role, 'anonymous' | 'outsider'>, ok: number) =>
  who === 'anonymous' ? 401 : who === 'outsider' ? 404 : RANK[who] >= RANK[needed] ? ok : 403;

describe('tracking API', () => {
  let server: TestServer;
  const tokens: Partial<Record<Role, string | null>> = { anonymous: null };
  let experiment: string;
  let run: string;

  const as = (who: Role) => ({ token: tokens[who] });

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', env: { TANDEM_MAX_ARTIFACT_BYTES: '100000' } });
    for (const name of ['owner', 'editor', 'viewer', 'outsider'] as const) tokens[name] = (await server.user(name)).token;
    // The viewer gets access through a team.
    const team = await server.api('POST', 'teams', { body: { name: 'analysts' } });
    await server.api('POST', `teams/${team.body.id}/members`, { body: { user: 'viewer' } });
    const created = await server.api('POST', 'experiments', { ...as('owner'), body: { name: 'churn', tags: { team: 'growth' } } });
    expect(created.status).toBe(201);
    experiment = created.body.id;
    await server.api('PUT', `experiments/${experiment}/grants`, { ...as('owner'), body: { type: 'user', name: 'editor', role: 'editor' } });
    await server.api('PUT', `experiments/${experiment}/grants`, {
      ...as('owner'),
      body: { type: 'team', name: 'analysts', role: 'viewer' },
    });
    const started = await server.api('POST', 'runs', {
      ...as('owner'),
      body: { experimentId: experiment, name: 'baseline', params: { lr: 0.01, depth: 4, deep: true }, tags: { model: 'gbm' } },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    run = started.body.id;
    const logged = await server.api('POST', `runs/${run}/log`, {
      ...as('owner'),
      body: { metrics: Array.from({ length: 50 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), step })) },
    });
    expect(logged.status).toBe(204);
    expect((await upload(server, `runs/${run}/artifacts/model/model.onnx`, 'weights', tokens.owner!)).status).toBe(200);
  });
  afterAll(() => server.stop());

  it('answers a run with its params as text, tags, latest metrics and where it came from', async () => {
    const res = await server.api('GET', `runs/${run}`, as('owner'));
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      experimentId: experiment,
      name: 'baseline',
      status: 'RUNNING',
      endTime: null,
      params: { lr: '0.01', depth: '4', deep: 'true' },
      tags: { model: 'gbm' },
      metrics: { loss: { value: 0.02, step: 49, timestamp: expect.any(Number) } },
      userName: 'owner',
      heartbeatTimeoutSeconds: 120,
    });
  });

  it('declares its routes in the OpenAPI document, each with who may call it', async () => {
    const { paths } = (await server.api('GET', 'openapi.json', { token: null })).body;
    expect(paths['/tandem/api/runs/{id}/log'].post['x-tandem-auth']).toBe('user');
    expect(Object.keys(paths['/tandem/api/runs'])).toEqual(['get', 'post']);
    expect(paths['/tandem/api/experiments/{id}/grants']).toHaveProperty('put');
  });

  describe('every route checks the caller’s role on the experiment', () => {
    for (const who of ROLES) {
      it(`${who}: reads answer ${expected(who, 'viewer', 200)}`, async () => {
        for (const path of [
          `experiments/${experiment}`,
          `experiments/${experiment}/grants`,
          `runs/${run}`,
          `runs?experimentId=${experiment}`,
          `runs/${run}/metrics/loss`,
          `runs/${run}/artifacts`,
          `runs/${run}/artifacts/model/model.onnx`,
        ]) {
          const res = await server.api('GET', path, as(who));
          expect({ path, status: res.status }).toEqual({ path, status: expected(who, 'viewer', 200) });
        }
      });

      it(`${who}: writes answer ${expected(who, 'editor', 200)} (2xx)`, async () => {
        const writes = [
          ['POST', `runs/${run}/log`, { metrics: [{ key: `by-${who}`, value: 1 }] }, 204],
          ['POST', `runs/${run}/heartbeat`, undefined, 204],
          ['PATCH', `runs/${run}`, { name: 'baseline' }, 200],
          ['PATCH', `experiments/${experiment}`, { tags: { touched: who } }, 200],
          ['POST', 'runs', { experimentId: experiment }, 201],
        ] as const;
        for (const [method, path, body, ok] of writes) {
          const res = await server.api(method, path, { ...as(who), body });
          expect({ method, path, status: res.status }).toEqual({ method, path, status: expected(who, 'editor', ok) });
        }
        const put = await fetch(`${server.url}/tandem/api/runs/${run}/artifacts/by-${who}.txt`, {
          method: 'PUT',
          headers: { ...(tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {}), 'content-type': 'application/octet-stream' },
          body: 'x',
        });
        expect(put.status).toBe(expected(who, 'editor', 200));
      });

      it(`${who}: sharing and deleting the experiment answer ${expected(who, 'owner', 200)}`, async () => {
        const shared = await server.api('PUT', `experiments/${experiment}/grants`, {
          ...as(who),
          body: { type: 'user', name: 'editor', role: 'editor' },
        });
        expect(shared.status).toBe(expected(who, 'owner', 200));
        if (who !== 'owner')
          expect((await server.api('DELETE', `experiments/${experiment}`, as(who))).status).toBe(expected(who, 'owner', 204));
      });
    }

    it('searches list only what the caller can see', async () => {
      expect((await server.api('GET', 'experiments', as('outsider'))).body.items).toEqual([]);
      expect((await server.api('GET', 'runs', as('outsider'))).body.items).toEqual([]);
      expect((await server.api('GET', 'experiments', as('viewer'))).body.items).toEqual([
        expect.objectContaining({ id: experiment, role: 'viewer' }),
      ]);
      // Naming an experiment one cannot see is the same 404 as one that does not exist.
      expect((await server.api('GET', `runs?experimentId=${experiment}`, as('outsider'))).status).toBe(404);
    });

    it('a worker token is refused on every tracking route', async () => {
      const token = await workerToken(server);
      for (const [method, path] of [
        ['GET', 'experiments'],
        ['GET', `runs/${run}`],
        ['POST', `runs/${run}/log`],
        ['GET', `runs/${run}/artifacts/model/model.onnx`],
      ] as const) {
        const res = await server.api(method, path, { token, body: method === 'POST' ? { metrics: [] } : undefined });
        expect({ path, status: res.status, message: res.body.error.message }).toEqual({
          path,
          status: 403,
          message: expect.stringMatching(/worker tokens/),
        });
      }
    });

    it('a revoked token is refused', async () => {
      const laptop = await server.api('POST', 'tokens', { ...as('owner'), body: { name: 'laptop' } });
      expect((await server.api('GET', `runs/${run}`, { token: laptop.body.token })).status).toBe(200);
      await server.api('DELETE', `tokens/${laptop.body.id}`, as('owner'));
      expect((await server.api('GET', `runs/${run}`, { token: laptop.body.token })).status).toBe(401);
    });
  });

  describe('search', () => {
    it('filters and orders MLflow-style over the Tandem API', async () => {
      const exp = (await server.api('POST', 'experiments', { ...as('owner'), body: { name: 'grid' } })).body.id;
      for (const [i, lr] of ['0.1', '0.01', '0.01', '0.001'].entries()) {
        const r = await server.api('POST', 'runs', {
          ...as('owner'),
          body: { experimentId: exp, name: `g${i}`, params: { lr }, tags: { team: i < 2 ? 'x' : 'y' } },
        });
        await server.api('POST', `runs/${r.body.id}/log`, { ...as('owner'), body: { metrics: [{ key: 'acc', value: 0.85 + i * 0.02 }] } });
      }
      const query = new URLSearchParams({
        experimentId: exp,
        filter: "metrics.acc > 0.86 and params.lr = '0.01'",
        orderBy: 'metrics.acc DESC',
      });
      const res = await server.api('GET', `runs?${query}`, as('owner'));
      expect(res.body.items.map((r: { name: string }) => r.name)).toEqual(['g2', 'g1']);
      expect(res.body).not.toHaveProperty('total');
      const paged = await server.api('GET', `runs?experimentId=${exp}&limit=3&orderBy=attributes.run_name`, as('owner'));
      expect(paged.body.items.map((r: { name: string }) => r.name)).toEqual(['g0', 'g1', 'g2']);
      const next = await server.api(
        'GET',
        `runs?experimentId=${exp}&limit=3&orderBy=attributes.run_name&pageToken=${paged.body.nextPageToken}`,
        as('owner'),
      );
      expect(next.body.items.map((r: { name: string }) => r.name)).toEqual(['g3']);
    });

    it('a bad filter is a 400 naming the bad token and its position', async () => {
      const cases: [string, RegExp][] = [
        ['metrics.acc >> 1', /query\.filter: metric acc values are numbers: expected a number at position 13 \(found '>'\)/],
        ["metrics.acc > 0.9 OR params.lr = '1'", /OR is not supported.*position 18/],
        ["params.lr = '0.01", /unterminated string at position 12/],
        ['metrics.acc > 1; DELETE FROM runs', /unexpected character at position 15 \(found ';'\)/],
      ];
      for (const [filter, message] of cases) {
        const res = await server.api('GET', `runs?filter=${encodeURIComponent(filter)}`, as('owner'));
        expect({ filter, status: res.status, code: res.body.error.code, message: res.body.error.message }).toEqual({
          filter,
          status: 400,
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(message),
        });
        expect(res.body.error.details).toEqual({ token: expect.any(String), position: expect.any(Number) });
      }
      const order = await server.api('GET', `runs?orderBy=${encodeURIComponent('metrics.acc sideways')}`, as('owner'));
      expect(order).toMatchObject({
        status: 400,
        body: { error: { message: expect.stringMatching(/query\.orderBy\[0\]: expected ASC, DESC.*position 12/) } },
      });
    });
  });

  describe('logging', () => {
    it('a changed param is a 409 that names it, and the rest of the call is not stored', async () => {
      const res = await server.api('POST', `runs/${run}/log`, {
        ...as('owner'),
        body: { params: { lr: '0.02' }, metrics: [{ key: 'ghost', value: 1 }] },
      });
      expect(res).toMatchObject({
        status: 409,
        body: { error: { code: 'CONFLICT', message: expect.stringMatching(/param lr .*"0.01".*cannot change.*"0.02"/) } },
      });
      expect((await server.api('GET', `runs/${run}`, as('owner'))).body.metrics).not.toHaveProperty('ghost');
    });

    it('the metric history pages in step order', async () => {
      const first = await server.api('GET', `runs/${run}/metrics/loss?limit=20`, as('viewer'));
      expect(first.body).toMatchObject({ total: 50, nextPageToken: expect.any(String) });
      expect(first.body.items[0]).toEqual({ value: 1, step: 0, timestamp: expect.any(Number) });
      const last = await server.api('GET', `runs/${run}/metrics/loss?limit=20&pageToken=${first.body.nextPageToken}`, as('viewer'));
      expect(last.body.items[0].step).toBe(20);
    });

    it('finishing a run sets its end time; restarting clears it', async () => {
      const r = (await server.api('POST', 'runs', { ...as('owner'), body: { experimentId: experiment } })).body;
      const done = await server.api('PATCH', `runs/${r.id}`, { ...as('owner'), body: { status: 'FAILED' } });
      expect(done.body).toMatchObject({ status: 'FAILED', endTime: expect.any(String) });
      expect((await server.api('PATCH', `runs/${r.id}`, { ...as('owner'), body: { status: 'RUNNING' } })).body.endTime).toBeNull();
    });

    it('a nested run names a parent the caller can see, and a job they can see', async () => {
      const child = await server.api('POST', 'runs', {
        ...as('owner'),
        body: { experimentId: experiment, parentRunId: run, notebook: 'tandem:nb1', cell: 'c3' },
      });
      expect(child.body).toMatchObject({ parentRunId: run, notebook: 'tandem:nb1', cell: 'c3' });
      const other = (await server.api('POST', 'experiments', { ...as('outsider'), body: { name: 'mine' } })).body.id;
      const sneaky = await server.api('POST', 'runs', { ...as('outsider'), body: { experimentId: other, parentRunId: run } });
      expect(sneaky.status).toBe(404);
      const job = await server.api('POST', 'runs', { ...as('owner'), body: { experimentId: experiment, jobId: 'no-such-job' } });
      expect(job.status).toBe(404);
    });
  });

  describe('hostile input', () => {
    it('names the bad field of malformed bodies and ids', async () => {
      const cases: [string, string, unknown, RegExp][] = [
        ['POST', 'runs', { experimentId: 'nope' }, /body\.experimentId/],
        ['POST', `runs/${run}/log`, { metrics: [{ key: 'a b;--', value: 'lots' }] }, /body\.metrics\.0\.value/],
        ['POST', `runs/${run}/log`, { metrics: [{ key: '', value: 1 }] }, /body\.metrics\.0\.key/],
        ['POST', `runs/${run}/log`, { metrics: [{ key: 'a\u0000b', value: 1 }] }, /NUL/],
        ['POST', `runs/${run}/log`, { params: { lr: 'x'.repeat(6001) } }, /body\.params\.lr: at most 6000/],
        ['POST', `runs/${run}/log`, { metrics: Array.from({ length: 10_001 }, () => ({ key: 'a', value: 1 })) }, /body\.metrics/],
        ['POST', `runs/${run}/log`, { metrics: [{ key: 'a', value: 1, step: 1.5 }] }, /body\.metrics\.0\.step/],
        ['GET', 'runs/not-a-run', undefined, /params\.id: 32 hex digits/],
        ['POST', 'experiments', { name: '   ' }, /body\.name/],
      ];
      for (const [method, path, body, message] of cases) {
        const res = await server.api(method, path, { ...as('owner'), body });
        expect({ path, status: res.status, message: res.body?.error?.message }).toEqual({
          path,
          status: 400,
          message: expect.stringMatching(message),
        });
      }
    });

    it('refuses artifact paths that climb out of the run, and JSON-typed uploads', async () => {
      // Encoded slashes keep the dots inside one URL segment, so no client normalizes them away.
      for (const path of ['..%2F..%2Fetc%2Fpasswd', 'a/..%2Fb', '%2Fetc%2Fpasswd', 'a%5Cb', 'a/.%2Fb']) {
        const res = await upload(server, `runs/${run}/artifacts/${path}`, 'x', tokens.owner!);
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
      }
      const json = await fetch(`${server.url}/tandem/api/runs/${run}/artifacts/data.json`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${tokens.owner}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(json.status).toBe(400);
    });

    it('an artifact whose bytes do not match X-Tandem-Sha256 is refused and not recorded', async () => {
      const res = await upload(server, `runs/${run}/artifacts/checked.bin`, 'abc', tokens.owner!, { 'x-tandem-sha256': '0'.repeat(64) });
      expect(res).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/sha256 mismatch/) } } });
      expect((await server.api('GET', `runs/${run}/artifacts?prefix=checked`, as('owner'))).body.items).toEqual([]);
    });

    it('an experiment name is unique per creator, and the second is a 409', async () => {
      const again = await server.api('POST', 'experiments', { ...as('owner'), body: { name: 'churn' } });
      expect(again).toMatchObject({ status: 409, body: { error: { code: 'ALREADY_EXISTS' } } });
      const theirs = await server.api('POST', 'experiments', { ...as('editor'), body: { name: 'churn' } });
      expect(theirs.status).toBe(201);
    });
  });
});
