import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler, Router } from 'express';
import type { ArtifactStore } from './artifacts/store.js';
import type { AuthStore } from './auth/auth.store.js';
import type { Permissions } from './auth/permissions.js';
import type { Config } from './config.js';
import type { Db } from './db/db.js';
import type { EventBus } from './events.js';
import type { OpenApiRegistry } from './http/openapi.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** What every feature receives: the shared stores and services, built once per server. */
export interface AppContext {
  config: Config;
  db: Db;
  artifacts: ArtifactStore;
  auth: AuthStore;
  permissions: Permissions;
  events: EventBus;
  metrics: Metrics;
  openapi: OpenApiRegistry;
  log: Logger;
  /**
   * The one instance of a service several features use (e.g. the model registry, which jobs
   * register into): built by `factory` on first use, then the same for every caller.
   */
  shared<T>(factory: (ctx: AppContext) => T): T;
}

/** A feature folder's contribution to the server. */
export interface Feature {
  name: string;
  /** Mounted under /tandem/api. */
  api?: Router;
  /** Mounted at the site root, for non-API pages such as /tandem/d/:slug. */
  pages?: Router;
  /** Mounted ahead of every router, once the caller is known: for a route called thousands of times a second. */
  first?: RequestHandler;
  /** WebSocket upgrades; return true when this feature took the socket. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close?(): Promise<void>;
}

export type FeatureFactory = (ctx: AppContext) => Feature | Promise<Feature>;
