import type { Request, Response } from 'express';

/** Proxies drop idle connections; a comment now and then keeps the stream open. */
const KEEP_ALIVE_MS = 25_000;

export interface EventStream {
  /** Writes one server-sent event, unless the stream has ended. */
  send(event: string, data: unknown): void;
  /** Ends the stream, after an `end` event saying why when there is a reason. */
  end(reason?: string): void;
  /** Settles once the stream has ended, by end() or by the client going away. */
  readonly ended: Promise<void>;
}

/** Starts a server-sent event stream on `res`; nothing may be written to it before. */
export function openEventStream(req: Request, res: Response): EventStream {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write(': connected\n\n');
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  let settle: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const send = (event: string, data: unknown) => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const end = (reason?: string) => {
    clearInterval(keepAlive);
    if (reason) send('end', { reason });
    if (!res.writableEnded) res.end();
    settle();
  };
  req.on('close', () => end());
  return { send, end, ended };
}
