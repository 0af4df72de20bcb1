// The compiler thread: loading TypeScript and the declarations cells need takes seconds, which
// the kernel's own thread spends answering Jupyter (kernel_info at once, heartbeats) instead.
import { parentPort, workerData } from 'node:worker_threads';
import { CellCompiler } from './cell-compiler.js';
import type { CompilerMethods, Request, Response, WorkerSettings } from './protocol.js';

const settings = workerData as WorkerSettings;
const port = parentPort!;
const compiler = new CellCompiler(settings);
const methods: CompilerMethods = {
  compile: (code) => compiler.compile(code),
  complete: (code, cursor) => compiler.complete(code, cursor),
  inspect: (code, cursor) => compiler.inspect(code, cursor),
  isComplete: (code) => compiler.isComplete(code),
};

port.on('message', (request: Request) => {
  let response: Response;
  try {
    const method = methods[request.method] as (...args: unknown[]) => unknown;
    response = { id: request.id, result: method(...request.args) };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    response = { id: request.id, error: { message: error.message, stack: error.stack } };
  }
  port.postMessage(response);
});

// Warm up in steps, so that a request arriving meanwhile waits for one step only.
setImmediate(() => {
  compiler.warmUpStandalone();
  setImmediate(() => compiler.warmUpNotebook(settings.preload));
});
