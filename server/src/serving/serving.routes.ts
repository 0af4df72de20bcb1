import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { route } from '../http/route.js';
import { ALIAS, MODEL_REF } from '../models/models.search.js';
import { predictRoutes } from './serving.predict.routes.js';
import { replicaRoutes } from './serving.replica.routes.js';
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

  const first = predictRoutes(pages, openapi, serving, ctx.config.serveMaxBodyBytes);
  replicaRoutes(api, openapi, serving);

  await serving.start();
  return {
    name: 'serving',
    api,
    pages,
    first,
    close: () => serving.close(),
  };
}
