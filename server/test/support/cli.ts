import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { SERVER_ROOT } from '../../src/paths.js';

/** This process's environment without any TANDEM_* variable, for a child configured from scratch. */
export function envWithoutTandem(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TANDEM_')));
}

/** The `tandem` command (from source) as its own process, the way operators run it, so that a test can kill -9 it. */
export function spawnTandem(args: string[], env: NodeJS.ProcessEnv, stdio: StdioOptions = ['ignore', 'pipe', 'pipe']): ChildProcess {
  return spawn(
    process.execPath,
    [path.join(SERVER_ROOT, '..', 'node_modules', 'vite-node', 'vite-node.mjs'), path.join(SERVER_ROOT, 'src', 'cli.ts'), ...args],
    { cwd: SERVER_ROOT, env, stdio },
  );
}

/** The URL the process prints once it listens (`pattern`'s first group); its stderr when it exits first or takes over 120 s. */
export function listeningUrl(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 120 s:\n${stderr}`)), 120_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = pattern.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before listening:\n${stderr}`)));
  });
}
