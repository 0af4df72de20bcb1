// Input that PostgreSQL or the parsers cannot take answers 400 with the bad field named, never 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

describe('hostile input is a 4xx naming what is wrong', () => {
  let server: TestServer;
  let user: { token: string };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres' });
    user = await server.user('mallory');
    expect((await server.api('POST', 'models', { token: user.token, body: { name: 'plain' } })).status).toBe(201);
  });
  afterAll(() => server?.stop());

  const post = (path: string, body: unknown) => server.api('POST', path, { token: user.token, body });

  it('refuses NUL characters in any text field, naming the field', async () => {
    const res = await post('models', { name: 'nul-model', description: 'before\u0000after' });
    expect(res).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('body.description') } },
    });
    const nested = await post('notebooks', {
      name: 'n.ipynb',
      content: { cells: [{ cell_type: 'markdown', source: 'a\u0000', metadata: {} }] },
    });
    expect(nested).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('body.content.cells.0.source') } } });
  });

  it('refuses unpaired surrogates, also in keys, and keeps paired ones (emoji)', async () => {
    const lone = await post('models', { name: 'lone', description: 'x\ud800y' });
    expect(lone).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('unpaired surrogates') } } });
    const key = await server.api('PUT', 'models/plain/tags/k', { token: user.token, body: { value: '\udfff' } });
    expect(key.status).toBe(400);
    expect((await post('models', { name: 'emoji', description: 'fine 😀' })).status).toBe(201);
  });

  it('refuses version numbers beyond int32 and in exponent form', async () => {
    for (const version of ['99999999999', '1e20', '2147483648']) {
      const res = await server.api('GET', `models/plain/versions/${version}`, { token: user.token });
      expect(res, version).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });
    }
    const query = await server.api('GET', 'models/plain/versions?limit=1e20', { token: user.token });
    expect(query.status).toBe(400);
    const notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] };
    expect((await post('dashboards', { slug: 'numbers', title: 'Numbers', notebook })).status).toBe(201);
    for (const version of ['1e20', '99999999999', '0', '-1']) {
      const page = await fetch(`${server.url}/tandem/d/numbers?version=${version}`, { headers: { authorization: `Bearer ${user.token}` } });
      expect(page.status, version).toBe(400);
    }
    expect((await post('dashboards/numbers/revert', { version: 2 ** 40 })).status).toBe(400);
  });

  it('refuses page tokens with huge or negative offsets', async () => {
    for (const offset of [1e300, 2 ** 63, -1, 1.5]) {
      const token = Buffer.from(JSON.stringify({ offset })).toString('base64url');
      const res = await server.api('GET', `models?pageToken=${token}`, { token: user.token });
      expect(res, String(offset)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT' } } });
    }
    for (const offset of ['99999999999999999999', '1e300']) {
      expect((await server.api('GET', `jobs?offset=${offset}`, { token: user.token })).status, offset).toBe(400);
    }
  });

  it('answers a malformed cookie on dashboard pages as if there were none', async () => {
    for (const cookie of ['tandem_dashboard_token=%E0%A4%A', '=;=;;', 'tandem_dashboard_token', `a=${'%'.repeat(500)}`]) {
      const res = await fetch(`${server.url}/tandem/d/anything`, { headers: { cookie }, redirect: 'manual' });
      expect(res.status, cookie).toBeLessThan(500);
    }
  });
});
