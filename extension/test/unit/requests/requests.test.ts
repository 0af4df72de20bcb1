import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemApiError } from '@tandem/server/api';
import { failure as failed, json, startScriptedServer, type ScriptedServer } from '../../../../server/test/support/scripted-server';
import { TandemClient } from '../../../src/requests';

/** A real HTTP server on a free port; each test says how it answers. */
describe('TandemClient.request() against a real HTTP server', () => {
  let fake: ScriptedServer;
  let url: string;

  beforeAll(async () => {
    fake = await startScriptedServer();
    url = fake.url;
  });
  afterAll(() => fake.close());

  const failure = (promise: Promise<unknown>) => failed(promise, expect.fail);

  const client = () => new TandemClient({ url, token: 'tok-123' });

  it('sends the token and JSON body to /tandem/api/<path> and returns the parsed answer', async () => {
    fake.seen.length = 0;
    fake.answer = json(201, { name: 'churn', latestVersion: 1 });
    const result = await client().request<{ name: string }>('/models/churn/aliases/prod', { method: 'PUT', json: { version: 1 } });
    expect(result).toEqual({ name: 'churn', latestVersion: 1 });
    expect(fake.seen).toHaveLength(1);
    expect(fake.seen[0]).toMatchObject({ method: 'PUT', url: '/tandem/api/models/churn/aliases/prod', body: '{"version":1}' });
    expect(fake.seen[0]!.headers).toMatchObject({ authorization: 'Bearer tok-123', 'content-type': 'application/json' });
  });

  it('sends a raw body as given and sets no JSON content type for it', async () => {
    fake.seen.length = 0;
    fake.answer = json(200, { ok: true });
    await client().request('upload', { method: 'POST', body: 'raw bytes', headers: { 'content-type': 'text/plain' } });
    expect(fake.seen[0]).toMatchObject({ body: 'raw bytes' });
    expect(fake.seen[0]!.headers['content-type']).toBe('text/plain');
  });

  it("turns the server's { error: { code, message } } into a TandemApiError with that code, message and status", async () => {
    fake.answer = json(404, { error: { code: 'NOT_FOUND', message: 'model churn not found' } });
    const error = await failure(client().request('models/churn'));
    expect(error).toBeInstanceOf(TandemApiError);
    expect(error).toMatchObject({ name: 'TandemApiError', code: 'NOT_FOUND', message: 'model churn not found', status: 404 });

    fake.answer = json(403, { error: { code: 'FORBIDDEN', message: 'viewers cannot set aliases' } });
    expect(await failure(client().request('models/churn/aliases/p', { method: 'PUT', json: {} }))).toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
    });
  });

  it('maps an error answer that is not JSON (a proxy page) or has no error field to INTERNAL with the HTTP status', async () => {
    fake.answer = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>Bad Gateway</body></html>');
    };
    expect(await failure(client().request('models'))).toMatchObject({
      code: 'INTERNAL',
      message: 'HTTP 502: <html><body>Bad Gateway</body></html>',
      status: 502,
    });

    fake.answer = json(500, { message: 'no error envelope' });
    expect(await failure(client().request('models'))).toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/^HTTP 500/),
      status: 500,
    });

    fake.answer = (_req, res) => {
      res.writeHead(503);
      res.end();
    };
    expect(await failure(client().request('models'))).toMatchObject({ code: 'INTERNAL', message: 'HTTP 503', status: 503 });
  });

  it('resolves 204 No Content (and an empty 200) to undefined', async () => {
    fake.answer = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    await expect(client().request('notebooks/n1', { method: 'DELETE' })).resolves.toBeUndefined();
    fake.answer = (_req, res) => {
      res.writeHead(200);
      res.end();
    };
    await expect(client().request('ping')).resolves.toBeUndefined();
  });

  it('reports a server that cannot be reached as NETWORK, naming its URL and keeping the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(new TandemClient({ url: deadUrl, token: 't' }).request('models'));
    expect(error).toBeInstanceOf(TandemApiError);
    expect(error).toMatchObject({ code: 'NETWORK', status: 0 });
    expect(error.message).toMatch(`cannot reach the Tandem server at ${deadUrl}: `);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('reports a connection that drops before the answer arrives as NETWORK', async () => {
    fake.answer = (req) => req.socket.destroy();
    expect(await failure(client().request('models'))).toMatchObject({ code: 'NETWORK', status: 0 });
  });

  it('reports a connection that drops in the middle of the answer as NETWORK, not as a bare fetch error', async () => {
    fake.answer = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"items": [');
      setTimeout(() => req.socket.destroy(), 50);
    };
    const error = await failure(client().request('models'));
    expect(error).toBeInstanceOf(TandemApiError);
    expect(error).toMatchObject({ code: 'NETWORK', status: 200 });
  });

  it('says UNAVAILABLE without calling anyone while no server URL is configured', async () => {
    fake.seen.length = 0;
    const error = await failure(new TandemClient({ url: '', token: 't' }).request('models'));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 0 });
    expect(error.message).toMatch(/not configured/);
    expect(fake.seen).toHaveLength(0);
  });

  it('uses the settings given by update() for the next request', async () => {
    fake.seen.length = 0;
    fake.answer = json(200, {});
    const c = new TandemClient({ url: '', token: 'old' });
    c.update({ url, token: 'new' });
    await c.request('models');
    expect(fake.seen[0]!.headers.authorization).toBe('Bearer new');
    expect(c.url).toBe(url);
  });
});
