// The API contract (src/api) against what the routes really send. tsc already checks that the
// kernel and the extension use the contract's types; what it cannot see is a route answering a
// field the type lacks (a store column added, an internal key leaking) or dropping one it
// declares. Each key list below must name every key of its type (`satisfies KeyList<T>` fails
// tsc otherwise), and each answer must have exactly those keys.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Column,
  CreatedUser,
  DashboardView,
  DatasetInput,
  Experiment,
  ExperimentPage,
  ExperimentWithRole,
  Grant,
  GrantList,
  Job,
  JobDataInfo,
  JobEvent,
  JobEvents,
  JobList,
  Lineage,
  Me,
  MetricHistoryPage,
  MetricPoint,
  Model,
  ModelFile,
  ModelPage,
  ModelVersion,
  ModelWithRole,
  NotebookVersion,
  NotebookWithRole,
  InboxNotification,
  NotificationDelivery,
  NotificationSubscription,
  PipelineRun,
  PipelineRunSummary,
  PipelineStepRun,
  PipelineWithRole,
  PrincipalRef,
  Published,
  Run,
  RunArtifact,
  RunArtifactPage,
  RunPage,
  Signature,
  TokenInfo,
  TokenList,
  User,
} from '../../src/api/index.js';
import { sampleNotebook } from '../dashboards/support.js';
import { registerOverHttp, upload } from '../models/support.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Every key of T: `true` when the answer must have it, 'optional' when it may. */
type KeyList<T> = { [K in keyof T]-?: object extends Pick<T, K> ? 'optional' : true };

/** Checks that `value` has every required key of `list` and no key the list lacks. */
function expectKeys(what: string, value: unknown, list: Record<string, true | 'optional'>): void {
  expect(value, what).toBeTypeOf('object');
  const keys = Object.keys(value as object).sort();
  const required = Object.keys(list).filter((k) => list[k] === true);
  expect({ what, unknown: keys.filter((k) => !(k in list)) }).toEqual({ what, unknown: [] });
  expect({ what, missing: required.filter((k) => !keys.includes(k)) }).toEqual({ what, missing: [] });
}

const ME = { id: true, name: true, displayName: true, isAdmin: true, teamIds: true } satisfies KeyList<Me>;

const USER = { id: true, name: true, displayName: true, isAdmin: true, active: true, createdAt: true } satisfies KeyList<User>;
const CREATED_USER = { user: true, token: true, tokenId: true } satisfies KeyList<CreatedUser>;
const TOKEN_LIST = { tokens: true } satisfies KeyList<TokenList>;
const TOKEN = { id: true, name: true, kind: true, createdAt: true, lastUsedAt: true, revokedAt: true } satisfies KeyList<TokenInfo>;

const GRANT_LIST = { grants: true } satisfies KeyList<GrantList>;
const GRANT = { principal: true, name: true, role: true } satisfies KeyList<Grant>;
const PRINCIPAL = { type: true, id: true } satisfies KeyList<PrincipalRef>;

const MODEL = {
  id: true,
  name: true,
  owner: true,
  fullName: true,
  description: true,
  tags: true,
  createdBy: true,
  createdAt: true,
  updatedAt: true,
  latestVersion: true,
  latestMetrics: true,
  aliases: true,
} satisfies KeyList<Model>;
const MODEL_WITH_ROLE = { ...MODEL, role: true } satisfies KeyList<ModelWithRole>;
const MODEL_PAGE = { items: true, total: true, nextPageToken: 'optional' } satisfies KeyList<ModelPage>;
const MODEL_VERSION = {
  id: true,
  modelId: true,
  number: true,
  status: true,
  description: true,
  params: true,
  metrics: true,
  signature: true,
  lineage: true,
  runId: true,
  createdBy: true,
  createdAt: true,
  readyAt: true,
  files: true,
  aliases: true,
} satisfies KeyList<ModelVersion>;
const MODEL_FILE = { path: true, size: true, sha256: true } satisfies KeyList<ModelFile>;
const SIGNATURE = { inputs: true, outputs: true } satisfies KeyList<Signature>;
const COLUMN = { name: true, type: true, shape: 'optional' } satisfies KeyList<Column>;
const LINEAGE = {
  notebook: 'optional',
  jobId: 'optional',
  datasetFingerprint: 'optional',
  author: 'optional',
  source: 'optional',
} satisfies KeyList<Lineage>;

const JOB = {
  id: true,
  kind: true,
  name: true,
  status: true,
  spec: true,
  register: true,
  notebook: true,
  attempt: true,
  maxAttempts: true,
  workerId: true,
  leaseExpiresAt: true,
  cancelRequested: true,
  progress: true,
  metrics: true,
  info: true,
  experimentId: true,
  runId: true,
  error: true,
  result: true,
  createdBy: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  updatedAt: true,
} satisfies KeyList<Job>;
const JOB_LIST = { jobs: true, total: true } satisfies KeyList<JobList>;
const JOB_EVENTS = { events: true, job: true } satisfies KeyList<JobEvents>;
const JOB_EVENT = { id: true, attempt: true, at: true, type: true, data: true } satisfies KeyList<JobEvent>;
const JOB_DATA = { sha256: true, size: true } satisfies KeyList<JobDataInfo>;

const DASHBOARD = {
  id: true,
  slug: true,
  title: true,
  description: true,
  notebookPath: true,
  createdBy: true,
  createdAt: true,
  updatedAt: true,
  currentVersion: true,
  hasLink: true,
  schedule: true,
  lastRun: true,
  liveNotebookId: true,
  role: true,
  url: true,
} satisfies KeyList<DashboardView>;
const PUBLISHED = { dashboard: true, version: true } satisfies KeyList<Published>;

const NOTEBOOK = {
  id: true,
  name: true,
  createdBy: true,
  createdAt: true,
  updatedAt: true,
  role: true,
} satisfies KeyList<NotebookWithRole>;
const NOTEBOOK_VERSION = { id: true, notebookId: true, name: true, createdBy: true, createdAt: true } satisfies KeyList<NotebookVersion>;

const EXPERIMENT = {
  id: true,
  name: true,
  createdBy: true,
  createdByName: true,
  tags: true,
  lifecycleStage: true,
  createdAt: true,
  updatedAt: true,
} satisfies KeyList<Experiment>;
const EXPERIMENT_WITH_ROLE = { ...EXPERIMENT, role: true } satisfies KeyList<ExperimentWithRole>;
const EXPERIMENT_PAGE = { items: true, total: true, nextPageToken: 'optional' } satisfies KeyList<ExperimentPage>;
const RUN = {
  id: true,
  experimentId: true,
  name: true,
  status: true,
  startTime: true,
  endTime: true,
  parentRunId: true,
  notebook: true,
  cell: true,
  notebookVersion: true,
  jobId: true,
  userId: true,
  userName: true,
  lifecycleStage: true,
  lastSeenAt: true,
  heartbeatTimeoutSeconds: true,
  params: true,
  tags: true,
  metrics: true,
  inputs: true,
} satisfies KeyList<Run>;
const RUN_PAGE = { items: true, nextPageToken: 'optional' } satisfies KeyList<RunPage>;
const METRIC_POINT = { value: true, step: true, timestamp: true } satisfies KeyList<MetricPoint>;
const METRIC_HISTORY_PAGE = { items: true, total: true, nextPageToken: 'optional' } satisfies KeyList<MetricHistoryPage>;
const DATASET_INPUT = {
  name: true,
  digest: true,
  sourceType: true,
  source: true,
  schema: true,
  profile: true,
  context: true,
} satisfies KeyList<DatasetInput>;
const RUN_ARTIFACT = { path: true, size: true, sha256: true, createdAt: true } satisfies KeyList<RunArtifact>;
const RUN_ARTIFACT_PAGE = { items: true, total: true, nextPageToken: 'optional' } satisfies KeyList<RunArtifactPage>;

const PIPELINE = {
  id: true,
  name: true,
  description: true,
  definition: true,
  nextRunAt: true,
  definedBy: true,
  createdBy: true,
  createdAt: true,
  updatedAt: true,
  lastRun: true,
  role: true,
} satisfies KeyList<PipelineWithRole>;
const RUN_SUMMARY = {
  id: true,
  pipelineId: true,
  number: true,
  status: true,
  trigger: true,
  scheduledFor: true,
  runAs: true,
  reason: true,
  error: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
} satisfies KeyList<PipelineRunSummary>;
const PIPELINE_RUN = { ...RUN_SUMMARY, params: true, event: true, definition: true, steps: true } satisfies KeyList<PipelineRun>;
const STEP_RUN = {
  id: true,
  kind: true,
  needs: true,
  status: true,
  attempt: true,
  jobId: true,
  outputs: true,
  error: true,
  startedAt: true,
  finishedAt: true,
  nextAttemptAt: true,
} satisfies KeyList<PipelineStepRun>;
const SUBSCRIPTION = {
  id: true,
  subscriber: true,
  events: true,
  resource: true,
  channel: true,
  createdBy: true,
  createdAt: true,
} satisfies KeyList<NotificationSubscription>;
const DELIVERY = {
  id: true,
  subscriptionId: true,
  eventType: true,
  title: true,
  status: true,
  attempts: true,
  lastError: true,
  lastStatus: true,
  createdAt: true,
  sentAt: true,
  nextAttemptAt: true,
} satisfies KeyList<NotificationDelivery>;
const INBOX = {
  id: true,
  eventType: true,
  title: true,
  text: true,
  level: true,
  resource: true,
  link: true,
  at: true,
  read: true,
} satisfies KeyList<InboxNotification>;

describe('the API contract and what the routes answer', () => {
  let server: TestServer;
  const get = async (path: string) => {
    const res = await server.api('GET', path);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    return res.body;
  };

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
  });
  afterAll(() => server?.stop());

  it('GET /me answers Me', async () => {
    expectKeys('Me', await get('me'), ME);
  });

  it('POST /users answers CreatedUser, and GET /tokens a TokenList of TokenInfo', async () => {
    const created = await server.api('POST', 'users', { body: { name: 'contract-user' } });
    expect(created.status).toBe(201);
    expectKeys('CreatedUser', created.body, CREATED_USER);
    expectKeys('User', created.body.user, USER);
    const tokens = await server.api('GET', 'tokens', { token: created.body.token });
    expect(tokens.status).toBe(200);
    expectKeys('TokenList', tokens.body, TOKEN_LIST);
    expect(tokens.body.tokens).toHaveLength(1);
    expectKeys('TokenInfo', tokens.body.tokens[0], TOKEN);
  });

  it('the model routes answer Model, ModelWithRole, ModelPage, ModelVersion and GrantList', async () => {
    const committed = await registerOverHttp(
      server,
      'contract',
      { 'model.onnx': 'weights' },
      {
        metadata: {
          metrics: { auc: 0.9 },
          signature: { inputs: [{ name: 'x', type: 'Float64', shape: [-1, 1] }], outputs: [{ name: 'y', type: 'Float64' }] },
          lineage: { notebook: 'train.ipynb', jobId: 'j1' },
        },
      },
    );
    expect(committed.status).toBe(201);
    expectKeys('ModelVersion (commit)', committed.body, MODEL_VERSION);

    expectKeys('ModelWithRole', await get('models/contract'), MODEL_WITH_ROLE);
    const page = await get('models?q=contract');
    expectKeys('ModelPage', page, MODEL_PAGE);
    expectKeys('Model (search item)', page.items[0], MODEL);
    const alias = await server.api('PUT', 'models/contract/aliases/prod', { body: { version: 1 } });
    expectKeys('Model (alias set)', alias.body, MODEL);

    const version = await get('models/contract/versions/1');
    expectKeys('ModelVersion', version, MODEL_VERSION);
    expectKeys('ModelFile', version.files[0], MODEL_FILE);
    expectKeys('Signature', version.signature, SIGNATURE);
    for (const column of [...version.signature.inputs, ...version.signature.outputs]) expectKeys('Column', column, COLUMN);
    expectKeys('Lineage', version.lineage, LINEAGE);
    expectKeys('ModelVersion (alias)', await get('models/contract/aliases/prod'), MODEL_VERSION);

    const grants = await get('models/contract/grants');
    expectKeys('GrantList', grants, GRANT_LIST);
    expectKeys('Grant', grants.grants[0], GRANT);
    expectKeys('PrincipalRef', grants.grants[0].principal, PRINCIPAL);
  });

  it('the job routes answer Job, JobList, JobEvents with JobEvent, and JobDataInfo', async () => {
    const submitted = await server.api('POST', 'jobs', {
      body: { kind: 'gpu', name: 'contract', spec: { script: 'print(1)', gpus: 0 }, register: { model: 'contract-job' } },
    });
    expect(submitted.status).toBe(201);
    expectKeys('Job (submit)', submitted.body, JOB);
    const id = submitted.body.id as string;
    expectKeys('Job', await get(`jobs/${id}`), JOB);
    const list = await get('jobs');
    expectKeys('JobList', list, JOB_LIST);
    expectKeys('Job (list item)', list.jobs[0], JOB);
    const events = await get(`jobs/${id}/events?after=0`);
    expectKeys('JobEvents', events, JOB_EVENTS);
    expect(events.events.length).toBeGreaterThan(0);
    for (const event of events.events) expectKeys('JobEvent', event, JOB_EVENT);
    expectKeys('JobEvents.job', events.job, JOB);

    const data = 'x,y\n1,2\n';
    const sha256 = createHash('sha256').update(data).digest('hex');
    const put = await upload(server, `job-data/${sha256}`, data);
    expect(put.status).toBe(200);
    expectKeys('JobDataInfo (upload)', put.body, JOB_DATA);
    expectKeys('JobDataInfo', await get(`job-data/${sha256}`), JOB_DATA);
  });

  it('the dashboard routes answer DashboardView and Published', async () => {
    const created = await server.api('POST', 'dashboards', { body: { slug: 'contract', title: 'Contract', notebook: sampleNotebook() } });
    expect(created.status).toBe(201);
    expectKeys('Published', created.body, PUBLISHED);
    expectKeys('DashboardView (publish)', created.body.dashboard, DASHBOARD);
    expectKeys('DashboardView', await get('dashboards/contract'), DASHBOARD);
  });

  it('the notebook routes answer NotebookWithRole and NotebookVersion', async () => {
    const created = await server.api('POST', 'notebooks', { body: { name: 'contract.ipynb' } });
    expect(created.status).toBe(201);
    expectKeys('NotebookWithRole (create)', created.body, NOTEBOOK);
    const id = created.body.id as string;
    expectKeys('NotebookWithRole', await get(`notebooks/${id}`), NOTEBOOK);
    expectKeys('NotebookWithRole (list item)', (await get('notebooks')).notebooks[0], NOTEBOOK);
    const version = await server.api('POST', `notebooks/${id}/versions`, { body: { name: 'first' } });
    expect(version.status).toBe(201);
    expectKeys('NotebookVersion (save)', version.body, NOTEBOOK_VERSION);
    expectKeys('NotebookVersion', (await get(`notebooks/${id}/versions`)).versions[0], NOTEBOOK_VERSION);
  });

  it('the tracking routes answer ExperimentWithRole, ExperimentPage, Run, RunPage, MetricHistoryPage and RunArtifactPage', async () => {
    // Not 'contract': the job test's job of that name made an experiment of that name already.
    const experiment = await server.api('POST', 'experiments', { body: { name: 'contract runs' } });
    expect(experiment.status).toBe(201);
    expectKeys('ExperimentWithRole (create)', experiment.body, EXPERIMENT_WITH_ROLE);
    const id = experiment.body.id as string;
    expectKeys('ExperimentWithRole', await get(`experiments/${id}`), EXPERIMENT_WITH_ROLE);
    const experiments = await get('experiments');
    expectKeys('ExperimentPage', experiments, EXPERIMENT_PAGE);
    expectKeys('Experiment (search item)', experiments.items[0], EXPERIMENT_WITH_ROLE);

    const run = await server.api('POST', 'runs', {
      body: { experimentId: id, params: { lr: 0.1 }, inputs: [{ name: 'train', digest: 'abc' }] },
    });
    expect(run.status).toBe(201);
    expectKeys('Run (create)', run.body, RUN);
    const runId = run.body.id as string;
    expect((await server.api('POST', `runs/${runId}/log`, { body: { metrics: [{ key: 'loss', value: 1 }] } })).status).toBe(204);
    const got = await get(`runs/${runId}`);
    expectKeys('Run', got, RUN);
    expectKeys('MetricPoint (latest)', got.metrics.loss, METRIC_POINT);
    expectKeys('DatasetInput', got.inputs[0], DATASET_INPUT);
    const runs = await get(`runs?experimentId=${id}`);
    expectKeys('RunPage', runs, RUN_PAGE);
    expectKeys('Run (search item)', runs.items[0], RUN);
    const history = await get(`runs/${runId}/metrics/loss`);
    expectKeys('MetricHistoryPage', history, METRIC_HISTORY_PAGE);
    expectKeys('MetricPoint', history.items[0], METRIC_POINT);

    const put = await upload(server, `runs/${runId}/artifacts/model.onnx`, 'weights');
    expect(put.status).toBe(200);
    expectKeys('RunArtifact (upload)', put.body, RUN_ARTIFACT);
    const artifacts = await get(`runs/${runId}/artifacts`);
    expectKeys('RunArtifactPage', artifacts, RUN_ARTIFACT_PAGE);
    expectKeys('RunArtifact', artifacts.items[0], RUN_ARTIFACT);
  });

  it('the pipeline and notification routes answer PipelineWithRole, PipelineRun with steps, the subscription, delivery and inbox types', async () => {
    const created = await server.api('POST', 'pipelines', {
      body: { name: 'contract', steps: [{ id: 'call', kind: 'webhook', url: 'http://127.0.0.1:1/' }] },
    });
    expect(created.status).toBe(201);
    expectKeys('PipelineWithRole', created.body, PIPELINE);
    const subscribed = await server.api('POST', 'notifications/subscriptions', {
      body: { events: ['pipeline.failed'], channel: { type: 'jupyterlab' } },
    });
    expectKeys('NotificationSubscription', subscribed.body, SUBSCRIPTION);
    const hooked = await server.api('POST', 'notifications/subscriptions', {
      body: { events: ['pipeline.failed'], channel: { type: 'webhook', url: 'http://127.0.0.1:1/hook' } },
    });
    expect(hooked.status).toBe(201);
    const started = await server.api('POST', `pipelines/${created.body.id}/runs`, { body: {} });
    expectKeys('PipelineRun', started.body, PIPELINE_RUN);
    expectKeys('PipelineStepRun', started.body.steps[0], STEP_RUN);
    const eventually = async (read: () => Promise<any[]>) => {
      for (let i = 0; i < 100; i++) {
        const items = await read();
        if (items.length > 0) return items;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('nothing came');
    };
    expectKeys('InboxNotification', (await eventually(async () => (await get('notifications')).items))[0], INBOX);
    const deliveries = await eventually(async () => (await get(`notifications/deliveries?subscription=${hooked.body.id}`)).items);
    expectKeys('NotificationDelivery', deliveries[0], DELIVERY);
    expectKeys('PipelineRunSummary', (await get(`pipelines/${created.body.id}/runs`)).items[0], RUN_SUMMARY);
    expectKeys('PipelineWithRole (get)', await get(`pipelines/${created.body.id}`), PIPELINE);
  });
});
