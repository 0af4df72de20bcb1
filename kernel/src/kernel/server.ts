// The Jupyter side of the kernel: sockets, message dispatch and cell execution on tslab's
// TypeScript executor. Replaces tslab's ZmqServer, whose unawaited sends lost messages.
import { readFileSync } from 'node:fs';
import { Publisher, Reply, Router } from 'zeromq';
import { isCompleteCode } from 'tslab/dist/converter.js';
import type { Executor } from 'tslab/dist/executor.js';
import { sourceLineOf } from './cell-lines.js';
import { CellErrorCollector, thrownError, type CellError } from './cell-errors.js';
import { runInterruptHandlers, setDisplaySink, type MimeBundle } from './channel.js';
import { StreamBatcher, type StreamName } from './streams.js';
import { childMessage, OrderedSender, parseMessage, type Message } from './wire.js';
import { mimeBundleOf } from '../display/mime-bundle.js';

interface ConnectionInfo {
  transport: string;
  ip: string;
  key: string;
  shell_port: number;
  iopub_port: number;
  control_port: number;
  stdin_port: number;
  hb_port: number;
}

/** What tslab's executor reports for the running cell: its value, or its errors. */
export interface CellConsole {
  log(value: unknown): void;
  error(...args: unknown[]): void;
}

const INTERRUPTED = /execution was interrupted|Interrupted asynchronously/;

export class KernelServer {
  private readonly conn: ConnectionInfo;
  private readonly shell = new Router();
  private readonly control = new Router();
  private readonly stdin = new Router();
  private readonly hb = new Reply();
  private readonly iopub = new Publisher({ sendHighWaterMark: 100_000 });
  private readonly iopubSender: OrderedSender;
  private readonly shellSender: OrderedSender;
  private readonly controlSender: OrderedSender;
  private executionCount = 0;
  private cell: { value?: { result: unknown }; errors: CellErrorCollector } | undefined;
  private closed = false;
  /** The last cell tslab compiled, to map error positions back to cell lines. */
  lastCompiled: { source: string; output: string } | undefined;

  constructor(
    connectionFile: string,
    private readonly executor: Executor,
  ) {
    this.conn = JSON.parse(readFileSync(connectionFile, 'utf8'));
    this.iopubSender = new OrderedSender(this.iopub, this.conn.key);
    this.shellSender = new OrderedSender(this.shell, this.conn.key);
    this.controlSender = new OrderedSender(this.control, this.conn.key);
  }

  /** The console handed to tslab's executor: `log` receives the last expression's value. */
  readonly cellConsole: CellConsole = {
    log: (value) => {
      if (this.cell) this.cell.value = { result: value };
    },
    error: (...args) => {
      if (this.cell) this.cell.errors.report(args);
      else process.stderr.write(`${args.join(' ')}\n`);
    },
  };

  async start(): Promise<void> {
    const at = (port: number) => `${this.conn.transport}://${this.conn.ip}:${port}`;
    await Promise.all([
      this.shell.bind(at(this.conn.shell_port)),
      this.control.bind(at(this.conn.control_port)),
      this.stdin.bind(at(this.conn.stdin_port)),
      this.hb.bind(at(this.conn.hb_port)),
      this.iopub.bind(at(this.conn.iopub_port)),
    ]);
    void this.serve(this.shell, this.shellSender);
    void this.serve(this.control, this.controlSender);
    void this.heartbeat();
  }

  interrupt(): void {
    this.executor.interrupt();
    runInterruptHandlers();
  }

  private async heartbeat(): Promise<void> {
    for await (const frames of this.hb) await this.hb.send(frames);
  }

  /** One request at a time per channel, so replies and idle statuses go out in order. */
  private async serve(socket: Router, replies: OrderedSender): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (err) {
        if (this.closed) return;
        throw err;
      }
      await this.dispatch(frames, replies).catch((err) => process.stderr.write(`tandem kernel: ${err?.stack ?? err}\n`));
    }
  }

  private async dispatch(frames: Buffer[], replies: OrderedSender, aborting = false): Promise<void> {
    const msg = parseMessage(this.conn.key, frames);
    const type = msg.header.msg_type;
    await this.publish(msg, 'status', { execution_state: 'busy' });
    let queuedBehindError: Buffer[][] = [];
    try {
      const reply = (content: Record<string, unknown>) =>
        replies.send(childMessage(msg, type.replace(/_request$/, '_reply'), content, true));
      switch (type) {
        case 'kernel_info_request':
          await reply(kernelInfo());
          break;
        case 'execute_request':
          if (aborting && msg.content.stop_on_error !== false) {
            await reply({ status: 'aborted', execution_count: this.executionCount });
          } else {
            await this.execute(msg, async (content) => {
              if (content.status === 'error' && !aborting && replies === this.shellSender) queuedBehindError = await this.takeQueued();
              await reply(content);
            });
          }
          break;
        case 'is_complete_request': {
          const res = isCompleteCode(msg.content.code);
          await reply(res.completed ? { status: 'complete' } : { status: 'incomplete', indent: res.indent ?? '' });
          break;
        }
        case 'complete_request': {
          const info = this.executor.complete(msg.content.code, msg.content.cursor_pos);
          await reply({ status: 'ok', matches: info.candidates, cursor_start: info.start, cursor_end: info.end, metadata: {} });
          break;
        }
        case 'inspect_request':
          await reply(this.inspect(msg.content.code, msg.content.cursor_pos));
          break;
        case 'comm_info_request':
          await reply({ status: 'ok', comms: {} });
          break;
        case 'history_request':
          await reply({ status: 'ok', history: [] });
          break;
        case 'interrupt_request':
          this.interrupt();
          await reply({ status: 'ok' });
          break;
        case 'shutdown_request':
          await reply({ status: 'ok', restart: Boolean(msg.content.restart) });
          this.closed = true;
          break;
        default:
          process.stderr.write(`tandem kernel: unsupported message type ${type}\n`);
      }
    } finally {
      await this.publish(msg, 'status', { execution_state: 'idle' });
    }
    if (this.closed) await this.close();
    for (const frames of queuedBehindError) await this.dispatch(frames, replies, true);
  }

  /**
   * Like ipykernel, an error aborts the cells already queued behind it (Run All stops at the
   * failing cell) but never a request sent after the client saw the error reply: the queue is
   * taken before that reply goes out (taking it after let a fast client's next cell be aborted).
   */
  private async takeQueued(): Promise<Buffer[][]> {
    const queued: Buffer[][] = [];
    this.shell.receiveTimeout = 0;
    try {
      for (;;) {
        const frames = await this.shell.receive().catch(() => undefined);
        if (!frames) return queued;
        queued.push(frames);
      }
    } finally {
      this.shell.receiveTimeout = -1;
    }
  }

  private publish(parent: Message, type: string, content: Record<string, unknown>): Promise<void> {
    return this.iopubSender.send(childMessage(parent, type, content));
  }

  /** Runs one cell and replies. */
  private async execute(msg: Message, reply: (content: Record<string, unknown>) => Promise<void>): Promise<void> {
    const { code, silent = false } = msg.content as { code: string; silent?: boolean };
    if (!silent) this.executionCount += 1;
    const count = this.executionCount;
    if (!silent) await this.publish(msg, 'execute_input', { code, execution_count: count });

    const streams = new StreamBatcher((name, text) => this.publish(msg, 'stream', { name, text }));
    this.redirectOutput(streams);
    setDisplaySink((bundle, { displayId, update, metadata = {} }) => {
      void streams.flush().then(() =>
        this.publish(msg, update ? 'update_display_data' : 'display_data', {
          data: bundle,
          metadata,
          transient: displayId ? { display_id: displayId } : {},
        }),
      );
    });

    const lineOf = (compiledLine: number) => {
      const compiled = this.lastCompiled;
      return compiled?.source === code ? sourceLineOf(code, compiled.output, compiledLine) : undefined;
    };
    const cell: { value?: { result: unknown }; errors: CellErrorCollector } = { errors: new CellErrorCollector(lineOf) };
    this.cell = cell;
    let ok: boolean;
    try {
      ok = await this.executor.execute(code);
    } catch (err) {
      cell.errors.report([err]);
      ok = false;
    } finally {
      this.cell = undefined;
    }

    let result: MimeBundle | undefined;
    let error: CellError | undefined;
    if (!ok || !cell.errors.empty) {
      error = cell.errors.empty ? thrownError(new Error('the cell failed')) : cell.errors.toError();
      if (INTERRUPTED.test(error.evalue)) {
        error = {
          ename: 'KeyboardInterrupt',
          evalue: 'the cell was interrupted',
          traceback: ['KeyboardInterrupt: the cell was interrupted'],
        };
      }
    } else if (cell.value && !silent) {
      try {
        result = mimeBundleOf(cell.value.result);
      } catch (err) {
        error = thrownError(err);
      }
    }

    await streams.flush();
    if (result) await this.publish(msg, 'execute_result', { execution_count: count, data: result, metadata: {} });
    if (error) {
      await this.publish(msg, 'error', { ...error });
      await reply({ status: 'error', execution_count: count, ...error });
    } else {
      await reply({ status: 'ok', execution_count: count, user_expressions: {}, payload: [] });
    }
  }

  /** Cell output (and output of timers the cell started) goes to the cell, as in ipykernel. */
  private redirectOutput(streams: StreamBatcher): void {
    const to = (name: StreamName) =>
      ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
        streams.write(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        const done = typeof encoding === 'function' ? encoding : callback;
        if (typeof done === 'function') done();
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = to('stdout');
    process.stderr.write = to('stderr');
  }

  private inspect(code: string, cursor: number): Record<string, unknown> {
    const info = this.executor.inspect(code, cursor);
    if (!info) return { status: 'ok', found: false, data: {}, metadata: {} };
    const text = [info.displayParts, info.documentation]
      .map((parts) => (parts ?? []).map((p: { text: string }) => p.text).join(''))
      .filter(Boolean)
      .join('\n\n');
    return { status: 'ok', found: true, data: { 'text/plain': text }, metadata: {} };
  }

  private async close(): Promise<void> {
    this.executor.close();
    for (const socket of [this.shell, this.control, this.stdin, this.hb, this.iopub]) socket.close();
    // Timers or open handles left by cells must not keep a shut-down kernel alive.
    setTimeout(() => process.exit(0), 100);
  }
}

function kernelInfo(): Record<string, unknown> {
  return {
    status: 'ok',
    protocol_version: '5.3',
    implementation: 'tandem',
    implementation_version: '0.1.0',
    banner: 'TypeScript (Tandem): tslab with the Tandem SDK',
    language_info: {
      name: 'typescript',
      version: '5',
      mimetype: 'text/typescript',
      file_extension: '.ts',
      codemirror_mode: { name: 'javascript', typescript: true },
    },
    help_links: [],
  };
}
