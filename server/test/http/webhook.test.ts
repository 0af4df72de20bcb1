// Outbound webhooks (notification channels, pipeline webhook steps) against a real HTTP receiver.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress, postWebhook, publicOnlyLookup, verifySignature } from '../../src/http/webhook.js';

describe('webhooks', () => {
  const received: { headers: Record<string, unknown>; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = req.url === '/moved' ? 302 : 200;
      if (req.url === '/moved') res.setHeader('location', 'http://127.0.0.1:1/internal');
      res.end();
    });
  });
  let port: number;

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it('posts signed JSON to an allowed host and answers its status', async () => {
    const res = await postWebhook(`http://127.0.0.1:${port}/hook`, { text: 'hi' }, { secret: 's3cret', allowHosts: ['127.0.0.1'] });
    expect(res.status).toBe(200);
    const last = received.at(-1)!;
    expect(JSON.parse(last.body)).toEqual({ text: 'hi' });
    expect(
      verifySignature('s3cret', String(last.headers['x-tandem-timestamp']), last.body, String(last.headers['x-tandem-signature'])),
    ).toBe(true);
  });

  it('does not follow a redirect (a public URL cannot bounce the request inside)', async () => {
    expect(await postWebhook(`http://127.0.0.1:${port}/moved`, {}, { allowHosts: ['127.0.0.1'] })).toEqual({ status: 302 });
  });

  it('refuses loopback and private targets that are not allowed, by address or by name', async () => {
    await expect(postWebhook(`http://127.0.0.1:${port}/hook`, {}, { allowHosts: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(postWebhook(`http://localhost:${port}/hook`, {}, { allowHosts: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(postWebhook(`http://[::ffff:10.0.0.1]:${port}/`, {}, { allowHosts: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(postWebhook(`http://[::ffff:127.0.0.1]:${port}/`, {}, { allowHosts: [] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('checks the address the connection itself resolves, so a name that rebinds to a private address is refused', async () => {
    const lookUp = (all: boolean) =>
      new Promise((resolve) =>
        publicOnlyLookup('localhost', { all }, (error: Error | null, address: unknown) => resolve(error ?? address)),
      );
    expect(await lookUp(false)).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('localhost is a private') });
    expect(await lookUp(true)).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('names the host it could not reach', async () => {
    await expect(postWebhook('http://127.0.0.1:1/x', {}, { allowHosts: ['127.0.0.1'] })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^could not reach 127\.0\.0\.1:1 \(ECONNREFUSED\)/),
    });
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['::1', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['::ffff:192.168.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:808:808', false],
    ['8.8.8.8', false],
    ['2001:4860:4860::8888', false],
  ])('%s is private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});
