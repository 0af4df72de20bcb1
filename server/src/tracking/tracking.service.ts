import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../artifacts/store.js';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast, type Permissions, type Role } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { Sharing, type Grantee, type NamedGrant } from '../auth/sharing.js';
import type { AppContext } from '../context.js';
import { encodePageToken, type PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { audited, createOwned } from '../mutations.js';
import type { DatasetInput, MetricPoint, MetricValue, Page, RunPage, RunStatus, ViewType } from '../api/index.js';
import type { Comparison, OrderTerm } from './tracking.filter.js';
import {
  EMPTY_BATCH,
  TrackingStore,
  type Experiment,
  type ExperimentWithRole,
  type Run,
  type RunAccess,
  type RunArtifact,
  type Search,
  type StoredArtifact,
  type StoredBatch,
  type ParamConflict,
} from './tracking.store.js';

export interface TrackingLimits {
  maxArtifactBytes: number;
  /** How long a run made through the Tandem API may stay silent (its writers heartbeat). */
  heartbeatTimeoutSeconds: number;
  /** The same for runs made through the MLflow API: its client never heartbeats, only its writes count. */
  mlflowHeartbeatTimeoutSeconds: number;
}

/** What one logging call writes, already validated; absent parts write nothing. */
export interface Batch {
  params?: [string, string][];
  metrics?: { key: string; value: MetricValue; step?: number; timestamp?: number }[];
  tags?: [string, string][];
  removeTags?: string[];
  inputs?: DatasetInput[];
}

export interface NewRunInput {
  experimentId: string;
  name?: string;
  parentRunId?: string;
  startTime?: Date;
  notebook?: string;
  cell?: string;
  notebookVersion?: string;
  jobId?: string;
  heartbeatTimeoutSeconds?: number;
  batch?: Batch;
}

export interface RunSearch extends PageRequest {
  /** Undefined: every experiment the caller can see. */
  experimentIds?: string[];
  conditions: Comparison[];
  order: OrderTerm[];
  view: ViewType;
}

const FINAL: RunStatus[] = ['FINISHED', 'FAILED', 'KILLED'];
const LOGGED_EVENT_MS = 250;
/** The tag naming the latest model version registered from a run, as `owner/name:version`. */
export const REGISTERED_MODEL_TAG = 'tandem.registeredModel';
/** The experiment MLflow's client logs to when told none: each person's own, made on first use. */
export const DEFAULT_EXPERIMENT = 'Default';

/** Rejects artifact paths that are empty, absolute, climb with `..`, or hold control characters. */
export function assertArtifactPath(path: string): void {
  const segments = path.split('/');
  const bad =
    path.length === 0 ||
    path.length > 1024 ||
    segments.length > 32 ||
    segments.some((s) => s === '' || s === '.' || s === '..') ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f\\]/.test(path);
  if (bad) {
    throw new TandemError(
      'INVALID_ARGUMENT',
      `invalid artifact path ${JSON.stringify(path.slice(0, 200))}: use a relative '/'-separated path without '.', '..', empty segments, backslashes or control characters (max 1024 characters)`,
    );
  }
}

/**
 * Experiment tracking: experiments shared by role, runs in them, and what runs log. Every run
 * operation checks the caller's role on the run's experiment (viewer reads, editor writes).
 */
export class TrackingService {
  private readonly sharing: Sharing;
  /** When this server last moved each run's last_seen_at (see `touch`). */
  private readonly touched = new Map<string, number>();
  /** Runs whose `run.logged` event waits for its turn (see `announceLogged`). */
  private readonly announcing = new Map<string, NodeJS.Timeout>();
  private readonly announced = new Map<string, number>();

  constructor(
    private readonly store: TrackingStore,
    private readonly artifacts: ArtifactStore,
    private readonly permissions: Permissions,
    private readonly events: EventBus,
    auth: AuthStore,
    readonly limits: TrackingLimits,
  ) {
    this.sharing = new Sharing(permissions, auth);
  }

  // ---- experiments

  /** The experiment with the caller's role, or NOT_FOUND (no existence leaks) / FORBIDDEN. */
  async experiment(who: Principal, id: string, needed: Role): Promise<ExperimentWithRole> {
    const found = await this.store.experimentFor(who, id);
    if (!found) throw new TandemError('NOT_FOUND', `experiment ${id} not found`);
    if (!atLeast(found.role, needed))
      throw new TandemError('FORBIDDEN', `${needed} role required on experiment ${found.name}; you are ${found.role}`);
    return found;
  }

  async createExperiment(who: Principal, input: { name: string; tags?: Record<string, string> }): Promise<ExperimentWithRole> {
    const created = await createOwned<Experiment>(
      { db: this.store, permissions: this.permissions, events: this.events },
      who,
      {
        type: 'experiment',
        action: 'experiment.create',
        details: () => ({ name: input.name }),
        event: (e) => experimentEvent('experiment.created', e.id, { name: e.name }),
      },
      (tx) => this.store.createExperiment(tx, { name: input.name, tags: input.tags ?? {}, createdBy: who.id }),
    );
    return { ...created, role: 'owner' };
  }

  async experimentByName(who: Principal, name: string): Promise<ExperimentWithRole> {
    const found = await this.store.experimentByName(who, name);
    if (!found) throw new TandemError('NOT_FOUND', `experiment ${JSON.stringify(name)} not found`);
    return found;
  }

  /** The caller's own "Default" experiment, created the first time it is asked for. */
  async defaultExperiment(who: Principal): Promise<ExperimentWithRole> {
    const own = await this.store.ownExperiment(who.id, DEFAULT_EXPERIMENT);
    if (own) return this.experiment(who, own.id, 'viewer');
    try {
      return await this.createExperiment(who, { name: DEFAULT_EXPERIMENT });
    } catch (error) {
      // A concurrent first request made it.
      if (!(error instanceof TandemError && error.code === 'ALREADY_EXISTS')) throw error;
      return this.experiment(who, (await this.store.ownExperiment(who.id, DEFAULT_EXPERIMENT))!.id, 'viewer');
    }
  }

  /**
   * The experiment a writer means by a name: its own of that name, else one shared with it to
   * edit, else a new one of its own (made on first use, as MLflow's `set_experiment`).
   */
  async writableExperiment(who: Principal, name: string): Promise<ExperimentWithRole> {
    const found = await this.store.experimentByName(who, name);
    if (found && (found.createdBy === who.id || atLeast(found.role, 'editor'))) return found;
    try {
      return await this.createExperiment(who, { name });
    } catch (error) {
      // A concurrent first request made it.
      if (!(error instanceof TandemError && error.code === 'ALREADY_EXISTS')) throw error;
      return this.experimentByName(who, name);
    }
  }

  searchExperiments(who: Principal, search: Search<undefined>): Promise<Page<ExperimentWithRole>> {
    return this.store.searchExperiments(who, search);
  }

  async updateExperiment(
    who: Principal,
    id: string,
    change: { name?: string; tags?: Record<string, string | null> },
  ): Promise<ExperimentWithRole> {
    await this.experiment(who, id, 'editor');
    await audited(
      this.store,
      who,
      onExperiment(id, 'experiment.update', { name: change.name, tags: Object.keys(change.tags ?? {}) }),
      (tx) => this.store.updateExperiment(tx, id, change),
    );
    this.events.publish(experimentEvent('experiment.updated', id));
    return this.experiment(who, id, 'viewer');
  }

  /** Soft deletion (owners), as MLflow: its runs stay, and `restoreExperiment` brings it back. */
  async setExperimentDeleted(who: Principal, id: string, deleted: boolean): Promise<void> {
    await this.experiment(who, id, 'owner');
    await audited(this.store, who, onExperiment(id, deleted ? 'experiment.delete' : 'experiment.restore', {}), (tx) =>
      this.store.setExperimentStage(tx, id, deleted ? 'deleted' : 'active'),
    );
    this.events.publish(experimentEvent(deleted ? 'experiment.deleted' : 'experiment.restored', id));
  }

  async listGrants(who: Principal, id: string): Promise<NamedGrant[]> {
    await this.experiment(who, id, 'viewer');
    return this.sharing.listGrants('experiment', id);
  }

  async share(who: Principal, id: string, to: Grantee, role: Role | null): Promise<void> {
    const experiment = await this.experiment(who, id, 'owner');
    await this.sharing.share(who, { type: 'experiment', id, label: experiment.name }, to, role, this.store);
    this.events.publish(experimentEvent('experiment.shared', id));
  }

  // ---- runs

  async createRun(who: Principal, input: NewRunInput): Promise<Run> {
    if (input.parentRunId) await this.access(who, input.parentRunId, 'viewer');
    if (input.jobId) await this.permissions.require(who, 'job', input.jobId, 'viewer');
    const run = {
      ...input,
      startTime: input.startTime ?? new Date(),
      createdBy: who.id,
      heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds ?? this.limits.heartbeatTimeoutSeconds,
    };
    const batch = storedBatch(input.batch ?? {});
    // The access check rides in the insert; when it fails, the experiment's check says why.
    let created = await this.store.createRun(run, batch, who);
    if (!created) {
      const experiment = await this.experiment(who, input.experimentId, 'editor');
      if (experiment.lifecycleStage === 'deleted')
        throw new TandemError('CONFLICT', `experiment ${experiment.name} is deleted: restore it before starting runs in it`);
      // Allowed by now (a concurrent restore or share): create as before.
      created = (await this.store.createRun(run, batch))!;
    }
    this.touched.set(created.id, Date.now());
    this.events.publish(runEvent('run.created', created.id, created.experimentId));
    return created;
  }

  async getRun(who: Principal, id: string): Promise<Run> {
    await this.access(who, id, 'viewer');
    return (await this.store.run(id))!;
  }

  /** Renames or sets the status; a final status without `endTime` ends the run now, RUNNING reopens it. */
  async updateRun(who: Principal, id: string, change: { name?: string; status?: RunStatus; endTime?: Date }): Promise<Run> {
    const endTime =
      change.endTime ?? (change.status === 'RUNNING' ? null : change.status && FINAL.includes(change.status) ? new Date() : undefined);
    const update = { name: change.name, status: change.status, endTime };
    // The access check rides in the update's statement; when it fails, runAccess says why.
    let updated = await this.store.atomically(1, (q) => this.store.updateRun(q, id, update, who));
    if (!updated) {
      await this.access(who, id, 'editor', { write: true });
      // Allowed by now (a concurrent restore or share): update as before.
      updated = await this.store.atomically(1, (q) => this.store.updateRun(q, id, update));
    }
    this.events.publish(runEvent('run.updated', id, updated!.experimentId, { status: change.status }));
    return updated!;
  }

  /** Soft deletion (editors), as MLflow: the run's data stays until restored. */
  async setRunDeleted(who: Principal, id: string, deleted: boolean): Promise<void> {
    const run = await this.access(who, id, 'editor');
    const entry = {
      action: deleted ? 'run.delete' : 'run.restore',
      resourceType: 'experiment',
      resourceId: run.experimentId,
      details: { run: id },
    };
    await audited(this.store, who, entry, (tx) => this.store.setRunStage(tx, id, deleted ? 'deleted' : 'active'));
    this.events.publish(runEvent(deleted ? 'run.deleted' : 'run.restored', id, run.experimentId));
  }

  /**
   * Logs params, metric points, tags and inputs atomically: on a param conflict nothing is
   * stored. Once it answers, every point is committed. Counts as a heartbeat.
   */
  async log(who: Principal, id: string, batch: Batch): Promise<void> {
    const stored = storedBatch(batch);
    // The access check rides in the write's statement; when it fails, runAccess says why.
    let written = await this.store.writeAs(who, id, stored);
    if (!written) {
      const run = await this.access(who, id, 'editor', { write: true });
      // Allowed by now (a concurrent restore or share): write as before.
      const conflicts = await this.store.atomically(1, (q) => this.store.write(q, id, run.experimentId, stored));
      written = { experimentId: run.experimentId, conflicts };
    }
    throwOnConflicts(id, written.conflicts);
    await this.touch(id);
    this.announceLogged(id, written.experimentId);
  }

  /** The writer is alive: keeps a RUNNING run from being reaped. */
  async heartbeat(who: Principal, id: string): Promise<void> {
    await this.access(who, id, 'editor', { write: true });
    await this.touch(id, 0);
  }

  async searchRuns(who: Principal, search: RunSearch): Promise<RunPage<Date>> {
    let found: { ids: string[]; versions: string[]; more: boolean };
    if (search.experimentIds?.length === 1) {
      // The check rides in the search's statement; only an empty page needs it said why.
      const [id] = search.experimentIds;
      found = await this.store.searchRuns({ ...search, scope: [id!] }, who);
      if (found.ids.length === 0) await this.experiment(who, id!, 'viewer');
    } else if (search.experimentIds) {
      // One check of them all runs beside the search (a round trip less per search); an experiment
      // it does not find is looked up again only to say why, before anything found is used.
      const viewable = this.store.viewableAmong(who, search.experimentIds);
      const searched = this.store.searchRuns({ ...search, scope: search.experimentIds });
      searched.catch(() => undefined); // awaited below; a check's failure must not leave it unheard
      const seen = await viewable;
      for (const id of search.experimentIds) if (!seen.has(id)) await this.experiment(who, id, 'viewer');
      found = await searched;
    } else found = await this.store.searchRuns({ ...search, scope: await this.store.visibleExperimentIds(who, search.view) });
    const items = await this.store.page(found);
    return { items, nextPageToken: found.more ? encodePageToken(search.offset + found.ids.length) : undefined };
  }

  async metricHistory(who: Principal, id: string, key: string, page: PageRequest): Promise<Page<MetricPoint>> {
    await this.access(who, id, 'viewer');
    return this.store.metricHistory(id, key, page);
  }

  /** Marks KILLED the RUNNING runs whose writers fell silent; what they logged stays. */
  async reapSilent(now = new Date()): Promise<number> {
    const reaped = await this.store.reapSilent(now);
    for (const run of reaped) this.events.publish(runEvent('run.updated', run.id, run.experimentId, { status: 'KILLED' }));
    return reaped.length;
  }

  /**
   * Calls `listener` with every change to the experiment and its runs, for viewers of it (NOT_FOUND
   * for others), until the answered function is called. When its sharing changes, the caller's
   * access is checked again: losing it calls `lost` and stops.
   */
  async watchExperiment(who: Principal, id: string, listener: (event: TandemEvent) => void, lost: () => void): Promise<() => void> {
    await this.experiment(who, id, 'viewer');
    let stopped = false;
    const stop = () => {
      stopped = true;
      unsubscribe();
    };
    const unsubscribe = this.events.subscribe((event) => {
      const ofExperiment = event.resourceType === 'experiment' && event.resourceId === id;
      if (!ofExperiment && !(event.resourceType === 'run' && event.data?.experimentId === id)) return;
      if (ofExperiment && event.type === 'experiment.shared') {
        this.experiment(who, id, 'viewer').catch(() => {
          if (stopped) return;
          stop();
          lost();
        });
      }
      listener(event);
    });
    return stop;
  }

  /**
   * Tells watchers a run logged something, at most every LOGGED_EVENT_MS per run: a writer sends
   * several batches a second (the MLflow client one call per metric), and watchers only refetch.
   * The last batch is always announced, when its turn comes.
   */
  private announceLogged(id: string, experimentId: string): void {
    if (this.announcing.has(id)) return;
    const wait = (this.announced.get(id) ?? 0) + LOGGED_EVENT_MS - Date.now();
    const announce = () => {
      this.announcing.delete(id);
      if (this.announced.size > 10_000) this.announced.clear();
      this.announced.set(id, Date.now());
      this.events.publish(runEvent('run.logged', id, experimentId));
    };
    if (wait <= 0) announce();
    else this.announcing.set(id, setTimeout(announce, wait).unref());
  }

  // ---- artifacts

  /** Streams a file into the artifact store (sha256 computed on the way, checked when given) and records it; replaces a file of the same path. */
  async uploadArtifact(who: Principal, runId: string, path: string, body: Readable, sha256?: string): Promise<RunArtifact> {
    assertArtifactPath(path);
    const run = await this.access(who, runId, 'editor', { write: true });
    // A fresh key per upload: the path a client names never becomes an object key.
    const key = `tracking/${runId}/${randomUUID()}`;
    const put = await this.artifacts.put(key, body, { maxBytes: this.limits.maxArtifactBytes, sha256 });
    let replaced: string | undefined;
    try {
      replaced = await this.store.recordArtifact(runId, { path, key, size: put.size, sha256: put.sha256 });
    } catch (error) {
      await this.artifacts.delete(key).catch(() => undefined);
      throw error;
    }
    if (replaced) await this.artifacts.delete(replaced).catch(() => undefined);
    await this.touch(runId);
    // Pipelines may be waiting for this file (a new dataset, say): `on: artifact.logged`.
    this.events.publish(
      experimentEvent('experiment.artifact.logged', run.experimentId, {
        experiment: run.experimentName,
        runId,
        path,
        sha256: put.sha256,
        byJob: who.jobId,
      }),
    );
    return publicArtifact((await this.store.findArtifact(runId, path))!);
  }

  async listArtifacts(who: Principal, runId: string, prefix: string, page: PageRequest): Promise<Page<RunArtifact>> {
    await this.access(who, runId, 'viewer');
    return this.store.listArtifacts(runId, prefix, page);
  }

  /**
   * The entries directly inside folder `dir` of a run's artifacts ('' for the top): files with
   * their size, and sub-folders. A file's own path lists nothing, as in MLflow.
   */
  async artifactEntries(who: Principal, runId: string, dir: string): Promise<{ path: string; isDir: boolean; size?: number }[]> {
    if (dir) assertArtifactPath(dir);
    await this.access(who, runId, 'viewer');
    const prefix = dir ? `${dir}/` : '';
    const { items } = await this.store.listArtifacts(runId, prefix, { limit: 100_000, offset: 0 });
    const entries = new Map<string, { path: string; isDir: boolean; size?: number }>();
    for (const file of items) {
      const rest = file.path.slice(prefix.length);
      const slash = rest.indexOf('/');
      const name = slash < 0 ? rest : rest.slice(0, slash);
      if (!entries.has(name)) entries.set(name, slash < 0 ? { path: name, isDir: false, size: file.size } : { path: name, isDir: true });
    }
    return [...entries.values()];
  }

  /** A file and its bytes (optionally a byte range, inclusive), after checking the caller may read the run. */
  async openArtifact(
    who: Principal,
    runId: string,
    path: string,
  ): Promise<{ file: StoredArtifact; open: (range?: { start: number; end: number }) => Promise<Readable> }> {
    assertArtifactPath(path);
    await this.access(who, runId, 'viewer');
    const file = await this.store.findArtifact(runId, path);
    if (!file) throw new TandemError('NOT_FOUND', `artifact ${path} not found in run ${runId}`);
    return { file, open: (range) => this.artifacts.get(file.key, range) };
  }

  /**
   * What `path` names among a run's artifacts, for copying elsewhere: the file itself (named by
   * its last segment), else every file under the folder `path` (named relative to it). NOT_FOUND
   * naming `path` when there is neither; at most `limit` files.
   */
  async artifactFiles(who: Principal, runId: string, path: string, limit: number): Promise<(StoredArtifact & { name: string })[]> {
    assertArtifactPath(path);
    await this.access(who, runId, 'viewer');
    // In path order the file comes first; one more than `limit` tells a folder that is too big.
    const found = await this.store.artifactsAt(runId, path, limit + 1);
    const file = found[0]?.path === path ? found[0] : undefined;
    if (file) return [{ ...file, name: path.slice(path.lastIndexOf('/') + 1) }];
    if (found.length === 0) throw new TandemError('NOT_FOUND', `artifact ${path} not found in run ${runId}`);
    if (found.length > limit) throw new TandemError('PAYLOAD_TOO_LARGE', `artifact folder ${path} holds more than ${limit} files`);
    return found.map((f) => ({ ...f, name: f.path.slice(path.length + 1) }));
  }

  /**
   * Tags a run with a model version registered from it, so that the run shows where it went. The
   * registry's note, not a write of the registering user's: it checked they can see the run, and
   * viewers may register from it.
   */
  async noteRegisteredModel(run: Pick<RunAccess, 'id' | 'experimentId'>, version: string): Promise<void> {
    await this.store.atomically(1, (q) =>
      this.store.write(q, run.id, run.experimentId, { ...EMPTY_BATCH, tags: [[REGISTERED_MODEL_TAG, version]] }),
    );
    this.announceLogged(run.id, run.experimentId);
  }

  // ---- helpers

  /**
   * Moves the run's last_seen_at, at most once per `everyMs` from this server: a writer logging
   * many batches a second would otherwise pay a round trip per batch for it.
   */
  private async touch(id: string, everyMs = 1000): Promise<void> {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < everyMs) return;
    if (this.touched.size > 10_000) this.touched.clear();
    this.touched.set(id, now);
    await this.store.touch(id);
  }

  /** The run's access for the caller, or NOT_FOUND / FORBIDDEN; writes also need it active. */
  async access(who: Principal, id: string, needed: Role, { write = false } = {}): Promise<RunAccess> {
    const run = await this.store.runAccess(who, id);
    if (!run) throw new TandemError('NOT_FOUND', `run ${id} not found`);
    if (!atLeast(run.role, needed))
      throw new TandemError('FORBIDDEN', `${needed} role required on the experiment of run ${id}; you are ${run.role}`);
    if (write && run.lifecycleStage === 'deleted')
      throw new TandemError('CONFLICT', `run ${id} is deleted: restore it before writing to it`);
    return run;
  }
}

/** Refuses a batch that would change logged params (nothing of it was stored). */
function throwOnConflicts(runId: string, conflicts: ParamConflict[]): void {
  if (conflicts.length === 0) return;
  const c = conflicts[0]!;
  throw new TandemError(
    'CONFLICT',
    `param ${c.key} of run ${runId} was already logged as ${JSON.stringify(c.old)} and cannot change (attempted ${JSON.stringify(c.new)}); params are immutable: log a new run, or a metric or tag instead`,
    { details: { conflicts } },
  );
}

/** A logging call as the store writes it: each param and tag once, every point with its step and time. */
function storedBatch(batch: Batch): StoredBatch {
  const now = Date.now();
  return {
    params: distinctParams(batch.params ?? []),
    points: (batch.metrics ?? []).map((m) => ({ key: m.key, value: m.value, step: m.step ?? 0, timestamp: m.timestamp ?? now })),
    tags: [...new Map(batch.tags ?? []).entries()],
    removeTags: batch.removeTags ?? [],
    inputs: batch.inputs ?? [],
  };
}

/** Params of one call, each key once; a key given twice with different values is refused. */
function distinctParams(params: [string, string][]): [string, string][] {
  const seen = new Map<string, string>();
  for (const [key, value] of params) {
    const before = seen.get(key);
    if (before !== undefined && before !== value)
      throw new TandemError(
        'INVALID_ARGUMENT',
        `param ${key} is given twice with different values (${JSON.stringify(before)}, ${JSON.stringify(value)})`,
      );
    seen.set(key, value);
  }
  return [...seen.entries()];
}

const publicArtifact = ({ path, size, sha256, createdAt }: StoredArtifact): RunArtifact => ({ path, size, sha256, createdAt });

const onExperiment = (id: string, action: string, details: Record<string, unknown>) => ({
  action,
  resourceType: 'experiment',
  resourceId: id,
  details,
});

const experimentEvent = (type: string, id: string, data: Record<string, unknown> = {}): Omit<TandemEvent, 'at'> => ({
  type,
  resourceType: 'experiment',
  resourceId: id,
  data,
});

const runEvent = (type: string, id: string, experimentId: string, data: Record<string, unknown> = {}): Omit<TandemEvent, 'at'> => ({
  type,
  resourceType: 'run',
  resourceId: id,
  data: { experimentId, ...data },
});

/** The tracking service wired to the server's shared stores. */
export function createTrackingService(ctx: AppContext): TrackingService {
  return new TrackingService(new TrackingStore(ctx.db, ctx.permissions), ctx.artifacts, ctx.permissions, ctx.events, ctx.auth, {
    maxArtifactBytes: ctx.config.maxArtifactBytes,
    heartbeatTimeoutSeconds: 120,
    mlflowHeartbeatTimeoutSeconds: 3600,
  });
}
