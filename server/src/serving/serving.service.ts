import type { Readable } from 'node:stream';
import type { ArtifactStore } from '../artifacts/store.js';
import type { Permissions, Role } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { DEPLOYMENT_KEY_PREFIX, generateToken, hashToken } from '../auth/tokens.js';
import type { AppContext } from '../context.js';
import type { PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { audited } from '../mutations.js';
import { createModelsService, type ModelsService } from '../models/models.service.js';
import { ModelsStore, type ModelFile } from '../models/models.store.js';
import type {
  Deployment as ApiDeployment,
  DeploymentSettings,
  DeploymentStatus,
  DeploymentTraffic,
  DeploymentTrafficStats,
  Page,
  PredictionLogFile,
  PredictionLogSettings,
  PredictResponse,
} from '../api/index.js';
import { PredictionLog } from './serving.logs.js';
import { ServingMetrics, type Labels } from './serving.metrics.js';
import { loadModel, sha256, type LoadedModel } from './serving.model.js';
import { Runner } from './serving.runner.js';
import { RecentTraffic, WINDOW_SECONDS } from './serving.stats.js';
import { ServingStore, type DeploymentKey, type DeploymentRow } from './serving.store.js';

export type Deployment = ApiDeployment<Date>;

export const DEFAULT_SETTINGS: DeploymentSettings = { maxBatchSize: 64, maxWaitMs: 0, queueLimit: 1000, timeoutMs: 10_000 };
export const DEFAULT_LOG_SETTINGS: PredictionLogSettings = { logSampleRate: 0, logRetentionDays: 30 };

/** What a deployment's PATCH may change. */
type Changes = Partial<DeploymentSettings & PredictionLogSettings & DeploymentTraffic>;

export interface ServingLimits {
  /** Largest ONNX file loaded (bytes). */
  maxModelBytes: number;
  /** How often every deployment is compared with its alias (alias moves made by other server processes). */
  reconcileMs: number;
  /** Pinned versions (`/versions/:n/predict`) kept loaded at once; the least recently used is dropped first. */
  maxPinned: number;
  /** A pinned version unused this long is unloaded. */
  pinnedIdleMs: number;
}

/** Who calls a predict or ready route: a person (token or session), or an application with a deployment key. */
export interface Credentials {
  principal?: Principal;
  key?: string;
}

type PredictBody = { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> };

/** What serves one version of an endpoint, the labels of its metrics, and where its predictions are logged. */
interface Target {
  runner: Runner;
  labels: Labels;
  recent: RecentTraffic;
  /** The deployment whose prediction log this target writes to ('' for pinned versions, which are not logged). */
  deploymentId: string;
  /** The deployment's `logSampleRate`, kept here so an unlogged prediction costs one comparison. */
  logRate: number;
}

/** A canary or shadow version beside the alias's, and its share of requests. */
interface SplitTarget extends Target {
  percent: number;
}

/** A resolved prediction endpoint: the runner of the alias's (or the pinned) version, and the splits beside it. */
export interface Endpoint extends Target {
  canary?: SplitTarget;
  shadow?: SplitTarget;
}

interface Served extends Endpoint {
  row: DeploymentRow;
}

type Split = 'canary' | 'shadow';

interface Pinned extends Endpoint {
  modelId: string;
  lastUsed: number;
  settled: Promise<void>;
}

const KEY_CACHE_MS = 5_000;
/**
 * How long a person's access to a model is trusted without asking the database again. Any
 * registry event (a share, a new model that changes what a bare name means, a deletion) drops
 * every entry at once; other server processes' changes are seen within this time.
 */
const ACCESS_CACHE_MS = 2_000;
const KEY_TOUCH_MS = 60_000;
/** How often old prediction log partitions are deleted. */
const LOG_SWEEP_MS = 3_600_000;

/**
 * Deployments (stored) and what serves them in this process (runners): each deployment follows
 * its alias, so moving the alias is what deploys. Alias moves made through this server arrive as
 * registry events; a periodic reconcile also picks up those made through other server processes.
 */
export class ServingService {
  private readonly served = new Map<string, Served>();
  private readonly pinned = new Map<string, Pinned>();
  private readonly keyCache = new Map<string, { key: { id: string; deploymentId: string } | undefined; until: number }>();
  private readonly keyTouched = new Map<string, number>();
  private readonly accessCache = new Map<string, { modelId: string; fullName: string; until: number }>();
  /** Reconciles run one after the other, so an older read of an alias never overrides a newer one. */
  private reconciling: Promise<void> = Promise.resolve();
  private stopEvents: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ServingStore,
    private readonly registry: ModelsStore,
    private readonly models: ModelsService,
    private readonly artifacts: ArtifactStore,
    private readonly permissions: Permissions,
    private readonly events: EventBus,
    private readonly metrics: ServingMetrics,
    private readonly log: Logger,
    private readonly limits: ServingLimits,
    private readonly predictionLog: PredictionLog,
  ) {}

  /** Loads every deployment in the background and follows alias moves. */
  async start(): Promise<void> {
    this.stopEvents = this.events.subscribe((event) => this.onEvent(event));
    await this.reconcile();
    this.timer = setInterval(() => {
      this.reconcile().catch((error: unknown) => this.log.warn('reconciling deployments failed', { error: String(error) }));
      this.sweepPinned();
    }, this.limits.reconcileMs).unref();
    this.sweeping = this.sweepLogs();
    this.sweepTimer = setInterval(() => {
      this.sweeping = this.sweeping.then(() => this.sweepLogs());
    }, LOG_SWEEP_MS).unref();
  }

  async close(): Promise<void> {
    this.stopEvents?.();
    clearInterval(this.timer);
    clearInterval(this.sweepTimer);
    await this.reconciling.catch(() => undefined);
    for (const id of [...this.served.keys()]) await this.unserve(id);
    for (const key of [...this.pinned.keys()]) await this.unpin(key);
    await this.sweeping;
    await this.predictionLog.close();
  }

  // ---- deployments

  async create(who: Principal, input: Changes & { model: string; alias: string }): Promise<Deployment> {
    const { model } = await this.models.access(who, input.model, 'editor');
    const aliasVersion = (await this.registry.findVersion(model.id, { alias: input.alias }))?.number ?? null;
    await this.checkSplits(model.id, model.fullName, aliasVersion, input);
    const settings = { ...DEFAULT_SETTINGS, ...DEFAULT_LOG_SETTINGS, canary: null, shadow: null, ...definedOnly(input) };
    const row = await audited(
      this.store,
      who,
      (created: DeploymentRow) => onDeployment(created, 'deployment.create', { model: model.fullName, alias: input.alias, ...settings }),
      (tx) =>
        this.store.createDeployment(tx, {
          ...settings,
          modelId: model.id,
          modelName: model.fullName,
          alias: input.alias,
          createdBy: who.id,
        }),
    );
    this.publish('deployment.created', row);
    await this.reconcile(model.id);
    return this.view(row);
  }

  async get(who: Principal, id: string): Promise<Deployment> {
    return this.view((await this.access(who, id, 'viewer')).row);
  }

  async list(who: Principal, filter: { model?: string }, page: PageRequest): Promise<Page<Deployment>> {
    const modelId = filter.model ? (await this.models.access(who, filter.model, 'viewer')).model.id : undefined;
    const found = await this.store.listVisible(who, { modelId }, page);
    return { ...found, items: found.items.map((row) => this.view(row)) };
  }

  async update(who: Principal, id: string, change: Changes): Promise<Deployment> {
    const { row } = await this.access(who, id, 'editor');
    await this.checkSplits(row.modelId, row.model, row.aliasVersion, change);
    const fields = definedOnly(change);
    await audited(this.store, who, onDeployment(row, 'deployment.update', fields), (tx) => this.store.updateDeployment(tx, id, fields));
    const updated = (await this.store.findDeployment(id))!;
    this.publish('deployment.updated', updated);
    await this.reconcile(row.modelId);
    return this.view(updated);
  }

  /**
   * Makes the canary's version the alias's (every request then goes to it) and removes the
   * canary: the alias moves first, so no request is answered by the old version after the canary
   * is gone. Needs the editor role, as moving the alias does.
   */
  async promoteCanary(who: Principal, id: string): Promise<Deployment> {
    const { row } = await this.access(who, id, 'editor');
    if (!row.canary) throw new TandemError('CONFLICT', `deployment ${id} has no canary to promote`);
    await this.models.setAlias(who, row.model, row.alias, row.canary.version);
    return this.update(who, id, { canary: null });
  }

  /** A split names an existing version of the model other than the alias's (else the split would be the alias itself). */
  private async checkSplits(
    modelId: string,
    modelName: string,
    aliasVersion: number | null,
    change: Partial<DeploymentTraffic>,
  ): Promise<void> {
    for (const split of ['canary', 'shadow'] as const) {
      const wanted = change[split];
      if (!wanted) continue;
      if (wanted.version === aliasVersion)
        throw new TandemError(
          'INVALID_ARGUMENT',
          `${split}.version: version ${wanted.version} is the one the alias serves; choose another version`,
        );
      if (!(await this.registry.findVersion(modelId, { version: wanted.version })))
        throw new TandemError('INVALID_ARGUMENT', `${split}.version: model ${modelName} has no version ${wanted.version}`);
    }
  }

  async remove(who: Principal, id: string): Promise<void> {
    const { row } = await this.access(who, id, 'editor');
    await audited(this.store, who, onDeployment(row, 'deployment.delete', { model: row.model, alias: row.alias }), (tx) =>
      this.store.deleteDeployment(tx, id),
    );
    this.publish('deployment.deleted', row);
    await this.reconcile(row.modelId);
  }

  // ---- prediction logs

  /** The deployment's prediction log files, newest hour first (editors: the log holds callers' inputs). */
  async logFiles(who: Principal, id: string, page: PageRequest): Promise<Page<PredictionLogFile>> {
    await this.access(who, id, 'editor');
    return this.predictionLog.files(id, page);
  }

  /** One of the deployment's prediction log files (editors). */
  async logFile(who: Principal, id: string, key: string): Promise<{ stream: Readable; size: number }> {
    await this.access(who, id, 'editor');
    return this.predictionLog.open(id, key);
  }

  /** Deletes every deployment's log partitions older than its retention; never rejects. */
  private async sweepLogs(): Promise<void> {
    for (const { row } of [...this.served.values()]) {
      try {
        await this.predictionLog.sweep(row.id, row.logRetentionDays);
      } catch (error) {
        this.log.warn('deleting old prediction logs failed', { deployment: row.id, error: String(error) });
      }
    }
  }

  // ---- keys

  async createKey(who: Principal, id: string, name = 'key'): Promise<{ key: DeploymentKey; secret: string }> {
    const { row } = await this.access(who, id, 'editor');
    const secret = generateToken(DEPLOYMENT_KEY_PREFIX);
    const key = await audited(
      this.store,
      who,
      (created: DeploymentKey) => onDeployment(row, 'deployment.key.create', { keyId: created.id, name }),
      (tx) =>
        this.store.createKey(tx, {
          deploymentId: id,
          name,
          tokenHash: hashToken(secret),
          prefix: secret.slice(0, DEPLOYMENT_KEY_PREFIX.length + 4),
          createdBy: who.id,
        }),
    );
    return { key, secret };
  }

  async listKeys(who: Principal, id: string): Promise<DeploymentKey[]> {
    await this.access(who, id, 'editor');
    return this.store.listKeys(id);
  }

  async revokeKey(who: Principal, id: string, keyId: string): Promise<void> {
    const { row } = await this.access(who, id, 'editor');
    const hash = await audited(this.store, who, onDeployment(row, 'deployment.key.revoke', { keyId }), async (tx) => {
      const deleted = await this.store.deleteKey(tx, id, keyId);
      if (!deleted) throw new TandemError('NOT_FOUND', `key ${keyId} not found on deployment ${id}`);
      return deleted;
    });
    this.keyCache.delete(hash);
  }

  // ---- predictions

  /**
   * The endpoint a caller may use, or the error that refuses them: a deployment key works on its
   * own deployment's alias only (401 when unknown or revoked, 403 elsewhere); a person needs the
   * viewer role on the model (404 when they cannot see it, as for a model that does not exist).
   */
  async endpoint(who: Credentials, modelRef: string, target: { alias: string } | { version: number }): Promise<Endpoint> {
    if (who.key !== undefined) return this.endpointForKey(who.key, modelRef, target);
    if (!who.principal)
      throw new TandemError('UNAUTHENTICATED', 'send a user API token or a deployment key (Authorization: Bearer <token>)');
    const model = await this.viewable(who.principal, modelRef);
    if ('alias' in target) {
      const served = this.servedByAlias(model.id, target.alias) ?? (await this.catchUp(model.id, target.alias));
      if (!served) throw new TandemError('NOT_FOUND', `alias ${target.alias} of model ${model.fullName} is not deployed`);
      return served;
    }
    return this.pinnedVersion(model.id, model.fullName, target.version);
  }

  /** The model `modelRef` names for `who`, when they may view it (two queries otherwise paid by every prediction). */
  private async viewable(who: Principal, modelRef: string): Promise<{ id: string; fullName: string }> {
    const key = [who.id, who.tokenKind, who.isAdmin, who.teamIds.join(','), modelRef].join('\u0000');
    const now = Date.now();
    const hit = this.accessCache.get(key);
    if (hit && hit.until > now) return { id: hit.modelId, fullName: hit.fullName };
    const { model } = await this.models.access(who, modelRef, 'viewer');
    if (this.accessCache.size > 10_000) this.accessCache.clear();
    this.accessCache.set(key, { modelId: model.id, fullName: model.fullName, until: now + ACCESS_CACHE_MS });
    return model;
  }

  /**
   * Runs a prediction on an endpoint: on its canary for the canary's share of requests, else on
   * the alias's version; the shadow's share is also sent to the shadow, whose answer (or error)
   * is only recorded. A split that has nothing loaded takes no requests.
   */
  predict(endpoint: Endpoint, body: PredictBody): Promise<PredictResponse> {
    const { canary, shadow } = endpoint;
    if (shadow && takes(shadow)) this.run(shadow, body).catch(() => undefined);
    return this.run(canary && takes(canary) && canary.runner.servedVersion !== endpoint.runner.servedVersion ? canary : endpoint, body);
  }

  /** Runs a prediction on one target, recording its metrics. */
  private async run(target: Target, body: PredictBody): Promise<PredictResponse> {
    const started = performance.now();
    try {
      const answer = await target.runner.predict(body);
      const ms = performance.now() - started;
      this.metrics.request(target.labels, ms / 1000, 200, answer.version);
      target.recent.record(answer.version, ms, true);
      // The sample is drawn before the entry is built, so that unsampled requests allocate nothing.
      if (target.logRate > 0 && Math.random() < target.logRate) {
        const entry = { split: target.labels.split, version: answer.version, latencyMs: ms, status: 200, error: null, body, answer };
        this.predictionLog.record(target.deploymentId, entry, 1);
      }
      return answer;
    } catch (error) {
      const known = error instanceof TandemError ? error : new TandemError('INTERNAL', 'the prediction failed', { cause: error });
      const ms = performance.now() - started;
      this.metrics.request(target.labels, ms / 1000, known.status, target.runner.servedVersion, known.code);
      target.recent.record(target.runner.servedVersion, ms, false);
      if (target.logRate > 0 && Math.random() < target.logRate) {
        const entry = {
          split: target.labels.split,
          version: target.runner.servedVersion,
          latencyMs: ms,
          status: known.status,
          error: known.message,
          body,
          answer: undefined,
        };
        this.predictionLog.record(target.deploymentId, entry, 1);
      }
      throw known;
    }
  }

  /** The last minute's requests of a deployment in this process, per split and version (viewers). */
  async traffic(who: Principal, id: string): Promise<DeploymentTrafficStats> {
    await this.access(who, id, 'viewer');
    const served = this.served.get(id) ?? (await this.catchUpDeployment(id));
    const splits = served
      ? ([
          ['primary', served],
          ['canary', served.canary],
          ['shadow', served.shadow],
        ] as const)
      : [];
    return {
      windowSeconds: WINDOW_SECONDS,
      splits: splits.flatMap(([split, target]) => (target ? [{ split, versions: target.recent.summary() }] : [])),
    };
  }

  // ---- serving in this process

  /**
   * Makes the runners match the stored deployments (of one model, or all) and their aliases:
   * new deployments start loading, removed ones stop, moved aliases load their new version.
   */
  reconcile(modelId?: string): Promise<void> {
    const run = this.reconciling.then(async () => {
      const rows = await this.store.all(modelId);
      const seen = new Set<string>();
      for (const row of rows) {
        seen.add(row.id);
        this.serve(row);
      }
      for (const [id, served] of this.served) {
        if (!seen.has(id) && (modelId === undefined || served.row.modelId === modelId)) {
          await this.unserve(id);
          // The deployment is gone (deleted, or with its model): so is its log.
          this.predictionLog.forget(id);
        }
      }
      if (modelId !== undefined && rows.length === 0) {
        for (const [key, pinned] of this.pinned) if (pinned.modelId === modelId) await this.unpin(key);
      }
    });
    this.reconciling = run.catch(() => undefined);
    return run;
  }

  private serve(row: DeploymentRow): void {
    let served = this.served.get(row.id);
    if (!served) {
      served = { row, ...this.target(row, 'primary') };
      this.served.set(row.id, served);
    }
    served.row = row;
    served.logRate = row.logSampleRate;
    served.runner.settings = settingsOf(row);
    served.runner.follow(row.aliasVersion, `alias ${row.alias} of model ${row.model} points at no version`);
    for (const split of ['canary', 'shadow'] as const) served[split] = this.serveSplit(served[split], row, split);
  }

  /** The runner of a split as the row now wants it: made, changed, or closed when the split was removed. */
  private serveSplit(current: SplitTarget | undefined, row: DeploymentRow, split: Split): SplitTarget | undefined {
    const wanted = row[split];
    if (!wanted) {
      if (current) void this.stop(current);
      return undefined;
    }
    const target = current ?? { ...this.target(row, split), percent: wanted.percent };
    target.percent = wanted.percent;
    target.logRate = row.logSampleRate;
    target.runner.settings = settingsOf(row);
    target.runner.follow(wanted.version);
    return target;
  }

  private target(row: DeploymentRow, split: Labels['split']): Target {
    const labels: Labels = { model: row.model, endpoint: row.alias, split };
    this.metrics.served(labels, null);
    return {
      runner: new Runner(settingsOf(row), this.hooks(row.modelId, labels)),
      labels,
      recent: new RecentTraffic(),
      deploymentId: row.id,
      logRate: row.logSampleRate,
    };
  }

  private async stop(target: Target): Promise<void> {
    await target.runner.close();
    this.metrics.forget(target.labels);
  }

  private async unserve(id: string): Promise<void> {
    const served = this.served.get(id);
    if (!served) return;
    this.served.delete(id);
    for (const target of [served, served.canary, served.shadow]) {
      if (!target) continue;
      // Requests still running finish unlogged, so nothing lands in the log of a deleted deployment.
      target.logRate = 0;
      await this.stop(target);
    }
  }

  private hooks(modelId: string, labels: Labels) {
    return {
      load: (version: number) => this.load(modelId, version),
      batched: (rows: number) => this.metrics.batch(labels, rows),
      swapped: (version: number | null) => {
        this.metrics.served(labels, version);
        this.log.info('deployment serves a new version', { ...labels, version });
      },
      failed: (version: number | null, error: unknown) => {
        this.log.warn('a model version failed to load; the previous one keeps serving', {
          ...labels,
          version,
          error: String(error),
          cause: String((error as Error)?.cause ?? ''),
        });
      },
    };
  }

  /** Reads a version's ONNX file, checks it is the registered one, and opens it. */
  private async load(modelId: string, number: number): Promise<LoadedModel> {
    const version = await this.registry.findVersion(modelId, { version: number });
    if (!version || version.status !== 'ready') throw new TandemError('NOT_FOUND', `version ${number} no longer exists`);
    const file = onnxFile(version.files, number);
    if (file.size > this.limits.maxModelBytes)
      throw new TandemError(
        'PAYLOAD_TOO_LARGE',
        `${file.path} of version ${number} is ${file.size} bytes; serving loads at most ${this.limits.maxModelBytes}`,
      );
    let bytes: Buffer;
    try {
      bytes = await readAll(await this.artifacts.get(file.key), this.limits.maxModelBytes);
    } catch (cause) {
      throw new TandemError('UNAVAILABLE', `reading ${file.path} of version ${number} from the artifact store failed: ${String(cause)}`, {
        cause,
      });
    }
    if (sha256(bytes) !== file.sha256)
      throw new TandemError(
        'CONFLICT',
        `${file.path} of version ${number} does not match its registered sha256: the stored artifact is corrupt`,
      );
    return loadModel(bytes, { number, id: version.id, signature: version.signature });
  }

  private onEvent(event: TandemEvent): void {
    if (event.resourceType !== 'model') return;
    if (event.type !== 'model.version.created') this.accessCache.clear();
    if (!['model.alias.set', 'model.alias.deleted', 'model.deleted'].includes(event.type)) return;
    this.reconcile(event.resourceId).catch((error: unknown) =>
      this.log.warn('following an alias move failed', { model: event.resourceId, error: String(error) }),
    );
  }

  private servedByAlias(modelId: string, alias: string): Served | undefined {
    for (const served of this.served.values()) if (served.row.modelId === modelId && served.row.alias === alias) return served;
    return undefined;
  }

  /** A deployment made through another server process since the last reconcile. */
  private async catchUp(modelId: string, alias: string): Promise<Served | undefined> {
    const row = await this.store.findByAlias(modelId, alias);
    if (!row) return undefined;
    await this.reconcile(modelId);
    return this.servedByAlias(modelId, alias);
  }

  /** A deployment (made through another server process) that a key names. */
  private async catchUpDeployment(id: string): Promise<Served | undefined> {
    const row = await this.store.findDeployment(id);
    if (!row) return undefined;
    await this.reconcile(row.modelId);
    return this.served.get(id);
  }

  private async pinnedVersion(modelId: string, fullName: string, number: number): Promise<Endpoint> {
    const key = `${modelId}/${number}`;
    let pinned = this.pinned.get(key);
    if (!pinned) {
      const settingsFrom = [...this.served.values()].find((s) => s.row.modelId === modelId) ?? (await this.catchUpModel(modelId));
      if (!settingsFrom) throw new TandemError('NOT_FOUND', `model ${fullName} is not deployed: create a deployment to serve its versions`);
      if (!(await this.registry.findVersion(modelId, { version: number })))
        throw new TandemError('NOT_FOUND', `model ${fullName} has no version ${number}`);
      pinned = this.pinned.get(key);
      if (!pinned) {
        if (this.pinned.size >= this.limits.maxPinned) {
          const oldest = [...this.pinned.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0]!;
          await this.unpin(oldest[0]);
        }
        const labels: Labels = { model: fullName, endpoint: `versions/${number}`, split: 'primary' };
        const runner = new Runner(settingsOf(settingsFrom.row), this.hooks(modelId, labels));
        runner.follow(number);
        pinned = {
          runner,
          labels,
          recent: new RecentTraffic(),
          deploymentId: '',
          logRate: 0,
          modelId,
          lastUsed: Date.now(),
          settled: runner.settled(),
        };
        this.pinned.set(key, pinned);
      }
    }
    pinned.lastUsed = Date.now();
    // The first callers of a pinned version wait for it to load rather than being told to retry.
    await pinned.settled;
    return pinned;
  }

  private async catchUpModel(modelId: string): Promise<Served | undefined> {
    await this.reconcile(modelId);
    return [...this.served.values()].find((s) => s.row.modelId === modelId);
  }

  private sweepPinned(): void {
    const now = Date.now();
    for (const [key, pinned] of this.pinned) if (now - pinned.lastUsed > this.limits.pinnedIdleMs) void this.unpin(key);
  }

  private async unpin(key: string): Promise<void> {
    const pinned = this.pinned.get(key);
    if (!pinned) return;
    this.pinned.delete(key);
    await this.stop(pinned);
  }

  private async endpointForKey(secret: string, modelRef: string, target: { alias: string } | { version: number }): Promise<Endpoint> {
    const key = await this.lookupKey(secret);
    const served = key && (this.served.get(key.deploymentId) ?? (await this.catchUpDeployment(key.deploymentId)));
    if (!key || !served) throw new TandemError('UNAUTHENTICATED', 'invalid or revoked deployment key');
    const { row } = served;
    const sameModel = modelRef === row.model || modelRef === row.model.slice(row.model.indexOf('/') + 1);
    if (!('alias' in target) || !sameModel || target.alias !== row.alias) {
      throw new TandemError('FORBIDDEN', 'this deployment key is for another endpoint: a key calls only its own deployment’s alias');
    }
    const now = Date.now();
    if ((this.keyTouched.get(key.id) ?? 0) < now - KEY_TOUCH_MS) {
      this.keyTouched.set(key.id, now);
      this.store.touchKey(key.id).catch((error: unknown) => this.log.warn('recording a key’s use failed', { error: String(error) }));
    }
    return served;
  }

  /** Keys are looked up by hash, briefly cached; a revocation made here drops its entry at once. */
  private async lookupKey(secret: string): Promise<{ id: string; deploymentId: string } | undefined> {
    const hash = hashToken(secret);
    const now = Date.now();
    const hit = this.keyCache.get(hash);
    if (hit && hit.until > now) return hit.key;
    if (this.keyCache.size > 10_000) this.keyCache.clear();
    const key = await this.store.findKeyByHash(hash);
    this.keyCache.set(hash, { key, until: now + KEY_CACHE_MS });
    return key;
  }

  /** The deployment `id` and the caller's role on its model; NOT_FOUND for anyone who cannot see the model. */
  private async access(who: Principal, id: string, needed: Role): Promise<{ row: DeploymentRow }> {
    const row = await this.store.findDeployment(id);
    if (!row) throw new TandemError('NOT_FOUND', `deployment ${id} not found`);
    try {
      await this.permissions.require(who, 'model', row.modelId, needed, { label: row.model });
    } catch (error) {
      if (error instanceof TandemError && error.code === 'NOT_FOUND')
        throw new TandemError('NOT_FOUND', `deployment ${id} not found`, { cause: error });
      throw error;
    }
    return { row };
  }

  private view(row: DeploymentRow): Deployment {
    const served = this.served.get(row.id);
    const unavailable: DeploymentStatus = { state: 'unavailable', servedVersion: null, loadingVersion: null, lastError: null };
    const splitStatus = (split: Split) => (row[split] ? (served?.[split]?.runner.status() ?? unavailable) : null);
    return {
      ...row,
      endpoint: `/tandem/serve/${encodeURIComponent(row.model)}/${row.alias}/predict`,
      status: served?.runner.status() ?? unavailable,
      splitStatus: { canary: splitStatus('canary'), shadow: splitStatus('shadow') },
    };
  }

  private publish(type: string, row: DeploymentRow): void {
    this.events.publish({ type, resourceType: 'deployment', resourceId: row.id, data: { model: row.model, alias: row.alias } });
  }
}

const settingsOf = (row: DeploymentSettings): DeploymentSettings => ({
  maxBatchSize: row.maxBatchSize,
  maxWaitMs: row.maxWaitMs,
  queueLimit: row.queueLimit,
  timeoutMs: row.timeoutMs,
});

/** The settings fields that were given (PATCH leaves the others alone; a split given as null is removed). */
function definedOnly(input: Changes): Changes {
  const out: Changes = {};
  for (const key of ['maxBatchSize', 'maxWaitMs', 'queueLimit', 'timeoutMs', 'logSampleRate', 'logRetentionDays'] as const)
    if (input[key] !== undefined) out[key] = input[key];
  if (input.canary !== undefined) out.canary = input.canary;
  if (input.shadow !== undefined) out.shadow = input.shadow;
  return out;
}

/** Whether a split takes this request: its version is loaded, and the request falls in its share. */
const takes = (split: SplitTarget): boolean => split.runner.servedVersion !== null && Math.random() * 100 < split.percent;

const onDeployment = (row: DeploymentRow, action: string, details: Record<string, unknown>) => ({
  action,
  resourceType: 'deployment',
  resourceId: row.id,
  details,
});

/** The version's ONNX file: `model.onnx`, else its only `.onnx` file. */
function onnxFile(files: ModelFile[], number: number): ModelFile {
  const onnx = files.filter((f) => f.path.endsWith('.onnx'));
  const file = onnx.find((f) => f.path === 'model.onnx') ?? (onnx.length === 1 ? onnx[0] : undefined);
  if (!file) {
    throw new TandemError(
      'INVALID_ARGUMENT',
      onnx.length === 0
        ? `version ${number} has no .onnx file to serve`
        : `version ${number} has several .onnx files (${onnx.map((f) => f.path).join(', ')}): name the one to serve model.onnx`,
    );
  }
  return file;
}

async function readAll(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new TandemError('PAYLOAD_TOO_LARGE', `the model file is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The serving service wired to the server's shared stores. */
export function createServingService(ctx: AppContext): ServingService {
  return new ServingService(
    new ServingStore(ctx.db, ctx.permissions),
    new ModelsStore(ctx.db, ctx.permissions),
    ctx.shared(createModelsService),
    ctx.artifacts,
    ctx.permissions,
    ctx.events,
    new ServingMetrics(ctx.metrics.registry),
    ctx.log,
    { maxModelBytes: ctx.config.maxArtifactBytes, reconcileMs: 10_000, maxPinned: 4, pinnedIdleMs: 10 * 60_000 },
    new PredictionLog(ctx.artifacts, ctx.log, { flushMs: ctx.config.serveLogFlushMs }),
  );
}
