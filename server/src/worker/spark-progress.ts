import type { WorkerEvent } from './worker.client.js';

interface SparkJob {
  jobId: number;
  status: string;
  numTasks: number;
  numCompletedTasks: number;
  numSkippedTasks: number;
  numActiveStages: number;
  name: string;
}

/** Spark conf that marks a job's application, so progress is read from that application only. */
export const JOB_PROPERTY = 'spark.tandem.job';
/** Spark moves its UI up by one port when the chosen one is taken, this many times (spark.port.maxRetries). */
const PORT_RETRIES = 16;

// Uncompressed: Spark 4's UI fails gzip answers while it starts (NullPointerException in
// GzipEncoderSink) and stops ("Deflater has been closed"), printing a stack into the job's log.
const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
};

/** The REST base and id of the application that carries `jobId`, on the UI port or one Spark moved to. */
async function findApplication(uiPort: number, jobId: string): Promise<{ base: string; appId: string } | undefined> {
  for (let port = uiPort; port <= uiPort + PORT_RETRIES; port++) {
    const base = `http://127.0.0.1:${port}/api/v1`;
    const apps = await getJson<{ id: string }[]>(`${base}/applications`).catch(() => []);
    for (const { id } of apps) {
      const env = await getJson<{ sparkProperties?: [string, string][] }>(`${base}/applications/${id}/environment`).catch(() => undefined);
      if (env?.sparkProperties?.some(([key, value]) => key === JOB_PROPERTY && value === jobId)) return { base, appId: id };
    }
  }
  return undefined;
}

/**
 * Follows the Spark application of job `jobId` through its REST monitoring API (on the driver's
 * UI port) and reports task progress. Spark only knows the jobs started so far, so the fraction
 * is kept monotonic and below 1 until the process ends; the message says what runs now.
 */
export function followSparkProgress(uiPort: number, jobId: string, emit: (event: WorkerEvent) => void, everyMs = 1000): () => void {
  let last = '';
  let app: { base: string; appId: string } | undefined;
  let best = 0;
  const poll = async () => {
    app ??= await findApplication(uiPort, jobId);
    if (!app) return;
    const jobs = await getJson<SparkJob[]>(`${app.base}/applications/${app.appId}/jobs`);
    if (jobs.length === 0) return;
    const total = jobs.reduce((n, j) => n + j.numTasks - j.numSkippedTasks, 0);
    const doneTasks = jobs.reduce((n, j) => n + Math.min(j.numCompletedTasks, j.numTasks - j.numSkippedTasks), 0);
    const running = jobs.find((j) => j.status === 'RUNNING');
    const message = `Spark: ${jobs.length} job${jobs.length === 1 ? '' : 's'}, ${doneTasks}/${total} tasks${running ? ` (running: ${running.name.slice(0, 80)})` : ''}`;
    if (message === last) return;
    last = message;
    best = Math.max(best, total > 0 ? Math.min(0.99, doneTasks / total) : 0);
    emit({ type: 'progress', data: { fraction: best, message } });
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // One request chain at a time: a driver busy starting up answers slowly, and overlapping polls
  // would pile up on the CPU the job needs.
  const next = () => {
    timer = setTimeout(async () => {
      // The UI is not up yet, or already gone at the end: both are normal.
      await poll().catch(() => undefined);
      if (!stopped) next();
    }, everyMs);
  };
  next();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
