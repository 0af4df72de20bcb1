import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { TestServer } from '../support/server.js';

/** One request a webhook receiver got: its headers, body as sent, and parsed. */
export interface Received {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: any;
}

/** A real HTTP receiver for webhook steps: records each POST, answering `statuses` in turn (then 200). */
export async function webhookReceiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, body: JSON.parse(raw || 'null') });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Defines a pipeline as `token` and answers it (expects 201 or 200). */
export async function define(server: TestServer, definition: unknown, token?: string): Promise<any> {
  const res = await server.api('POST', 'pipelines', { token, body: definition });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body;
}

export async function startRun(server: TestServer, id: string, params: Record<string, unknown> = {}, token?: string): Promise<any> {
  const res = await server.api('POST', `pipelines/${id}/runs`, { token, body: { params } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** Polls the run until `until` holds; fails with the run's last state. */
export async function waitForRun(
  server: TestServer,
  runId: string,
  until: (run: any) => boolean = (r) => ['succeeded', 'failed', 'cancelled'].includes(r.status),
  timeoutMs = 30_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let run: any;
  while (Date.now() < deadline) {
    run = (await server.api('GET', `pipeline-runs/${runId}`)).body;
    if (until(run)) return run;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${runId} did not reach the expected state; last: ${JSON.stringify(run)}`);
}

export const stepOf = (run: any, id: string) => run.steps.find((s: any) => s.id === id);
