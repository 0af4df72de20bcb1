import path from 'node:path';
import { createInterface } from 'node:readline';
import { spawnGroup } from '../processes.js';
import { PYTHON_DIR } from './python.js';
import type { WorkerEvent } from './worker.client.js';

/** Scripts report structure by printing `##tandem {"metric" | "progress" | "info": {...}}` lines. */
const PROTOCOL = '##tandem ';
const MAX_LINE = 20_000;
const TAIL_LINES = 60;

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of the output: the Python traceback or Spark error, for the job's error message. */
  errorTail: string;
  /** The last value of each metric the job reported. */
  metrics: Record<string, number>;
}

export interface JobProcess {
  done: Promise<ProcessResult>;
  /** SIGTERM to the whole process group (spark-submit starts a JVM and Python), SIGKILL after a grace period. */
  stop(graceMs?: number): void;
}

/** Turns one output line into an event: protocol lines become metrics/progress, others log lines. */
export function parseLine(stream: 'stdout' | 'stderr', raw: string): WorkerEvent {
  const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}… (${raw.length - MAX_LINE} more characters)` : raw;
  if (line.startsWith(PROTOCOL)) {
    try {
      const message = JSON.parse(line.slice(PROTOCOL.length)) as Partial<Record<'metric' | 'progress' | 'info', Record<string, unknown>>>;
      if (message.metric) return { type: 'metric', data: message.metric };
      if (message.progress) return { type: 'progress', data: message.progress };
      if (message.info) return { type: 'info', data: message.info };
    } catch {
      // not valid protocol JSON: keep it as a log line so nothing is lost
    }
  }
  return { type: 'log', data: { stream, line } };
}

/** The traceback if there is one (Python errors start there), else the last lines. */
export function errorSummary(lines: string[]): string {
  const start = lines.findLastIndex((l) => l.startsWith('Traceback (most recent call last)'));
  return (start >= 0 ? lines.slice(start) : lines.slice(-20)).join('\n');
}

/**
 * Runs a job's command, turning its output into events handed to `emit` line by line.
 * The child gets its own process group so that stopping it stops everything it started.
 */
export function runJobProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; emit: (event: WorkerEvent) => void },
): JobProcess {
  const group = spawnGroup(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { child } = group;
  const tail: string[] = [];
  const metrics: Record<string, number> = {};
  const follow = (stream: 'stdout' | 'stderr') =>
    new Promise<void>((resolve) => {
      const lines = createInterface({ input: child[stream]! });
      lines.on('line', (raw) => {
        const event = parseLine(stream, raw);
        if (event.type === 'metric') {
          for (const [k, v] of Object.entries(event.data)) if (k !== 'step' && typeof v === 'number') metrics[k] = v;
        }
        // Both streams: spark-submit forwards the Python driver's stderr (tracebacks) to stdout.
        if (event.type === 'log') {
          tail.push(String(event.data.line));
          if (tail.length > TAIL_LINES) tail.shift();
        }
        options.emit(event);
      });
      lines.on('close', resolve);
    });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const done = (async (): Promise<ProcessResult> => {
    try {
      await spawned;
    } catch (error) {
      return { code: 127, signal: null, errorTail: `cannot start ${command}: ${(error as Error).message}`, metrics };
    }
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    const [[code, signal]] = await Promise.all([exited, follow('stdout'), follow('stderr')]);
    return { code, signal, errorTail: errorSummary(tail), metrics };
  })();
  return {
    done,
    stop(graceMs = 5_000) {
      group.stop({ graceMs });
    },
  };
}

/**
 * `runJobProcess` under supervise.py, which takes the process group down when this agent dies
 * (even by SIGKILL), so nothing it started runs on without it.
 */
export function runSupervised(
  python: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; emit: (event: WorkerEvent) => void },
): JobProcess {
  return runJobProcess(python, [path.join(PYTHON_DIR, 'supervise.py'), command, ...args], {
    ...options,
    env: { ...options.env, TANDEM_AGENT_PID: String(process.pid) },
  });
}
