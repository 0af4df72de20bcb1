// The Jupyter side of the kernel: sockets, message dispatch and cell execution (cells compile on
// the compiler thread and run in this one). Every send is awaited in order, so no message is lost.
import { readFileSync } from 'node:fs';
import { Publisher, Reply, Router } from 'zeromq';
import { compileError, INTERRUPTED, thrownError, type CellError } from './cell-errors.js';
import type { CellRunner } from './cell-runner.js';
import type { CompilerClient } from './compiler-client.js';
import { History, type HistoryRequest } from './history.js';
import { runInterruptHandlers, setDisplaySink, type MimeBundle } from './channel.js';
import { StreamBatcher, type StreamName } from './streams.js';
import { childMessage, OrderedSender, parseMessage, type Message } from './wire.js';
import { mimeBundleOf } from '../display/mime-bundle.js';
import { applyIdentity, clearIdentity, IDENTITY_TARGET } from '../identity.js';
import { setCurrentCell } from '../notebook.js';

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

/** Both ways a running cell stops when interrupted: SIGINT while it computes, or while it awaits. */
const INTERRUPTION = /execution was interrupted|Interrupted asynchronously/;

/** What the kernel runs cells with. */
export interface Cells {
  compiler: CompilerClient;
  runner: CellRunner;
  /** The TypeScript version cells compile with. */
  typescriptVersion: string;
}

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
  /** Counts interrupts, so a cell interrupted while it compiles does not run. */
  private interrupts = 0;
  private readonly history = new History();
  private closed = false;
  /** Open comms by id, with their target: only `tandem.identity` is served. */
  private readonly comms = new Map<string, string>();
  /** Requests being handled now (a cell, and the requests queued behind a failed one). */
  private active = 0;
  /** Told when the kernel starts and stops handling requests (it loads the SDK once idle for a while, not while a cell waits). */
  onBusy: (busy: boolean) => void = () => undefined;

  constructor(
    connectionFile: string,
    private readonly cells: Cells,
  ) {
    this.conn = JSON.parse(readFileSync(connectionFile, 'utf8'));
    this.iopubSender = new OrderedSender(this.iopub, this.conn.key);
    this.shellSender = new OrderedSender(this.shell, this.conn.key);
    this.controlSender = new OrderedSender(this.control, this.conn.key);
  }

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
    this.interrupts += 1;
    this.cells.runner.interrupt();
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
    if (this.active++ === 0) this.onBusy(true);
    try {
      await this.handle(frames, replies, aborting);
    } finally {
      if (--this.active === 0) this.onBusy(false);
    }
  }

  private async handle(frames: Buffer[], replies: OrderedSender, aborting: boolean): Promise<void> {
    const msg = parseMessage(this.conn.key, frames);
    const type = msg.header.msg_type;
    await this.publish(msg, 'status', { execution_state: 'busy' });
    let queuedBehindError: Buffer[][] = [];
    try {
      const reply = (content: Record<string, unknown>) =>
        replies.send(childMessage(msg, type.replace(/_request$/, '_reply'), content, true));
      switch (type) {
        case 'kernel_info_request':
          await reply(kernelInfo(this.cells.typescriptVersion));
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
        case 'is_complete_request':
          await reply(await this.cells.compiler.isComplete(msg.content.code));
          break;
        case 'complete_request':
          await reply(await this.complete(msg.content.code, msg.content.cursor_pos ?? msg.content.code.length));
          break;
        case 'inspect_request':
          await reply(await this.inspect(msg.content.code, msg.content.cursor_pos ?? msg.content.code.length));
          break;
        case 'comm_info_request':
          await reply({ status: 'ok', comms: this.commInfo(msg.content.target_name) });
          break;
        case 'comm_open':
          await this.openComm(msg);
          break;
        case 'comm_msg':
          // The identity comm takes nothing after its open; other comms were closed at theirs.
          break;
        case 'comm_close':
          if (this.comms.get(msg.content.comm_id) === IDENTITY_TARGET) clearIdentity();
          this.comms.delete(msg.content.comm_id);
          break;
        case 'history_request':
          await reply({ status: 'ok', history: this.history.query(msg.content as HistoryRequest) });
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

  /**
   * `tandem.identity` sets who the SDK acts as and acknowledges with `{ status: 'ok' }`; a bad
   * identity or an unknown target is answered with a comm_close, as the messaging spec asks, so
   * the frontend does not hold a comm nobody serves.
   */
  private async openComm(msg: Message): Promise<void> {
    const { comm_id: commId, target_name: target, data } = msg.content as { comm_id: string; target_name: string; data?: unknown };
    if (target !== IDENTITY_TARGET) {
      await this.publish(msg, 'comm_close', { comm_id: commId, data: { error: `no comm target ${target} in this kernel` } });
      return;
    }
    try {
      applyIdentity(data);
    } catch (err) {
      await this.publish(msg, 'comm_close', { comm_id: commId, data: { error: (err as Error).message } });
      return;
    }
    this.comms.set(commId, target);
    await this.publish(msg, 'comm_msg', { comm_id: commId, data: { status: 'ok' } });
  }

  /** Open comms as comm_info_reply lists them, of one target when asked. */
  private commInfo(target: unknown): Record<string, { target_name: string }> {
    const comms: Record<string, { target_name: string }> = {};
    for (const [id, name] of this.comms) if (!target || name === target) comms[id] = { target_name: name };
    return comms;
  }

  private publish(parent: Message, type: string, content: Record<string, unknown>): Promise<void> {
    return this.iopubSender.send(childMessage(parent, type, content));
  }

  /** Runs one cell and replies. */
  private async execute(msg: Message, reply: (content: Record<string, unknown>) => Promise<void>): Promise<void> {
    const {
      code,
      silent = false,
      store_history: storeHistory = !silent,
    } = msg.content as { code: string; silent?: boolean; store_history?: boolean };
    if (storeHistory) this.executionCount += 1;
    const count = this.executionCount;
    const interrupts = this.interrupts;
    // The compiler thread starts on the cell while this one sends execute_input; the outcome is
    // awaited below (the catch only keeps an early failure from counting as unhandled).
    const compiling = this.cells.compiler.compile(code);
    compiling.catch(() => undefined);
    if (!silent) await this.publish(msg, 'execute_input', { code, execution_count: count });
    if (storeHistory) this.history.add(count, code);

    const streams = new StreamBatcher((name, text) => this.publish(msg, 'stream', { name, text }));
    this.redirectOutput(streams);
    setCurrentCell(msg.metadata.cellId);
    setDisplaySink((bundle, { displayId, update, metadata = {} }) => {
      void streams.flush().then(() =>
        this.publish(msg, update ? 'update_display_data' : 'display_data', {
          data: bundle,
          metadata,
          transient: displayId ? { display_id: displayId } : {},
        }),
      );
    });

    let result: MimeBundle | undefined;
    let error: CellError | undefined;
    try {
      const compiled = await compiling;
      if (!compiled.ok) error = compileError(compiled.diagnostics);
      else if (this.interrupts !== interrupts) error = INTERRUPTED;
      else {
        const { value } = await this.cells.runner.run(compiled, count);
        // As in tslab, `null` and `undefined` show nothing.
        if (value !== undefined && value !== null && !silent) result = mimeBundleOf(value);
      }
    } catch (err) {
      error = INTERRUPTION.test((err as Error)?.message)
        ? INTERRUPTED
        : thrownError(err, (...at) => this.cells.runner.locate(...at), count);
    }

    await streams.flush();
    if (result) {
      await this.publish(msg, 'execute_result', { execution_count: count, data: result, metadata: {} });
      if (storeHistory && typeof result['text/plain'] === 'string') this.history.setOutput(count, result['text/plain']);
    }
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

  private async complete(code: string, cursor: number): Promise<Record<string, unknown>> {
    const found = await this.cells.compiler.complete(code, cursor);
    const types = found.matches.map((text, i) => ({ start: found.start, end: found.end, text, type: found.kinds[i] }));
    return {
      status: 'ok',
      matches: found.matches,
      cursor_start: found.start,
      cursor_end: found.end,
      metadata: { _jupyter_types_experimental: types },
    };
  }

  private async inspect(code: string, cursor: number): Promise<Record<string, unknown>> {
    const data = await this.cells.compiler.inspect(code, cursor);
    return { status: 'ok', found: Boolean(data), data: data ?? {}, metadata: {} };
  }

  private async close(): Promise<void> {
    await this.cells.compiler.close();
    for (const socket of [this.shell, this.control, this.stdin, this.hb, this.iopub]) socket.close();
    // Timers or open handles left by cells must not keep a shut-down kernel alive.
    setTimeout(() => process.exit(0), 100);
  }
}

function kernelInfo(typescriptVersion: string): Record<string, unknown> {
  return {
    status: 'ok',
    protocol_version: '5.3',
    implementation: 'tandem',
    implementation_version: '0.1.0',
    banner: `TypeScript ${typescriptVersion} (Tandem): type-checked cells with the Tandem SDK`,
    language_info: {
      name: 'typescript',
      version: typescriptVersion,
      mimetype: 'text/typescript',
      file_extension: '.ts',
      codemirror_mode: { name: 'javascript', typescript: true },
    },
    help_links: [],
  };
}
