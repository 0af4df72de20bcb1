import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { grantRoutes } from '../auth/grants.routes.js';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type { TandemEvent } from '../events.js';
import { openEventStream } from '../http/event-stream.js';
import { route } from '../http/route.js';
import { RUN_ID } from '../tracking/tracking.schemas.js';
import { ALIAS, MODEL_NAME, MODEL_REF, searchQuery, TAG_KEY } from './models.search.js';
import { createModelsService, type ModelsService } from './models.service.js';
import type { ModelVersion } from './models.store.js';
import { requestedRange } from './range.js';

const tags = ['models'];
const SHORT = z.string().max(1000);
// `owner%2Fname` arrives decoded as `owner/name`.
const modelParams = z.object({ name: MODEL_REF });
const versionParams = modelParams.extend({
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1),
});
const uploadParams = modelParams.extend({ uploadId: z.uuid() });
const filePath = z
  .array(z.string())
  .max(16)
  .transform((segments) => segments.join('/'));

const tagMap = z.record(TAG_KEY, z.string().max(1000)).refine((t) => Object.keys(t).length <= 100, 'at most 100 tags');
const description = z.string().max(100_000, 'at most 100000 characters');
const columnSchema = z.object({
  name: z.string().min(1).max(256),
  type: z.string().min(1).max(256),
  shape: z.array(z.number().int().min(-1)).max(16).optional(),
});

const newVersion = z.object({
  description: description.optional(),
  params: z
    .record(z.string().max(256), z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]))
    .refine((p) => Object.keys(p).length <= 500, 'at most 500 params')
    .optional(),
  metrics: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$/, 'metric names: letters, digits, _ . - / (max 128)'), z.number().finite())
    .refine((m) => Object.keys(m).length <= 500, 'at most 500 metrics')
    .optional(),
  signature: z.object({ inputs: z.array(columnSchema).max(10_000), outputs: z.array(columnSchema).max(10_000) }).optional(),
  lineage: z
    .object({ notebook: SHORT, jobId: SHORT, datasetFingerprint: SHORT, author: SHORT, source: SHORT })
    .partial()
    .strict()
    .optional(),
  run: RUN_ID.optional(),
  createModel: z.boolean().optional(),
});

/** The model registry API: models, versions and their files, aliases, tags, sharing, live events. */
export function modelsFeature(ctx: AppContext): Feature {
  const models = ctx.shared(createModelsService);
  const api = Router();
  const { openapi } = ctx;

  route(
    api,
    openapi,
    { method: 'get', path: '/models', auth: 'user', summary: 'Search models the caller can see', tags, query: searchQuery },
    async ({ caller, query }) => models.search(caller, query),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/models',
      auth: 'user',
      summary: 'Register a new model in the caller’s namespace; the caller becomes its owner',
      tags,
      status: 201,
      body: z.object({ name: MODEL_NAME, description: description.optional(), tags: tagMap.optional() }),
    },
    async ({ caller, body }) => models.createModel(caller, body),
  );

  // Declared before /models/:name so that "events" is not taken for a model name.
  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/models/events',
      auth: 'user',
      summary: 'Server-sent events about models the caller can see (token via ?token=)',
      tags,
    },
    ({ caller, req, res }) => streamEvents(models, caller, req, res),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/models/:name',
      auth: 'user',
      summary: 'A model with its aliases and the caller’s role',
      tags,
      params: modelParams,
    },
    async ({ caller, params }) => models.getModel(caller, params.name),
  );

  route(
    api,
    openapi,
    {
      method: 'patch',
      path: '/models/:name',
      auth: 'user',
      summary: 'Edit the model card (markdown description) or replace the tags',
      tags,
      params: modelParams,
      body: z.object({ description: description.optional(), tags: tagMap.optional() }),
    },
    async ({ caller, params, body }) => models.updateModel(caller, params.name, body),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/models/:name',
      auth: 'user',
      summary: 'Delete a model, its versions and files (owners)',
      tags,
      params: modelParams,
    },
    async ({ caller, params }) => {
      await models.deleteModel(caller, params.name);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/models/:name/tags/:key',
      auth: 'user',
      summary: 'Set one tag',
      tags,
      params: modelParams.extend({ key: TAG_KEY }),
      body: z.object({ value: z.string().max(1000) }),
    },
    async ({ caller, params, body }) => models.setTag(caller, params.name, params.key, body.value),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/models/:name/tags/:key',
      auth: 'user',
      summary: 'Remove one tag',
      tags,
      params: modelParams.extend({ key: TAG_KEY }),
    },
    async ({ caller, params }) => models.setTag(caller, params.name, params.key, undefined),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/models/:name/versions',
      auth: 'user',
      summary: 'Ready versions, newest first',
      tags,
      params: modelParams,
      query: pageQuery(),
    },
    async ({ caller, params, query }) => models.listVersions(caller, params.name, query),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/models/:name/versions/:version',
      auth: 'user',
      summary: 'One version with files, metrics, signature, lineage',
      tags,
      params: versionParams,
    },
    async ({ caller, params }) => publicVersion(await models.getVersion(caller, params.name, { version: params.version })),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/models/:name/versions/:version/files/*path',
      auth: 'user',
      summary: 'Download a file of a version (supports Range)',
      tags,
      params: versionParams.extend({ path: filePath }),
    },
    async ({ caller, req, res, params }) => {
      const { file } = await models.findFile(caller, params.name, { version: params.version }, params.path);
      const range = requestedRange(req, file.size);
      const stream = await models.readFile(file, range);
      res.status(range ? 206 : 200);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('ETag', `"${file.sha256}"`);
      res.setHeader('X-Tandem-Sha256', file.sha256);
      res.setHeader('Content-Disposition', `attachment; filename="${file.path.split('/').pop()}"`);
      res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : file.size));
      if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`);
      await pipeline(stream, res);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/models/:name/aliases/:alias',
      auth: 'user',
      summary: 'The version an alias points at',
      tags,
      params: modelParams.extend({ alias: ALIAS }),
    },
    async ({ caller, params }) => publicVersion(await models.getVersion(caller, params.name, { alias: params.alias })),
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/models/:name/aliases/:alias',
      auth: 'user',
      summary: 'Point an alias at a version (moves it if set)',
      tags,
      params: modelParams.extend({ alias: ALIAS }),
      body: z.object({ version: z.number().int().min(1) }),
    },
    async ({ caller, params, body }) => models.setAlias(caller, params.name, params.alias, body.version),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/models/:name/aliases/:alias',
      auth: 'user',
      summary: 'Remove an alias',
      tags,
      params: modelParams.extend({ alias: ALIAS }),
    },
    async ({ caller, params }) => models.deleteAlias(caller, params.name, params.alias),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/models/:name/uploads',
      auth: 'user',
      summary: 'Start a version upload (pending until committed); createModel registers the model too',
      tags,
      status: 201,
      params: modelParams,
      body: newVersion,
    },
    async ({ caller, params, body }) => {
      const pending = await models.startVersion(caller, params.name, body);
      return { uploadId: pending.id, status: pending.status, model: pending.model };
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/models/:name/uploads/:uploadId/files/*path',
      auth: 'user',
      summary: 'Stream one file of a pending version (raw body; optional X-Tandem-Sha256 is verified)',
      tags,
      params: uploadParams.extend({ path: filePath }),
      rawBody: 'application/octet-stream',
    },
    async ({ caller, req, res, params }) => {
      const sha256 = z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/)
        .optional()
        .safeParse(req.headers['x-tandem-sha256']);
      if (!sha256.success) throw new TandemError('INVALID_ARGUMENT', 'header X-Tandem-Sha256: expected 64 hex digits');
      // A JSON content type makes the JSON parser consume the bytes before they reach the store.
      if (req.body !== undefined) throw new TandemError('INVALID_ARGUMENT', 'send file bytes with Content-Type: application/octet-stream');
      try {
        const {
          path,
          size,
          sha256: hash,
        } = await models.uploadFile(caller, params.name, params.uploadId, { path: params.path, body: req, sha256: sha256.data });
        return { path, size, sha256: hash };
      } catch (error) {
        // The client may still be sending: answer and close rather than reuse a half-read connection.
        if (!req.complete) res.setHeader('Connection', 'close');
        throw error;
      }
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/models/:name/uploads/:uploadId/commit',
      auth: 'user',
      summary: 'Publish the upload as the next version',
      tags,
      status: 201,
      params: uploadParams,
    },
    async ({ caller, params }) => publicVersion(await models.commitVersion(caller, params.name, params.uploadId)),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/models/:name/uploads/:uploadId',
      auth: 'user',
      summary: 'Abandon an upload and delete its files',
      tags,
      params: uploadParams,
    },
    async ({ caller, params }) => {
      await models.abortVersion(caller, params.name, params.uploadId);
    },
  );

  grantRoutes(api, openapi, {
    path: '/models/:name',
    params: modelParams,
    tags,
    noun: 'model',
    list: (who, params) => models.listGrants(who, params.name),
    share: (who, params, to, role) => models.share(who, params.name, to, role),
  });

  const sweep = setInterval(
    () => {
      models.sweepPending().catch((error: unknown) => ctx.log.warn('sweeping abandoned model uploads failed', { error: String(error) }));
    },
    60 * 60 * 1000,
  ).unref();

  return {
    name: 'models',
    api,
    async close() {
      clearInterval(sweep);
    },
  };
}

/** Object-store keys are internal: clients address files by path. */
export function publicVersion(version: ModelVersion) {
  return { ...version, files: version.files.map(({ path, size, sha256 }) => ({ path, size, sha256 })) };
}

/** Relays model events the caller may see until the client disconnects. */
function streamEvents(models: ModelsService, who: Principal, req: Request, res: Response): Promise<void> {
  const stream = openEventStream(req, res);
  const send = async (event: TandemEvent) => {
    const { audience, ...data } = event.data ?? {};
    const visible = audience
      ? who.isAdmin ||
        (audience as { type: string; id: string }[]).some((p) => (p.type === 'user' ? p.id === who.id : who.teamIds.includes(p.id)))
      : await models.canSee(who, event.resourceId);
    if (visible) stream.send('model', { type: event.type, at: event.at, ...data });
  };
  const unsubscribe = models.subscribe((event) => {
    send(event).catch(() => undefined);
  });
  return stream.ended.then(unsubscribe);
}
