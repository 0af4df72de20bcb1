import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { registerOverHttp, upload } from './support.js';

type Role = 'anonymous' | 'outsider' | 'viewer' | 'editor' | 'owner';
const ROLES: Role[] = ['anonymous', 'outsider', 'viewer', 'editor', 'owner'];
const RANK: Record<Role, number> = { anonymous: -1, outsider: 0, viewer: 1, editor: 2, owner: 3 };

/** The status each caller must get for an operation that needs `needed`. */
const expected = (who: Role, needed: Exclude<Role, 'anonymous' | 'outsider'>, ok: number) =>
  who === 'anonymous' ? 401 : who === 'outsider' ? 404 : RANK[who] >= RANK[needed] ? ok : 403;

describe('models API', () => {
  let server: TestServer;
  const tokens: Partial<Record<Role, string | null>> = { anonymous: null };

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_MAX_ARTIFACT_BYTES: '100000' } });
    for (const name of ['owner', 'editor', 'viewer', 'outsider'] as const) tokens[name] = (await server.user(name)).token;
    // viewer gets access through a team, the outsider is in a different team
    for (const [team, member] of [
      ['analysts', 'viewer'],
      ['others', 'outsider'],
    ]) {
      const { body } = await server.api('POST', 'teams', { body: { name: team } });
      await server.api('POST', `teams/${body.id}/members`, { body: { user: member } });
    }
    const created = await registerOverHttp(
      server,
      'churn',
      { 'model.onnx': 'weights-v1' },
      { token: tokens.owner!, metadata: { metrics: { auc: 0.8 } } },
    );
    expect(created.status).toBe(201);
    await server.api('PUT', 'models/churn/grants', { token: tokens.owner!, body: { type: 'user', name: 'editor', role: 'editor' } });
    await server.api('PUT', 'models/churn/grants', { token: tokens.owner!, body: { type: 'team', name: 'analysts', role: 'viewer' } });
  });
  afterAll(() => server.stop());

  describe('every route checks the caller’s role', () => {
    const reads: [string, string][] = [
      ['GET', 'models/churn'],
      ['GET', 'models/churn/versions'],
      ['GET', 'models/churn/versions/1'],
      ['GET', 'models/churn/versions/1/files/model.onnx'],
      ['GET', 'models/churn/grants'],
    ];
    for (const who of ROLES) {
      it(`${who}: reads answer ${expected(who, 'viewer', 200)}`, async () => {
        for (const [method, path] of reads) {
          const res = await server.api(method, path, { token: tokens[who] });
          expect({ path, status: res.status }).toEqual({ path, status: expected(who, 'viewer', 200) });
        }
      });

      it(`${who}: edits (alias, card, tag, new upload) answer ${expected(who, 'editor', 200)}`, async () => {
        const token = tokens[who];
        const edits = [
          await server.api('PUT', 'models/churn/aliases/staging', { token, body: { version: 1 } }),
          await server.api('PATCH', 'models/churn', { token, body: { description: `# edited by ${who}` } }),
          await server.api('PUT', 'models/churn/tags/team', { token, body: { value: who } }),
        ];
        for (const res of edits) expect(res.status).toBe(expected(who, 'editor', 200));
        const started = await server.api('POST', 'models/churn/uploads', { token, body: {} });
        expect(started.status).toBe(expected(who, 'editor', 201));
        if (started.status === 201) await server.api('DELETE', `models/churn/uploads/${started.body.uploadId}`, { token });
      });

      it(`${who}: sharing and deleting answer ${expected(who, 'owner', 200)}`, async () => {
        const token = tokens[who];
        const shared = await server.api('PUT', 'models/churn/grants', { token, body: { type: 'user', name: 'editor', role: 'editor' } });
        expect(shared.status).toBe(expected(who, 'owner', 200));
        if (who !== 'owner') expect((await server.api('DELETE', 'models/churn', { token })).status).toBe(expected(who, 'owner', 204));
      });
    }

    it('search only lists models the caller can see', async () => {
      const names = async (who: Role) =>
        (await server.api('GET', 'models', { token: tokens[who] })).body.items?.map((m: { name: string }) => m.name);
      expect(await names('viewer')).toEqual(['churn']);
      expect(await names('outsider')).toEqual([]);
      expect((await server.api('GET', 'models', { token: null })).status).toBe(401);
    });

    it('the viewer sees its role and the aliases on the model', async () => {
      const alias = `viewed-${Date.now().toString(36)}`;
      expect((await server.api('PUT', `models/churn/aliases/${alias}`, { token: tokens.owner!, body: { version: 1 } })).status).toBe(200);
      const res = await server.api('GET', 'models/churn', { token: tokens.viewer });
      expect(res.body).toMatchObject({ name: 'churn', role: 'viewer', aliases: { [alias]: 1 }, latestVersion: 1 });
    });
  });

  describe('input is validated at the edge', () => {
    it('rejects path traversal in file paths', async () => {
      const started = await server.api('POST', 'models/churn/uploads', { body: {} });
      for (const path of ['..%2F..%2Fetc%2Fpasswd', 'a/..%2F..%2Fx', '.env']) {
        const res = await upload(server, `models/churn/uploads/${started.body.uploadId}/files/${path}`, 'x');
        expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code: 'INVALID_ARGUMENT' });
      }
      // a literal ../ that no client normalizes away
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(server.url);
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: 'GET',
            path: '/tandem/api/models/churn/versions/1/files/../../../../etc/passwd',
            headers: { authorization: `Bearer ${server.adminToken}` },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject).end();
      });
      expect([400, 404]).toContain(status);
      expect((await server.api('GET', 'models/churn/versions/1/files/..%2Fmodel.onnx')).status).toBe(400);
      await server.api('DELETE', `models/churn/uploads/${started.body.uploadId}`);
    });

    it('rejects bad model names, oversized descriptions and unknown lineage fields, naming the field', async () => {
      const badName = await server.api('POST', 'models', { body: { name: '../etc' } });
      expect(badName).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('body.name') } } });
      const longCard = await server.api('PATCH', 'models/churn', { body: { description: 'x'.repeat(100_001) } });
      expect(longCard).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('body.description') } } });
      const lineage = await server.api('POST', 'models/churn/uploads', { body: { lineage: { evil: 1 } } });
      expect(lineage).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('body.lineage') } } });
      const metric = await server.api('GET', 'models?filter=accuracy%3E%3Ex');
      expect(metric).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('query.filter') } } });
    });

    it('rejects an upload above TANDEM_MAX_ARTIFACT_BYTES with 413 and keeps nothing', async () => {
      const res = await registerOverHttp(server, 'huge', { 'big.bin': Buffer.alloc(200_000) });
      expect(res.status).toBe(413);
      expect((await server.api('GET', 'models/huge/versions')).body.total).toBe(0);
    });

    it('verifies X-Tandem-Sha256 and answers 400 on a mismatch', async () => {
      const started = await server.api('POST', 'models/churn/uploads', { body: {} });
      const file = `models/churn/uploads/${started.body.uploadId}/files/m.bin`;
      const wrong = await upload(server, file, 'abc', undefined, { 'x-tandem-sha256': createHash('sha256').update('xyz').digest('hex') });
      expect(wrong).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('sha256 mismatch') } } });
      expect((await upload(server, file, 'abc', undefined, { 'x-tandem-sha256': 'nothex' })).status).toBe(400);
      const asJson = await upload(server, file, '{"a":1}', undefined, { 'content-type': 'application/json' });
      expect(asJson).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('application/octet-stream') } } });
      const right = await upload(server, file, 'abc', undefined, { 'x-tandem-sha256': createHash('sha256').update('abc').digest('hex') });
      expect(right).toMatchObject({ status: 200, body: { size: 3 } });
      await server.api('DELETE', `models/churn/uploads/${started.body.uploadId}`);
    });
  });

  it('downloads a file whole or by Range, with its sha256', async () => {
    const url = `${server.url}/tandem/api/models/churn/versions/1/files/model.onnx`;
    const whole = await fetch(url, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(await whole.text()).toBe('weights-v1');
    expect(whole.headers.get('x-tandem-sha256')).toBe(createHash('sha256').update('weights-v1').digest('hex'));
    const part = await fetch(url, { headers: { authorization: `Bearer ${server.adminToken}`, range: 'bytes=8-' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 8-9/10');
    expect(await part.text()).toBe('v1');
    const outside = await fetch(url, { headers: { authorization: `Bearer ${server.adminToken}`, range: 'bytes=50-60' } });
    expect(outside.status).toBe(400);
  });

  it('streams events about visible models only, to ?token= subscribers', async () => {
    /** `<type> <model>` of each event, per subscriber. */
    const received = { viewer: [] as string[], outsider: [] as string[] };
    const controllers: AbortController[] = [];
    const listen = async (who: 'viewer' | 'outsider') => {
      const controller = new AbortController();
      controllers.push(controller);
      const res = await fetch(`${server.url}/tandem/api/models/events?token=${tokens[who]}`, { signal: controller.signal });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const decoder = new TextDecoder();
      void (async () => {
        let buffered = '';
        for await (const chunk of res.body!) {
          const lines = (buffered + decoder.decode(chunk, { stream: true })).split('\n');
          buffered = lines.pop()!;
          for (const line of lines) {
            if (!line.startsWith('data: ')) continue;
            const event = JSON.parse(line.slice(6)) as { type: string; name?: string };
            received[who].push(`${event.type} ${event.name}`);
          }
        }
      })().catch(() => undefined);
    };
    await listen('viewer');
    await listen('outsider');
    await server.api('PUT', 'models/churn/aliases/production', { token: tokens.owner!, body: { version: 1 } });
    // Then an event the outsider may see: by the time it arrives, churn's would have.
    const own = `outsiders-own-${Date.now().toString(36)}`;
    expect((await server.api('POST', 'models', { token: tokens.outsider!, body: { name: own } })).status).toBe(201);
    try {
      await expect.poll(() => received.viewer).toContain('model.alias.set churn');
      await expect.poll(() => received.outsider).toContain(`model.created ${own}`);
      expect(received.outsider).toEqual([`model.created ${own}`]);
      expect(received.viewer).not.toContain(`model.created ${own}`);
    } finally {
      for (const c of controllers) c.abort();
      await server.api('DELETE', `models/${own}`, { token: tokens.outsider! });
    }
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const doc = (await server.api('GET', '/tandem/api/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/tandem/api/models', '/tandem/api/models/{name}/versions/{version}']));
  });

  it('only the owner can delete the model, which removes it for everyone', async () => {
    expect((await registerOverHttp(server, 'doomed', { 'model.onnx': 'w' }, { token: tokens.owner! })).status).toBe(201);
    await server.api('PUT', 'models/doomed/grants', { token: tokens.owner!, body: { type: 'user', name: 'editor', role: 'editor' } });
    await server.api('PUT', 'models/doomed/grants', { token: tokens.owner!, body: { type: 'team', name: 'analysts', role: 'viewer' } });
    expect((await server.api('GET', 'models/doomed', { token: tokens.viewer })).status).toBe(200);
    expect((await server.api('DELETE', 'models/doomed', { token: tokens.editor })).status).toBe(403);
    expect((await server.api('DELETE', 'models/doomed', { token: tokens.owner! })).status).toBe(204);
    for (const who of ['owner', 'editor', 'viewer'] as const)
      expect({ who, status: (await server.api('GET', 'models/doomed', { token: tokens[who] })).status }).toEqual({ who, status: 404 });
    expect((await server.api('GET', 'models/doomed/versions/1/files/model.onnx', { token: tokens.owner! })).status).toBe(404);
  });
});
