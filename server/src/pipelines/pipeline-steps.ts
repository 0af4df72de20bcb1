import { text } from 'node:stream/consumers';
import type { GateStep, PipelineStep, PipelineValue } from '../api/index.js';
import type { Permissions } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { NotebookReader } from '../collab/collab.service.js';
import type { Notebook } from '../dashboards/content.js';
import type { DashboardRefresh } from '../dashboards/dashboards.refresh.js';
import type { DashboardsService } from '../dashboards/dashboards.service.js';
import type { Queryable } from '../db/db.js';
import { TandemError } from '../errors.js';
import { postWebhook } from '../http/webhook.js';
import { jobSpec, NOTEBOOK_OUTPUT, notebookSpec } from '../jobs/job-spec.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { FINAL_STATUSES, type Job } from '../jobs/jobs.store.js';
import type { ModelsService } from '../models/models.service.js';
import { parseExpression } from './gate-expression.js';
import { injectParameters, notebookOutputs } from './notebook-parameters.js';
import { substitute, type RunValues } from './references.js';

/** Webhook steps answer within this, well inside the run's lease (pipelines.service.ts). */
const WEBHOOK_TIMEOUT_S = 20;

/** What starting a step did: it finished at once (gates, alias moves, webhooks) or a job now runs it. */
export type Started = { done: true; outputs: Record<string, PipelineValue> } | { done: false };

/** How far a running step is. */
export type Progress =
  { state: 'running' } | { state: 'succeeded'; outputs: Record<string, PipelineValue> } | { state: 'failed'; error: string };

export interface StepContext {
  runAs: Principal;
  values: RunValues;
  /** e.g. `pipeline retrain #4`, for job names and notes. */
  label: string;
  /** Records the step's job in the job's own transaction. */
  recordJob: (tx: Queryable, job: Job) => Promise<void>;
}

/**
 * Starts and follows each kind of step. Steps that run user code (notebooks, Spark, GPU) are jobs
 * submitted as the person the run runs as; the rest happen here, with that person's rights.
 */
export class StepRunner {
  constructor(
    private readonly jobs: JobsService,
    private readonly models: ModelsService,
    private readonly notebooks: NotebookReader,
    private readonly permissions: Permissions,
    private readonly dashboards: DashboardsService,
    private readonly refresh: DashboardRefresh,
    private readonly webhookHosts: string[],
  ) {}

  async start(step: PipelineStep, ctx: StepContext): Promise<Started> {
    switch (step.kind) {
      case 'notebook': {
        await this.permissions.require(ctx.runAs, 'notebook', step.notebook, 'viewer');
        const doc = await this.notebooks.read(step.notebook);
        if (!doc) throw new TandemError('NOT_FOUND', `notebook ${step.notebook} not found`);
        const parameters = substitute(step.parameters ?? {}, ctx.values);
        const notebook = injectParameters(doc.notebook, parameters, `Parameters injected by ${ctx.label}`);
        await this.jobs.submit(
          ctx.runAs,
          {
            kind: 'notebook',
            name: `${ctx.label}: ${step.id}`,
            spec: notebookSpec.parse({ notebook, timeoutSeconds: step.timeoutSeconds }),
            maxAttempts: 2,
          },
          { alongside: ctx.recordJob },
        );
        return { done: false };
      }
      case 'spark':
      case 'gpu': {
        const parsed = jobSpec(step.kind).safeParse(substitute(step.spec, ctx.values));
        if (!parsed.success)
          throw new TandemError(
            'INVALID_ARGUMENT',
            `spec: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`).join('; ')}`,
          );
        await this.jobs.submit(
          ctx.runAs,
          {
            kind: step.kind,
            name: `${ctx.label}: ${step.id}`,
            spec: parsed.data,
            register: step.register && substitute(step.register, ctx.values),
            experiment: step.experiment && substitute(step.experiment, ctx.values),
          },
          { alongside: ctx.recordJob },
        );
        return { done: false };
      }
      case 'gate':
        return { done: true, outputs: await this.gate(step, ctx) };
      case 'alias': {
        const version = Number(substitute(step.version, ctx.values));
        if (!Number.isInteger(version) || version < 1)
          throw new TandemError('INVALID_ARGUMENT', `version: "${String(step.version)}" is not a version number`);
        const model = substitute(step.model, ctx.values);
        const before = await this.models.getModel(ctx.runAs, model);
        const moved = await this.models.setAlias(ctx.runAs, model, step.alias, version);
        return { done: true, outputs: { model: moved.fullName, alias: step.alias, version, previous: before.aliases[step.alias] ?? null } };
      }
      case 'refresh':
        await this.refresh.refreshNow(ctx.runAs, step.dashboard);
        return { done: false };
      case 'webhook': {
        const body = step.body
          ? substitute(step.body, ctx.values)
          : { text: `${ctx.label}: ${step.id}`, params: ctx.values.params, steps: ctx.values.steps };
        const { status } = await postWebhook(step.url, body, {
          timeoutMs: Math.min(step.timeoutSeconds ?? WEBHOOK_TIMEOUT_S, WEBHOOK_TIMEOUT_S) * 1000,
          allowHosts: this.webhookHosts,
        });
        if (status < 200 || status > 299) throw new TandemError('UNAVAILABLE', `the webhook answered HTTP ${status}`);
        return { done: true, outputs: { status } };
      }
    }
  }

  /** A running step's job (or dashboard refresh) now. */
  async progress(step: PipelineStep, jobId: string | null, ctx: { runAs: Principal }): Promise<Progress> {
    if (step.kind === 'refresh') {
      const { lastRun } = await this.dashboards.get(ctx.runAs, step.dashboard);
      if (!lastRun || lastRun.status === 'running') return { state: 'running' };
      return lastRun.status === 'succeeded'
        ? { state: 'succeeded', outputs: { dashboard: step.dashboard, jobId: lastRun.jobId } }
        : { state: 'failed', error: lastRun.error ?? 'the refresh failed' };
    }
    const job = jobId ? await this.jobs.find(jobId) : undefined;
    if (!job) return { state: 'failed', error: `the step's job ${jobId ?? ''} is gone` };
    if (!FINAL_STATUSES.includes(job.status)) return { state: 'running' };
    if (job.status !== 'succeeded') return { state: 'failed', error: `job ${job.status}: ${job.error ?? 'no reason given'}` };
    const outputs: Record<string, PipelineValue> = { jobId: job.id, runId: job.runId, ...job.metrics };
    if (job.result?.model) Object.assign(outputs, { model: job.result.model, version: job.result.version ?? null });
    if (step.kind === 'notebook') {
      const executed = await this.jobs.outputFile(job, NOTEBOOK_OUTPUT);
      if (executed) Object.assign(outputs, notebookOutputs(JSON.parse(await text(executed)) as Notebook));
    }
    return { state: 'succeeded', outputs };
  }

  /** Stops a step's job (a cancelled run, a timeout); a refresh already running goes on. */
  async stop(jobId: string | null, runAs: Principal): Promise<void> {
    const job = jobId ? await this.jobs.find(jobId) : undefined;
    if (job && !FINAL_STATUSES.includes(job.status)) await this.jobs.cancel(runAs, job.id).catch(() => undefined);
  }

  private async gate(step: GateStep, ctx: StepContext): Promise<Record<string, PipelineValue>> {
    if (step.expression) {
      const passed = parseExpression(step.expression).evaluate(ctx.values);
      return { passed, reason: passed ? `${step.expression} holds` : `${step.expression} does not hold` };
    }
    const compare = step.compare!;
    const outputs = ctx.values.steps[compare.step] ?? {};
    const candidate = outputs[compare.metric];
    if (typeof candidate !== 'number')
      throw new TandemError(
        'INVALID_ARGUMENT',
        `steps.${compare.step}.${compare.metric} is not a number (${JSON.stringify(candidate ?? null)})`,
      );
    const model = compare.model ?? (typeof outputs.model === 'string' ? outputs.model : undefined);
    if (!model) throw new TandemError('INVALID_ARGUMENT', `gate ${step.id}: name compare.model (step ${compare.step} registered no model)`);
    const current = await this.models.getModel(ctx.runAs, model);
    const version = current.aliases[compare.alias];
    if (version === undefined) return { passed: true, candidate, current: null, reason: `${model}@${compare.alias} points nowhere yet` };
    const { metrics } = await this.models.getVersion(ctx.runAs, model, { version });
    const champion = metrics[compare.metric];
    if (typeof champion !== 'number')
      return { passed: true, candidate, current: null, reason: `${model} v${version} has no ${compare.metric}` };
    const better = compare.direction === 'lower' ? champion - candidate : candidate - champion;
    const passed = better >= (compare.minDelta ?? 0);
    const word = compare.direction === 'lower' ? 'lower' : 'higher';
    return {
      passed,
      candidate,
      current: champion,
      reason: `${compare.metric} ${candidate} vs ${champion} (${model} v${version} @${compare.alias}): ${passed ? 'good enough' : `not ${word} by ${compare.minDelta ?? 0}`}`,
    };
  }
}
