import type { Readable } from 'node:stream';
import type { DeploymentSettings, DeploymentStatus, DeploymentTrafficStats, PredictResponse, ServingDeployment } from '../api/index.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PredictionLog } from './serving.logs.js';
import type { Labels, ServingMetrics } from './serving.metrics.js';
import { loadModel, sha256, type LoadedModel } from './serving.model.js';
import { Runner } from './serving.runner.js';
import type { ServingSource } from './serving.source.js';
import { RecentTraffic, WINDOW_SECONDS } from './serving.stats.js';

export interface ServingLimits {
  /** Largest ONNX file loaded (bytes). */
  maxModelBytes: number;
  /** How often every deployment is compared with its alias (alias moves made elsewhere: other server processes, or the server for a replica). */
  reconcileMs: number;
  /** Pinned versions (`/versions/:n/predict`) kept loaded at once; the least recently used is dropped first. */
  maxPinned: number;
  /** A pinned version unused this long is unloaded. */
  pinnedIdleMs: number;
}

export type PredictBody = { rows: Record<string, unknown>[] } | { columns: Record<string, unknown[]> };

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

/** An endpoint serving a deployment, as last read from the source. */
export interface Served extends Endpoint {
  row: ServingDeployment;
}

type Split = 'canary' | 'shadow';

interface Pinned extends Endpoint {
  modelId: string;
  lastUsed: number;
  settled: Promise<void>;
}

const UNAVAILABLE: DeploymentStatus = { state: 'unavailable', servedVersion: null, loadingVersion: null, lastError: null };

/**
 * What serves predictions in one process, the server or a replica: a runner per deployment (and
 * split), following the deployments its source lists, so that moving an alias is what deploys;
 * pinned versions loaded on demand; metrics, last-minute traffic and the prediction log.
 */
export class ServingPlane {
  private readonly served = new Map<string, Served>();
  private readonly pinned = new Map<string, Pinned>();
  /** Reconciles run one after the other, so an older read of an alias never overrides a newer one. */
  private reconciling: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: ServingSource,
    private readonly metrics: ServingMetrics,
    private readonly log: Logger,
    private readonly limits: ServingLimits,
    private readonly predictionLog: Pick<PredictionLog, 'record' | 'forget' | 'close'>,
  ) {}

  /** Loads every deployment in the background and compares them with the source periodically. */
  async start(): Promise<void> {
    await this.reconcile();
    this.timer = setInterval(() => {
      this.reconcile().catch((error: unknown) => this.log.warn('reconciling deployments failed', { error: String(error) }));
      this.sweepPinned();
    }, this.limits.reconcileMs).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.reconciling.catch(() => undefined);
    for (const id of [...this.served.keys()]) await this.unserve(id);
    for (const key of [...this.pinned.keys()]) await this.unpin(key);
    await this.predictionLog.close();
  }

  /** Resolves once every deployment's versions have loaded or failed to. */
  async settled(): Promise<void> {
    const targets = [...this.served.values()].flatMap((s) => [s, s.canary, s.shadow]);
    await Promise.all(targets.map((target) => target?.runner.settled()));
  }

  /** The deployments served here, as last read. */
  deployments(): ServingDeployment[] {
    return [...this.served.values()].map((s) => s.row);
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

  /** Runs a prediction on one target, recording its metrics, traffic and (sampled) log row. */
  private async run(target: Target, body: PredictBody): Promise<PredictResponse> {
    const started = performance.now();
    try {
      const answer = await target.runner.predict(body);
      const ms = performance.now() - started;
      this.metrics.request(target.labels, ms / 1000, 200, answer.version);
      target.recent.record(answer.version, ms, true);
      this.logged(target, body, ms, answer.version, 200, answer);
      return answer;
    } catch (error) {
      const known = error instanceof TandemError ? error : new TandemError('INTERNAL', 'the prediction failed', { cause: error });
      const ms = performance.now() - started;
      const version = target.runner.servedVersion;
      this.metrics.request(target.labels, ms / 1000, known.status, version, known.code);
      target.recent.record(version, ms, false);
      this.logged(target, body, ms, version, known.status, known);
      throw known;
    }
  }

  /** Logs the request when it is sampled; the sample is drawn first, so unsampled requests allocate nothing. */
  private logged(
    target: Target,
    body: PredictBody,
    latencyMs: number,
    version: number | null,
    status: number,
    outcome: PredictResponse | TandemError,
  ) {
    if (target.logRate === 0 || Math.random() >= target.logRate) return;
    const failed = outcome instanceof TandemError;
    this.predictionLog.record(
      target.deploymentId,
      {
        split: target.labels.split,
        version,
        latencyMs,
        status,
        error: failed ? outcome.message : null,
        body,
        answer: failed ? undefined : outcome,
      },
      1,
    );
  }

  /** The deployment's last minute of requests here, per split and version. */
  async traffic(id: string): Promise<DeploymentTrafficStats> {
    const served = await this.deployment(id);
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

  /** What the deployment and its splits are doing here. */
  status(row: ServingDeployment): { status: DeploymentStatus; splitStatus: Record<Split, DeploymentStatus | null> } {
    const served = this.served.get(row.id);
    const splitStatus = (split: Split) => (row[split] ? (served?.[split]?.runner.status() ?? UNAVAILABLE) : null);
    return {
      status: served?.runner.status() ?? UNAVAILABLE,
      splitStatus: { canary: splitStatus('canary'), shadow: splitStatus('shadow') },
    };
  }

  /**
   * Makes the runners match the source's deployments (of one model, or all) and their aliases:
   * new deployments start loading, removed ones stop, moved aliases load their new version.
   */
  reconcile(modelId?: string): Promise<void> {
    const run = this.reconciling.then(async () => {
      const rows = await this.source.deployments(modelId);
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

  /** The endpoint of a model's alias, reading the source when it is not served here yet (made elsewhere since the last reconcile). */
  async alias(modelId: string, alias: string): Promise<Served | undefined> {
    const served = this.servedByAlias(modelId, alias);
    if (served || !(await this.source.deploymentByAlias(modelId, alias))) return served;
    await this.reconcile(modelId);
    return this.servedByAlias(modelId, alias);
  }

  /** The endpoint of a deployment, reading the source when it is not served here yet. */
  async deployment(id: string): Promise<Served | undefined> {
    const served = this.served.get(id);
    if (served) return served;
    const row = await this.source.deployment(id);
    if (!row) return undefined;
    await this.reconcile(row.modelId);
    return this.served.get(id);
  }

  /**
   * One version of a deployed model, loaded on first use with the settings of one of the model's
   * deployments; the first callers wait for it to load rather than being told to retry.
   */
  async pinnedVersion(modelId: string, fullName: string, number: number): Promise<Endpoint> {
    const key = `${modelId}/${number}`;
    let pinned = this.pinned.get(key);
    if (!pinned) {
      const settingsFrom = [...this.served.values()].find((s) => s.row.modelId === modelId) ?? (await this.anyOfModel(modelId));
      if (!settingsFrom) throw new TandemError('NOT_FOUND', `model ${fullName} is not deployed: create a deployment to serve its versions`);
      if (!(await this.source.version(modelId, number))) throw new TandemError('NOT_FOUND', `model ${fullName} has no version ${number}`);
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
    await pinned.settled;
    return pinned;
  }

  private serve(row: ServingDeployment): void {
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
  private serveSplit(current: SplitTarget | undefined, row: ServingDeployment, split: Split): SplitTarget | undefined {
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

  private target(row: ServingDeployment, split: Labels['split']): Target {
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
    const version = await this.source.version(modelId, number);
    if (!version) throw new TandemError('NOT_FOUND', `version ${number} no longer exists`);
    const { file } = version;
    if (file.size > this.limits.maxModelBytes)
      throw new TandemError(
        'PAYLOAD_TOO_LARGE',
        `${file.path} of version ${number} is ${file.size} bytes; serving loads at most ${this.limits.maxModelBytes}`,
      );
    let bytes: Buffer;
    try {
      bytes = await readAll(await this.source.readModel(modelId, version), this.limits.maxModelBytes);
    } catch (cause) {
      throw new TandemError('UNAVAILABLE', `reading ${file.path} of version ${number} failed: ${String(cause)}`, { cause });
    }
    if (sha256(bytes) !== file.sha256)
      throw new TandemError(
        'CONFLICT',
        `${file.path} of version ${number} does not match its registered sha256: the stored artifact is corrupt`,
      );
    return loadModel(bytes, { number, id: version.id, signature: version.signature });
  }

  private servedByAlias(modelId: string, alias: string): Served | undefined {
    for (const served of this.served.values()) if (served.row.modelId === modelId && served.row.alias === alias) return served;
    return undefined;
  }

  private async anyOfModel(modelId: string): Promise<Served | undefined> {
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
}

const settingsOf = (row: DeploymentSettings): DeploymentSettings => ({
  maxBatchSize: row.maxBatchSize,
  maxWaitMs: row.maxWaitMs,
  queueLimit: row.queueLimit,
  timeoutMs: row.timeoutMs,
});

/** Whether a split takes this request: its version is loaded, and the request falls in its share. */
const takes = (split: SplitTarget): boolean => split.runner.servedVersion !== null && Math.random() * 100 < split.percent;

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
