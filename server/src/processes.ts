import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A child started as the leader of its own process group, so that it can be stopped with everything it started. */
export interface GroupProcess {
  readonly child: ChildProcess;
  /** Sends `signal` to the whole process group; nothing when it is already gone. */
  signal(signal: NodeJS.Signals): void;
  /**
   * Sends `signal` (default SIGTERM) to the group, or to the leader alone with `leaderOnly` (for
   * a leader that shuts its own children down on it), then SIGKILL to the group after `graceMs`
   * unless the child has exited and closed its output by then.
   */
  stop(options?: { signal?: NodeJS.Signals; leaderOnly?: boolean; graceMs?: number }): void;
}

/** `spawn()` with the child in a process group of its own (`detached`); stop it through the result. */
export function spawnGroup(command: string, args: string[], options: Omit<SpawnOptions, 'detached'> = {}): GroupProcess {
  const child = spawn(command, args, { ...options, detached: true });
  let closed = false;
  let killTimer: NodeJS.Timeout | undefined;
  child.once('close', () => {
    closed = true;
    clearTimeout(killTimer);
  });
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    child,
    signal,
    stop({ signal: first = 'SIGTERM', leaderOnly = false, graceMs = 5_000 } = {}) {
      if (closed) return;
      if (leaderOnly) child.kill(first);
      else signal(first);
      clearTimeout(killTimer);
      killTimer = setTimeout(() => signal('SIGKILL'), graceMs);
      killTimer.unref();
    },
  };
}
