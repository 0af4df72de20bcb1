import express, { Router } from 'express';
import { z } from 'zod';
import { grantRoutes } from '../auth/grants.routes.js';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { openEventStream } from '../http/event-stream.js';
import { route } from '../http/route.js';
import { definitionBody } from './pipeline-definition.js';
import { createPipelinesService } from './pipelines.service.js';

const tags = ['pipelines'];
const pipelineParams = z.object({ id: z.uuid() });
const runParams = z.object({ runId: z.uuid() });
const VALUE = z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()]);
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** Pipelines under /tandem/api/pipelines, their runs under /tandem/api/pipeline-runs, and the scheduler. */
export function pipelinesFeature(ctx: AppContext): Feature {
  const pipelines = ctx.shared(createPipelinesService);
  const { openapi } = ctx;
  const api = Router();
  // Definitions may be written as YAML; the body schema reads the text.
  api.use('/pipelines', express.text({ type: YAML_TYPES, limit: ctx.config.maxBodyBytes }));

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/pipelines',
      auth: 'user',
      summary:
        'Define a pipeline (JSON, or YAML with Content-Type application/yaml); defining your pipeline of the same name again replaces it',
      tags,
      body: definitionBody,
    },
    async ({ caller, body, res }) => {
      const { pipeline, created } = await pipelines.define(caller, body);
      res.status(created ? 201 : 200).json(pipeline);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/pipelines',
      auth: 'user',
      summary: 'Pipelines the caller can see, with each one’s last run',
      tags,
      query: pageQuery(),
    },
    async ({ caller, query }) => pipelines.list(caller, query),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/pipelines/events',
      auth: 'user',
      summary: 'Server-sent events (`pipeline`) as runs and steps of pipelines the caller can see change',
      tags,
    },
    async ({ caller, req, res }) => {
      const stream = openEventStream(req, res);
      const stop = pipelines.watch(caller, (event) => stream.send('pipeline', event));
      await stream.ended;
      stop();
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/pipelines/:id',
      auth: 'user',
      summary: 'A pipeline, its definition and last run',
      tags,
      params: pipelineParams,
    },
    async ({ caller, params }) => pipelines.get(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/pipelines/:id',
      auth: 'user',
      summary: 'Replace the pipeline’s definition (editors; JSON or YAML as for POST /pipelines); its name stays',
      tags,
      params: pipelineParams,
      body: definitionBody,
    },
    async ({ caller, params, body }) => pipelines.redefine(caller, params.id, body),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/pipelines/:id',
      auth: 'user',
      summary: 'Delete a pipeline (owners); its running runs are cancelled',
      tags,
      params: pipelineParams,
    },
    async ({ caller, params }) => pipelines.delete(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/pipelines/:id/runs',
      auth: 'user',
      summary: 'Run the pipeline now as the caller (editors), with parameters over the defaults',
      tags,
      status: 201,
      params: pipelineParams,
      body: z.object({ params: z.record(z.string(), VALUE).default({}) }).strict(),
    },
    async ({ caller, params, body }) => pipelines.startRun(caller, params.id, body.params),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/pipelines/:id/runs',
      auth: 'user',
      summary: 'Runs of the pipeline, newest first',
      tags,
      params: pipelineParams,
      query: pageQuery(),
    },
    async ({ caller, params, query }) => pipelines.listRuns(caller, params.id, query),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/pipeline-runs/:runId',
      auth: 'user',
      summary: 'A run with each step’s status, job, outputs and error',
      tags,
      params: runParams,
    },
    async ({ caller, params }) => pipelines.getRun(caller, params.runId),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/pipeline-runs/:runId/cancel',
      auth: 'user',
      summary: 'Cancel a run (editors): its running jobs are cancelled',
      tags,
      params: runParams,
    },
    async ({ caller, params }) => pipelines.cancel(caller, params.runId),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/pipeline-runs/:runId/retry',
      auth: 'user',
      summary: 'Run a failed or cancelled run again from the steps that did not succeed (editors)',
      tags,
      params: runParams,
    },
    async ({ caller, params }) => pipelines.retry(caller, params.runId),
  );

  grantRoutes(api, openapi, {
    path: '/pipelines/:id',
    params: pipelineParams,
    tags,
    noun: 'pipeline',
    list: (who, params) => pipelines.listGrants(who, params.id),
    share: (who, params, to, role) => pipelines.share(who, params.id, to, role),
  });

  pipelines.start();
  return {
    name: 'pipelines',
    api,
    async close() {
      await pipelines.close();
    },
  };
}
