import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { requirePrincipal } from '../auth/principal.js';
import type { AppContext, Feature } from '../context.js';
import { TandemError } from '../errors.js';
import { route } from '../http/route.js';
import { MODEL_NAME } from '../models/models.search.js';
import { createModelsService } from '../models/models.service.js';
import { SHA256 } from './job-data.js';
import { jobSpec } from './job-spec.js';
import { JobsService } from './jobs.service.js';
import { JobsStore } from './jobs.store.js';

const tags = ['jobs'];
const KIND = z.enum(['spark', 'gpu']);
const STATUS = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
const EVENT_TYPE = z.enum(['log', 'metric', 'progress', 'state']);
const jobParams = z.object({ id: z.uuid() });
const leaseParams = z.object({ workerId: z.uuid(), jobId: z.uuid(), attempt: z.coerce.number().int().min(1) });
const LEASE_MS = z.number().int().min(1000).max(600_000).default(30_000);
const OUTPUT_PATH = z
  .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@=+-]*$/, 'path segments: letters, digits and . _ @ = + -'))
  .min(1)
  .max(16)
  .transform((s) => s.join('/'));
const REAP_EVERY_MS = 5_000;

const submitBody = z
  .object({
    kind: KIND,
    name: z.string().min(1).max(200).optional(),
    spec: z.record(z.string(), z.unknown()),
    register: z.object({ model: MODEL_NAME, description: z.string().max(100_000).optional() }).optional(),
    notebook: z.string().max(1000).optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
  })
  .transform((body, ctx) => {
    const spec = jobSpec(body.kind).safeParse(body.spec);
    if (!spec.success) {
      for (const issue of spec.error.issues) ctx.addIssue({ ...issue, path: ['spec', ...issue.path] } as never);
      return z.NEVER;
    }
    return { ...body, spec: spec.data };
  });

const workerEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log'), data: z.object({ stream: z.enum(['stdout', 'stderr', 'system']), line: z.string().max(20_000) }) }),
  z.object({ type: z.literal('metric'), data: z.record(z.string().max(128), z.number().finite()) }),
  z.object({
    type: z.literal('progress'),
    data: z.object({ fraction: z.number().min(0).max(1).optional(), message: z.string().max(1000).optional() }),
  }),
]);

/** The jobs API (users: submit, follow, cancel, retry) and the worker API (claim, heartbeat, events, outputs, outcome). */
export function jobsFeature(ctx: AppContext): Feature {
  const jobs = new JobsService(
    new JobsStore(ctx.db, ctx.permissions),
    ctx.artifacts,
    ctx.permissions,
    ctx.events,
    ctx.auth,
    createModelsService(ctx),
    {
      maxOutputBytes: ctx.config.maxArtifactBytes,
      workerOnlineMs: 60_000,
    },
  );
  const api = Router();
  const { openapi } = ctx;
  const me = (req: Request) => requirePrincipal(req);
  // A long poll ends early when the client goes away (the response closes; the request's own
  // 'close' already fires once its body is read).
  const aborted = (res: Response) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    return controller.signal;
  };

  route(
    api,
    openapi,
    { method: 'post', path: '/jobs', summary: 'Submit a Spark or GPU job', tags, status: 201, body: submitBody },
    async ({ req, body }) => jobs.submit(me(req), body),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/jobs',
      summary: 'Jobs the caller can see, newest first',
      tags,
      query: z.object({
        status: STATUS.optional(),
        kind: KIND.optional(),
        q: z.string().max(200).optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        offset: z.coerce.number().int().min(0).default(0),
      }),
    },
    async ({ req, query }) => jobs.list(me(req), query),
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/jobs/:id', summary: 'One job with its state, progress and latest metrics', tags, params: jobParams },
    async ({ req, params }) => jobs.get(me(req), params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/jobs/:id/events',
      summary: 'Log lines, metrics, progress and state changes after a cursor; waitMs long-polls for new ones',
      tags,
      params: jobParams,
      query: z.object({
        after: z.coerce.number().int().min(0).default(0),
        types: z
          .string()
          .optional()
          .transform((t) => t?.split(','))
          .pipe(z.array(EVENT_TYPE).optional()),
        limit: z.coerce.number().int().min(1).max(5000).default(1000),
        waitMs: z.coerce.number().int().min(0).max(30_000).default(0),
      }),
    },
    async ({ req, res, params, query }) => jobs.eventsOf(me(req), params.id, query, aborted(res)),
  );

  route(
    api,
    openapi,
    { method: 'post', path: '/jobs/:id/cancel', summary: 'Cancel a queued or running job', tags, params: jobParams },
    async ({ req, params }) => jobs.cancel(me(req), params.id),
  );

  route(
    api,
    openapi,
    { method: 'post', path: '/jobs/:id/retry', summary: 'Run a finished job again as a new job', tags, status: 201, params: jobParams },
    async ({ req, params }) => jobs.retry(me(req), params.id),
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/jobs/:id/outputs', summary: 'Files the job’s latest attempt produced', tags, params: jobParams },
    async ({ req, params }) => ({
      outputs: (await jobs.outputsOf(me(req), params.id)).map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    }),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/jobs/:id/outputs/*path',
      summary: 'Download an output file',
      tags,
      params: jobParams.extend({ path: OUTPUT_PATH }),
    },
    async ({ req, res, params }) => {
      const output = (await jobs.outputsOf(me(req), params.id)).find((o) => o.path === params.path);
      if (!output) throw new TandemError('NOT_FOUND', `job ${params.id} has no output ${params.path}`);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(output.size));
      res.setHeader('X-Tandem-Sha256', output.sha256);
      await pipeline(await jobs.readOutput(output), res);
    },
  );

  const dataParams = z.object({ sha256: SHA256 });

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/job-data/:sha256',
      summary: 'Size of data the caller uploaded for jobs (404 when they have not: upload it)',
      tags,
      params: dataParams,
    },
    async ({ req, params }) => jobs.dataInfo(me(req), params.sha256),
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/job-data/:sha256',
      summary: 'Upload data for jobs (raw body), stored under its sha256; jobs then name it as {sha256, name}',
      tags,
      params: dataParams,
      rawBody: 'application/octet-stream',
    },
    async ({ req, res, params }) => {
      if (req.body !== undefined) throw new TandemError('INVALID_ARGUMENT', 'send data bytes with Content-Type: application/octet-stream');
      try {
        return await jobs.uploadData(me(req), params.sha256, req);
      } catch (error) {
        if (!req.complete) res.setHeader('Connection', 'close');
        throw error;
      }
    },
  );

  // ---- worker API (worker tokens)

  route(api, openapi, { method: 'get', path: '/workers', summary: 'Workers seen in the last minute', tags }, async ({ req }) => {
    me(req);
    return { workers: await jobs.listWorkers() };
  });

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers',
      summary: 'Register a worker agent (worker token)',
      tags,
      status: 201,
      body: z.object({
        name: z.string().min(1).max(200),
        capabilities: z.array(KIND).min(1, 'a worker needs at least one capability (spark or gpu)'),
        gpus: z.array(z.record(z.string(), z.unknown())).max(64).default([]),
        concurrency: z.number().int().min(1).max(256).default(1),
        onlyOwner: z.boolean().default(false).describe('the worker cannot isolate jobs and runs only its owner’s'),
      }),
    },
    async ({ req, body }) => jobs.registerWorker(me(req), body),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers/:workerId/claim',
      summary: 'Lease the next job this worker can run; waits up to waitMs, 204 when none',
      tags,
      params: z.object({ workerId: z.uuid() }),
      body: z.object({ leaseMs: LEASE_MS, waitMs: z.number().int().min(0).max(30_000).default(0) }),
    },
    async ({ req, res, params, body }) => {
      const job = await jobs.claim(me(req), params.workerId, body.leaseMs, body.waitMs, aborted(res));
      return job ? { job } : undefined;
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers/:workerId/heartbeat',
      summary: 'Extend the leases of running jobs; answers jobs to cancel and leases lost',
      tags,
      params: z.object({ workerId: z.uuid() }),
      body: z.object({ leaseMs: LEASE_MS, leases: z.array(z.object({ jobId: z.uuid(), attempt: z.number().int().min(1) })).max(1000) }),
    },
    async ({ req, params, body }) => jobs.heartbeat(me(req), params.workerId, body.leases, body.leaseMs),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers/:workerId/jobs/:jobId/:attempt/events',
      summary: 'Append log lines, metrics and progress of a leased job',
      tags,
      params: leaseParams,
      body: z.object({ events: z.array(workerEvent).max(5000) }),
    },
    async ({ req, params, body }) => {
      await jobs.appendEvents(me(req), params, body.events);
      return undefined;
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/workers/:workerId/jobs/:jobId/:attempt/outputs/*path',
      summary: 'Stream one output file of a leased job (raw body)',
      tags,
      params: leaseParams.extend({ path: OUTPUT_PATH }),
      rawBody: 'application/octet-stream',
    },
    async ({ req, res, params }) => {
      if (req.body !== undefined)
        throw new TandemError('INVALID_ARGUMENT', 'send output bytes with Content-Type: application/octet-stream');
      const { path, ...lease } = params;
      try {
        const { size, sha256 } = await jobs.uploadOutput(me(req), lease, path, req);
        return { path, size, sha256 };
      } catch (error) {
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
      path: '/workers/:workerId/jobs/:jobId/:attempt/data/:sha256',
      summary: 'Download data the leased job names',
      tags,
      params: leaseParams.extend({ sha256: SHA256 }),
    },
    async ({ req, res, params }) => {
      const { sha256, ...lease } = params;
      const data = await jobs.dataForWorker(me(req), lease, sha256);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(data.size));
      await pipeline(data.body, res);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers/:workerId/jobs/:jobId/:attempt/complete',
      summary: 'Report the outcome of a leased job (registers the model when the job asks for it)',
      tags,
      params: leaseParams,
      body: z.object({
        status: z.enum(['succeeded', 'failed', 'cancelled']),
        error: z.string().max(100_000).optional(),
        metrics: z.record(z.string().max(128), z.number().finite()).optional(),
      }),
    },
    async ({ req, params, body }) => jobs.complete(me(req), params, body),
  );

  const reaper = setInterval(() => {
    jobs.reapExpired().catch((error: unknown) => ctx.log.warn('requeueing expired jobs failed', { error: String(error) }));
  }, REAP_EVERY_MS).unref();

  return {
    name: 'jobs',
    api,
    async close() {
      clearInterval(reaper);
      jobs.close();
    },
  };
}
