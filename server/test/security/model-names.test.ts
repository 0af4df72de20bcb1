// Model names are unique per owner (`owner/name`), so that a name never reveals a private model of
// someone else's: creating, registering and addressing by name answer the same whether or not a
// model the caller cannot see has that name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOverHttp } from '../models/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('model names reveal nothing about models the caller cannot see', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const as = (who: string, method: string, path: string, body?: unknown) => server.api(method, path, { token: tokens[who], body });
  const names = async (who: string, query = '') =>
    (await as(who, 'GET', `models${query}`)).body.items.map((m: { fullName: string }) => m.fullName);
  const share = (owner: string, model: string, user: string, role: string) =>
    as(owner, 'PUT', `models/${encodeURIComponent(model)}/grants`, { type: 'user', name: user, role });

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    for (const name of ['eve', 'dana', 'carol', 'vic', 'ed', 'gus', 'frank']) tokens[name] = (await server.user(name)).token;
    const eves = await registerOverHttp(server, 'churn', { 'model.onnx': 'eve weights' }, { token: tokens.eve });
    expect(eves).toMatchObject({ status: 201, body: { number: 1 } });
  });
  afterAll(() => server?.stop());

  it("eve's private churn does not stop dana creating churn, which lands in dana's namespace", async () => {
    const created = await as('dana', 'POST', 'models', { name: 'churn', description: 'mine' });
    expect(created).toMatchObject({ status: 201, body: { name: 'churn', owner: 'dana', fullName: 'dana/churn' } });
    const again = await as('dana', 'POST', 'models', { name: 'churn' });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'ALREADY_EXISTS', message: 'model dana/churn already exists' } } });
  });

  it("dana's listing, search and GET never show eve's churn", async () => {
    expect(await names('dana')).toEqual(['dana/churn']);
    expect(await names('dana', '?q=churn')).toEqual(['dana/churn']);
    expect(await names('dana', '?prefix=ch')).toEqual(['dana/churn']);
    expect(await as('dana', 'GET', 'models/churn')).toMatchObject({ status: 200, body: { owner: 'dana', description: 'mine' } });
  });

  it('eve/churn answers dana exactly as a model that does not exist, on every route', async () => {
    const notFound = (name: string) => ({ status: 404, body: { error: { code: 'NOT_FOUND', message: `model ${name} not found` } } });
    for (const name of ['eve/churn', 'eve/nothing', 'nobody/churn']) {
      const encoded = encodeURIComponent(name);
      for (const path of [`models/${encoded}`, `models/${encoded}/versions`, `models/${encoded}/versions/1/files/model.onnx`]) {
        expect({ path, ...(await as('dana', 'GET', path)) }).toEqual({ path, ...notFound(name) });
      }
      expect({ name, ...(await as('dana', 'PUT', `models/${encoded}/aliases/x`, { version: 1 })) }).toEqual({ name, ...notFound(name) });
      expect({ name, ...(await as('dana', 'POST', `models/${encoded}/uploads`, { createModel: true })) }).toEqual({
        name,
        ...notFound(name),
      });
    }
    // A bare name nobody lets you see is the same as one that does not exist.
    expect(await as('carol', 'GET', 'models/churn')).toEqual(notFound('churn'));
  });

  it("registering by a bare name creates the caller's own model, never touching or naming the invisible one", async () => {
    const registered = await registerOverHttp(server, 'churn', { 'model.onnx': 'frank weights' }, { token: tokens.frank });
    expect(registered).toMatchObject({ status: 201, body: { number: 1 } });
    expect(await as('frank', 'GET', 'models/churn')).toMatchObject({ body: { fullName: 'frank/churn', latestVersion: 1 } });
    expect(await as('eve', 'GET', 'models/churn')).toMatchObject({ body: { fullName: 'eve/churn', latestVersion: 1 } });
    // Nobody registers into or creates in someone else's namespace by naming it.
    expect((await as('frank', 'POST', `models/${encodeURIComponent('eve/fresh')}/uploads`, { createModel: true })).status).toBe(404);
    expect((await as('eve', 'GET', `models/${encodeURIComponent('eve/fresh')}`)).status).toBe(404);
    const own = await as('frank', 'POST', `models/${encodeURIComponent('frank/fresh')}/uploads`, { createModel: true });
    expect(own).toMatchObject({ status: 201, body: { model: 'frank/fresh', status: 'pending' } });
  });

  it("after eve shares hers with dana, bare churn still means dana's own and eve/churn reaches eve's", async () => {
    expect((await share('eve', 'churn', 'dana', 'viewer')).status).toBe(200);
    expect(await as('dana', 'GET', 'models/churn')).toMatchObject({ status: 200, body: { fullName: 'dana/churn', role: 'owner' } });
    const eves = await as('dana', 'GET', `models/${encodeURIComponent('eve/churn')}`);
    expect(eves).toMatchObject({ status: 200, body: { name: 'churn', owner: 'eve', fullName: 'eve/churn', role: 'viewer' } });
    const file = await fetch(`${server.url}/tandem/api/models/eve%2Fchurn/versions/1/files/model.onnx`, {
      headers: { authorization: `Bearer ${tokens.dana}` },
    });
    expect(await file.text()).toBe('eve weights');
    // Same-named models list side by side, ordered by owner.
    expect(await names('dana', '?q=churn')).toEqual(['dana/churn', 'eve/churn']);
  });

  it('carol, who sees two shared churns and owns none, gets a 409 naming just those two', async () => {
    await share('eve', 'churn', 'carol', 'viewer');
    await share('dana', 'churn', 'carol', 'viewer');
    const ambiguous = {
      status: 409,
      body: {
        error: {
          code: 'CONFLICT',
          message: 'model name churn is ambiguous: say which you mean, dana/churn or eve/churn',
          details: { candidates: ['dana/churn', 'eve/churn'] },
        },
      },
    };
    expect(await as('carol', 'GET', 'models/churn')).toEqual(ambiguous);
    expect(await as('carol', 'GET', 'models/churn/versions/1')).toEqual(ambiguous);
    // frank's churn is private: it is neither a candidate nor named.
    expect(JSON.stringify(await as('carol', 'GET', 'models/churn'))).not.toContain('frank');
    expect(await as('carol', 'GET', 'models/eve%2Fchurn')).toMatchObject({ status: 200, body: { owner: 'eve' } });
  });

  it("a viewer cannot register into a shared model by its bare name: the registration creates the viewer's own", async () => {
    await share('eve', 'churn', 'vic', 'viewer');
    // Without createModel the bare name means eve's, which vic may only view.
    const refused = await as('vic', 'POST', 'models/churn/uploads', {});
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.stringContaining('eve/churn') } } });
    const first = await registerOverHttp(server, 'churn', { 'model.onnx': 'vic weights' }, { token: tokens.vic });
    expect(first).toMatchObject({ status: 201, body: { number: 1 } });
    // Once vic has one, the bare name means it, for registering and for reading.
    expect(await registerOverHttp(server, 'churn', { 'model.onnx': 'vic v2' }, { token: tokens.vic })).toMatchObject({
      body: { number: 2 },
    });
    expect(await as('vic', 'GET', 'models/churn')).toMatchObject({ body: { fullName: 'vic/churn', latestVersion: 2 } });
    expect(await as('eve', 'GET', 'models/churn')).toMatchObject({ body: { fullName: 'eve/churn', latestVersion: 1 } });
    // The qualified name of eve's is refused, not redirected.
    expect((await as('vic', 'POST', 'models/eve%2Fchurn/uploads', { createModel: true })).status).toBe(403);
  });

  it("an editor's bare-name registration goes into the one shared model they may edit; two of them is a 409", async () => {
    await share('eve', 'churn', 'ed', 'editor');
    const registered = await registerOverHttp(server, 'churn', { 'model.onnx': 'ed weights' }, { token: tokens.ed });
    expect(registered).toMatchObject({ status: 201, body: { number: 2 } });
    expect((await as('ed', 'GET', 'models/ed%2Fchurn')).status).toBe(404);

    await share('eve', 'churn', 'gus', 'editor');
    await share('dana', 'churn', 'gus', 'editor');
    const ambiguous = await as('gus', 'POST', 'models/churn/uploads', { createModel: true });
    expect(ambiguous).toMatchObject({ status: 409, body: { error: { details: { candidates: ['dana/churn', 'eve/churn'] } } } });
    const chosen = await registerOverHttp(server, 'dana/churn', { 'model.onnx': 'gus weights' }, { token: tokens.gus });
    expect(chosen).toMatchObject({ status: 201, body: { number: 1 } });
  });

  it('hostile names are a 400 naming the field, in bodies and in paths', async () => {
    const bad = ['../x', 'a/b/c', 'eve/churn', 'a\u0000b', 'x'.repeat(129), '', '.hidden'];
    for (const name of bad) {
      const res = await as('dana', 'POST', 'models', { name });
      expect({ name, status: res.status, message: res.body.error.message }).toEqual({
        name,
        status: 400,
        message: expect.stringContaining('body.name'),
      });
    }
    for (const name of ['..%2Fx', 'a%2Fb%2Fc', 'a%00b', 'x'.repeat(129), `${'o'.repeat(64)}%2Fx`, '%2Fx', 'x%2F', 'eve%2F..']) {
      const res = await as('dana', 'GET', `models/${name}`);
      expect({ name, status: res.status, message: res.body.error.message }).toEqual({
        name,
        status: 400,
        message: expect.stringContaining('params.name'),
      });
    }
    const job = await as('dana', 'POST', 'jobs', { kind: 'gpu', spec: { script: 'print(1)', gpus: 0 }, register: { model: 'a/b/c' } });
    expect(job).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('body.register.model') } } });
  });
});
