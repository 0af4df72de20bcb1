import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DigestStream } from '../artifacts/store.js';
import { isDataRef, type DataRef } from '../jobs/job-data.js';
import type { ClaimedJob, WorkerClient } from './worker.client.js';

/**
 * Downloads the data a job names into `<dir>/data/<input>/<file name>` (checking each file's
 * sha256) and returns the job with local paths in place of the references: a template's
 * `inputs.data` becomes the file's path, a script's `data` map becomes `{ name: path }`.
 */
export async function fetchJobInputs(client: WorkerClient, job: ClaimedJob, dir: string, log: (line: string) => void): Promise<ClaimedJob> {
  const downloaded = new Map<string, string>();
  const fetchOne = async (input: string, ref: DataRef): Promise<string> => {
    const known = downloaded.get(ref.sha256);
    if (known) return known;
    const folder = path.join(dir, 'data', input);
    await mkdir(folder, { recursive: true });
    const file = path.join(folder, ref.name);
    const digest = new DigestStream({ sha256: ref.sha256 });
    await pipeline(await client.data(job, ref.sha256), digest, createWriteStream(file, { mode: 0o600 }));
    log(`downloaded data ${ref.name} (${formatBytes(digest.size)})`);
    downloaded.set(ref.sha256, file);
    return file;
  };
  const spec = { ...job.spec };
  const inputs = spec.inputs as Record<string, unknown> | undefined;
  if (inputs && isDataRef(inputs.data)) spec.inputs = { ...inputs, data: await fetchOne('inputs', inputs.data) };
  if (spec.data) {
    const local: Record<string, string> = {};
    for (const [name, ref] of Object.entries(spec.data as Record<string, DataRef>)) local[name] = await fetchOne(name, ref);
    spec.data = local;
  }
  return { ...job, spec };
}
function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
