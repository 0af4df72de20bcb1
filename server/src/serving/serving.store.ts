import { randomUUID } from 'node:crypto';
import type { Permissions } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { PgCode, pgErrorCode, type Db, type Queryable } from '../db/db.js';
import { TOTAL_COLUMN, toPage, type PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type {
  DeploymentKey as ApiDeploymentKey,
  DeploymentSettings,
  DeploymentTraffic,
  Page,
  PredictionLogSettings,
  TrafficSplit,
} from '../api/index.js';

/** A deployment row as stored: the API's `Deployment` without its live status and endpoint. */
export interface DeploymentRow extends DeploymentSettings, PredictionLogSettings, DeploymentTraffic {
  id: string;
  modelId: string;
  /** The model's `owner/name`. */
  model: string;
  alias: string;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** The version the alias points at now (null: the alias is not set). */
  aliasVersion: number | null;
}

export type DeploymentKey = ApiDeploymentKey<Date>;

const DEPLOYMENTS = 'deployments d JOIN models m ON m.id = d.model_id JOIN users u ON u.id = m.created_by';

const split = (name: 'canary' | 'shadow') =>
  `CASE WHEN d.${name}_version IS NULL THEN NULL ELSE json_build_object('version', d.${name}_version, 'percent', d.${name}_percent) END`;

// Aliased to the API's field names, so rows need no mapping.
const DEPLOYMENT_COLUMNS = `d.id, d.model_id AS "modelId", u.name || '/' || m.name AS model, d.alias,
  d.max_batch_size AS "maxBatchSize", d.max_wait_ms AS "maxWaitMs", d.queue_limit AS "queueLimit", d.timeout_ms AS "timeoutMs",
  d.log_sample_rate AS "logSampleRate", d.log_retention_days AS "logRetentionDays",
  ${split('canary')} AS canary, ${split('shadow')} AS shadow,
  d.created_by AS "createdBy", d.created_at AS "createdAt", d.updated_at AS "updatedAt",
  (SELECT v.number FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
    WHERE a.model_id = d.model_id AND a.alias = d.alias) AS "aliasVersion"`;

const KEY_COLUMNS = `k.id, k.deployment_id AS "deploymentId", k.name, k.prefix, k.created_by AS "createdBy",
  k.created_at AS "createdAt", k.last_used_at AS "lastUsedAt"`;

/** Deployments and their API keys in PostgreSQL. SQL lives here only. */
export class ServingStore {
  constructor(
    private readonly db: Db,
    private readonly permissions: Permissions,
  ) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  // ---- deployments

  async createDeployment(
    tx: Queryable,
    input: DeploymentSettings &
      PredictionLogSettings &
      DeploymentTraffic & { modelId: string; modelName: string; alias: string; createdBy: string },
  ): Promise<DeploymentRow> {
    const id = randomUUID();
    try {
      await tx.query(
        `INSERT INTO deployments (id, model_id, alias, max_batch_size, max_wait_ms, queue_limit, timeout_ms, created_by,
           canary_version, canary_percent, shadow_version, shadow_percent, log_sample_rate, log_retention_days)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          id,
          input.modelId,
          input.alias,
          input.maxBatchSize,
          input.maxWaitMs,
          input.queueLimit,
          input.timeoutMs,
          input.createdBy,
          ...splitValues(input.canary),
          ...splitValues(input.shadow),
          input.logSampleRate,
          input.logRetentionDays,
        ],
      );
    } catch (cause) {
      if (pgErrorCode(cause) === PgCode.uniqueViolation)
        throw new TandemError('ALREADY_EXISTS', `alias ${input.alias} of model ${input.modelName} is already deployed`, { cause });
      throw cause;
    }
    return (await this.findDeployment(id, tx))!;
  }

  async findDeployment(id: string, q: Queryable = this.db): Promise<DeploymentRow | undefined> {
    const [row] = await q.query<DeploymentRow>(`SELECT ${DEPLOYMENT_COLUMNS} FROM ${DEPLOYMENTS} WHERE d.id = $1`, [id]);
    return row;
  }

  async findByAlias(modelId: string, alias: string): Promise<DeploymentRow | undefined> {
    const [row] = await this.db.query<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM ${DEPLOYMENTS} WHERE d.model_id = $1 AND d.alias = $2`,
      [modelId, alias],
    );
    return row;
  }

  /** Every deployment (of one model), for the process that serves them all (embedded serving). */
  all(modelId?: string): Promise<DeploymentRow[]> {
    return this.db.query<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM ${DEPLOYMENTS} WHERE ($1::text IS NULL OR d.model_id = $1) ORDER BY d.created_at, d.id`,
      [modelId ?? null],
    );
  }

  /** Every deployment (of one model) whose model the caller can see: what a replica with their worker token serves. */
  allVisible(who: Principal, modelId?: string): Promise<DeploymentRow[]> {
    const visible = this.permissions.visibleSql(who, 'model', 'd.model_id', 2);
    return this.db.query<DeploymentRow>(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM ${DEPLOYMENTS} WHERE ($1::text IS NULL OR d.model_id = $1) AND ${visible.sql} ORDER BY d.created_at, d.id`,
      [modelId ?? null, ...visible.params],
    );
  }

  /** The deployments of models the caller can see, optionally of one model. */
  async listVisible(who: Principal, filter: { modelId?: string }, page: PageRequest): Promise<Page<DeploymentRow>> {
    const visible = this.permissions.visibleSql(who, 'model', 'd.model_id', 4);
    const rows = await this.db.query<DeploymentRow & { total: number }>(
      `SELECT ${DEPLOYMENT_COLUMNS}, ${TOTAL_COLUMN} FROM ${DEPLOYMENTS}
       WHERE ($1::text IS NULL OR d.model_id = $1) AND ${visible.sql}
       ORDER BY d.created_at DESC, d.id LIMIT $2 OFFSET $3`,
      [filter.modelId ?? null, page.limit, page.offset, ...visible.params],
    );
    return toPage(rows, page);
  }

  /** Changes the fields given; a split given as null is removed. */
  async updateDeployment(
    tx: Queryable,
    id: string,
    change: Partial<DeploymentSettings & PredictionLogSettings & DeploymentTraffic>,
  ): Promise<void> {
    await tx.query(
      `UPDATE deployments SET max_batch_size = COALESCE($2, max_batch_size), max_wait_ms = COALESCE($3, max_wait_ms),
         queue_limit = COALESCE($4, queue_limit), timeout_ms = COALESCE($5, timeout_ms),
         canary_version = CASE WHEN $6::boolean THEN $7::integer ELSE canary_version END,
         canary_percent = CASE WHEN $6::boolean THEN $8::double precision ELSE canary_percent END,
         shadow_version = CASE WHEN $9::boolean THEN $10::integer ELSE shadow_version END,
         shadow_percent = CASE WHEN $9::boolean THEN $11::double precision ELSE shadow_percent END,
         log_sample_rate = COALESCE($12::double precision, log_sample_rate),
         log_retention_days = COALESCE($13::integer, log_retention_days),
         updated_at = now()
       WHERE id = $1`,
      [
        id,
        change.maxBatchSize ?? null,
        change.maxWaitMs ?? null,
        change.queueLimit ?? null,
        change.timeoutMs ?? null,
        change.canary !== undefined,
        ...splitValues(change.canary),
        change.shadow !== undefined,
        ...splitValues(change.shadow),
        change.logSampleRate ?? null,
        change.logRetentionDays ?? null,
      ],
    );
  }

  async deleteDeployment(tx: Queryable, id: string): Promise<void> {
    await tx.query('DELETE FROM deployments WHERE id = $1', [id]);
  }

  // ---- keys

  async createKey(
    tx: Queryable,
    input: { deploymentId: string; name: string; tokenHash: string; prefix: string; createdBy: string },
  ): Promise<DeploymentKey> {
    const id = randomUUID();
    await tx.query(
      'INSERT INTO deployment_keys (id, deployment_id, name, token_hash, prefix, created_by) VALUES ($1, $2, $3, $4, $5, $6)',
      [id, input.deploymentId, input.name, input.tokenHash, input.prefix, input.createdBy],
    );
    const [row] = await tx.query<DeploymentKey>(`SELECT ${KEY_COLUMNS} FROM deployment_keys k WHERE k.id = $1`, [id]);
    return row!;
  }

  listKeys(deploymentId: string): Promise<DeploymentKey[]> {
    return this.db.query<DeploymentKey>(
      `SELECT ${KEY_COLUMNS} FROM deployment_keys k WHERE k.deployment_id = $1 ORDER BY k.created_at, k.id`,
      [deploymentId],
    );
  }

  /** Deletes a key of `deploymentId`; answers its hash (for caches to drop), or undefined when there was none. */
  async deleteKey(tx: Queryable, deploymentId: string, keyId: string): Promise<string | undefined> {
    const rows = await tx.query<{ tokenHash: string }>(
      'DELETE FROM deployment_keys WHERE id = $1 AND deployment_id = $2 RETURNING token_hash AS "tokenHash"',
      [keyId, deploymentId],
    );
    return rows[0]?.tokenHash;
  }

  /** The key with this hash: its id and deployment. */
  async findKeyByHash(tokenHash: string): Promise<{ id: string; deploymentId: string } | undefined> {
    const [row] = await this.db.query<{ id: string; deploymentId: string }>(
      'SELECT id, deployment_id AS "deploymentId" FROM deployment_keys WHERE token_hash = $1',
      [tokenHash],
    );
    return row;
  }

  /** Records use at most once a minute per key: a write per prediction would cost more than the prediction. */
  async touchKey(id: string): Promise<void> {
    await this.db.query(
      `UPDATE deployment_keys SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [id],
    );
  }
}

const splitValues = (split: TrafficSplit | null | undefined): [number | null, number | null] => [
  split?.version ?? null,
  split?.percent ?? null,
];
