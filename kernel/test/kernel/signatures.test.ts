// Messages the kernel must refuse (messaging spec: HMAC over header, parent, metadata and content
// with the connection file's key), sent over a real jupyter_client connection.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { pythonBin, repoRoot } from '../support/jupyter.js';

interface Observed {
  forged: string[];
  shell: string[];
  iopub: string[];
  control: string[];
  controlReplies: string[];
  reply: Record<string, any> | null;
  result: string | null;
  alive: boolean;
  stderr: string;
}

const driver = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/signature_driver.py');

function runDriver(): Promise<Observed> {
  return new Promise((resolve, reject) => {
    execFile(
      pythonBin(),
      [driver],
      { maxBuffer: 16 * 1024 * 1024, cwd: repoRoot, env: { ...process.env, JUPYTER_PATH: path.join(repoRoot, 'jupyter-config/data') } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`signature_driver.py failed: ${err.message}\n${stderr}`, { cause: err }));
        else resolve(JSON.parse(stdout) as Observed);
      },
    );
  });
}

describe('the Tandem kernel and message signatures', () => {
  let seen: Observed;

  beforeAll(async () => {
    seen = await runDriver();
  }, 240_000);

  it('runs none of the forged requests: wrong key, content changed after signing, no signature', () => {
    expect(seen.result).toBe("'nothing forged ran'");
    expect(seen.reply).toMatchObject({ status: 'ok' });
  });

  it('answers none of them and publishes nothing for them (not even a busy status)', () => {
    expect(seen.forged).toHaveLength(5);
    for (const channel of [seen.shell, seen.iopub, seen.control]) {
      expect(channel.filter((parent) => seen.forged.includes(parent))).toEqual([]);
    }
    expect(seen.controlReplies).toEqual(['kernel_info_reply']);
  });

  it('ignores a forged shutdown_request and keeps serving genuine requests on every channel', () => {
    expect(seen.alive).toBe(true);
    expect(seen.shell).toHaveLength(1);
  });

  it('says on stderr why each forged message was dropped', () => {
    expect(seen.stderr.match(/message signature does not match the connection key/g)).toHaveLength(5);
  });
});
