import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { AppContext, Feature } from '../context.js';
import { pgErrorCode } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sessionsService } from '../auth/sessions.service.js';
import { sameSecret } from '../auth/tokens.js';
import { authenticate } from './authenticate.js';

/** The Express app: cross-cutting middleware, health, metrics, OpenAPI, then each feature. */
export function createApp(ctx: AppContext, features: Feature[]): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.use((req, res, next) => {
    const stop = ctx.metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => stop({ route: routeLabel(req, res), status: String(res.statusCode) }));
    next();
  });
  app.use(cors(ctx.config.allowedOrigins));

  app.get('/healthz', async (_req, res) => {
    const checks = await Promise.allSettled([ctx.db.query('SELECT 1'), ctx.artifacts.ping()]);
    const [db, artifacts] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : String(c.reason)));
    const ok = db === 'ok' && artifacts === 'ok';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', db, artifacts });
  });
  app.get('/metrics', metricsHandler(ctx.metrics.registry, ctx.config.metricsToken));

  // Before authenticate: sign-in and sign-out forms carry their CSRF token in the body.
  app.use(['/tandem/login', '/tandem/logout'], express.urlencoded({ extended: false, limit: '16kb' }));
  app.use(authenticate(ctx.auth, ctx.shared(sessionsService)));
  for (const feature of features) if (feature.first) app.use(feature.first);
  app.use('/tandem/api', express.json({ limit: ctx.config.maxBodyBytes }));
  app.get('/tandem/api/openapi.json', (_req, res) => {
    res.json(ctx.openapi.document());
  });
  for (const feature of features) {
    if (feature.api) app.use('/tandem/api', feature.api);
    if (feature.pages) app.use(feature.pages);
  }
  app.use('/tandem/api', (req) => {
    throw new TandemError('NOT_FOUND', `no API route ${req.method} ${req.originalUrl.split('?')[0]}`);
  });

  app.use(errorHandler(ctx.log));
  return app;
}

/** Prometheus's scrape, with the metrics token when one is set. */
export function metricsHandler(registry: Registry, metricsToken: string | undefined) {
  return async (req: Request, res: Response) => {
    if (metricsToken && !sameSecret(req.headers.authorization ?? '', `Bearer ${metricsToken}`)) {
      res
        .status(401)
        .set('www-authenticate', 'Bearer')
        .json({ error: { code: 'UNAUTHENTICATED', message: 'metrics need the metrics token' } });
      return;
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/** Every failure as the API's JSON error (`{ error: { code, message } }`) with its status; the server's and replicas'. */
export function errorHandler(log: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if ((error as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE' && req.socket.destroyed) {
      // The client went away mid-answer (a cancelled download, a killed worker): nothing broke here.
      log.debug('client closed the connection before the answer was complete', { path: req.path });
      return;
    }
    const known = toTandemError(error);
    if (known.code === 'INTERNAL') log.error('request failed', { error: String(error), stack: (error as Error)?.stack });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const retryAfter = (known.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (known.code === 'TOO_MANY_REQUESTS' && typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
    res.status(known.status).json({ error: known.toJSON() });
  };
}

/** Maps body-parser and other framework errors onto the API's error codes. */
function toTandemError(error: unknown): TandemError {
  if (error instanceof TandemError) return error;
  const e = error as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.too.large') return new TandemError('PAYLOAD_TOO_LARGE', 'request body is too large', { cause: error });
  if (e?.type === 'entity.parse.failed') return new TandemError('INVALID_ARGUMENT', `malformed JSON body: ${e.message}`, { cause: error });
  if (e?.status && e.status >= 400 && e.status < 500)
    return new TandemError('INVALID_ARGUMENT', e.message ?? 'bad request', { cause: error });
  // Class 22 is PostgreSQL's "data exception": a value out of range or unfit for its column.
  if (pgErrorCode(error)?.startsWith('22')) return new TandemError('INVALID_ARGUMENT', `invalid value: ${e.message}`, { cause: error });
  return new TandemError('INTERNAL', 'internal server error', { cause: error });
}

function routeLabel(req: Request, res: Response): string {
  // A handler mounted ahead of the routers names its route itself.
  const route = (res.locals.route as string | undefined) ?? (req as Request & { route?: { path?: string } }).route?.path;
  return route ? `${req.baseUrl}${route}` : req.baseUrl || 'unmatched';
}

/**
 * Any origin may call with a token (`*`, the default). Only origins listed by name
 * (TANDEM_ALLOWED_ORIGINS) may call with the session cookie (`credentials: 'include'`), as a
 * JupyterLab on another port of the same site does; their writes still need the CSRF token.
 */
function cors(allowed: string[] | '*') {
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin && (allowed === '*' || allowed.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      if (allowed !== '*') res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-CSRF-Token, X-Tandem-Sha256');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Disposition, X-Tandem-Sha256, Tandem-Model-Version');
    }
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
}
