import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TandemApiError, type JobKind } from '../api/index.js';
import { loadWorkerConfig } from '../config.js';
import { detectGpus, GpuPool, type Gpu } from './gpus.js';
import { jobCommand, type Runtime } from './job-command.js';
import { fetchJobInputs } from './job-inputs.js';
import { runSupervised, type JobProcess } from './job-process.js';
import { pythonInstallPaths } from './python.js';
import { createSandbox } from './sandbox.js';
import { prepareSparkClassArchive } from './spark-class-archive.js';
import { followSparkProgress } from './spark-progress.js';
import { WorkerClient, type ClaimedJob, type WorkerEvent } from './worker.client.js';

export interface WorkerOptions {
  serverUrl: string;
  token: string;
  name?: string;
  spark: boolean;
  gpu: boolean;
  /** Run notebook jobs (dashboard refreshes) with nbclient on the notebook's kernel. */
  notebook?: boolean;
  /** Run only the jobs of this team's members (a team the worker token's owner belongs to). */
  team?: string;
  /** Run GPU jobs on the CPU when this machine has no NVIDIA GPU. */
  allowCpu?: boolean;
  concurrency?: number;
  leaseMs?: number;
  /** Default: the worker configuration's (`loadWorkerConfig()`), as for `sparkMaster` and `cacheDir`. */
  python?: string;
  sparkMaster?: string;
  /** GPUs to use instead of asking nvidia-smi. */
  gpus?: Gpu[];
  /** Where the Spark driver class archive is kept (default $TANDEM_CACHE_DIR, else ~/.cache/tandem). */
  cacheDir?: string;
  /**
   * Run other users' jobs even without a sandbox (bubblewrap missing). Without it, a worker that
   * cannot isolate jobs only runs its owner's own jobs.
   */
  trustAllSubmitters?: boolean;
  /** Run jobs without bubblewrap even where it is installed (tests of the unsandboxed path). */
  noSandbox?: boolean;
  /** Folders of this machine (shared storage) that jobs may read by path, read-only. */
  shareDirs?: string[];
  log?: (message: string) => void;
}

export interface RunningWorker {
  id: string;
  /** Stops claiming and stops running jobs; their leases expire and another worker retries them. */
  stop(): Promise<void>;
}

const CLAIM_WAIT_MS = 20_000;
const FLUSH_EVERY_MS = 200;
const OUTPUT_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._@=+-]*$/;

interface Running {
  job: ClaimedJob;
  process?: JobProcess;
  /** cancelling: the user asked; lost: the server gave the job to someone else. */
  state: 'running' | 'cancelling' | 'lost';
}

/** The worker agent behind `tandem worker`: claims jobs, runs them as child processes, reports back. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const leaseMs = options.leaseMs ?? 30_000;
  const concurrency = options.concurrency ?? 1;
  const gpus = options.gpus ?? (options.gpu ? await detectGpus() : []);
  if (options.gpu && gpus.length === 0 && !options.allowCpu) {
    throw new Error('no NVIDIA GPU found (nvidia-smi): pass --allow-cpu to run GPU jobs on the CPU');
  }
  const capabilities = (['spark', 'gpu', 'notebook'] as const).filter((kind) => options[kind]) as JobKind[];
  if (capabilities.length === 0) throw new Error('give --spark, --gpu and/or --notebook: the kinds of jobs this worker runs');

  const sandbox = createSandbox({ disabled: options.noSandbox });
  const onlyOwner = !sandbox.isolated && !options.trustAllSubmitters;
  const client = new WorkerClient(options.serverUrl.replace(/\/$/, ''), options.token);
  const name = options.name ?? `${os.hostname()}-${process.pid}`;
  const id = await client.register({ name, capabilities, gpus: gpus.map((g) => ({ ...g })), concurrency, onlyOwner, team: options.team });
  const defaults = loadWorkerConfig();
  const python = options.python ?? defaults.python;
  const runtime: Runtime = {
    python,
    serverUrl: options.serverUrl.replace(/\/$/, ''),
    sparkMaster: options.sparkMaster ?? defaults.sparkMaster,
    sandbox,
    pythonPaths: pythonInstallPaths(python),
    sharedDirs: (options.shareDirs ?? []).map((dir) => path.resolve(dir)),
  };
  const pool = new GpuPool(gpus);
  const running = new Map<string, Running>();
  const stopping = new AbortController();
  log(`tandem worker ${name} (${capabilities.join(', ')}${gpus.length ? `, ${gpus.length} GPU` : ''}) serving ${options.serverUrl}`);
  log(`jobs are ${sandbox.description}${onlyOwner ? '; running only its owner’s jobs (--trust-all-submitters runs everyone’s)' : ''}`);
  // In the background: jobs that start before it is ready run without it.
  const classArchive = options.spark
    ? prepareSparkClassArchive({
        python: runtime.python,
        cacheDir: options.cacheDir ?? defaults.cacheDir,
        log,
        signal: stopping.signal,
      }).then((file) => {
        runtime.sparkClassArchive = file;
      })
    : Promise.resolve();

  const heartbeat = setInterval(
    () => {
      const leases = [...running.values()].map((r) => ({ jobId: r.job.id, attempt: r.job.attempt }));
      client
        .heartbeat(leaseMs, leases)
        .then(({ cancel, lost }) => {
          for (const jobId of cancel) stopJob(running.get(jobId), 'cancelling');
          for (const jobId of lost) stopJob(running.get(jobId), 'lost');
        })
        .catch((error: unknown) => log(`heartbeat failed: ${(error as Error).message}`));
    },
    Math.max(250, Math.floor(leaseMs / 3)),
  );

  const stopJob = (entry: Running | undefined, state: Running['state']) => {
    if (!entry || entry.state !== 'running') return;
    entry.state = state;
    log(`job ${entry.job.id}: ${state === 'lost' ? 'lease lost, stopping' : 'cancel requested, stopping'}`);
    entry.process?.stop();
  };

  const runOne = async (job: ClaimedJob) => {
    const entry: Running = { job, state: 'running' };
    running.set(job.id, entry);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-job-'));
    const events = eventSender(client, job, (error) => {
      if (error instanceof TandemApiError && error.code === 'CONFLICT') stopJob(entry, 'lost');
      else log(`job ${job.id}: sending events failed: ${(error as Error).message}`);
    });
    let devices: number[] = [];
    try {
      devices = await gpusFor(job, pool, options.allowCpu ?? false, () => entry.state !== 'running');
      const outputDir = path.join(dir, 'outputs');
      await Promise.all(['outputs', 'home', 'tmp'].map((sub) => mkdir(path.join(dir, sub))));
      const local = await fetchJobInputs(client, job, dir, (line) => events.push({ type: 'log', data: { stream: 'system', line } }));
      const command = await jobCommand(local, dir, outputDir, runtime, devices);
      events.push({
        type: 'log',
        data: {
          stream: 'system',
          line: `attempt ${job.attempt} on ${name}: ${command.inner.map((a) => (path.isAbsolute(a) ? path.basename(a) : a)).join(' ')}${job.kind === 'gpu' ? ` (CUDA_VISIBLE_DEVICES=${devices.join(',') || 'none: CPU'})` : ''}; ${sandbox.description}`,
        },
      });
      if (entry.state !== 'running') return await finish(entry, events);
      await sandbox.prepare(dir);
      entry.process = runSupervised(runtime.python, command.command, command.args, {
        cwd: dir,
        env: command.env,
        emit: (e) => {
          if (e.type === 'log' && command.isNoise?.(String(e.data.line))) return;
          events.push(e);
        },
      });
      const progress = command.sparkEventLog ? followSparkProgress(command.sparkEventLog, (e) => events.push(e)) : undefined;
      // The final Spark state is read after the driver has written its last events, before the job ends.
      const result = await entry.process.done.finally(() => progress?.stop());
      if (entry.state !== 'running') return await finish(entry, events);
      if (result.code !== 0) {
        const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
        return await finish(entry, events, {
          status: 'failed',
          error: `${path.basename(command.inner[0]!)} ${how}${result.errorTail ? `:\n${result.errorTail}` : ''}`,
        });
      }
      await uploadOutputs(client, job, outputDir, events);
      await finish(entry, events, { status: 'succeeded', metrics: result.metrics });
    } catch (error) {
      if (entry.state === 'running')
        await finish(entry, events, { status: 'failed', error: `worker error: ${(error as Error).message}` }).catch(() => undefined);
      throw error;
    } finally {
      pool.give(devices);
      running.delete(job.id);
      await rm(dir, { recursive: true, force: true });
    }
  };

  const finish = async (
    entry: Running,
    events: EventSender,
    outcome?: { status: 'succeeded' | 'failed' | 'cancelled'; error?: string; metrics?: Record<string, number> },
  ) => {
    await events.close();
    if (entry.state === 'lost') return;
    const final = entry.state === 'cancelling' ? { status: 'cancelled' as const, error: 'cancelled while running' } : outcome!;
    await client.complete(entry.job, final);
    log(`job ${entry.job.id} attempt ${entry.job.attempt}: ${final.status}`);
  };

  const slot = async () => {
    while (!stopping.signal.aborted) {
      let job: ClaimedJob | undefined;
      try {
        job = await client.claim(leaseMs, CLAIM_WAIT_MS, stopping.signal);
      } catch (error) {
        if (stopping.signal.aborted) return;
        log(`claiming failed (retrying in 1 s): ${(error as Error).message}`);
        await sleep(1000);
        continue;
      }
      if (job) await runOne(job).catch((error: unknown) => log(`job ${job.id} failed in the worker: ${(error as Error).message}`));
    }
  };
  const slots = Array.from({ length: concurrency }, slot);

  return {
    id,
    async stop() {
      stopping.abort();
      clearInterval(heartbeat);
      for (const entry of running.values()) stopJob(entry, 'lost');
      await Promise.all([...slots, classArchive]);
    },
  };
}

/** GPUs for a GPU job (waiting until enough are free); none for Spark jobs and CPU fallback. */
async function gpusFor(job: ClaimedJob, pool: GpuPool, allowCpu: boolean, cancelled: () => boolean): Promise<number[]> {
  if (job.kind !== 'gpu' || pool.gpus.length === 0) return [];
  const wanted = Number(job.spec.gpus ?? 1);
  if (wanted > pool.gpus.length) {
    if (allowCpu) return [];
    throw new Error(`job needs ${wanted} GPUs; this worker has ${pool.gpus.length}`);
  }
  for (;;) {
    const taken = pool.take(wanted);
    if (taken || cancelled()) return taken ?? [];
    await sleep(500);
  }
}

interface EventSender {
  push(event: WorkerEvent): void;
  /** Sends what is buffered and stops. */
  close(): Promise<void>;
}

/** Buffers events and sends them in batches, in order, a few times a second. */
function eventSender(client: WorkerClient, job: ClaimedJob, onError: (error: unknown) => void): EventSender {
  let buffer: WorkerEvent[] = [];
  let sending = Promise.resolve();
  const flush = () => {
    if (buffer.length === 0) return sending;
    const batch = buffer.splice(0, 5000);
    sending = sending.then(() => client.events(job, batch)).catch(onError);
    return sending;
  };
  const timer = setInterval(flush, FLUSH_EVERY_MS);
  return {
    push(event) {
      buffer.push(event);
      if (buffer.length >= 5000) void flush();
    },
    async close() {
      clearInterval(timer);
      while (buffer.length > 0) await flush();
      await sending;
      buffer = [];
    },
  };
}

/** Streams every file the job wrote to TANDEM_OUTPUT_DIR to the server. */
async function uploadOutputs(client: WorkerClient, job: ClaimedJob, outputDir: string, events: EventSender): Promise<void> {
  const entries = await readdir(outputDir, { recursive: true, withFileTypes: true });
  for (const entry of entries.filter((e) => e.isFile())) {
    const relative = path.relative(outputDir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (!relative.split('/').every((s) => OUTPUT_SEGMENT.test(s))) {
      events.push({
        type: 'log',
        data: {
          stream: 'system',
          line: `output ${relative} skipped: names must start with a letter or digit (archive folders such as Spark models)`,
        },
      });
      continue;
    }
    await client.upload(job, relative, createReadStream(path.join(outputDir, relative)));
    events.push({ type: 'log', data: { stream: 'system', line: `uploaded output ${relative}` } });
  }
}
