// A real HTTP server that records each request and answers as the test says: for the clients of
// the API (the kernel's, the extension's), without a whole Tandem server behind them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TandemApiError } from '../../src/api/index.js';

export type Answer = (req: IncomingMessage, res: ServerResponse) => void;

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface ScriptedServer {
  /** http://127.0.0.1:<port the OS chose> */
  url: string;
  seen: SeenRequest[];
  /** How the next requests are answered (default: 200 with no body). */
  answer: Answer;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const scripted = { seen: [] as SeenRequest[], answer: ((_req, res) => res.end()) as Answer };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      scripted.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      scripted.answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(scripted, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

/** An answer with a status and a JSON body. */
export const json =
  (status: number, body: unknown): Answer =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

/** The error a request that must fail failed with (the test fails if it succeeded). */
export function failure(promise: Promise<unknown>, fail: (message: string) => never): Promise<TandemApiError> {
  return promise.then(
    () => fail('the request should have failed'),
    (error: unknown) => error as TandemApiError,
  );
}
