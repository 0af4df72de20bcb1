import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { Permissions, Role } from '../auth/permissions.js';
import { PgCode, pgErrorCode, type Db, type Queryable } from '../db/db.js';
import { TOTAL_COLUMN, toPage, type PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type { ModelSearch } from './models.search.js';
import type {
  Model as ApiModel,
  ModelFile as ApiModelFile,
  ModelVersion as ApiModelVersion,
  NewModelVersion,
  Page,
  PendingModelVersion,
} from '../api/index.js';

// The entities are the API contract's (../api), with the server's Dates.
export type { Json, Page } from '../api/index.js';

export type Model = ApiModel<Date>;

/** A stored file: what clients see, plus its object-store key. */
export interface ModelFile extends ApiModelFile {
  key: string;
}

/** A ready version or a pending upload, with the stored files. */
export type ModelVersion = ApiModelVersion<Date, ModelFile> | PendingModelVersion<Date, ModelFile>;

export type NewVersion = NewModelVersion;

/** Models with their namespace: the creator's user name (`u`). */
const MODELS = 'models m JOIN users u ON u.id = m.created_by';

// Columns are aliased to the API's field names, so rows need no mapping.
const MODEL_COLUMNS = `m.id, m.name, u.name AS owner, u.name || '/' || m.name AS "fullName",
  m.description, m.tags, m.created_by AS "createdBy", m.created_at AS "createdAt",
  m.updated_at AS "updatedAt", m.latest_version AS "latestVersion", m.latest_metrics AS "latestMetrics",
  COALESCE((SELECT jsonb_object_agg(a.alias, v.number) FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
            WHERE a.model_id = m.id), '{}'::jsonb) AS aliases`;

const VERSION_COLUMNS = `v.id, v.model_id AS "modelId", v.number, v.status, v.description, v.params, v.metrics, v.signature, v.lineage,
  v.run_id AS "runId", v.created_by AS "createdBy", v.created_at AS "createdAt", v.ready_at AS "readyAt",
  COALESCE((SELECT jsonb_agg(jsonb_build_object('path', f.path, 'size', f.size, 'sha256', f.sha256, 'key', f.key) ORDER BY f.path)
            FROM model_files f WHERE f.version_id = v.id), '[]'::jsonb) AS files,
  COALESCE((SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.version_id = v.id), ARRAY[]::text[]) AS aliases`;

/** Registry metadata in PostgreSQL, grouped by entity: models, versions (+ files), aliases, tags. */
export class ModelsStore {
  constructor(
    private readonly db: Db,
    private readonly permissions: Permissions,
  ) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  // ---- models

  /** Creates a model in its creator's namespace; only a model of theirs can conflict. */
  async createModel(
    tx: Queryable,
    input: { name: string; description?: string; tags?: Record<string, string>; creator: Pick<Principal, 'id' | 'name'> },
  ): Promise<Model> {
    const id = randomUUID();
    try {
      await tx.query('INSERT INTO models (id, name, description, tags, created_by) VALUES ($1, $2, $3, $4, $5)', [
        id,
        input.name,
        input.description ?? '',
        JSON.stringify(input.tags ?? {}),
        input.creator.id,
      ]);
    } catch (cause) {
      if (pgErrorCode(cause) === PgCode.uniqueViolation)
        throw new TandemError('ALREADY_EXISTS', `model ${input.creator.name}/${input.name} already exists`, { cause });
      throw cause;
    }
    return (await this.findModelById(id, tx))!;
  }

  async findModelById(id: string, q: Queryable = this.db): Promise<Model | undefined> {
    const [row] = await q.query<Model>(`SELECT ${MODEL_COLUMNS} FROM ${MODELS} WHERE m.id = $1`, [id]);
    return row;
  }

  /** The model `owner/name`, whoever may see it: callers check the role. */
  async findQualified(owner: string, name: string): Promise<Model | undefined> {
    const [row] = await this.db.query<Model>(`SELECT ${MODEL_COLUMNS} FROM ${MODELS} WHERE u.name = $1 AND m.name = $2`, [owner, name]);
    return row;
  }

  /** The models called `name` (in any namespace) that the caller can see, with their role on each. */
  async visibleNamed(who: Principal, name: string): Promise<(Model & { role: Role })[]> {
    const role = this.permissions.roleJoin(who, 'model', 'm.id', 2);
    return this.db.query<Model & { role: Role }>(
      `SELECT ${MODEL_COLUMNS}, r.role FROM ${MODELS} ${role.sql} WHERE m.name = $1 ORDER BY u.name`,
      [name, ...role.params],
    );
  }

  async updateModel(tx: Queryable, id: string, change: { description?: string; tags?: Record<string, string> }): Promise<void> {
    await tx.query(
      `UPDATE models SET description = COALESCE($2, description), tags = COALESCE($3::jsonb, tags), updated_at = now() WHERE id = $1`,
      [id, change.description ?? null, change.tags ? JSON.stringify(change.tags) : null],
    );
  }

  /** Sets a tag, or with `value` undefined removes it; false when there was no such tag to remove. */
  async setTag(tx: Queryable, id: string, key: string, value: string | undefined): Promise<boolean> {
    const rows = await tx.query(
      value === undefined
        ? 'UPDATE models SET tags = tags - $2::text, updated_at = now() WHERE id = $1 AND tags ? $2::text RETURNING id'
        : 'UPDATE models SET tags = tags || jsonb_build_object($2::text, $3::text), updated_at = now() WHERE id = $1 RETURNING id',
      value === undefined ? [id, key] : [id, key, value],
    );
    return rows.length > 0;
  }

  async deleteModel(tx: Queryable, id: string): Promise<void> {
    await tx.query('DELETE FROM models WHERE id = $1', [id]);
  }

  /** Models the caller can see, filtered and ordered as `search` says. */
  async searchModels(who: Principal, search: ModelSearch): Promise<Page<Model>> {
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const visible = this.permissions.visibleSql(who, 'model', 'm.id', params.length + 1);
    params.push(...visible.params);
    const where = [visible.sql];
    const escapeLike = (s: string) => s.replace(/[%_\\]/g, '\\$&');
    if (search.prefix) where.push(`m.name LIKE ${p(`${escapeLike(search.prefix)}%`)}`);
    if (search.q) where.push(`(m.name ILIKE ${p(`%${escapeLike(search.q)}%`)} OR m.description ILIKE ${p(`%${escapeLike(search.q)}%`)})`);
    for (const tag of search.tags) {
      where.push(tag.value === undefined ? `m.tags ? ${p(tag.key)}` : `m.tags->>${p(tag.key)} = ${p(tag.value)}`);
    }
    if (search.alias) where.push(`EXISTS (SELECT 1 FROM model_aliases a WHERE a.model_id = m.id AND a.alias = ${p(search.alias)})`);
    for (const f of search.metrics) {
      where.push(`(m.latest_metrics->>${p(f.name)})::float8 ${f.op} ${p(f.value)}`);
    }
    const direction = search.order.desc ? 'DESC' : 'ASC';
    const order = search.order;
    // The owner breaks ties between same-named models, so that pages do not overlap.
    const orderBy =
      order.by === 'metric'
        ? `(m.latest_metrics->>${p(order.metric)})::float8 ${direction} NULLS LAST, m.name, u.name`
        : order.by === 'updated'
          ? `m.updated_at ${direction}, m.name, u.name`
          : `m.name ${direction}, u.name`;
    // The page is chosen on ids first, so that aliases are aggregated for its rows only.
    const rows = await this.db.query<Model & { total: number }>(
      `WITH page AS (
         SELECT m.id, ${TOTAL_COLUMN} FROM ${MODELS} WHERE ${where.join(' AND ')}
         ORDER BY ${orderBy} LIMIT ${p(search.limit)} OFFSET ${p(search.offset)}
       )
       SELECT ${MODEL_COLUMNS}, page.total FROM page JOIN ${MODELS} ON m.id = page.id ORDER BY ${orderBy}`,
      params,
    );
    return toPage(rows, search);
  }

  // ---- versions

  async createPendingVersion(tx: Queryable, modelId: string, input: NewVersion, createdBy: string): Promise<string> {
    const id = randomUUID();
    await tx.query(
      `INSERT INTO model_versions (id, model_id, status, description, params, metrics, signature, lineage, run_id, created_by)
       VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9)`,
      [
        id,
        modelId,
        input.description ?? '',
        JSON.stringify(input.params ?? {}),
        JSON.stringify(input.metrics ?? {}),
        input.signature ? JSON.stringify(input.signature) : null,
        JSON.stringify(input.lineage ?? {}),
        input.run ?? null,
        createdBy,
      ],
    );
    return id;
  }

  async findVersionById(id: string, q: Queryable = this.db): Promise<ModelVersion | undefined> {
    const [row] = await q.query<ModelVersion>(`SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE v.id = $1`, [id]);
    return row;
  }

  /** A ready version by number or alias; pending versions are never returned. */
  async findVersion(modelId: string, ref: { version: number } | { alias: string }): Promise<ModelVersion | undefined> {
    const [row] =
      'version' in ref
        ? await this.db.query<ModelVersion>(`SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE v.model_id = $1 AND v.number = $2`, [
            modelId,
            ref.version,
          ])
        : await this.db.query<ModelVersion>(
            `SELECT ${VERSION_COLUMNS} FROM model_aliases a JOIN model_versions v ON v.id = a.version_id WHERE a.model_id = $1 AND a.alias = $2`,
            [modelId, ref.alias],
          );
    return row;
  }

  async listVersions(modelId: string, page: PageRequest): Promise<Page<ModelVersion>> {
    const rows = await this.db.query<ModelVersion & { total: number }>(
      `SELECT ${VERSION_COLUMNS}, ${TOTAL_COLUMN} FROM model_versions v
       WHERE v.model_id = $1 AND v.status = 'ready' ORDER BY v.number DESC LIMIT $2 OFFSET $3`,
      [modelId, page.limit, page.offset],
    );
    return toPage(rows, page);
  }

  async recordFile(versionId: string, file: ModelFile): Promise<void> {
    await this.db.query(
      `INSERT INTO model_files (version_id, path, key, size, sha256) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (version_id, path) DO UPDATE SET key = EXCLUDED.key, size = EXCLUDED.size, sha256 = EXCLUDED.sha256`,
      [versionId, file.path, file.key, file.size, file.sha256],
    );
  }

  /**
   * Gives a pending version the model's next number and makes it visible. The UPDATE takes the
   * model row lock, so concurrent commits of one model get distinct, consecutive numbers.
   */
  async commitVersion(tx: Queryable, version: ModelVersion): Promise<number> {
    const [row] = await tx.query<{ number: number }>(
      `UPDATE models SET next_version = next_version + 1, latest_version = next_version, latest_metrics = $2, updated_at = now()
       WHERE id = $1 RETURNING next_version - 1 AS number`,
      [version.modelId, JSON.stringify(version.metrics)],
    );
    const updated = await tx.query(
      `UPDATE model_versions SET number = $2, status = 'ready', ready_at = now() WHERE id = $1 AND status = 'pending' RETURNING id`,
      [version.id, row!.number],
    );
    if (updated.length === 0) throw new TandemError('CONFLICT', `upload ${version.id} was already committed or abandoned`);
    return row!.number;
  }

  async deleteVersion(tx: Queryable, id: string): Promise<void> {
    await tx.query('DELETE FROM model_versions WHERE id = $1', [id]);
  }

  /** Pending versions older than `before`: uploads that were never committed. */
  async stalePending(before: Date, limit = 100): Promise<ModelVersion[]> {
    const rows = await this.db.query<ModelVersion>(
      `SELECT ${VERSION_COLUMNS} FROM model_versions v WHERE v.status = 'pending' AND v.created_at < $1 ORDER BY v.created_at LIMIT $2`,
      [before, limit],
    );
    return rows;
  }

  async fileKeysOfModel(modelId: string): Promise<string[]> {
    const rows = await this.db.query<{ key: string }>(
      'SELECT f.key FROM model_files f JOIN model_versions v ON v.id = f.version_id WHERE v.model_id = $1',
      [modelId],
    );
    return rows.map((r) => r.key);
  }

  // ---- aliases

  /** Points `alias` at a version, moving it when it pointed elsewhere. */
  async setAlias(tx: Queryable, modelId: string, alias: string, versionId: string, by: string): Promise<void> {
    await tx.query(
      `INSERT INTO model_aliases (model_id, alias, version_id, updated_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model_id, alias) DO UPDATE SET version_id = EXCLUDED.version_id, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [modelId, alias, versionId, by],
    );
    await tx.query('UPDATE models SET updated_at = now() WHERE id = $1', [modelId]);
  }

  async deleteAlias(tx: Queryable, modelId: string, alias: string): Promise<boolean> {
    const rows = await tx.query('DELETE FROM model_aliases WHERE model_id = $1 AND alias = $2 RETURNING alias', [modelId, alias]);
    await tx.query('UPDATE models SET updated_at = now() WHERE id = $1', [modelId]);
    return rows.length > 0;
  }
}
