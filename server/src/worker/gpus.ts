import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface Gpu {
  index: number;
  name: string;
  memoryMiB: number;
}

/** NVIDIA GPUs from `nvidia-smi`; none when the tool is missing or fails. */
export async function detectGpus(): Promise<Gpu[]> {
  try {
    const { stdout } = await promisify(execFile)('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], {
      timeout: 10_000,
    });
    return stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [index, name, memory] = line.split(',').map((s) => s.trim());
        return { index: Number(index), name: name ?? 'GPU', memoryMiB: Number(memory) };
      });
  } catch {
    return [];
  }
}

/** Hands out GPU indices to jobs so that concurrent jobs never share a device. */
export class GpuPool {
  private readonly free: number[];

  constructor(readonly gpus: Gpu[]) {
    this.free = gpus.map((g) => g.index);
  }

  /** `count` free devices, or undefined when not that many are free right now. */
  take(count: number): number[] | undefined {
    if (count > this.free.length) return undefined;
    return this.free.splice(0, count);
  }

  give(indices: number[]): void {
    this.free.push(...indices);
    this.free.sort((a, b) => a - b);
  }
}
