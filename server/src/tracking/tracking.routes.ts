import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { z } from 'zod';
import { grantRoutes } from '../auth/grants.routes.js';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { TandemError } from '../errors.js';
import { keptJsonList, objectWithRaw } from '../http/raw-json.js';
import { route } from '../http/route.js';
import { publicVersion } from '../models/models.routes.js';
import { MODEL_REF } from '../models/models.search.js';
import { createModelsService } from '../models/models.service.js';
import { requestedRange } from '../models/range.js';
import { mlflowRouter } from './mlflow.routes.js';
import { EXPERIMENT_VOCABULARY, RUN_VOCABULARY } from './tracking.filter.js';
import { streamExperimentEvents } from './tracking.events.js';
import {
  DATASET_INPUT,
  EXPERIMENT_ID,
  EXPERIMENT_NAME,
  KEY,
  many,
  METRIC_VALUE,
  PARAM_VALUE,
  parseSearch,
  RUN_ID,
  RUN_NAME,
  SOURCE_TEXT,
  STEP,
  TAG_VALUE,
  TIMESTAMP_MS,
  VIEW,
} from './tracking.schemas.js';
import { createTrackingService, type Batch } from './tracking.service.js';
import type { DatasetInput } from '../api/index.js';
import type { Run } from './tracking.store.js';

const tags = ['tracking'];
const REAP_EVERY_MS = 10_000;

const experimentParams = z.object({ id: EXPERIMENT_ID });
const runParams = z.object({ id: RUN_ID });
const segments = z
  .array(z.string())
  .max(64)
  .transform((s) => s.join('/'));

const tagMap = z.record(KEY, TAG_VALUE).refine((t) => Object.keys(t).length <= 1000, 'at most 1000 tags');
const paramMap = z
  .record(KEY, z.union([PARAM_VALUE, z.number(), z.boolean()]))
  .refine((p) => Object.keys(p).length <= 1000, 'at most 1000 params');
const inputs = z.array(DATASET_INPUT).max(1000);
/** Tags to set (text) or remove (null). */
const tagChanges = z.record(KEY, TAG_VALUE.nullable()).refine((t) => Object.keys(t).length <= 1000, 'at most 1000 tags');

const logBody = z.object({
  metrics: z
    .array(z.object({ key: KEY, value: METRIC_VALUE, step: STEP.optional(), timestamp: TIMESTAMP_MS.optional() }))
    .max(10_000)
    .optional(),
  params: paramMap.optional(),
  tags: tagChanges.optional(),
  inputs: inputs.optional(),
});

/** A Tandem log call as the service takes it: params as text, tags split into set and removed. */
function toBatch(body: {
  params?: Record<string, string | number | boolean>;
  tags?: Record<string, string | null>;
  inputs?: z.output<typeof inputs>;
  metrics?: Batch['metrics'];
}): Batch {
  const tagEntries = Object.entries(body.tags ?? {});
  return {
    params: Object.entries(body.params ?? {}).map(([k, v]) => [k, String(v)]),
    metrics: body.metrics,
    tags: tagEntries.filter((e): e is [string, string] => e[1] !== null),
    removeTags: tagEntries.filter(([, v]) => v === null).map(([k]) => k),
    inputs: body.inputs?.map(datasetInput),
  };
}

const datasetInput = (i: z.output<typeof DATASET_INPUT>): DatasetInput => ({
  name: i.name,
  digest: i.digest,
  sourceType: i.sourceType ?? '',
  source: i.source ?? '',
  schema: i.schema ?? null,
  profile: i.profile ?? null,
  context: i.context ?? '',
});

/** Searched runs as JSON, each serialized once while the store keeps it. */
const runsJson = keptJsonList<Run>((run) => run);

/** Experiments and runs under /tandem/api, the MLflow-compatible API under /tandem/mlflow, and the reaper of silent runs. */
export function trackingFeature(ctx: AppContext): Feature {
  const tracking = ctx.shared(createTrackingService);
  const models = ctx.shared(createModelsService);
  const api = Router();
  const { openapi } = ctx;

  // ---- experiments

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/experiments',
      auth: 'user',
      summary: 'Create an experiment; the caller becomes its owner (names are unique per creator)',
      tags,
      status: 201,
      body: z.object({ name: EXPERIMENT_NAME, tags: tagMap.optional() }),
    },
    async ({ caller, body }) => tracking.createExperiment(caller, body),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/experiments',
      auth: 'user',
      summary: 'Search the experiments the caller can see (filter: name, creation_time, last_update_time, tags.<key>)',
      tags,
      query: pageQuery(
        { maxOffset: 1_000_000 },
        { filter: z.string().max(10_000).optional(), orderBy: many(z.string().max(500), 10), view: VIEW.default('active') },
      ),
    },
    async ({ caller, query }) => {
      const parsed = parseSearch(EXPERIMENT_VOCABULARY, query.filter, query.orderBy, { filter: 'query.filter', orderBy: 'query.orderBy' });
      return tracking.searchExperiments(caller, {
        ...parsed,
        view: query.view,
        scope: undefined,
        limit: query.limit,
        offset: query.offset,
      });
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/experiments/:id',
      auth: 'user',
      summary: 'An experiment with the caller’s role',
      tags,
      params: experimentParams,
    },
    async ({ caller, params }) => tracking.experiment(caller, params.id, 'viewer'),
  );

  route(
    api,
    openapi,
    {
      method: 'patch',
      path: '/experiments/:id',
      auth: 'user',
      summary: 'Rename, and set or remove (null) tags (editors)',
      tags,
      params: experimentParams,
      body: z.object({
        name: EXPERIMENT_NAME.optional(),
        tags: tagChanges.optional(),
      }),
    },
    async ({ caller, params, body }) => tracking.updateExperiment(caller, params.id, body),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/experiments/:id',
      auth: 'user',
      summary: 'Delete an experiment, restorably (owners)',
      tags,
      params: experimentParams,
    },
    async ({ caller, params }) => tracking.setExperimentDeleted(caller, params.id, true),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/experiments/:id/restore',
      auth: 'user',
      summary: 'Restore a deleted experiment (owners)',
      tags,
      params: experimentParams,
    },
    async ({ caller, params }) => {
      await tracking.setExperimentDeleted(caller, params.id, false);
      return tracking.experiment(caller, params.id, 'viewer');
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/experiments/:id/events',
      auth: 'user',
      summary: 'Server-sent events about the experiment and its runs, for its viewers (token via ?token=)',
      tags,
      params: experimentParams,
    },
    ({ caller, req, res, params }) => streamExperimentEvents({ tracking, auth: ctx.auth }, caller, params.id, req, res),
  );

  grantRoutes(api, openapi, {
    path: '/experiments/:id',
    params: experimentParams,
    tags,
    noun: 'experiment',
    list: (who, params) => tracking.listGrants(who, params.id),
    share: (who, params, to, role) => tracking.share(who, params.id, to, role),
  });

  // ---- runs

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/runs',
      auth: 'user',
      summary: 'Search runs with an MLflow-style filter and orderings (no total: one page at a time)',
      tags,
      query: pageQuery(
        { maxLimit: 1000, maxOffset: 1_000_000 },
        {
          experimentId: many(EXPERIMENT_ID),
          filter: z.string().max(10_000).optional(),
          orderBy: many(z.string().max(500), 10),
          view: VIEW.default('active'),
        },
      ),
    },
    async ({ caller, query }) => {
      const parsed = parseSearch(RUN_VOCABULARY, query.filter, query.orderBy, { filter: 'query.filter', orderBy: 'query.orderBy' });
      const page = await tracking.searchRuns(caller, {
        ...parsed,
        experimentIds: query.experimentId.length > 0 ? query.experimentId : undefined,
        view: query.view,
        limit: query.limit,
        offset: query.offset,
      });
      return objectWithRaw({ items: runsJson(page.items) }, { nextPageToken: page.nextPageToken });
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/runs',
      auth: 'user',
      summary: 'Start a run in an experiment (editors); params, tags and inputs may come along',
      tags,
      status: 201,
      body: z.object({
        experimentId: EXPERIMENT_ID,
        name: RUN_NAME.optional(),
        parentRunId: RUN_ID.optional(),
        startTime: z.iso.datetime({ offset: true }).optional(),
        notebook: SOURCE_TEXT.optional(),
        cell: SOURCE_TEXT.optional(),
        notebookVersion: SOURCE_TEXT.optional(),
        jobId: SOURCE_TEXT.optional(),
        heartbeatTimeoutSeconds: z.number().int().min(10).max(86_400).optional(),
        tags: tagMap.optional(),
        params: paramMap.optional(),
        inputs: inputs.optional(),
      }),
    },
    async ({ caller, body }) => {
      const { tags: runTags, params, inputs: runInputs, startTime, ...run } = body;
      return tracking.createRun(caller, {
        ...run,
        startTime: startTime ? new Date(startTime) : undefined,
        batch: toBatch({ tags: runTags, params, inputs: runInputs }),
      });
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/runs/:id',
      auth: 'user',
      summary: 'A run with its params, tags, latest metrics and inputs',
      tags,
      params: runParams,
    },
    async ({ caller, params }) => tracking.getRun(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'patch',
      path: '/runs/:id',
      auth: 'user',
      summary: 'Rename a run or set its status (a final status ends it now unless endTime is given)',
      tags,
      params: runParams,
      body: z.object({
        name: RUN_NAME.optional(),
        status: z.enum(['RUNNING', 'FINISHED', 'FAILED', 'KILLED']).optional(),
        endTime: z.iso.datetime({ offset: true }).optional(),
      }),
    },
    async ({ caller, params, body }) =>
      tracking.updateRun(caller, params.id, { ...body, endTime: body.endTime ? new Date(body.endTime) : undefined }),
  );

  route(
    api,
    openapi,
    { method: 'delete', path: '/runs/:id', auth: 'user', summary: 'Delete a run, restorably (editors)', tags, params: runParams },
    async ({ caller, params }) => tracking.setRunDeleted(caller, params.id, true),
  );

  route(
    api,
    openapi,
    { method: 'post', path: '/runs/:id/restore', auth: 'user', summary: 'Restore a deleted run (editors)', tags, params: runParams },
    async ({ caller, params }) => {
      await tracking.setRunDeleted(caller, params.id, false);
      return tracking.getRun(caller, params.id);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/runs/:id/log',
      auth: 'user',
      summary: 'Log params, metric points, tags and inputs atomically (also a heartbeat); 409 when a param would change',
      tags,
      params: runParams,
      body: logBody,
    },
    async ({ caller, params, body }) => tracking.log(caller, params.id, toBatch(body)),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/runs/:id/heartbeat',
      auth: 'user',
      summary: 'The writer is alive: keeps a running run from being marked KILLED',
      tags,
      params: runParams,
    },
    async ({ caller, params }) => tracking.heartbeat(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/runs/:id/metrics/*key',
      auth: 'user',
      summary: 'A metric’s series in step order, paged',
      tags,
      params: runParams.extend({ key: segments.pipe(KEY) }),
      query: pageQuery({ defaultLimit: 1000, maxLimit: 25_000 }),
    },
    async ({ caller, params, query }) => tracking.metricHistory(caller, params.id, params.key, query),
  );

  // ---- artifacts

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/runs/:id/artifacts',
      auth: 'user',
      summary: 'The run’s artifact files under a path prefix, in path order',
      tags,
      params: runParams,
      query: pageQuery({ defaultLimit: 200, maxLimit: 1000 }, { prefix: z.string().max(1024).default('') }),
    },
    async ({ caller, params, query }) => tracking.listArtifacts(caller, params.id, query.prefix, query),
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/runs/:id/artifacts/*path',
      auth: 'user',
      summary: 'Stream one artifact file (raw body; optional X-Tandem-Sha256 is verified)',
      tags,
      params: runParams.extend({ path: segments }),
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
        const { path, size, sha256: hash, createdAt } = await tracking.uploadArtifact(caller, params.id, params.path, req, sha256.data);
        return { path, size, sha256: hash, createdAt };
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
      method: 'get',
      path: '/runs/:id/artifacts/*path',
      auth: 'user',
      summary: 'Download an artifact file (supports Range)',
      tags,
      params: runParams.extend({ path: segments }),
    },
    async ({ caller, req, res, params }) => {
      const { file, open } = await tracking.openArtifact(caller, params.id, params.path);
      const range = requestedRange(req, file.size);
      const stream = await open(range);
      res.status(range ? 206 : 200);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('ETag', `"${file.sha256}"`);
      res.setHeader('X-Tandem-Sha256', file.sha256);
      res.setHeader('Content-Disposition', `attachment; filename="${encodeURIComponent(file.path.split('/').pop()!)}"`);
      res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : file.size));
      if (range) res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`);
      await pipeline(stream, res);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/runs/:id/register',
      auth: 'user',
      summary: 'Register an artifact file or folder of the run as a new model version (viewers of the run, editors of the model)',
      tags,
      status: 201,
      params: runParams,
      body: z.object({ model: MODEL_REF, artifact: z.string().min(1).max(1024) }),
    },
    async ({ caller, params, body }) => publicVersion(await models.registerFromRun(caller, params.id, body)),
  );

  const reaper = setInterval(() => {
    tracking.reapSilent().catch((error: unknown) => ctx.log.warn('marking silent runs killed failed', { error: String(error) }));
  }, REAP_EVERY_MS).unref();

  return {
    name: 'tracking',
    api,
    pages: mlflowRouter(ctx, tracking),
    async close() {
      clearInterval(reaper);
    },
  };
}
