import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { spawnGroup } from '../src/processes.js';

/** The first line the child prints (a pid it started); its output stays open. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += String(chunk);
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
  });
}

const closed = (child: ChildProcess) => once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;

/** Gone, or a zombie nobody has reaped yet: either way it runs no more. */
function running(pid: number): boolean {
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return stat !== '' && !stat.startsWith('Z');
}

describe('spawnGroup()', () => {
  it('stops the child and what it started: SIGTERM to the whole process group', async () => {
    const group = spawnGroup('sh', ['-c', 'sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const grandchild = Number(await firstLine(group.child));
    expect(running(grandchild)).toBe(true);
    const done = closed(group.child);
    group.stop({ graceMs: 10_000 });
    const [, signal] = await done;
    expect(signal).toBe('SIGTERM');
    await expect.poll(() => running(grandchild)).toBe(false);
  });

  it('sends SIGKILL to the group after the grace period when SIGTERM is ignored', async () => {
    const group = spawnGroup('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await firstLine(group.child);
    const done = closed(group.child);
    const started = Date.now();
    group.stop({ graceMs: 500 });
    const [, signal] = await done;
    expect(signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('can signal the leader alone first, and still takes the rest of the group down after the grace period', async () => {
    const group = spawnGroup('sh', ['-c', 'trap "exit 7" INT; sleep 60 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const grandchild = Number(await firstLine(group.child));
    const exited = once(group.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const done = closed(group.child);
    group.stop({ signal: 'SIGINT', leaderOnly: true, graceMs: 500 });
    expect(await exited).toEqual([7, null]);
    expect(running(grandchild)).toBe(true); // it still holds the output open
    await done;
    expect(running(grandchild)).toBe(false);
  });

  it('does nothing when stopped after the child has finished', async () => {
    const group = spawnGroup('true', [], { stdio: 'ignore' });
    expect(await closed(group.child)).toEqual([0, null]);
    expect(() => group.stop({ graceMs: 0 })).not.toThrow();
  });
});
