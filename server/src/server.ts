import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { openArtifactStore } from './artifacts/open.js';
import { AuthStore } from './auth/auth.store.js';
import { Permissions } from './auth/permissions.js';
import type { Config } from './config.js';
import type { AppContext, Feature, FeatureFactory } from './context.js';
import { openDatabase } from './db/open.js';
import { EventBus } from './events.js';
import { FEATURES } from './features.js';
import { createApp } from './http/app.js';
import { OpenApiRegistry } from './http/openapi.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';

export interface TandemServer {
  /** Base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  /** The bootstrap admin's token (also written to `<home>/token`). */
  adminToken: string;
  ctx: AppContext;
  http: Server;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  features?: FeatureFactory[];
}

/** Opens stores, migrates, mounts every feature and listens. */
export async function startServer({ config, features = FEATURES }: StartOptions): Promise<TandemServer> {
  await mkdir(config.home, { recursive: true });
  const log = createLogger(config.logLevel);
  const db = await openDatabase(config, log);
  const artifacts = await openArtifactStore(config).catch(async (error: unknown) => {
    await db.close();
    throw error;
  });
  const shared = new Map<(ctx: AppContext) => unknown, unknown>();
  const ctx: AppContext = {
    config,
    db,
    artifacts,
    auth: new AuthStore(db),
    permissions: new Permissions(db),
    events: new EventBus(),
    metrics: createMetrics(),
    openapi: new OpenApiRegistry(),
    log,
    shared<T>(factory: (ctx: AppContext) => T): T {
      if (!shared.has(factory)) shared.set(factory, factory(ctx));
      return shared.get(factory) as T;
    },
  };
  const adminToken = await ensureAdminToken(ctx);
  // Revocations on other servers of this database reach this one's caches and sockets at once.
  const stopWatchingAuth = await ctx.auth.watch();
  const mounted: Feature[] = [];
  for (const make of features) mounted.push(await make(ctx));

  const http = createServer(createApp(ctx, mounted));
  http.on('upgrade', (req, socket, head) => {
    if (!mounted.some((f) => f.upgrade?.(req, socket, head))) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, resolve);
  });
  const { port } = http.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info('tandem server listening', { url, db: db.dialect, artifacts: artifacts.kind });

  let closing: Promise<void> | undefined;
  return {
    url,
    adminToken,
    ctx,
    http,
    close: () =>
      (closing ??= (async () => {
        for (const f of [...mounted].reverse()) await f.close?.();
        await stopWatchingAuth();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        await db.close();
      })()),
  };
}

/**
 * Local single-user mode and first start of a team server: an admin user whose token lives in
 * `<home>/token` (mode 0600). An existing token file is kept, so restarts keep the same token.
 */
async function ensureAdminToken({ auth, config }: AppContext): Promise<string> {
  const file = path.join(config.home, 'token');
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  const admin = (await auth.findUserByName('admin')) ?? (await auth.createUser({ name: 'admin', displayName: 'Admin', isAdmin: true }));
  if (existing) {
    await auth.adoptToken(admin.id, 'local', existing);
    return existing;
  }
  const { token } = await auth.createToken(admin.id, 'local');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}
