import { pipeline } from 'node:stream/promises';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { TandemError } from '../errors.js';
import { route } from '../http/route.js';
import { MODEL_REF } from '../models/models.search.js';
import { SHA256 } from './job-data.js';
import { jobSpec } from './job-spec.js';
import { createJobsService } from './jobs.service.js';

const tags = ['jobs'];
const KIND = z.enum(['spark', 'gpu', 'notebook']);
const STATUS = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
const EVENT_TYPE = z.enum(['log', 'metric', 'progress', 'state', 'info']);
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
    register: z.object({ model: MODEL_REF, description: z.string().max(100_000).optional() }).optional(),
    notebook: z.string().max(1000).optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    experiment: z.string().trim().min(1).max(500).optional(),
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
    type: z.literal('info'),
    data: z.record(z.string().max(128), z.union([z.string().max(1000), z.number().finite(), z.boolean()])),
  }),
  z.object({
    type: z.literal('progress'),
    data: z.object({ fraction: z.number().min(0).max(1).optional(), message: z.string().max(1000).optional() }),
  }),
]);

/** The jobs API (users: submit, follow, cancel, retry) and the worker API (claim, heartbeat, events, outputs, outcome). */
export function jobsFeature(ctx: AppContext): Feature {
  const jobs = ctx.shared(createJobsService);
  const api = Router();
  const { openapi } = ctx;
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
    { method: 'post', path: '/jobs', auth: 'user', summary: 'Submit a Spark, GPU or notebook job', tags, status: 201, body: submitBody },
    async ({ caller, body }) => jobs.submit(caller, body),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/jobs',
      auth: 'user',
      summary: 'Jobs the caller can see, newest first',
      tags,
      query: pageQuery({}, { status: STATUS.optional(), kind: KIND.optional(), q: z.string().max(200).optional() }),
    },
    async ({ caller, query }) => jobs.list(caller, query),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/jobs/:id',
      auth: 'user',
      summary: 'One job with its state, progress and latest metrics',
      tags,
      params: jobParams,
    },
    async ({ caller, params }) => jobs.get(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/jobs/:id/events',
      auth: 'user',
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
    async ({ caller, res, params, query }) => jobs.eventsOf(caller, params.id, query, aborted(res)),
  );

  route(
    api,
    openapi,
    { method: 'post', path: '/jobs/:id/cancel', auth: 'user', summary: 'Cancel a queued or running job', tags, params: jobParams },
    async ({ caller, params }) => jobs.cancel(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/jobs/:id/retry',
      auth: 'user',
      summary: 'Run a finished job again as a new job',
      tags,
      status: 201,
      params: jobParams,
    },
    async ({ caller, params }) => jobs.retry(caller, params.id),
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/jobs/:id/outputs', auth: 'user', summary: 'Files the job’s latest attempt produced', tags, params: jobParams },
    async ({ caller, params }) => ({
      outputs: (await jobs.outputsOf(caller, params.id)).map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    }),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/jobs/:id/outputs/*path',
      auth: 'user',
      summary: 'Download an output file',
      tags,
      params: jobParams.extend({ path: OUTPUT_PATH }),
    },
    async ({ caller, res, params }) => {
      const output = (await jobs.outputsOf(caller, params.id)).find((o) => o.path === params.path);
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
      auth: 'user',
      summary: 'Size of data the caller uploaded for jobs (404 when they have not: upload it)',
      tags,
      params: dataParams,
    },
    async ({ caller, params }) => jobs.dataInfo(caller, params.sha256),
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/job-data/:sha256',
      auth: 'user',
      summary: 'Upload data for jobs (raw body), stored under its sha256; jobs then name it as {sha256, name}',
      tags,
      params: dataParams,
      rawBody: 'application/octet-stream',
    },
    async ({ caller, req, res, params }) => {
      if (req.body !== undefined) throw new TandemError('INVALID_ARGUMENT', 'send data bytes with Content-Type: application/octet-stream');
      try {
        return await jobs.uploadData(caller, params.sha256, req);
      } catch (error) {
        if (!req.complete) res.setHeader('Connection', 'close');
        throw error;
      }
    },
  );

  // ---- worker API (worker tokens)

  route(api, openapi, { method: 'get', path: '/workers', auth: 'user', summary: 'Workers seen in the last minute', tags }, async () => ({
    workers: await jobs.listWorkers(),
  }));

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers',
      auth: 'worker',
      summary: 'Register a worker agent (worker token)',
      tags,
      status: 201,
      body: z.object({
        name: z.string().min(1).max(200),
        capabilities: z.array(KIND).min(1, 'a worker needs at least one capability (spark, gpu or notebook)'),
        gpus: z.array(z.record(z.string(), z.unknown())).max(64).default([]),
        concurrency: z.number().int().min(1).max(256).default(1),
        onlyOwner: z.boolean().default(false).describe('the worker cannot isolate jobs and runs only its owner’s'),
        team: z.string().min(1).max(100).optional().describe('run only the jobs of this team’s members (a team of yours)'),
      }),
    },
    async ({ caller, body }) => jobs.registerWorker(caller, body),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers/:workerId/claim',
      auth: 'worker',
      summary: 'Lease the next job this worker can run; waits up to waitMs, 204 when none',
      tags,
      params: z.object({ workerId: z.uuid() }),
      body: z.object({ leaseMs: LEASE_MS, waitMs: z.number().int().min(0).max(30_000).default(0) }),
    },
    async ({ caller, res, params, body }) => {
      // With the job, the short-lived token it runs with as its submitter.
      return jobs.claim(caller, params.workerId, body.leaseMs, body.waitMs, aborted(res));
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers/:workerId/heartbeat',
      auth: 'worker',
      summary: 'Extend the leases of running jobs; answers jobs to cancel and leases lost',
      tags,
      params: z.object({ workerId: z.uuid() }),
      body: z.object({ leaseMs: LEASE_MS, leases: z.array(z.object({ jobId: z.uuid(), attempt: z.number().int().min(1) })).max(1000) }),
    },
    async ({ caller, params, body }) => jobs.heartbeat(caller, params.workerId, body.leases, body.leaseMs),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/workers/:workerId/jobs/:jobId/:attempt/events',
      auth: 'worker',
      summary: 'Append log lines, metrics and progress of a leased job',
      tags,
      params: leaseParams,
      body: z.object({ events: z.array(workerEvent).max(5000) }),
    },
    async ({ caller, params, body }) => {
      await jobs.appendEvents(caller, params, body.events);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/workers/:workerId/jobs/:jobId/:attempt/outputs/*path',
      auth: 'worker',
      summary: 'Stream one output file of a leased job (raw body)',
      tags,
      params: leaseParams.extend({ path: OUTPUT_PATH }),
      rawBody: 'application/octet-stream',
    },
    async ({ caller, req, res, params }) => {
      if (req.body !== undefined)
        throw new TandemError('INVALID_ARGUMENT', 'send output bytes with Content-Type: application/octet-stream');
      const { path, ...lease } = params;
      try {
        const { size, sha256 } = await jobs.uploadOutput(caller, lease, path, req);
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
      auth: 'worker',
      summary: 'Download data the leased job names',
      tags,
      params: leaseParams.extend({ sha256: SHA256 }),
    },
    async ({ caller, res, params }) => {
      const { sha256, ...lease } = params;
      const data = await jobs.dataForWorker(caller, lease, sha256);
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
      auth: 'worker',
      summary: 'Report the outcome of a leased job (registers the model when the job asks for it)',
      tags,
      params: leaseParams,
      body: z.object({
        status: z.enum(['succeeded', 'failed', 'cancelled']),
        error: z.string().max(100_000).optional(),
        metrics: z.record(z.string().max(128), z.number().finite()).optional(),
      }),
    },
    async ({ caller, params, body }) => jobs.complete(caller, params, body),
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
