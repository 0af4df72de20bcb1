import { pipeline } from 'node:stream/promises';
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { PredictResponse } from '../api/index.js';
import { DEPLOYMENT_KEY_PREFIX } from '../auth/tokens.js';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { TandemError } from '../errors.js';
import { callerFor, route } from '../http/route.js';
import { ALIAS, MODEL_REF } from '../models/models.search.js';
import { ARROW_STREAM, isArrowBody, isPredictBody, plainBody, readBody, wantsArrow } from './serving.http.js';
import { createServingService } from './serving.service.js';

const tags = ['serving'];

const settings = {
  maxBatchSize: z.number().int().min(1).max(100_000),
  maxWaitMs: z.number().int().min(0).max(10_000),
  queueLimit: z.number().int().min(1).max(1_000_000),
  timeoutMs: z.number().int().min(1).max(600_000),
  logSampleRate: z.number().min(0).max(1),
  logRetentionDays: z.number().int().min(1).max(3650),
};
const split = z
  .object({
    version: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31 - 1),
    percent: z.number().min(0).max(100),
  })
  .strict()
  .nullable();
const settingsBody = z
  .object({ ...settings, canary: split, shadow: split })
  .partial()
  .strict();
const deploymentParams = z.object({ id: z.uuid() });
const versionNumber = z.coerce
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

type PredictBody = { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> };

// The Arrow codec loads apache-arrow on first use: a server no one sends Arrow should not pay for it.
let arrowCodec: Promise<typeof import('./serving.arrow.js')> | undefined;
const arrow = () => (arrowCodec ??= import('./serving.arrow.js'));

/**
 * Model serving: deployments under /tandem/api/deployments, predictions at /tandem/serve (outside
 * /tandem/api, with their own body limit, so that applications get one stable URL per model).
 */
export async function servingFeature(ctx: AppContext): Promise<Feature> {
  const serving = ctx.shared(createServingService);
  const { openapi } = ctx;
  const api = Router();
  const pages = Router();

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/deployments',
      auth: 'user',
      summary: 'Serve an alias of a model (editors of the model); the deployment follows the alias as it moves',
      tags,
      status: 201,
      body: settingsBody.extend({ model: MODEL_REF, alias: ALIAS }),
    },
    async ({ caller, body }) => serving.create(caller, body),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/deployments',
      auth: 'user',
      summary: 'Deployments of models the caller can see, with what each serves',
      tags,
      query: pageQuery({}, { model: MODEL_REF.optional() }),
    },
    async ({ caller, query }) => serving.list(caller, { model: query.model }, query),
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/deployments/:id', auth: 'user', summary: 'A deployment and its status', tags, params: deploymentParams },
    async ({ caller, params }) => serving.get(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'patch',
      path: '/deployments/:id',
      auth: 'user',
      summary: 'Change batching, queue and timeout settings, and the canary and shadow splits (null removes one) (editors)',
      tags,
      params: deploymentParams,
      body: settingsBody,
    },
    async ({ caller, params, body }) => serving.update(caller, params.id, body),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/deployments/:id/traffic',
      auth: 'user',
      summary: 'The last minute’s requests per split and version in this server process: rate, errors, p50/p95 (viewers)',
      tags,
      params: deploymentParams,
    },
    async ({ caller, params }) => serving.traffic(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/deployments/:id/promote',
      auth: 'user',
      summary: 'Move the alias to the canary’s version and remove the canary (editors)',
      tags,
      params: deploymentParams,
    },
    async ({ caller, params }) => serving.promoteCanary(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/deployments/:id',
      auth: 'user',
      summary: 'Stop serving and delete the deployment and its keys',
      tags,
      params: deploymentParams,
    },
    async ({ caller, params }) => {
      await serving.remove(caller, params.id);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/deployments/:id/keys',
      auth: 'user',
      summary: 'Create an API key for applications (editors); the secret is answered only this once',
      tags,
      status: 201,
      params: deploymentParams,
      body: z.object({ name: z.string().min(1).max(200).optional() }).strict(),
    },
    async ({ caller, params, body }) => serving.createKey(caller, params.id, body.name),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/deployments/:id/keys',
      auth: 'user',
      summary: 'The deployment’s keys, without secrets (editors)',
      tags,
      params: deploymentParams,
    },
    async ({ caller, params }) => ({ items: await serving.listKeys(caller, params.id) }),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/deployments/:id/keys/:keyId',
      auth: 'user',
      summary: 'Revoke a key (editors)',
      tags,
      params: deploymentParams.extend({ keyId: z.uuid() }),
    },
    async ({ caller, params }) => {
      await serving.revokeKey(caller, params.id, params.keyId);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/deployments/:id/logs',
      auth: 'user',
      summary: 'The prediction log’s Parquet files (key, size, hour), newest hour first (editors)',
      tags,
      params: deploymentParams,
      query: pageQuery(),
    },
    async ({ caller, params, query }) => serving.logFiles(caller, params.id, query),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/deployments/:id/logs/file',
      auth: 'user',
      summary: 'Download one Parquet file of the prediction log, by a key that GET …/logs listed (editors)',
      tags,
      params: deploymentParams,
      query: z.object({ key: z.string().min(1).max(1024) }),
    },
    async ({ caller, params, query, res }) => {
      const { stream, size } = await serving.logFile(caller, params.id, query.key);
      res.status(200);
      res.setHeader('Content-Type', 'application/vnd.apache.parquet');
      res.setHeader('Content-Length', String(size));
      res.setHeader('Content-Disposition', `attachment; filename="${query.key.split('/').pop()}"`);
      await pipeline(stream, res);
    },
  );

  const aliasParams = z.object({ model: MODEL_REF, alias: ALIAS });
  const limit = ctx.config.serveMaxBodyBytes;
  // Parameter pairs already checked; bounded, as callers choose them.
  const checkedParams = new Set<string>();
  // The predict route's fast path (serving.http.ts): the body read and parsed here, no zod for a
  // well-formed body, the answer written without res.json's ETag hashing. Whatever it does not
  // take falls through to the general path below, with the body it read.
  pages.post('/tandem/serve/:model/:alias/predict', (req, res, next) => {
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
          const { model, alias } = req.params as { model: string; alias: string };
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
          const caller = callerFor('public', req.principal);
          const answer = await serving.predict(await serving.endpoint({ principal: caller, key: keyOf(req) }, model, { alias }), body);
          const json = JSON.stringify(answer);
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
          res.end(json);
        },
        (error: unknown) => next(error),
      )
      .catch((error: unknown) => next(error));
  });

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
    async ({ caller, req, res, params, body }) =>
      answer(
        req,
        res,
        await serving.predict(
          await serving.endpoint({ principal: caller, key: keyOf(req) }, params.model, { alias: params.alias }),
          body as PredictBody,
        ),
      ),
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
      answer(
        req,
        res,
        await serving.predict(
          await serving.endpoint({ principal: caller, key: keyOf(req) }, params.model, { version: params.version }),
          body as PredictBody,
        ),
      ),
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
      const { runner } = await serving.endpoint({ principal: caller, key: keyOf(req) }, params.model, { alias: params.alias });
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

  await serving.start();
  return {
    name: 'serving',
    api,
    pages,
    close: () => serving.close(),
  };
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

/** A deployment key, when the caller sent one instead of a user token. */
function keyOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  return token?.startsWith(DEPLOYMENT_KEY_PREFIX) ? token : undefined;
}
