// Entry point of the "TypeScript (Tandem)" kernel: `tandem-kernel <connection_file>`. It binds
// its sockets and answers at once; TypeScript loads on the compiler thread meanwhile, and the SDK
// (DuckDB, Arrow, Plot) once the kernel has been idle for a moment.
import path from 'node:path';
import { CellRunner } from './cell-runner.js';
import { CompilerClient } from './compiler-client.js';
import { loadTypeScriptFiles, notebookRequire } from './notebook-require.js';
import { KernelServer } from './server.js';
import { shareKernelModules } from './shared-modules.js';

const KERNEL_DIR = path.resolve(__dirname, '../../..');
const SDK_IDLE_MS = 300;

export async function startKernel(connectionFile: string): Promise<KernelServer> {
  const dir = process.cwd();
  shareKernelModules(require.resolve.paths('@tandem/kernel') ?? []);
  loadTypeScriptFiles();
  const compiler = new CompilerClient({
    dir,
    kernelDir: KERNEL_DIR,
    typeRoots: [path.join(dir, 'node_modules/@types'), path.dirname(path.dirname(require.resolve('@types/node/package.json')))],
    overrides: { tslab: path.join(__dirname, '../tslab.d.ts') },
    preload: ['@tandem/kernel'],
  });
  const runner = new CellRunner(dir, notebookRequire(dir, { tslab: path.join(__dirname, '../tslab.js') }));
  const typescriptVersion = (require('typescript/package.json') as { version: string }).version;
  const server = new KernelServer(connectionFile, { compiler, runner, typescriptVersion });
  process.on('SIGINT', () => server.interrupt());
  process.on('uncaughtException', (err) => console.error('Uncaught exception (after the cell finished):', err));
  process.on('unhandledRejection', (reason) => console.error('Unhandled promise rejection:', reason));
  await server.start();
  preloadWhenIdle(server);
  return server;
}

/**
 * Loads the SDK (and its table and figure formatters) while the user is still typing: once no
 * request has been in hand for a moment. Loading takes the kernel's thread for a second, which a
 * first cell still compiling must not wait for.
 */
function preloadWhenIdle(server: KernelServer): void {
  let timer = setTimeout(load, SDK_IDLE_MS);
  server.onBusy = (busy) => {
    clearTimeout(timer);
    if (!busy) timer = setTimeout(load, SDK_IDLE_MS);
  };
  function load() {
    server.onBusy = () => undefined;
    require('../index.js');
  }
}
