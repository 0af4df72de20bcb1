// A worker agent as its own process, started in a folder of its own: it shares nothing with the
// kernel but the server, as a worker on another machine would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './jupyter.js';

export interface WorkerProcess {
  dir: string;
  /** Everything the agent printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startWorkerProcess(options: {
  serverUrl: string;
  token: string;
  spark?: boolean;
  gpu?: boolean;
}): Promise<WorkerProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tandem-remote-worker-'));
  const flags = [...(options.spark ? ['--spark'] : []), ...(options.gpu ? ['--gpu', '--allow-cpu'] : [])];
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(repoRoot, 'server/dist/src/cli.js'), 'worker', ...flags, '--server', options.serverUrl, '--lease-ms', '10000'],
    // The token goes in the environment, not argv, where other local users could read it.
    { cwd: dir, env: { ...process.env, TANDEM_WORKER_TOKEN: options.token }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (/serving http/.test(output)) done(resolve);
    }, 50);
    const done = (settle: () => void) => {
      clearInterval(check);
      settle();
    };
    void exited.then(() => done(() => reject(new Error(`the worker exited before registering:\n${output}`))));
  });
  return {
    dir,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
