import { pipeline } from 'node:stream/promises';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { decodePageToken } from '../db/paging.js';
import { TandemError, type ErrorCode } from '../errors.js';
import { keptJsonList, objectWithRaw, sendJson } from '../http/raw-json.js';
import { callerFor } from '../http/route.js';
import { parseInput } from '../http/validate.js';
import type { DatasetInput, ViewType } from '../api/index.js';
import { EXPERIMENT_VOCABULARY, RUN_TAG_COLUMNS, RUN_VOCABULARY } from './tracking.filter.js';
import {
  EXPERIMENT_NAME,
  KEY,
  METRIC_VALUE,
  PARAM_VALUE,
  parseSearch,
  RUN_NAME,
  STEP,
  TAG_VALUE,
  TIMESTAMP_MS,
} from './tracking.schemas.js';
import { DEFAULT_EXPERIMENT, type Batch, type TrackingService } from './tracking.service.js';
import type { ExperimentWithRole, Run } from './tracking.store.js';

// The subset of MLflow's tracking REST API (2.0) that its Python client uses, translated onto
// the tracking service: MLFLOW_TRACKING_URI=<server>/tandem/mlflow with MLFLOW_TRACKING_TOKEN=<a
// Tandem API token>. Field names and shapes are MLflow's (snake_case, times in ms, tags as
// key/value lists); errors are `{error_code, message}` with MLflow's HTTP statuses. Artifacts
// use MLflow's proxied artifact API: a run's artifact_uri is mlflow-artifacts:/<exp>/<run>/artifacts,
// which the client resolves to /tandem/mlflow/api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts.
//
// Experiment id "0" is MLflow's default experiment. Here it means the caller's own experiment
// named "Default", made on first use, so each person's unconfigured scripts land in their own.

const BASE = '/tandem/mlflow';

const MLFLOW_ERRORS: Record<ErrorCode, [string, number]> = {
  INVALID_ARGUMENT: ['INVALID_PARAMETER_VALUE', 400],
  UNAUTHENTICATED: ['UNAUTHENTICATED', 401],
  FORBIDDEN: ['PERMISSION_DENIED', 403],
  NOT_FOUND: ['RESOURCE_DOES_NOT_EXIST', 404],
  ALREADY_EXISTS: ['RESOURCE_ALREADY_EXISTS', 400],
  // MLflow answers a changed param or a write to a deleted run with INVALID_PARAMETER_VALUE.
  CONFLICT: ['INVALID_PARAMETER_VALUE', 400],
  PAYLOAD_TOO_LARGE: ['INVALID_PARAMETER_VALUE', 400],
  TOO_MANY_REQUESTS: ['REQUEST_LIMIT_EXCEEDED', 429],
  UNAVAILABLE: ['TEMPORARILY_UNAVAILABLE', 503],
  DEADLINE_EXCEEDED: ['TEMPORARILY_UNAVAILABLE', 504],
  INTERNAL: ['INTERNAL_ERROR', 500],
};

const VIEW_TYPES: Record<string, ViewType> = { ACTIVE_ONLY: 'active', DELETED_ONLY: 'deleted', ALL: 'all' };

/** int64 fields: numbers from MLflow's client, decimal strings from protobuf's JSON. */
const int64 = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+$/)
      .transform(Number),
  ])
  .pipe(STEP);
const timestamp = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).pipe(TIMESTAMP_MS);
const ID = z.string().min(1).max(100);
const keyValues = <V extends z.ZodType>(value: V, max: number) => z.array(z.object({ key: KEY, value })).max(max);
const viewType = z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']).default('ACTIVE_ONLY');
const pageToken = z.string().max(200).optional();
/** The run id of a request `aboutRun` validated. */
const runIdOf = (r: { run_id?: string; run_uuid?: string }) => (r.run_id ?? r.run_uuid)!;

/** A request about one run: MLflow's client sends its id as run_id and, for older servers, run_uuid. */
const aboutRun = <S extends z.ZodRawShape>(shape: S) =>
  z
    .object({ run_id: ID.optional(), run_uuid: ID.optional(), ...shape })
    // zod cannot spell the output of a generic shape, so name the two fields.
    .refine((r) => Boolean((r as { run_id?: string }).run_id ?? (r as { run_uuid?: string }).run_uuid), {
      message: 'run_id is required',
      path: ['run_id'],
    });
const METRIC = { key: KEY, value: METRIC_VALUE, timestamp: timestamp.optional(), step: int64.optional() };

const ms = (d: Date | null) => (d ? d.getTime() : undefined);
const list = (record: Record<string, string>) => Object.entries(record).map(([key, value]) => ({ key, value }));

function experimentJson(e: ExperimentWithRole) {
  return {
    experiment_id: e.id,
    name: e.name,
    artifact_location: `mlflow-artifacts:/${e.id}`,
    lifecycle_stage: e.lifecycleStage,
    creation_time: ms(e.createdAt),
    last_update_time: ms(e.updatedAt),
    tags: list(e.tags),
  };
}

function runInfoJson(r: Run) {
  return {
    run_id: r.id,
    run_uuid: r.id,
    run_name: r.name,
    experiment_id: r.experimentId,
    user_id: r.userName,
    status: r.status,
    start_time: ms(r.startTime),
    end_time: ms(r.endTime),
    artifact_uri: `mlflow-artifacts:/${r.experimentId}/${r.id}/artifacts`,
    lifecycle_stage: r.lifecycleStage,
  };
}

function runJson(r: Run) {
  // MLflow's system tags that Tandem keeps as columns come back as the tags clients expect.
  const system: Record<string, string> = { 'mlflow.runName': r.name, 'mlflow.user': r.userName };
  if (r.parentRunId) system['mlflow.parentRunId'] = r.parentRunId;
  return {
    info: runInfoJson(r),
    data: {
      metrics: Object.entries(r.metrics).map(([key, m]) => ({ key, value: m.value, timestamp: m.timestamp, step: m.step })),
      params: list(r.params),
      tags: list({ ...r.tags, ...system }),
    },
    inputs: {
      dataset_inputs: r.inputs.map((i) => ({
        tags: i.context ? [{ key: 'mlflow.data.context', value: i.context }] : [],
        dataset: {
          name: i.name,
          digest: i.digest,
          source_type: i.sourceType,
          source: i.source,
          ...(i.schema !== null ? { schema: i.schema } : {}),
          ...(i.profile !== null ? { profile: i.profile } : {}),
        },
      })),
    },
  };
}

/** MLflow's reserved run tags in a batch: the name renames, the parent must match, the user is the caller anyway. */
function splitTags(tags: { key: string; value: string }[]): { rest: [string, string][]; name?: string; parent?: string } {
  const rest: [string, string][] = [];
  let name: string | undefined;
  let parent: string | undefined;
  for (const { key, value } of tags) {
    if (key === 'mlflow.runName') name = value;
    else if (key === 'mlflow.parentRunId') parent = value;
    else if (!(key in RUN_TAG_COLUMNS)) rest.push([key, value]);
  }
  return { rest, name, parent };
}

function datasetInputs(datasets: z.output<typeof logInputsBody>['datasets']): DatasetInput[] {
  return datasets.map(({ dataset, tags }) => ({
    name: dataset.name,
    digest: dataset.digest,
    sourceType: dataset.source_type ?? '',
    source: dataset.source ?? '',
    schema: dataset.schema ?? null,
    profile: dataset.profile ?? null,
    context: tags?.find((t) => t.key === 'mlflow.data.context')?.value ?? '',
  }));
}

const logInputsBody = aboutRun({
  datasets: z
    .array(
      z.object({
        tags: z
          .array(z.object({ key: z.string().max(250), value: z.string().max(8000) }))
          .max(100)
          .optional(),
        dataset: z.object({
          name: z.string().min(1).max(500),
          digest: z.string().min(1).max(100),
          source_type: z.string().max(100).optional(),
          source: z.string().max(10_000).optional(),
          schema: z.string().max(1_000_000).optional(),
          profile: z.string().max(1_000_000).optional(),
        }),
      }),
    )
    .max(1000)
    .default([]),
});

/** Searched runs in MLflow's form, each converted and serialized once while the store keeps it. */
const runsJson = keptJsonList(runJson);

/** The MLflow REST API and its proxied artifact API, mounted at the site root. */
export function mlflowRouter(ctx: AppContext, tracking: TrackingService): Router {
  const router = Router();
  const api = Router();
  api.use(express.json({ limit: ctx.config.maxBodyBytes }));

  /** One endpoint: callers are people's (and jobs') tokens, input is the query (GET) or the JSON body. */
  const endpoint = <S extends z.ZodType>(
    method: 'get' | 'post',
    path: string,
    schema: S,
    handler: (caller: Principal, input: z.output<S>) => Promise<unknown>,
  ) => {
    api[method](path, async (req: Request, res: Response) => {
      const caller = callerFor('user', req.principal)!;
      const input = parseInput(schema, method === 'get' ? req.query : (req.body ?? {}), method === 'get' ? 'query' : 'body');
      sendJson(res, 200, (await handler(caller, input)) ?? {});
    });
  };
  // MLflow's client sends searches as POST; GET is the documented alternative.
  const both = <S extends z.ZodType>(path: string, schema: S, handler: (caller: Principal, input: z.output<S>) => Promise<unknown>) => {
    endpoint('get', path, schema, handler);
    endpoint('post', path, schema, handler);
  };

  const experimentId = async (who: Principal, id: string) => (id === '0' ? (await tracking.defaultExperiment(who)).id : id);

  // ---- experiments

  endpoint(
    'post',
    '/experiments/create',
    // artifact_location is ignored: Tandem keeps every run's artifacts in its own artifact store.
    z.object({ name: EXPERIMENT_NAME, artifact_location: z.string().max(2000).optional(), tags: keyValues(TAG_VALUE, 1000).optional() }),
    async (who, body) => {
      const created = await tracking.createExperiment(who, {
        name: body.name,
        tags: Object.fromEntries((body.tags ?? []).map((t) => [t.key, t.value])),
      });
      return { experiment_id: created.id };
    },
  );

  endpoint('get', '/experiments/get', z.object({ experiment_id: ID }), async (who, q) => ({
    experiment: experimentJson(await tracking.experiment(who, await experimentId(who, q.experiment_id), 'viewer')),
  }));

  endpoint('get', '/experiments/get-by-name', z.object({ experiment_name: EXPERIMENT_NAME }), async (who, q) => ({
    experiment: experimentJson(
      q.experiment_name === DEFAULT_EXPERIMENT
        ? await tracking.defaultExperiment(who)
        : await tracking.experimentByName(who, q.experiment_name),
    ),
  }));

  both(
    '/experiments/search',
    z.object({
      max_results: z.coerce.number().int().min(1).max(50_000).default(1000),
      page_token: pageToken,
      filter: z.string().max(10_000).optional(),
      order_by: z.union([z.string().max(500), z.array(z.string().max(500)).max(10)]).optional(),
      view_type: viewType,
    }),
    async (who, q) => {
      const orderBy = q.order_by === undefined ? [] : Array.isArray(q.order_by) ? q.order_by : [q.order_by];
      const offset = q.page_token ? decodePageToken(q.page_token) : 0;
      const page = await tracking.searchExperiments(who, {
        ...parseSearch(EXPERIMENT_VOCABULARY, q.filter, orderBy, { filter: 'filter', orderBy: 'order_by' }),
        view: VIEW_TYPES[q.view_type]!,
        scope: undefined,
        limit: q.max_results,
        offset,
      });
      return { experiments: page.items.map(experimentJson), ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) };
    },
  );

  endpoint('post', '/experiments/update', z.object({ experiment_id: ID, new_name: EXPERIMENT_NAME }), async (who, body) => {
    await tracking.updateExperiment(who, await experimentId(who, body.experiment_id), { name: body.new_name });
  });

  endpoint('post', '/experiments/delete', z.object({ experiment_id: ID }), async (who, body) => {
    await tracking.setExperimentDeleted(who, await experimentId(who, body.experiment_id), true);
  });

  endpoint('post', '/experiments/restore', z.object({ experiment_id: ID }), async (who, body) => {
    await tracking.setExperimentDeleted(who, await experimentId(who, body.experiment_id), false);
  });

  endpoint('post', '/experiments/set-experiment-tag', z.object({ experiment_id: ID, key: KEY, value: TAG_VALUE }), async (who, body) => {
    await tracking.updateExperiment(who, await experimentId(who, body.experiment_id), { tags: { [body.key]: body.value } });
  });

  endpoint('post', '/experiments/delete-experiment-tag', z.object({ experiment_id: ID, key: KEY }), async (who, body) => {
    await tracking.updateExperiment(who, await experimentId(who, body.experiment_id), { tags: { [body.key]: null } });
  });

  // ---- runs

  endpoint(
    'post',
    '/runs/create',
    // user_id is ignored: a run belongs to whoever's token created it.
    z.object({
      experiment_id: ID.default('0'),
      user_id: z.string().max(500).optional(),
      run_name: RUN_NAME.optional(),
      start_time: timestamp.optional(),
      tags: keyValues(TAG_VALUE, 1000).default([]),
    }),
    async (who, body) => {
      const { rest, name, parent } = splitTags(body.tags);
      const created = await tracking.createRun(who, {
        experimentId: await experimentId(who, body.experiment_id),
        name: body.run_name ?? name,
        parentRunId: parent,
        startTime: body.start_time !== undefined ? new Date(body.start_time) : undefined,
        heartbeatTimeoutSeconds: tracking.limits.mlflowHeartbeatTimeoutSeconds,
        batch: { tags: rest },
      });
      return { run: runJson(created) };
    },
  );

  endpoint('get', '/runs/get', aboutRun({}), async (who, q) => ({ run: runJson(await tracking.getRun(who, runIdOf(q))) }));

  endpoint(
    'post',
    '/runs/update',
    aboutRun({
      status: z.enum(['RUNNING', 'FINISHED', 'FAILED', 'KILLED']).optional(),
      end_time: timestamp.optional(),
      run_name: RUN_NAME.optional(),
    }),
    async (who, body) => {
      const updated = await tracking.updateRun(who, runIdOf(body), {
        name: body.run_name,
        status: body.status,
        endTime: body.end_time !== undefined ? new Date(body.end_time) : undefined,
      });
      return { run_info: runInfoJson(updated) };
    },
  );

  endpoint('post', '/runs/delete', aboutRun({}), async (who, body) => {
    await tracking.setRunDeleted(who, runIdOf(body), true);
  });

  endpoint('post', '/runs/restore', aboutRun({}), async (who, body) => {
    await tracking.setRunDeleted(who, runIdOf(body), false);
  });

  /** A batch with MLflow's reserved tags applied to the run itself. */
  const logWithTags = async (who: Principal, id: string, batch: Batch, tags: { key: string; value: string }[]) => {
    const { rest, name, parent } = splitTags(tags);
    if (parent !== undefined && parent !== (await tracking.getRun(who, id)).parentRunId)
      throw new TandemError('INVALID_ARGUMENT', 'tag mlflow.parentRunId is set when a run is created and cannot change');
    await tracking.log(who, id, { ...batch, tags: rest });
    if (name !== undefined) await tracking.updateRun(who, id, { name });
  };

  endpoint(
    'post',
    '/runs/log-batch',
    aboutRun({
      metrics: z.array(z.object(METRIC)).max(10_000).default([]),
      params: keyValues(PARAM_VALUE, 1000).default([]),
      tags: keyValues(TAG_VALUE, 1000).default([]),
    }),
    async (who, body) => {
      const params = body.params.map((p): [string, string] => [p.key, p.value]);
      await logWithTags(who, runIdOf(body), { params, metrics: body.metrics }, body.tags);
    },
  );

  endpoint('post', '/runs/log-metric', aboutRun(METRIC), async (who, body) => {
    await tracking.log(who, runIdOf(body), { metrics: [{ key: body.key, value: body.value, step: body.step, timestamp: body.timestamp }] });
  });

  endpoint('post', '/runs/log-parameter', aboutRun({ key: KEY, value: PARAM_VALUE }), async (who, body) => {
    await tracking.log(who, runIdOf(body), { params: [[body.key, body.value]] });
  });

  endpoint('post', '/runs/set-tag', aboutRun({ key: KEY, value: TAG_VALUE }), async (who, body) => {
    await logWithTags(who, runIdOf(body), {}, [{ key: body.key, value: body.value }]);
  });

  endpoint('post', '/runs/delete-tag', aboutRun({ key: KEY }), async (who, body) => {
    if (body.key in RUN_TAG_COLUMNS)
      throw new TandemError('INVALID_ARGUMENT', `tag ${body.key} is part of the run itself and cannot be deleted`);
    const id = runIdOf(body);
    if ((await tracking.getRun(who, id)).tags[body.key] === undefined)
      throw new TandemError('NOT_FOUND', `no tag with key ${JSON.stringify(body.key)} on run ${id}`);
    await tracking.log(who, id, { removeTags: [body.key] });
  });

  endpoint('post', '/runs/log-inputs', logInputsBody, async (who, body) => {
    await tracking.log(who, runIdOf(body), { inputs: datasetInputs(body.datasets) });
  });

  both(
    '/runs/search',
    z.object({
      experiment_ids: z.union([ID, z.array(ID).max(100)]).transform((v) => (Array.isArray(v) ? v : [v])),
      filter: z.string().max(10_000).optional(),
      run_view_type: viewType,
      max_results: z.coerce.number().int().min(1).max(50_000).default(1000),
      order_by: z.union([z.string().max(500), z.array(z.string().max(500)).max(10)]).optional(),
      page_token: pageToken,
    }),
    async (who, q) => {
      const orderBy = q.order_by === undefined ? [] : Array.isArray(q.order_by) ? q.order_by : [q.order_by];
      const experimentIds = await Promise.all(q.experiment_ids.map((id) => experimentId(who, id)));
      const page = await tracking.searchRuns(who, {
        ...parseSearch(RUN_VOCABULARY, q.filter, orderBy, { filter: 'filter', orderBy: 'order_by' }),
        experimentIds,
        view: VIEW_TYPES[q.run_view_type]!,
        limit: q.max_results,
        offset: q.page_token ? decodePageToken(q.page_token) : 0,
      });
      return objectWithRaw({ runs: runsJson(page.items) }, { next_page_token: page.nextPageToken });
    },
  );

  endpoint(
    'get',
    '/metrics/get-history',
    aboutRun({ metric_key: KEY, max_results: z.coerce.number().int().min(1).max(25_000).default(25_000), page_token: pageToken }),
    async (who, q) => {
      const offset = q.page_token ? decodePageToken(q.page_token) : 0;
      const page = await tracking.metricHistory(who, runIdOf(q), q.metric_key, { limit: q.max_results, offset });
      return {
        metrics: page.items.map((p) => ({ key: q.metric_key, value: p.value, timestamp: p.timestamp, step: p.step })),
        ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
      };
    },
  );

  // MLflow 3's "logged models" are not kept (models go to Tandem's registry), but its client asks
  // for them whenever it lists a run's artifact folder: there are none, in experiments one may see.
  endpoint('post', '/logged-models/search', z.object({ experiment_ids: z.array(ID).max(100).default([]) }), async (who, body) => {
    for (const id of body.experiment_ids) await tracking.experiment(who, await experimentId(who, id), 'viewer');
    return { models: [] };
  });

  router.use(`${BASE}/api/2.0/mlflow`, api);
  router.use(`${BASE}/api/2.0/mlflow-artifacts/artifacts`, artifactsRouter(tracking));
  router.use(BASE, (req: Request, res: Response) => {
    res
      .status(404)
      .json({ error_code: 'ENDPOINT_NOT_FOUND', message: `no MLflow endpoint ${req.method} ${req.originalUrl.split('?')[0]}` });
  });
  router.use(BASE, (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const [code, status] = mlflowError(error, ctx);
    res.status(status).json({ error_code: code, message: error instanceof Error ? error.message : String(error) });
  });
  return router;
}

/** MLflow's error code and HTTP status for what went wrong (framework errors included). */
function mlflowError(error: unknown, ctx: AppContext): [string, number] {
  const e = error as { type?: string };
  if (e?.type === 'entity.parse.failed') return ['MALFORMED_REQUEST', 400];
  if (e?.type === 'entity.too.large') return ['INVALID_PARAMETER_VALUE', 400];
  if (error instanceof TandemError) return MLFLOW_ERRORS[error.code];
  ctx.log.error('MLflow request failed', { error: String(error), stack: (error as Error)?.stack });
  return ['INTERNAL_ERROR', 500];
}

/**
 * MLflow's proxied artifact API over a run's artifacts: PUT and GET `<exp>/<run>/artifacts/<path>`,
 * and `GET ?path=<exp>/<run>/artifacts[/<dir>]` to list a folder.
 */
function artifactsRouter(tracking: TrackingService): Router {
  const router = Router();
  /** `<exp>/<run>/artifacts[/<path>]` → the run (checked to be in that experiment) and the path inside it. */
  const locate = async (who: Principal, full: string) => {
    const match = /^([^/]+)\/([^/]+)\/artifacts(?:\/(.*))?$/.exec(full.replace(/^\/+|\/+$/g, ''));
    if (!match)
      throw new TandemError(
        'NOT_FOUND',
        `artifact location ${JSON.stringify(full.slice(0, 200))} is not <experiment>/<run>/artifacts/<path>`,
      );
    const [, experiment, runId, path = ''] = match;
    const run = await tracking.getRun(who, runId!);
    if (run.experimentId !== experiment) throw new TandemError('NOT_FOUND', `run ${runId} not found in experiment ${experiment}`);
    return { runId: runId!, path };
  };

  router.get('/', async (req: Request, res: Response) => {
    const who = callerFor('user', req.principal)!;
    const { path: full = '' } = parseInput(z.object({ path: z.string().max(2000).optional() }), req.query, 'query');
    const { runId, path } = await locate(who, full);
    const entries = await tracking.artifactEntries(who, runId, path);
    res.json({
      files: entries.map((e) => (e.isDir ? { path: e.path, is_dir: true } : { path: e.path, is_dir: false, file_size: e.size })),
    });
  });

  router.put('/*path', async (req: Request, res: Response) => {
    const who = callerFor('user', req.principal)!;
    try {
      const { runId, path } = await locate(who, (req.params as { path: string[] }).path.join('/'));
      await tracking.uploadArtifact(who, runId, path, req);
      res.json({});
    } catch (error) {
      // The client may still be sending: answer and close rather than reuse a half-read connection.
      if (!req.complete) res.setHeader('Connection', 'close');
      throw error;
    }
  });

  router.get('/*path', async (req: Request, res: Response) => {
    const who = callerFor('user', req.principal)!;
    const { runId, path } = await locate(who, (req.params as { path: string[] }).path.join('/'));
    const { file, open } = await tracking.openArtifact(who, runId, path);
    const stream = await open();
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('X-Tandem-Sha256', file.sha256);
    await pipeline(stream, res);
  });
  return router;
}
