// The cell SDK's request() against a real HTTP server: it delegates to the shared client of
// '@tandem/server/api', so its failures are that client's TandemApiError, the class cells import
// from '@tandem/kernel'.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TandemApiError as SharedTandemApiError } from '@tandem/server/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure as failed, json, startScriptedServer, type ScriptedServer } from '../../server/test/support/scripted-server.js';
import { apiSettings, request, TandemApiError } from '../src/api.js';

describe('request() of the cell SDK', () => {
  let fake: ScriptedServer;
  let settings: { url: string; token: string };

  beforeAll(async () => {
    fake = await startScriptedServer();
    settings = { url: fake.url, token: 'kernel-token' };
  });
  afterAll(() => fake.close());

  const failure = (promise: Promise<unknown>) => failed(promise, expect.fail);

  it('throws the shared TandemApiError, the one @tandem/kernel exports', async () => {
    const { TandemApiError: exported } = await import('../src/index.js');
    expect(TandemApiError).toBe(SharedTandemApiError);
    expect(exported).toBe(SharedTandemApiError);
  });

  it('sends the token and a JSON body to /tandem/api/<path> and answers the parsed JSON', async () => {
    fake.seen.length = 0;
    fake.answer = json(201, { uploadId: 'u1' });
    const result = await request<{ uploadId: string }>('models/churn/uploads', { method: 'POST', json: { createModel: true } }, settings);
    expect(result).toEqual({ uploadId: 'u1' });
    expect(fake.seen).toMatchObject([
      {
        method: 'POST',
        url: '/tandem/api/models/churn/uploads',
        headers: { authorization: 'Bearer kernel-token' },
        body: '{"createModel":true}',
      },
    ]);
  });

  it('answers the raw Response when asked, for downloads', async () => {
    fake.answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('bytes');
    };
    const response = await request<Response>('models/churn/versions/1/files/model.onnx', { raw: true }, settings);
    expect(await response.text()).toBe('bytes');
  });

  it("turns the server's { error: { code, message } } into a TandemApiError with that code, message and status", async () => {
    fake.answer = json(404, { error: { code: 'NOT_FOUND', message: 'model churn not found' } });
    const error = await failure(request('models/churn', {}, settings));
    expect(error).toBeInstanceOf(TandemApiError);
    expect(error).toMatchObject({ name: 'TandemApiError', code: 'NOT_FOUND', message: 'model churn not found', status: 404 });
    fake.answer = json(409, { error: { code: 'CONFLICT', message: 'already committed' } });
    expect(await failure(request('models/churn/uploads/u1/files/a', { raw: true }, settings))).toMatchObject({
      code: 'CONFLICT',
      status: 409,
    });
  });

  it('reports a server that cannot be reached as NETWORK with status 0, naming its URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(request('models', {}, { url, token: 't' }));
    expect(error).toBeInstanceOf(TandemApiError);
    expect(error).toMatchObject({ code: 'NETWORK', status: 0 });
    expect(error.message).toMatch(`cannot reach the Tandem server at ${url}`);
  });

  it('says UNAVAILABLE when TANDEM_URL is not set, and asks to sign in when no token is there either', () => {
    expect(() => apiSettings({ TANDEM_TOKEN: 'x' })).toThrow(TandemApiError);
    expect(() => apiSettings({ TANDEM_TOKEN: 'x' })).toThrow(/TANDEM_URL is not set/);
    expect(() => apiSettings({})).toThrow(/^not signed in: sign in to Tandem in JupyterLab/);
    expect(() => apiSettings({ TANDEM_URL: 'http://tandem:8787', TANDEM_TOKEN: '' })).toThrow(/^not signed in/);
    expect(apiSettings({ TANDEM_URL: 'http://tandem:8787/', TANDEM_TOKEN: 'x' })).toEqual({ url: 'http://tandem:8787', token: 'x' });
  });
});
