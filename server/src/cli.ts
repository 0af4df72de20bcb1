#!/usr/bin/env node
import { ConfigError, loadConfig } from './config.js';
import { startServer } from './server.js';
import { REPLICA_USAGE, replicaCommand } from './serving/serving.replica.js';
import { WORKER_USAGE, workerCommand } from './worker/worker.cli.js';

const USAGE = `usage: tandem <command>

commands:
  serve     run the Tandem server (configured by TANDEM_* environment variables);
            with --server URL, a serving replica of that server (tandem serve --help)
  worker    run a worker agent for Spark and GPU jobs (tandem worker --help)`;

async function main(argv: string[]): Promise<void> {
  const [command] = argv;
  switch (command) {
    case 'serve': {
      if (argv.includes('--help')) {
        process.stdout.write(`${REPLICA_USAGE}\n`);
        return;
      }
      if (argv.some((arg) => arg === '--server' || arg.startsWith('--server='))) {
        const replica = await replicaCommand(argv.slice(1));
        process.stdout.write(`Tandem serving replica at ${replica.url}\n`);
        const stop = () => void replica.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        return;
      }
      const server = await startServer({ config: loadConfig() });
      process.stdout.write(`Tandem server at ${server.url}\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    case 'worker': {
      if (argv.includes('--help')) {
        process.stdout.write(`${WORKER_USAGE}\n`);
        return;
      }
      const worker = await workerCommand(argv.slice(1));
      const stop = () => void worker.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = command ? 2 : 0;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
