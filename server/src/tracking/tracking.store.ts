import { randomUUID } from 'node:crypto';
import type { Permissions, Role } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { PgCode, pgErrorCode, type Db, type Queryable } from '../db/db.js';
import { TOTAL_COLUMN, toPage, type PageRequest } from '../db/paging.js';
import { TandemError } from '../errors.js';
import type {
  DatasetInput,
  Experiment as ApiExperiment,
  ExperimentWithRole as ApiExperimentWithRole,
  LifecycleStage,
  MetricPoint,
  MetricValue,
  Page,
  Run as ApiRun,
  RunArtifact as ApiRunArtifact,
  RunStatus,
  ViewType,
} from '../api/index.js';
import { experimentSearchSql, runSearchSql, type Comparison, type OrderTerm } from './tracking.filter.js';

// The entities are the API contract's (../api), with the server's Dates.
export type Experiment = ApiExperiment<Date>;
export type ExperimentWithRole = ApiExperimentWithRole<Date>;
export type Run = ApiRun<Date>;
export type RunArtifact = ApiRunArtifact<Date>;

/** A stored artifact: what clients see, plus its object-store key. */
export interface StoredArtifact extends RunArtifact {
  key: string;
}

/** What every check on a run needs: where it lives, its state, and the caller's role there. */
export interface RunAccess {
  id: string;
  experimentId: string;
  lifecycleStage: LifecycleStage;
  experimentStage: LifecycleStage;
  role: Role;
}

export interface NewRun {
  experimentId: string;
  name?: string;
  startTime: Date;
  parentRunId?: string;
  notebook?: string;
  cell?: string;
  notebookVersion?: string;
  jobId?: string;
  createdBy: string;
  heartbeatTimeoutSeconds: number;
}

export interface StoredPoint {
  key: string;
  value: MetricValue;
  step: number;
  timestamp: number;
}

export interface Search<C> extends PageRequest {
  conditions: Comparison[];
  order: OrderTerm[];
  view: ViewType;
  /** Experiments to search; the caller's visibility is checked by whoever builds the search. */
  scope: C;
}

const EXPERIMENT_COLUMNS = `e.id, e.name, e.created_by AS "createdBy", u.name AS "createdByName", e.tags,
  e.lifecycle_stage AS "lifecycleStage", e.created_at AS "createdAt", e.updated_at AS "updatedAt"`;

const RUN_COLUMNS = `r.id, r.experiment_id AS "experimentId", r.name, r.status, r.start_time AS "startTime",
  r.end_time AS "endTime", r.parent_run_id AS "parentRunId", r.notebook, r.cell, r.notebook_version AS "notebookVersion",
  r.job_id AS "jobId", r.created_by AS "userId", u.name AS "userName", r.lifecycle_stage AS "lifecycleStage",
  r.last_seen_at AS "lastSeenAt", r.heartbeat_timeout_s AS "heartbeatTimeoutSeconds"`;

const VIEW_SQL: Record<ViewType, (alias: string) => string> = {
  active: (a) => `${a}.lifecycle_stage = 'active'`,
  deleted: (a) => `${a}.lifecycle_stage = 'deleted'`,
  all: () => 'TRUE',
};

/** A number from the database as the API carries it (JSON has no NaN or infinities). */
export const metricValue = (value: number): MetricValue => (Number.isFinite(value) ? value : (String(value) as MetricValue));

const escapeLike = (s: string) => s.replace(/[%_\\]/g, '\\$&');

/** Binds values as numbered parameters. */
function binder(params: unknown[]) {
  return (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
}

/** Tracking data in PostgreSQL: experiments, runs and what runs log. SQL lives here only. */
export class TrackingStore {
  constructor(
    private readonly db: Db,
    private readonly permissions: Permissions,
  ) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /**
   * Runs `fn` in a transaction when it makes several statements that must commit together, else
   * straight on the database: one statement is atomic by itself, and BEGIN and COMMIT would be a
   * third of the round trips of a small logging call.
   */
  atomically<T>(statements: number, fn: (q: Queryable) => Promise<T>): Promise<T> {
    return statements > 1 ? this.db.transaction(fn) : fn(this.db);
  }

  // ---- experiments

  async createExperiment(tx: Queryable, input: { name: string; tags: Record<string, string>; createdBy: string }): Promise<Experiment> {
    const id = randomUUID();
    try {
      await tx.query('INSERT INTO experiments (id, name, created_by, tags) VALUES ($1, $2, $3, $4)', [
        id,
        input.name,
        input.createdBy,
        JSON.stringify(input.tags),
      ]);
    } catch (cause) {
      if (pgErrorCode(cause) !== PgCode.uniqueViolation) throw cause;
      throw new TandemError(
        'ALREADY_EXISTS',
        `you already have an experiment named ${JSON.stringify(input.name)} (it may be deleted: restore it)`,
        {
          cause,
        },
      );
    }
    return (await this.findExperiment(id, tx))!;
  }

  async findExperiment(id: string, q: Queryable = this.db): Promise<Experiment | undefined> {
    const [row] = await q.query<Experiment>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM experiments e JOIN users u ON u.id = e.created_by WHERE e.id = $1`,
      [id],
    );
    return row;
  }

  /** The experiment with the caller's role; undefined when it does not exist or they have none. */
  async experimentFor(who: Principal, id: string): Promise<ExperimentWithRole | undefined> {
    const role = this.permissions.roleJoin(who, 'experiment', 'e.id', 2);
    const [row] = await this.db.query<ExperimentWithRole>(
      `SELECT ${EXPERIMENT_COLUMNS}, r.role FROM experiments e JOIN users u ON u.id = e.created_by ${role.sql} WHERE e.id = $1`,
      [id, ...role.params],
    );
    return row;
  }

  /**
   * An experiment by name as the caller sees it: their own first, else one shared with them (the
   * strongest role, then the oldest), since names are unique per creator only.
   */
  async experimentByName(who: Principal, name: string): Promise<ExperimentWithRole | undefined> {
    const role = this.permissions.roleJoin(who, 'experiment', 'e.id', 3);
    const [row] = await this.db.query<ExperimentWithRole>(
      `SELECT ${EXPERIMENT_COLUMNS}, r.role FROM experiments e JOIN users u ON u.id = e.created_by ${role.sql}
       WHERE e.name = $1
       ORDER BY e.created_by = $2 DESC, CASE r.role WHEN 'owner' THEN 3 WHEN 'editor' THEN 2 ELSE 1 END DESC, e.created_at, e.id
       LIMIT 1`,
      [name, who.id, ...role.params],
    );
    return row;
  }

  /** The caller's own experiment of that name, whoever else shares theirs. */
  async ownExperiment(userId: string, name: string): Promise<Experiment | undefined> {
    const [row] = await this.db.query<Experiment>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM experiments e JOIN users u ON u.id = e.created_by WHERE e.created_by = $1 AND e.name = $2`,
      [userId, name],
    );
    return row;
  }

  async searchExperiments(who: Principal, search: Search<undefined>): Promise<Page<ExperimentWithRole>> {
    const params: unknown[] = [];
    const bind = binder(params);
    const role = this.permissions.roleJoin(who, 'experiment', 'e.id', 1);
    params.push(...role.params);
    const { where, orderBy } = experimentSearchSql(search.conditions, search.order, bind);
    const rows = await this.db.query<ExperimentWithRole & { total: number }>(
      `SELECT ${EXPERIMENT_COLUMNS}, r.role, ${TOTAL_COLUMN} FROM experiments e JOIN users u ON u.id = e.created_by ${role.sql}
       WHERE ${[VIEW_SQL[search.view]('e'), ...where].join(' AND ')}
       ORDER BY ${orderBy.join(', ')} LIMIT ${bind(search.limit)} OFFSET ${bind(search.offset)}`,
      params,
    );
    return toPage(rows, search);
  }

  /** Ids of the experiments the caller can see, for run searches over all of them. */
  async visibleExperimentIds(who: Principal, view: ViewType): Promise<string[]> {
    const visible = this.permissions.visibleSql(who, 'experiment', 'e.id', 1);
    const rows = await this.db.query<{ id: string }>(
      `SELECT e.id FROM experiments e WHERE ${visible.sql} AND ${view === 'deleted' ? 'TRUE' : VIEW_SQL[view]('e')}`,
      visible.params,
    );
    return rows.map((r) => r.id);
  }

  /** Renames and/or sets (string) or removes (null) tags. */
  async updateExperiment(tx: Queryable, id: string, change: { name?: string; tags?: Record<string, string | null> }): Promise<void> {
    const set = Object.entries(change.tags ?? {}).filter((e): e is [string, string] => e[1] !== null);
    const removed = Object.entries(change.tags ?? {})
      .filter(([, v]) => v === null)
      .map(([k]) => k);
    try {
      await tx.query(
        `UPDATE experiments SET name = COALESCE($2, name), tags = (tags - $3::text[]) || $4::jsonb, updated_at = now() WHERE id = $1`,
        [id, change.name ?? null, removed, JSON.stringify(Object.fromEntries(set))],
      );
    } catch (cause) {
      if (pgErrorCode(cause) !== PgCode.uniqueViolation) throw cause;
      throw new TandemError('ALREADY_EXISTS', `the experiment's creator already has an experiment named ${JSON.stringify(change.name)}`, {
        cause,
      });
    }
  }

  async setExperimentStage(tx: Queryable, id: string, stage: LifecycleStage): Promise<void> {
    await tx.query('UPDATE experiments SET lifecycle_stage = $2, updated_at = now() WHERE id = $1', [id, stage]);
  }

  // ---- runs

  async createRun(tx: Queryable, run: NewRun): Promise<string> {
    const id = randomUUID().replace(/-/g, '');
    await tx.query(
      `INSERT INTO runs (id, experiment_id, name, status, start_time, parent_run_id, notebook, cell, notebook_version, job_id,
         created_by, heartbeat_timeout_s)
       VALUES ($1, $2, $3, 'RUNNING', $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        id,
        run.experimentId,
        run.name ?? `run-${id.slice(0, 8)}`,
        run.startTime,
        run.parentRunId ?? null,
        run.notebook ?? null,
        run.cell ?? null,
        run.notebookVersion ?? null,
        run.jobId ?? null,
        run.createdBy,
        run.heartbeatTimeoutSeconds,
      ],
    );
    return id;
  }

  /** The run's place and state and the caller's role on its experiment, in one query; undefined when they have none. */
  async runAccess(who: Principal, id: string): Promise<RunAccess | undefined> {
    const role = this.permissions.roleJoin(who, 'experiment', 'x.experiment_id', 2);
    const [row] = await this.db.query<RunAccess>(
      `SELECT x.id, x.experiment_id AS "experimentId", x.lifecycle_stage AS "lifecycleStage",
         e.lifecycle_stage AS "experimentStage", r.role
       FROM runs x JOIN experiments e ON e.id = x.experiment_id ${role.sql} WHERE x.id = $1`,
      [id, ...role.params],
    );
    return row;
  }

  /**
   * Full runs (params, tags, latest metrics, inputs), in the order of `ids`. Five set-based
   * queries rather than per-run subqueries: building JSON per run in SQL cost twice as much for
   * a page of 100 runs.
   */
  async runs(ids: string[], q: Queryable = this.db): Promise<Run[]> {
    if (ids.length === 0) return [];
    const of = <R>(sql: string) => q.query<R & { runId: string }>(sql, [ids]);
    const [rows, params, tags, metrics, inputs] = await Promise.all([
      of<Omit<Run, 'params' | 'tags' | 'metrics' | 'inputs'>>(
        `SELECT ${RUN_COLUMNS}, r.id AS "runId" FROM runs r JOIN users u ON u.id = r.created_by WHERE r.id = ANY($1::text[])`,
      ),
      of<{ key: string; value: string }>(
        'SELECT run_id AS "runId", key, value FROM run_params WHERE run_id = ANY($1::text[]) ORDER BY key',
      ),
      of<{ key: string; value: string }>('SELECT run_id AS "runId", key, value FROM run_tags WHERE run_id = ANY($1::text[]) ORDER BY key'),
      of<{ key: string; value: number; step: number; timestamp: number }>(
        `SELECT run_id AS "runId", key, value, step::float8 AS step, timestamp_ms::float8 AS timestamp FROM run_latest_metrics
         WHERE run_id = ANY($1::text[]) ORDER BY key`,
      ),
      of<DatasetInput>(
        `SELECT run_id AS "runId", name, digest, source_type AS "sourceType", source, schema, profile, context FROM run_inputs
         WHERE run_id = ANY($1::text[]) ORDER BY created_at, name, context`,
      ),
    ]);
    const byId = new Map<string, Run>(rows.map(({ runId, ...run }) => [runId, { ...run, params: {}, tags: {}, metrics: {}, inputs: [] }]));
    for (const { runId, key, value } of params) byId.get(runId)!.params[key] = value;
    for (const { runId, key, value } of tags) byId.get(runId)!.tags[key] = value;
    for (const { runId, key, value, step, timestamp } of metrics)
      byId.get(runId)!.metrics[key] = { value: metricValue(value), step, timestamp };
    for (const { runId, ...input } of inputs) byId.get(runId)!.inputs.push(input);
    return ids.map((id) => byId.get(id)).filter((r): r is Run => r !== undefined);
  }

  async updateRun(tx: Queryable, id: string, change: { name?: string; status?: RunStatus; endTime?: Date | null }): Promise<void> {
    await tx.query(
      `UPDATE runs SET name = COALESCE($2, name), status = COALESCE($3, status),
         end_time = CASE WHEN $4::boolean THEN $5::timestamptz ELSE end_time END, last_seen_at = now()
       WHERE id = $1`,
      [id, change.name ?? null, change.status ?? null, change.endTime !== undefined, change.endTime ?? null],
    );
  }

  async setRunStage(tx: Queryable, id: string, stage: LifecycleStage): Promise<void> {
    await tx.query('UPDATE runs SET lifecycle_stage = $2 WHERE id = $1', [id, stage]);
  }

  /**
   * Logs params that are new and answers those already logged with another value (nothing of
   * which is changed). Two statements on purpose: the check must see params that concurrent
   * writers committed while the insert waited on them.
   */
  async logParams(tx: Queryable, runId: string, params: [string, string][]): Promise<{ key: string; old: string; new: string }[]> {
    if (params.length === 0) return [];
    const keys = params.map(([k]) => k);
    const values = params.map(([, v]) => v);
    await tx.query(
      `INSERT INTO run_params (run_id, key, value)
       SELECT $1, key, value FROM unnest($2::text[], $3::text[]) AS p(key, value) ORDER BY key
       ON CONFLICT (run_id, key) DO NOTHING`,
      [runId, keys, values],
    );
    return tx.query<{ key: string; old: string; new: string }>(
      `SELECT p.key, p.value AS old, i.value AS new FROM unnest($2::text[], $3::text[]) AS i(key, value)
       JOIN run_params p ON p.run_id = $1 AND p.key = i.key WHERE p.value <> i.value ORDER BY p.key`,
      [runId, keys, values],
    );
  }

  /**
   * Appends metric points and moves each key's latest value, in one statement: a batch of any
   * size is one multi-row INSERT from arrays. The latest values are upserted in key order, so
   * concurrent batches to one run lock their rows in the same order and cannot deadlock.
   */
  async logMetrics(tx: Queryable, runId: string, experimentId: string, points: StoredPoint[]): Promise<void> {
    if (points.length === 0) return;
    await tx.query(
      `WITH points AS (
         SELECT * FROM unnest($3::text[], $4::float8[], $5::bigint[], $6::bigint[]) AS p(key, value, step, ts)
       ), series AS (
         INSERT INTO run_metrics (run_id, key, step, timestamp_ms, value) SELECT $1, key, step, ts, value FROM points
       )
       INSERT INTO run_latest_metrics AS l (run_id, experiment_id, key, value, step, timestamp_ms)
       SELECT DISTINCT ON (key) $1, $2, key, value, step, ts FROM points ORDER BY key, step DESC, ts DESC, value DESC
       ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value, step = EXCLUDED.step, timestamp_ms = EXCLUDED.timestamp_ms
       WHERE (EXCLUDED.step, EXCLUDED.timestamp_ms, EXCLUDED.value) > (l.step, l.timestamp_ms, l.value)`,
      [
        runId,
        experimentId,
        points.map((p) => p.key),
        // 'NaN' and '±Infinity' travel as text elements, which float8[] reads back as those values.
        points.map((p) => p.value),
        points.map((p) => p.step),
        points.map((p) => p.timestamp),
      ],
    );
  }

  async setTags(tx: Queryable, runId: string, tags: [string, string][]): Promise<void> {
    if (tags.length === 0) return;
    await tx.query(
      `INSERT INTO run_tags (run_id, key, value) SELECT $1, key, value FROM unnest($2::text[], $3::text[]) AS t(key, value) ORDER BY key
       ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value`,
      [runId, tags.map(([k]) => k), tags.map(([, v]) => v)],
    );
  }

  /** Removes tags; answers the keys that were there. */
  async deleteTags(tx: Queryable, runId: string, keys: string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await tx.query<{ key: string }>('DELETE FROM run_tags WHERE run_id = $1 AND key = ANY($2::text[]) RETURNING key', [
      runId,
      keys,
    ]);
    return rows.map((r) => r.key);
  }

  async logInputs(tx: Queryable, runId: string, inputs: DatasetInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const column = (pick: (i: DatasetInput) => string | null) => inputs.map(pick);
    await tx.query(
      `INSERT INTO run_inputs (run_id, name, digest, source_type, source, schema, profile, context)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
       ON CONFLICT (run_id, name, digest, context) DO NOTHING`,
      [
        runId,
        column((i) => i.name),
        column((i) => i.digest),
        column((i) => i.sourceType),
        column((i) => i.source),
        column((i) => i.schema),
        column((i) => i.profile),
        column((i) => i.context),
      ],
    );
  }

  /** Records that the run's writer is alive (outside any logging transaction: writers would queue on the run's row). */
  async touch(runId: string): Promise<void> {
    await this.db.query('UPDATE runs SET last_seen_at = now() WHERE id = $1', [runId]);
  }

  /** Marks KILLED every RUNNING run silent for longer than its heartbeat timeout (as of `now`); it ended when last seen. */
  async reapSilent(now: Date): Promise<{ id: string; experimentId: string }[]> {
    return this.db.query<{ id: string; experimentId: string }>(
      `UPDATE runs SET status = 'KILLED', end_time = last_seen_at
       WHERE status = 'RUNNING' AND last_seen_at < $1::timestamptz - make_interval(secs => heartbeat_timeout_s)
       RETURNING id, experiment_id AS "experimentId"`,
      [now],
    );
  }

  /**
   * One page of run ids matching the search, in order, and whether more follow (one row past
   * the page is read instead of counting every match).
   */
  async searchRuns(search: Search<string[]>): Promise<{ ids: string[]; more: boolean }> {
    if (search.scope.length === 0) return { ids: [], more: false };
    const params: unknown[] = [];
    const bind = binder(params);
    // One experiment binds as a plain equality, which the planner carries into the metric join.
    const scope =
      search.scope.length === 1
        ? `r.experiment_id = ${bind(search.scope[0])}::text`
        : `r.experiment_id = ANY(${bind(search.scope)}::text[])`;
    const { joins, where, orderBy } = runSearchSql(search.conditions, search.order, bind);
    const rows = await this.db.query<{ id: string }>(
      `SELECT r.id FROM runs r ${joins.join(' ')}
       WHERE ${[scope, VIEW_SQL[search.view]('r'), ...where].join(' AND ')}
       ORDER BY ${orderBy.join(', ')} LIMIT ${bind(search.limit + 1)} OFFSET ${bind(search.offset)}`,
      params,
    );
    return { ids: rows.slice(0, search.limit).map((r) => r.id), more: rows.length > search.limit };
  }

  /** A metric's series in step order (then time), paged. */
  async metricHistory(runId: string, key: string, page: PageRequest): Promise<Page<MetricPoint>> {
    const rows = await this.db.query<{ value: number; step: number; timestamp: number; total: number }>(
      `SELECT value, step::float8 AS step, timestamp_ms::float8 AS timestamp, ${TOTAL_COLUMN} FROM run_metrics
       WHERE run_id = $1 AND key = $2 ORDER BY step, timestamp_ms LIMIT $3 OFFSET $4`,
      [runId, key, page.limit, page.offset],
    );
    return toPage(
      rows.map((r) => ({ ...r, value: metricValue(r.value) })),
      page,
    );
  }

  // ---- artifacts

  /** Records an uploaded file; answers the object key it replaced, if any, for deletion. */
  async recordArtifact(runId: string, file: Omit<StoredArtifact, 'createdAt'>): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
      const [old] = await tx.query<{ key: string }>('SELECT key FROM run_artifacts WHERE run_id = $1 AND path = $2 FOR UPDATE', [
        runId,
        file.path,
      ]);
      await tx.query(
        `INSERT INTO run_artifacts (run_id, path, key, size, sha256) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (run_id, path) DO UPDATE SET key = EXCLUDED.key, size = EXCLUDED.size, sha256 = EXCLUDED.sha256, created_at = now()`,
        [runId, file.path, file.key, file.size, file.sha256],
      );
      return old?.key;
    });
  }

  async findArtifact(runId: string, path: string): Promise<StoredArtifact | undefined> {
    const [row] = await this.db.query<StoredArtifact>(
      'SELECT path, key, size::float8 AS size, sha256, created_at AS "createdAt" FROM run_artifacts WHERE run_id = $1 AND path = $2',
      [runId, path],
    );
    return row;
  }

  /** Files whose path starts with `prefix` ('' for all), in path order. */
  async listArtifacts(runId: string, prefix: string, page: PageRequest): Promise<Page<RunArtifact>> {
    const rows = await this.db.query<RunArtifact & { total: number }>(
      `SELECT path, size::float8 AS size, sha256, created_at AS "createdAt", ${TOTAL_COLUMN} FROM run_artifacts
       WHERE run_id = $1 AND path LIKE $2 ORDER BY path LIMIT $3 OFFSET $4`,
      [runId, `${escapeLike(prefix)}%`, page.limit, page.offset],
    );
    return toPage(rows, page);
  }
}
