import type { Pipeline, PipelineRun, PipelineRunSummary, PipelineStepRun } from '../../../src/pipelines/api';

export const step = (id: string, needs: string[] = [], over: Partial<PipelineStepRun> = {}): PipelineStepRun => ({
  id,
  kind: 'notebook',
  needs,
  status: 'pending',
  attempt: 0,
  jobId: null,
  outputs: {},
  error: null,
  startedAt: null,
  finishedAt: null,
  nextAttemptAt: null,
  ...over,
});

export const summary = (over: Partial<PipelineRunSummary> = {}): PipelineRunSummary => ({
  id: 'r1',
  pipelineId: 'p1',
  number: 1,
  status: 'running',
  trigger: 'manual',
  scheduledFor: null,
  runAs: 'u1',
  reason: 'started by Ada',
  error: null,
  createdAt: '2024-01-01T00:00:00.000Z',
  startedAt: '2024-01-01T00:00:00.000Z',
  finishedAt: null,
  ...over,
});

export const run = (over: Partial<PipelineRun> = {}): PipelineRun => ({
  ...summary(),
  params: {},
  event: null,
  definition: { name: 'nightly', steps: [] },
  steps: [step('train')],
  ...over,
});

export const pipeline = (over: Partial<Pipeline> = {}): Pipeline => ({
  id: 'p1',
  name: 'nightly',
  description: '',
  definition: { name: 'nightly', steps: [], schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' } },
  nextRunAt: '2024-01-02T02:00:00.000Z',
  definedBy: 'u1',
  createdBy: 'u1',
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
  lastRun: null,
  ...over,
});
