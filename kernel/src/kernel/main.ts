// Entry point of the "TypeScript (Tandem)" kernel: `tandem-kernel <connection_file>`.
import { createConverter, type Converter } from 'tslab/dist/converter.js';
import { createExecutor, type ConverterSet } from 'tslab/dist/executor.js';
import { prepareCell } from './cell-source.js';
import { LiveBindings } from './live-bindings.js';
import { KernelServer, type CellConsole } from './server.js';
import { shareKernelModules } from './shared-modules.js';

/** What the node converter reports about a cell it compiled. */
type Compiled = (source: string, output: string) => void;

/**
 * tslab's converters. The node one compiles each cell as `prepareCell` rewrote it (with diagnostics
 * in the user's columns), reports the compiled cell for error line mapping and keeps the cell's
 * variables live (`LiveBindings`).
 */
function converters(compiled: Compiled, live: () => LiveBindings): ConverterSet {
  let node: Converter | undefined;
  let browser: Converter | undefined;
  return {
    get node() {
      if (!node) {
        const created = createConverter({ isJS: false, isBrowser: false });
        node = Object.assign(Object.create(created) as Converter, {
          convert(prevDecl: string, src: string) {
            const cell = prepareCell(src);
            const result = created.convert(prevDecl, cell.text);
            result.diagnostics = result.diagnostics.map((d) =>
              d.fileName ? d : { ...d, start: cell.userPosition(d.start), end: cell.userPosition(d.end) },
            );
            if (result.output && result.diagnostics.length === 0) {
              compiled(src, result.output);
              live().release(cell.declared.all);
              result.output += LiveBindings.registration(cell.declared.mutable);
            }
            return result;
          },
        });
      }
      return node;
    },
    get browser() {
      return (browser ??= createConverter({ isJS: false, isBrowser: true }));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
}

export async function startKernel(connectionFile: string): Promise<KernelServer> {
  shareKernelModules(process.cwd(), require.resolve.paths('@tandem/kernel') ?? []);
  const convs = converters(
    (source, output) => (server.lastCompiled = { source, output }),
    () => live,
  );
  void convs.node; // compile the TypeScript service before the first cell arrives
  // The executor only ever logs a cell's value and reports errors; both go to the running cell.
  const forward: CellConsole = { log: (value) => server.cellConsole.log(value), error: (...a) => server.cellConsole.error(...a) };
  const executor = createExecutor(process.cwd(), convs, forward);
  const live = new LiveBindings(executor.locals);
  const server = new KernelServer(connectionFile, executor);
  process.on('SIGINT', () => server.interrupt());
  process.on('uncaughtException', (err) => console.error('Uncaught exception (after the cell finished):', err));
  process.on('unhandledRejection', (reason) => console.error('Unhandled promise rejection:', reason));
  await server.start();
  // Preload the SDK (and its table/figure formatters) while the user is still typing.
  setImmediate(() => require('../index.js'));
  return server;
}
