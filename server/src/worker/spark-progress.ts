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

/**
 * Follows a Spark application through its REST monitoring API (on the driver's UI port) and
 * reports task progress. Spark only knows the jobs started so far, so the fraction is kept
 * monotonic and below 1 until the process ends; the message says what runs now.
 */
export function followSparkProgress(uiPort: number, emit: (event: WorkerEvent) => void, everyMs = 1000): () => void {
  const base = `http://127.0.0.1:${uiPort}/api/v1`;
  let last = '';
  let appId: string | undefined;
  let best = 0;
  const poll = async () => {
    appId ??= ((await (await fetch(`${base}/applications`)).json()) as { id: string }[])[0]?.id;
    if (!appId) return;
    const jobs = (await (await fetch(`${base}/applications/${appId}/jobs`)).json()) as SparkJob[];
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
  const timer = setInterval(() => {
    // The UI is not up yet, or already gone at the end: both are normal.
    if (!stopped) poll().catch(() => undefined);
  }, everyMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
