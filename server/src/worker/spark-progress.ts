// Spark progress from the driver's event log. A job's driver runs without its web UI (nothing to
// bind, no HTTP server to fail while it starts or stops and print stacks into the job's log) and
// writes its scheduler events, as JSON lines, into a folder of the job's own; the worker reads
// them from there while the job runs and once more when it has ended, for the final state.
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkerEvent } from './worker.client.js';

const SQL_EVENTS = [
  'SQLExecutionStart',
  'SQLExecutionEnd',
  'SQLAdaptiveExecutionUpdate',
  'SQLAdaptiveSQLMetricUpdates',
  'DriverAccumUpdates',
];
/** Events progress does not need and that make up most of a log: the environment, task starts, query plans. */
const EXCLUDED_EVENTS = [
  'SparkListenerEnvironmentUpdate',
  'SparkListenerTaskStart',
  ...SQL_EVENTS.map((e) => `org.apache.spark.sql.execution.ui.SparkListener${e}`),
];

/** Spark conf for a job's driver: no web UI, and an event log in `dir` (which must exist) for progress. */
export function sparkProgressConf(dir: string): Record<string, string> {
  return {
    'spark.ui.enabled': 'false',
    'spark.eventLog.enabled': 'true',
    'spark.eventLog.dir': pathToFileURL(dir).href,
    // One plain file per application, readable while it grows.
    'spark.eventLog.compress': 'false',
    'spark.eventLog.rolling.enabled': 'false',
    // Spark flushes at job and stage boundaries; a small buffer also brings task ends within a long stage.
    'spark.eventLog.buffer.kb': '8k',
    'spark.eventLog.includeTaskMetricsAccumulators': 'false',
    'spark.eventLog.excludedPatterns': EXCLUDED_EVENTS.join(','),
  };
}

interface Stage {
  name: string;
  tasks: number;
  succeeded: number;
  submitted: boolean;
  completed: boolean;
}

interface Job {
  stages: string[];
  result?: string;
}

/** The fields of the events read here, as Spark's JsonProtocol writes them. */
interface StageInfo {
  'Stage ID': number;
  'Stage Name': string;
  'Number of Tasks': number;
}
interface SparkEvent {
  Event: string;
  'Job ID'?: number;
  'Stage Infos'?: StageInfo[];
  'Stage Info'?: StageInfo;
  'Stage ID'?: number;
  'Task End Reason'?: { Reason?: string };
  'Job Result'?: { Result?: string };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Jobs, stages and tasks of a job's Spark applications, from their events. A stage counts once
 * however many jobs share it; stages a finished job skipped (their output already existed) do
 * not count, stages of a running job not yet started do.
 */
export class SparkTally {
  private readonly stages = new Map<string, Stage>();
  private readonly jobs = new Map<string, Job>();

  /** Takes one event of application `app` (a script may start several, one after the other). */
  add(app: string, event: SparkEvent): void {
    const stageKey = (id: number | undefined) => `${app}:${id}`;
    const stage = (info: StageInfo) => {
      const key = stageKey(info['Stage ID']);
      const known = this.stages.get(key);
      const entry = known ?? { name: info['Stage Name'], tasks: 0, succeeded: 0, submitted: false, completed: false };
      // A retried stage reruns only its missing tasks: the first attempt says how many there are.
      entry.tasks = Math.max(entry.tasks, info['Number of Tasks']);
      if (!known) this.stages.set(key, entry);
      return entry;
    };
    switch (event.Event) {
      case 'SparkListenerJobStart':
        for (const info of event['Stage Infos'] ?? []) stage(info);
        this.jobs.set(`${app}:${event['Job ID']}`, { stages: (event['Stage Infos'] ?? []).map((info) => stageKey(info['Stage ID'])) });
        break;
      case 'SparkListenerStageSubmitted':
        if (event['Stage Info']) Object.assign(stage(event['Stage Info']), { submitted: true, completed: false });
        break;
      case 'SparkListenerStageCompleted':
        if (event['Stage Info']) stage(event['Stage Info']).completed = true;
        break;
      case 'SparkListenerTaskEnd': {
        const entry = this.stages.get(stageKey(event['Stage ID']));
        if (entry && event['Task End Reason']?.Reason === 'Success') entry.succeeded++;
        break;
      }
      case 'SparkListenerJobEnd': {
        const job = this.jobs.get(`${app}:${event['Job ID']}`);
        if (job) job.result = event['Job Result']?.Result ?? 'JobFailed';
        break;
      }
    }
  }

  get counts(): { jobs: number; failed: number; running: number; tasks: number; done: number } {
    const pending = new Set([...this.jobs.values()].filter((j) => !j.result).flatMap((j) => j.stages));
    let tasks = 0;
    let done = 0;
    for (const [key, stage] of this.stages) {
      if (!stage.submitted && !pending.has(key)) continue;
      tasks += stage.tasks;
      done += Math.min(stage.succeeded, stage.tasks);
    }
    const results = [...this.jobs.values()].map((j) => j.result);
    return {
      jobs: results.length,
      failed: results.filter((r) => r && r !== 'JobSucceeded').length,
      running: results.filter((r) => !r).length,
      tasks,
      done,
    };
  }

  /** What runs now, e.g. "Spark: 12 jobs, 30/36 tasks (running: collectAsMap at RandomForest.scala:751)". */
  message(): string | undefined {
    const { jobs, tasks, done } = this.counts;
    if (jobs === 0) return undefined;
    const running = [...this.stages.values()].findLast((s) => s.submitted && !s.completed);
    // Closures ("$anonfun$withThreadLocalCaptured$1 at CompletableFuture.java:1768") name nothing a person wrote.
    const name = running && !running.name.startsWith('$') ? ` (running: ${running.name.slice(0, 80)})` : '';
    return `Spark: ${plural(jobs, 'job')}, ${done}/${tasks} tasks${name}`;
  }

  /** The state once the driver has ended, e.g. "done: 25 Spark jobs, 36/36 tasks". */
  final(): string | undefined {
    const { jobs, failed, running, tasks, done } = this.counts;
    if (jobs === 0) return undefined;
    const what = `${plural(jobs, 'Spark job')}, ${done}/${tasks} tasks`;
    if (failed === 0 && running === 0) return `done: ${what}`;
    const problems = [failed && `${failed} failed`, running && `${running} unfinished`].filter(Boolean).join(', ');
    return `ended: ${what} (${problems})`;
  }

  /** Share of the known tasks done. Spark only knows the jobs started so far. */
  fraction(): number {
    const { tasks, done } = this.counts;
    return tasks > 0 ? done / tasks : 0;
  }
}

/** Reads the event log files in `dir` as they grow: each application's file from where the last read ended. */
class EventLogReader {
  private readonly read = new Map<string, { offset: number; rest: string }>();

  constructor(
    private readonly dir: string,
    private readonly onEvent: (app: string, event: SparkEvent) => void,
  ) {}

  async readNew(): Promise<void> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    // Spark renames `<app>.inprogress` to `<app>` when the application stops: the same file.
    for (const file of files.filter((f) => !f.startsWith('.'))) {
      const app = file.replace(/\.inprogress$/, '');
      const state = this.read.get(app) ?? { offset: 0, rest: '' };
      this.read.set(app, state);
      const handle = await open(path.join(this.dir, file)).catch(() => undefined);
      if (!handle) continue; // renamed between readdir and open: read under its new name next time
      try {
        const { size } = await handle.stat();
        if (size <= state.offset) continue;
        const buffer = Buffer.alloc(size - state.offset);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, state.offset);
        state.offset += bytesRead;
        const lines = (state.rest + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
        state.rest = lines.pop()!;
        for (const line of lines) {
          let event: SparkEvent | undefined;
          try {
            event = JSON.parse(line) as SparkEvent;
          } catch {
            continue; // not an event: nothing to count
          }
          this.onEvent(app, event);
        }
      } finally {
        await handle.close();
      }
    }
  }
}

export interface SparkProgress {
  /** Reads what the driver wrote last and reports the final state; call it once the job's process has ended. */
  stop(): Promise<void>;
}

/**
 * Follows the event logs the job's Spark applications write into `dir` and reports progress:
 * the fraction kept monotonic and below 1 while the job runs (later jobs are not known yet), the
 * message saying what runs now, and at the end what ran.
 */
export function followSparkProgress(dir: string, emit: (event: WorkerEvent) => void, everyMs = 1000): SparkProgress {
  const tally = new SparkTally();
  const reader = new EventLogReader(dir, (app, event) => tally.add(app, event));
  let last = '';
  let best = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<void> = Promise.resolve();
  const poll = async () => {
    await reader.readNew();
    const message = tally.message();
    if (!message || message === last) return;
    last = message;
    best = Math.max(best, Math.min(0.99, tally.fraction()));
    emit({ type: 'progress', data: { fraction: best, message } });
  };
  // One read at a time, then a pause: a busy driver needs the CPU more than the job's view does.
  const next = () => {
    timer = setTimeout(() => {
      reading = poll().catch(() => undefined);
      void reading.then(() => stopped || next());
    }, everyMs);
  };
  next();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await reading;
      await reader.readNew().catch(() => undefined);
      const final = tally.final();
      if (final) emit({ type: 'progress', data: { message: final } });
    },
  };
}
