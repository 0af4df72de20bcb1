// The kernel's side of the compiler thread (compiler/worker.ts): requests in, answers out, in order.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CompilerMethods, Method, Request, Response, WorkerSettings } from '../compiler/protocol.js';

type Remote = { [M in Method]: (...args: Parameters<CompilerMethods[M]>) => Promise<ReturnType<CompilerMethods[M]>> };

export class CompilerClient implements Remote {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(settings: WorkerSettings) {
    this.worker = new Worker(path.join(__dirname, '../compiler/worker.js'), { workerData: settings });
    this.worker.on('message', (response: Response) => {
      const waiting = this.pending.get(response.id);
      this.pending.delete(response.id);
      if ('error' in response) {
        const error = new Error(`the cell compiler failed: ${response.error.message}`);
        error.stack = response.error.stack;
        waiting?.reject(error);
      } else {
        waiting?.resolve(response.result);
      }
    });
    const fail = (error: Error) => {
      this.failure = new Error('the cell compiler stopped', { cause: error });
      for (const { reject } of this.pending.values()) reject(this.failure);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  private call<M extends Method>(method: M, ...args: Parameters<CompilerMethods[M]>): Promise<ReturnType<CompilerMethods[M]>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies Request<M>);
    });
  }

  compile = (code: string) => this.call('compile', code);
  complete = (code: string, cursor: number) => this.call('complete', code, cursor);
  inspect = (code: string, cursor: number) => this.call('inspect', code, cursor);
  isComplete = (code: string) => this.call('isComplete', code);

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
