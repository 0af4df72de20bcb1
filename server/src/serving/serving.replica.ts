import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import express from 'express';
import { loadReplicaConfig, type ReplicaConfig } from '../config.js';
import { TandemError } from '../errors.js';
import { errorHandler, metricsHandler } from '../http/app.js';
import { OpenApiRegistry } from '../http/openapi.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { PredictionLog } from './serving.logs.js';
import { ServingMetrics } from './serving.metrics.js';
import { ServingPlane } from './serving.plane.js';
import { predictRoutes, type Predictor } from './serving.predict.routes.js';
import { ReplicaClient } from './serving.remote.js';
import { endpointOf } from './serving.service.js';

export const REPLICA_USAGE = `usage: tandem serve
       tandem serve --server URL [--token TOKEN] [--host HOST] [--port PORT]

  without --server: the Tandem server, configured by TANDEM_* environment variables
  with --server: a serving replica of that server, answering /tandem/serve/... for the
  deployments the token's owner may view and following its alias moves; run several behind a
  load balancer

  --server   Tandem server URL
  --token    worker token (default TANDEM_WORKER_TOKEN); create one with
             POST /tandem/api/tokens {"name":"replica","kind":"worker"}
  --host     address to listen on (default TANDEM_REPLICA_HOST or 127.0.0.1)
  --port     port to listen on (default TANDEM_REPLICA_PORT or 8788; 0 picks a free one)`;

/** `tandem serve --server URL …`: starts a replica; resolves once it listens. */
export async function replicaCommand(argv: string[], config: ReplicaConfig = loadReplicaConfig()): Promise<RunningReplica> {
  const { values } = parseArgs({
    args: argv,
    options: { server: { type: 'string' }, token: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } },
  });
  const token = values.token ?? config.token;
  if (!values.server) throw new Error(`--server is required\n\n${REPLICA_USAGE}`);
  if (!token) throw new Error(`a worker token is required: --token or TANDEM_WORKER_TOKEN\n\n${REPLICA_USAGE}`);
  const port = values.port === undefined ? config.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be a port number (got ${values.port})`);
  return startReplica({ ...config, serverUrl: values.server, token, host: values.host ?? config.host, port });
}

/** How often a replica asks the server for its deployments: how soon it follows an alias move. */
const RECONCILE_MS = 1_000;

export interface ReplicaOptions extends ReplicaConfig {
  /** The Tandem server's URL. */
  serverUrl: string;
  token: string;
}

export interface RunningReplica {
  url: string;
  close(): Promise<void>;
}

/**
 * A serving replica (`tandem serve --server URL`): a stateless process answering the predict
 * routes of the deployments its worker token's owner may view. It learns the deployments and
 * their alias moves from the server (polled every second), loads the versions from it, asks it
 * whether each caller may predict (kept for seconds), and sends its prediction log files to it.
 * Run as many as needed behind any load balancer; each has its own /metrics.
 */
export async function startReplica(options: ReplicaOptions): Promise<RunningReplica> {
  const log = createLogger(options.logLevel, 'tandem-replica');
  const client = new ReplicaClient(options.serverUrl, options.token);
  // Fails at start, with the server's reason, when the server is unreachable or refuses the token.
  const deployments = await client.deployments();
  const metrics = createMetrics();
  const plane = new ServingPlane(
    client,
    new ServingMetrics(metrics.registry),
    log,
    { maxModelBytes: options.maxModelBytes, reconcileMs: RECONCILE_MS, maxPinned: 4, pinnedIdleMs: 10 * 60_000 },
    new PredictionLog(logStore(client, log), log, { flushMs: options.serveLogFlushMs }),
  );
  const predictor: Predictor = {
    endpoint: async (who, modelRef, target) => {
      if (!who.token) throw new TandemError('UNAUTHENTICATED', 'send a user API token or a deployment key (Authorization: Bearer <token>)');
      const authorized = await client.authorize({ token: who.token, model: modelRef, ...target });
      return endpointOf(plane, authorized, target);
    },
    predict: (endpoint, body) => plane.predict(endpoint, body),
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', server: options.serverUrl, deployments: plane.deployments().length });
  });
  app.get('/metrics', metricsHandler(metrics.registry, options.metricsToken));
  const pages = express.Router();
  app.use(predictRoutes(pages, new OpenApiRegistry(), predictor, options.serveMaxBodyBytes));
  app.use(pages);
  app.use(errorHandler(log));

  await plane.start();
  // Listening means ready: a balancer that only checks the port sends nothing before the models load.
  await plane.settled();
  const server = app.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  log.info('serving replica started', { server: options.serverUrl, deployments: deployments.length, port });
  return {
    url: `http://${options.host}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await plane.close();
    },
  };
}

/**
 * Where a replica's prediction log goes: each file to the server, which stores it (when the
 * token's owner may edit the deployment). The server lists and deletes logs; a replica does not.
 */
function logStore(client: ReplicaClient, log: Logger) {
  const none = () => Promise.reject(new TandemError('NOT_FOUND', 'a replica reads no log files'));
  return {
    put: async (key: string, body: Readable) => {
      const deploymentId = key.split('/')[1]!;
      await client.putLog(deploymentId, key, body);
      log.debug('prediction log file sent to the server', { key });
      return { size: 0, sha256: '' };
    },
    get: none,
    stat: () => Promise.resolve(undefined),
    delete: () => Promise.resolve(),
    list: async function* () {},
  };
}
