import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import type { PredictResponse } from '../api/index.js';
import type { Principal } from '../auth/principal.js';
import { DEPLOYMENT_KEY_PREFIX } from '../auth/tokens.js';
import { TandemError } from '../errors.js';
import type { OpenApiRegistry } from '../http/openapi.js';
import { callerFor, route } from '../http/route.js';
import { ALIAS, MODEL_REF } from '../models/models.search.js';
import { ARROW_STREAM, isArrowBody, isPredictBody, plainBody, readBody, wantsArrow } from './serving.http.js';
import type { Endpoint, PredictBody } from './serving.plane.js';
import type { Credentials } from './serving.service.js';

/** What the predict routes need: the endpoint a caller may use, and a prediction on it (the server's ServingService, or a replica's). */
export interface Predictor {
  endpoint(who: Credentials, modelRef: string, target: { alias: string } | { version: number }): Promise<Endpoint>;
  predict(endpoint: Endpoint, body: PredictBody): Promise<PredictResponse>;
}

const tags = ['serving'];

export const versionNumber = z.coerce
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);

// Values are checked against the model's inputs once the version is known (serving.model.ts).
const predictBody = z
  .object({
    rows: z.array(z.record(z.string(), z.unknown())).optional(),
    columns: z.record(z.string(), z.array(z.unknown())).optional(),
  })
  .strict()
  .refine(
    (b) => (b.rows === undefined) !== (b.columns === undefined),
    'send exactly one of rows (one object per row) or columns (one array per field)',
  );

// The Arrow codec loads apache-arrow on first use: a server no one sends Arrow should not pay for it.
let arrowCodec: Promise<typeof import('./serving.arrow.js')> | undefined;
const arrow = () => (arrowCodec ??= import('./serving.arrow.js'));

/**
 * The routes under /tandem/serve: predict on an alias or a version (JSON rows or columns, or
 * Arrow IPC, in and out) and readiness, with their own body limit; served by the server and by
 * replicas alike.
 */
export function predictRoutes(pages: Router, openapi: OpenApiRegistry, predictor: Predictor, limit: number): RequestHandler {
  const aliasParams = z.object({ model: MODEL_REF, alias: ALIAS });
  // Parameter pairs already checked; bounded, as callers choose them.
  const checkedParams = new Set<string>();
  // The predict route's fast path (serving.http.ts), mounted ahead of every router (it is the one
  // path called thousands of times a second): the body read and parsed here, no zod for a
  // well-formed body, the answer written without res.json's ETag hashing. Whatever it does not
  // take falls through to the general path below, with the body it read.
  const fastPredict: RequestHandler = (req, res, next) => {
    const target = req.method === 'POST' ? aliasPredictPath(req.url) : undefined;
    if (!target) return next();
    const length = plainBody(req, limit);
    if (length === undefined || wantsArrow(req)) return next();
    readBody(req, length)
      .then(
        async (text) => {
          let body: unknown;
          try {
            body = text.length === 0 ? {} : JSON.parse(text);
          } catch (error) {
            // As body-parser reports it (the error handler maps it to a 400).
            return next(Object.assign(new SyntaxError((error as Error).message), { type: 'entity.parse.failed', status: 400 }));
          }
          const { model, alias } = target;
          // For the HTTP metrics, which name a request by its route.
          res.locals.route = '/tandem/serve/:model/:alias/predict';
          const pair = `${model}\u0000${alias}`;
          if (!checkedParams.has(pair)) {
            if (!aliasParams.safeParse({ model, alias }).success) {
              req.body = body;
              return next();
            }
            if (checkedParams.size > 10_000) checkedParams.clear();
            checkedParams.add(pair);
          }
          if (!isPredictBody(body)) {
            req.body = body;
            return next();
          }
          const answer = await predictor.predict(
            await predictor.endpoint(credentialsOf(req, callerFor('public', req.principal)), model, { alias }),
            body,
          );
          const json = JSON.stringify(answer);
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
          res.end(json);
        },
        (error: unknown) => next(error),
      )
      .catch((error: unknown) => next(error));
  };

  // Arrow IPC bodies are read as bytes and decoded to the columns a JSON body would send, so that
  // the schema and the model check both alike. Any other content type is read as JSON (curl -d
  // sends form encoding by default). Both with the serving limit.
  pages.use('/tandem/serve', express.raw({ limit, type: isArrowBody }), async (req, _res, next) => {
    if (isArrowBody(req) && Buffer.isBuffer(req.body)) req.body = { columns: (await arrow()).columnsFromArrow(req.body) };
    next();
  });
  pages.use('/tandem/serve', express.json({ limit, type: (req) => !isArrowBody(req) }));
  route(
    pages,
    openapi,
    {
      method: 'post',
      path: '/tandem/serve/:model/:alias/predict',
      auth: 'public',
      summary:
        'Predict with the version the alias serves: {"rows": [...]}, {"columns": {...}} or an Arrow IPC body; Accept: application/vnd.apache.arrow.stream answers Arrow (viewer token or deployment key)',
      tags,
      params: aliasParams,
      body: predictBody,
    },
    async ({ caller, req, res, params, body }) => predictOn(req, res, caller, params.model, { alias: params.alias }, body as PredictBody),
  );

  route(
    pages,
    openapi,
    {
      method: 'post',
      path: '/tandem/serve/:model/versions/:version/predict',
      auth: 'public',
      summary: 'Predict with one version of a deployed model, in and out as the alias route (viewer token; loaded on first use)',
      tags,
      params: z.object({ model: MODEL_REF, version: versionNumber }),
      body: predictBody,
    },
    async ({ caller, req, res, params, body }) =>
      predictOn(req, res, caller, params.model, { version: params.version }, body as PredictBody),
  );

  route(
    pages,
    openapi,
    {
      method: 'get',
      path: '/tandem/serve/:model/:alias/ready',
      auth: 'public',
      summary: 'Readiness: 200 when a version is loaded, else 503 (viewer token or deployment key)',
      tags,
      params: aliasParams,
    },
    async ({ caller, req, params }) => {
      const { runner } = await predictor.endpoint(credentialsOf(req, caller), params.model, { alias: params.alias });
      const version = runner.servedVersion;
      if (version === null) {
        const status = runner.status();
        throw new TandemError(
          'UNAVAILABLE',
          status.state === 'loading' ? `version ${status.loadingVersion} is loading` : 'no version is loaded',
          {
            details: { ready: false, version: null, status },
          },
        );
      }
      return { ready: true, version };
    },
  );

  // JSON for clients of the serve routes, not Express's HTML page.
  pages.use('/tandem/serve', (req) => {
    throw new TandemError(
      'NOT_FOUND',
      `no serving route ${req.method} ${req.originalUrl.split('?')[0]}: POST /tandem/serve/<model>/<alias>/predict, GET …/ready`,
    );
  });

  return fastPredict;

  /** Predicts on the target for whoever called, answering JSON or Arrow. */
  async function predictOn(
    req: Request,
    res: Response,
    caller: Principal | undefined,
    model: string,
    target: { alias: string } | { version: number },
    body: PredictBody,
  ): Promise<PredictResponse | undefined> {
    return answer(req, res, await predictor.predict(await predictor.endpoint(credentialsOf(req, caller), model, target), body));
  }
}

const ALIAS_PREDICT = /^\/tandem\/serve\/([^/?]+)\/([^/?]+)\/predict(?:\?|$)/;

/** The model and alias of a `POST /tandem/serve/:model/:alias/predict` URL, decoded as Express decodes params; undefined for any other. */
function aliasPredictPath(url: string): { model: string; alias: string } | undefined {
  const match = ALIAS_PREDICT.exec(url);
  if (!match) return undefined;
  try {
    return { model: decodeURIComponent(match[1]!), alias: decodeURIComponent(match[2]!) };
  } catch {
    return undefined; // malformed escapes: the router answers them
  }
}

/** The answer for route() to send as JSON, or written here as an Arrow IPC stream when the caller accepts one. */
async function answer(req: Request, res: Response, predictions: PredictResponse): Promise<PredictResponse | undefined> {
  if (!wantsArrow(req)) return predictions;
  const bytes = (await arrow()).arrowFromPredictions(predictions);
  // The version, which JSON answers beside the predictions, goes in a header.
  res.writeHead(200, {
    'content-type': ARROW_STREAM,
    'content-length': bytes.byteLength,
    'tandem-model-version': String(predictions.version),
  });
  res.end(bytes);
  return undefined;
}

/**
 * Who calls: the person the server signed in, or a deployment key; and the bearer token as sent,
 * for a replica, which signs no one in but asks the server about the token.
 */
function credentialsOf(req: Request, principal: Principal | undefined): Credentials {
  const header = req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() || undefined : undefined;
  return { principal, key: token?.startsWith(DEPLOYMENT_KEY_PREFIX) ? token : undefined, token };
}
