import { pipeline } from 'node:stream/promises';
import type { Router } from 'express';
import { z } from 'zod';
import { TandemError } from '../errors.js';
import type { OpenApiRegistry } from '../http/openapi.js';
import { route } from '../http/route.js';
import { ALIAS, MODEL_REF } from '../models/models.search.js';
import { versionNumber } from './serving.predict.routes.js';
import type { ServingService } from './serving.service.js';

const tags = ['serving replicas'];
const modelVersion = z.object({ modelId: z.uuid(), version: versionNumber });

/**
 * The replica API, for `tandem serve --server` processes, with a worker token: a replica serves
 * the deployments whose model the token's owner may view, loads their versions from here, asks
 * here whether each caller may predict, and sends its prediction log files here.
 */
export function replicaRoutes(api: Router, openapi: OpenApiRegistry, serving: ServingService): void {
  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/serving/replica/deployments',
      auth: 'worker',
      summary: 'The deployments a replica serves: those of models the worker token’s owner may view (worker tokens)',
      tags,
      query: z.object({ modelId: z.uuid().optional() }),
    },
    async ({ caller, query }) => serving.replicaDeployments(caller, query.modelId),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/serving/replica/deployments/:id',
      auth: 'worker',
      summary: 'One deployment, as a replica serves it (worker tokens)',
      tags,
      params: z.object({ id: z.uuid() }),
    },
    async ({ caller, params }) => serving.replicaDeployment(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/serving/replica/models/:modelId/versions/:version',
      auth: 'worker',
      summary: 'A version as serving loads it: signature, and the ONNX file’s size and sha256 (worker tokens)',
      tags,
      params: modelVersion,
    },
    async ({ caller, params }) => serving.replicaVersion(caller, params.modelId, params.version),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/serving/replica/models/:modelId/versions/:version/model',
      auth: 'worker',
      summary: 'The version’s ONNX file (worker tokens)',
      tags,
      params: modelVersion,
    },
    async ({ caller, params, res }) => {
      const { stream, size } = await serving.replicaModel(caller, params.modelId, params.version);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(size));
      await pipeline(stream, res);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/serving/replica/authorize',
      auth: 'worker',
      summary:
        'May whoever sent `token` predict on the model’s alias or version? 200 with the model (and deployment), else the refusal the predict route would answer (worker tokens)',
      tags,
      body: z
        .object({ token: z.string().min(1).max(4096), model: MODEL_REF, alias: ALIAS.optional(), version: versionNumber.optional() })
        .strict()
        .refine((b) => (b.alias === undefined) !== (b.version === undefined), 'send exactly one of alias or version'),
    },
    async ({ body }) =>
      serving.authorizeToken(body.token, body.model, body.alias !== undefined ? { alias: body.alias } : { version: body.version! }),
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/serving/replica/deployments/:id/logs',
      auth: 'worker',
      summary: 'Store one Parquet file of the deployment’s prediction log that a replica wrote (worker tokens of the model’s editors)',
      tags,
      params: z.object({ id: z.uuid() }),
      query: z.object({ key: z.string().min(1).max(1024) }),
      rawBody: 'application/vnd.apache.parquet',
    },
    async ({ caller, req, res, params, query }) => {
      if (req.body !== undefined)
        throw new TandemError('INVALID_ARGUMENT', 'send the file with Content-Type: application/vnd.apache.parquet');
      try {
        await serving.replicaLog(caller, params.id, query.key, req);
      } catch (error) {
        if (!req.complete) res.setHeader('Connection', 'close');
        throw error;
      }
    },
  );
}
