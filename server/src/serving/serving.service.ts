import type { Readable } from 'node:stream';
import type { AuthStore } from '../auth/auth.store.js';
import type { Permissions, Role } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { DEPLOYMENT_KEY_PREFIX, generateToken, hashToken } from '../auth/tokens.js';
import type { AppContext } from '../context.js';
import type { PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { callerFor } from '../http/route.js';
import type { Logger } from '../logger.js';
import { audited } from '../mutations.js';
import { createModelsService, type ModelsService } from '../models/models.service.js';
import { ModelsStore } from '../models/models.store.js';
import type {
  Deployment as ApiDeployment,
  DeploymentSettings,
  DeploymentTraffic,
  DeploymentTrafficStats,
  Page,
  PredictionLogFile,
  PredictionLogSettings,
  PredictResponse,
  ServableVersion,
  ServingDeployment,
} from '../api/index.js';
import { PredictionLog } from './serving.logs.js';
import { ServingMetrics } from './serving.metrics.js';
import { ServingPlane, type Endpoint, type PredictBody } from './serving.plane.js';
import { StoreSource, type ServingSource } from './serving.source.js';
import { ServingStore, type DeploymentKey, type DeploymentRow } from './serving.store.js';

export type Deployment = ApiDeployment<Date>;

export const DEFAULT_SETTINGS: DeploymentSettings = { maxBatchSize: 64, maxWaitMs: 0, queueLimit: 1000, timeoutMs: 10_000 };
export const DEFAULT_LOG_SETTINGS: PredictionLogSettings = { logSampleRate: 0, logRetentionDays: 30 };

/** What a deployment's PATCH may change. */
type Changes = Partial<DeploymentSettings & PredictionLogSettings & DeploymentTraffic>;

/** Who calls a predict or ready route: a person (token or session), or an application with a deployment key. */
export interface Credentials {
  principal?: Principal;
  key?: string;
  /** The bearer token as sent (a replica signs no one in: it asks the server about the token). */
  token?: string;
}

/** Who may predict on a target: the model, and for an alias (or a key) the deployment. */
export interface Authorized {
  modelId: string;
  model: string;
  deploymentId: string | null;
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
 * Deployments (stored), their keys and prediction logs, who may predict, and what serves them in
 * this process (the plane): each deployment follows its alias, so moving the alias is what
 * deploys. Alias moves made through this server arrive as registry events; the plane's periodic
 * reconcile also picks up those made through other server processes.
 */
export class ServingService {
  private readonly keyCache = new Map<string, { key: { id: string; deploymentId: string } | undefined; until: number }>();
  private readonly keyTouched = new Map<string, number>();
  private readonly accessCache = new Map<string, { modelId: string; fullName: string; until: number }>();
  private stopEvents: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ServingStore,
    private readonly registry: ModelsStore,
    private readonly models: ModelsService,
    private readonly permissions: Permissions,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly plane: ServingPlane,
    private readonly source: ServingSource,
    private readonly predictionLog: PredictionLog,
    private readonly auth: Pick<AuthStore, 'authenticate'>,
  ) {}

  /** Loads every deployment in the background and follows alias moves. */
  async start(): Promise<void> {
    this.stopEvents = this.events.subscribe((event) => this.onEvent(event));
    await this.plane.start();
    this.sweeping = this.sweepLogs();
    this.sweepTimer = setInterval(() => {
      this.sweeping = this.sweeping.then(() => this.sweepLogs());
    }, LOG_SWEEP_MS).unref();
  }

  async close(): Promise<void> {
    this.stopEvents?.();
    clearInterval(this.sweepTimer);
    await this.sweeping;
    await this.plane.close();
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
    await this.plane.reconcile(model.id);
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
    await this.plane.reconcile(row.modelId);
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
    await this.plane.reconcile(row.modelId);
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
    for (const row of this.plane.deployments()) {
      try {
        await this.predictionLog.sweep(row.id, row.logRetentionDays);
      } catch (error) {
        this.log.warn('deleting old prediction logs failed', { deployment: row.id, error: String(error) });
      }
    }
  }

  // ---- the replica API: a replica (`tandem serve --server`) serves what its worker token's owner may view

  replicaDeployments(worker: Principal, modelId?: string): Promise<ServingDeployment[]> {
    return this.store.allVisible(worker, modelId);
  }

  async replicaDeployment(worker: Principal, id: string): Promise<ServingDeployment> {
    return (await this.access(worker, id, 'viewer')).row;
  }

  /** A version as serving loads it, of a model the worker token's owner may view. */
  async replicaVersion(worker: Principal, modelId: string, number: number): Promise<ServableVersion> {
    await this.permissions.require(worker, 'model', modelId, 'viewer');
    const version = await this.source.version(modelId, number);
    if (!version) throw new TandemError('NOT_FOUND', `model ${modelId} has no version ${number}`);
    return version;
  }

  /** That version's ONNX file. */
  async replicaModel(worker: Principal, modelId: string, number: number): Promise<{ stream: Readable; size: number }> {
    const version = await this.replicaVersion(worker, modelId, number);
    return { stream: await this.source.readModel(modelId, version), size: version.file.size };
  }

  /**
   * A replica's question: may whoever sent `token` predict on the target? Answered as the predict
   * routes would answer that caller, refusals included.
   */
  async authorizeToken(token: string, modelRef: string, target: { alias: string } | { version: number }): Promise<Authorized> {
    if (token.startsWith(DEPLOYMENT_KEY_PREFIX)) return this.authorize({ key: token }, modelRef, target);
    const principal = await this.auth.authenticate(token);
    if (!principal) throw new TandemError('UNAUTHENTICATED', 'invalid or revoked API token');
    return this.authorize({ principal: callerFor('public', principal) }, modelRef, target);
  }

  /** A log file a replica wrote; its worker token's owner must be an editor (the log holds callers' inputs, which editors read). */
  async replicaLog(worker: Principal, id: string, key: string, body: Readable): Promise<void> {
    await this.access(worker, id, 'editor');
    await this.predictionLog.accept(id, key, body);
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
   * Who may predict on a target, or the error that refuses them: a deployment key works on its
   * own deployment's alias only (401 when unknown or revoked, 403 elsewhere); a person needs the
   * viewer role on the model (404 when they cannot see it, as for a model that does not exist).
   */
  async authorize(who: Credentials, modelRef: string, target: { alias: string } | { version: number }): Promise<Authorized> {
    if (who.key !== undefined) return this.authorizeKey(who.key, modelRef, target);
    if (!who.principal)
      throw new TandemError('UNAUTHENTICATED', 'send a user API token or a deployment key (Authorization: Bearer <token>)');
    const model = await this.viewable(who.principal, modelRef);
    if (!('alias' in target)) return { modelId: model.id, model: model.fullName, deploymentId: null };
    const served = await this.plane.alias(model.id, target.alias);
    if (!served) throw new TandemError('NOT_FOUND', `alias ${target.alias} of model ${model.fullName} is not deployed`);
    return { modelId: model.id, model: model.fullName, deploymentId: served.row.id };
  }

  /** The endpoint a caller may use (authorize), served here. */
  async endpoint(who: Credentials, modelRef: string, target: { alias: string } | { version: number }): Promise<Endpoint> {
    return endpointOf(this.plane, await this.authorize(who, modelRef, target), target);
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

  predict(endpoint: Endpoint, body: PredictBody): Promise<PredictResponse> {
    return this.plane.predict(endpoint, body);
  }

  /** Compares what is served here with the stored deployments at once (the plane does so periodically). */
  reconcile(): Promise<void> {
    return this.plane.reconcile();
  }

  /** The last minute's requests of a deployment in this process, per split and version (viewers). */
  async traffic(who: Principal, id: string): Promise<DeploymentTrafficStats> {
    await this.access(who, id, 'viewer');
    return this.plane.traffic(id);
  }

  private onEvent(event: TandemEvent): void {
    if (event.resourceType !== 'model') return;
    if (event.type !== 'model.version.created') this.accessCache.clear();
    if (!['model.alias.set', 'model.alias.deleted', 'model.deleted'].includes(event.type)) return;
    this.plane
      .reconcile(event.resourceId)
      .catch((error: unknown) => this.log.warn('following an alias move failed', { model: event.resourceId, error: String(error) }));
  }

  private async authorizeKey(secret: string, modelRef: string, target: { alias: string } | { version: number }): Promise<Authorized> {
    const key = await this.lookupKey(secret);
    const served = key && (await this.plane.deployment(key.deploymentId));
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
    return { modelId: row.modelId, model: row.model, deploymentId: row.id };
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
    return { ...row, endpoint: `/tandem/serve/${encodeURIComponent(row.model)}/${row.alias}/predict`, ...this.plane.status(row) };
  }

  private publish(type: string, row: DeploymentRow): void {
    this.events.publish({ type, resourceType: 'deployment', resourceId: row.id, data: { model: row.model, alias: row.alias } });
  }
}

/** The settings fields that were given (PATCH leaves the others alone; a split given as null is removed). */
function definedOnly(input: Changes): Changes {
  const out: Changes = {};
  for (const key of ['maxBatchSize', 'maxWaitMs', 'queueLimit', 'timeoutMs', 'logSampleRate', 'logRetentionDays'] as const)
    if (input[key] !== undefined) out[key] = input[key];
  if (input.canary !== undefined) out.canary = input.canary;
  if (input.shadow !== undefined) out.shadow = input.shadow;
  return out;
}

/**
 * The endpoint serving an authorized target in this process: the alias's deployment, or the
 * version loaded on demand. NOT_FOUND when the deployment is gone since it was authorized.
 */
export async function endpointOf(
  plane: ServingPlane,
  authorized: Authorized,
  target: { alias: string } | { version: number },
): Promise<Endpoint> {
  if ('version' in target) return plane.pinnedVersion(authorized.modelId, authorized.model, target.version);
  const served = authorized.deploymentId === null ? undefined : await plane.deployment(authorized.deploymentId);
  if (!served) throw new TandemError('NOT_FOUND', `alias ${target.alias} of model ${authorized.model} is not deployed`);
  return served;
}

const onDeployment = (row: DeploymentRow, action: string, details: Record<string, unknown>) => ({
  action,
  resourceType: 'deployment',
  resourceId: row.id,
  details,
});

/** The serving service wired to the server's shared stores. */
export function createServingService(ctx: AppContext): ServingService {
  const store = new ServingStore(ctx.db, ctx.permissions);
  const registry = new ModelsStore(ctx.db, ctx.permissions);
  const predictionLog = new PredictionLog(ctx.artifacts, ctx.log, { flushMs: ctx.config.serveLogFlushMs });
  const source = new StoreSource(store, registry, ctx.artifacts);
  return new ServingService(
    store,
    registry,
    ctx.shared(createModelsService),
    ctx.permissions,
    ctx.events,
    ctx.log,
    new ServingPlane(
      source,
      new ServingMetrics(ctx.metrics.registry),
      ctx.log,
      { maxModelBytes: ctx.config.maxArtifactBytes, reconcileMs: 10_000, maxPinned: 4, pinnedIdleMs: 10 * 60_000 },
      predictionLog,
    ),
    source,
    predictionLog,
    ctx.auth,
  );
}
