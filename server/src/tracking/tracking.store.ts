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
import { RunCache } from './run-cache.js';
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
  experimentName: string;
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

/** What one logging call writes, each key once (see `TrackingStore.write`). */
export interface StoredBatch {
  params: [string, string][];
  points: StoredPoint[];
  tags: [string, string][];
  removeTags: string[];
  inputs: DatasetInput[];
}

export interface ParamConflict {
  key: string;
  old: string;
  new: string;
}

/** Where a run's row and side rows are read from: its tables, or CTEs of the same statement. */
interface RunSources {
  runs: string;
  params: string;
  tags: string;
  metrics: string;
  inputs: string;
}

const TABLES: RunSources = {
  runs: 'runs',
  params: 'run_params',
  tags: 'run_tags',
  metrics: 'run_latest_metrics',
  inputs: 'run_inputs',
};

export const EMPTY_BATCH: StoredBatch = { params: [], points: [], tags: [], removeTags: [], inputs: [] };

/** How PostgreSQL reports the deliberate failure of a batch with a changed param (see `TrackingStore.write`). */
const NOT_NULL_VIOLATION = '23502';

/** A json column: parsed already by node-postgres and PGlite, text where a driver leaves it so. */
const parseJson = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

/** Binds values as numbered parameters. */
function binder(params: unknown[]) {
  return (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
}

/**
 * The CTEs that write a batch to the run whose id is parameter $1 (see `TrackingStore.write`);
 * `bind` adds the other parameters, `experiment` the run's experiment id (called only when needed:
 * a parameter bound but unused fails the statement).
 */
function batchCtes(bind: (value: unknown) => string, experiment: () => string, batch: StoredBatch, guard?: string): string[] {
  // Guarded, every part writes only if the guard CTE has a row.
  const when = guard ? ` WHERE EXISTS (SELECT 1 FROM ${guard})` : '';
  const ctes: string[] = [];
  if (batch.params.length > 0) {
    const [keys, vals] = [bind(batch.params.map(([k]) => k)), bind(batch.params.map(([, v]) => v))];
    ctes.push(`params AS (
      INSERT INTO run_params AS p (run_id, key, value)
      SELECT $1, key, value FROM unnest(${keys}::text[], ${vals}::text[]) AS i(key, value)${when} ORDER BY key
      ON CONFLICT (run_id, key) DO UPDATE SET run_id = NULL WHERE p.value <> EXCLUDED.value
      RETURNING p.run_id, p.key, p.value)`);
  }
  if (batch.points.length > 0) {
    const p = batch.points;
    // 'NaN' and '±Infinity' travel as text elements, which float8[] reads back as those values.
    ctes.push(
      `points AS (SELECT * FROM unnest(${bind(p.map((x) => x.key))}::text[], ${bind(p.map((x) => x.value))}::float8[],
         ${bind(p.map((x) => x.step))}::bigint[], ${bind(p.map((x) => x.timestamp))}::bigint[]) AS p(key, value, step, ts)${when})`,
      `series AS (INSERT INTO run_metrics (run_id, key, step, timestamp_ms, value) SELECT $1, key, step, ts, value FROM points)`,
      `latest AS (
        INSERT INTO run_latest_metrics AS l (run_id, experiment_id, key, value, step, timestamp_ms)
        SELECT DISTINCT ON (key) $1, ${experiment()}, key, value, step, ts FROM points ORDER BY key, step DESC, ts DESC, value DESC
        ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value, step = EXCLUDED.step, timestamp_ms = EXCLUDED.timestamp_ms
        WHERE (EXCLUDED.step, EXCLUDED.timestamp_ms, EXCLUDED.value) > (l.step, l.timestamp_ms, l.value)
        RETURNING l.run_id, l.key, l.value, l.step, l.timestamp_ms)`,
    );
  }
  if (batch.tags.length > 0) {
    ctes.push(`tags AS (
      INSERT INTO run_tags (run_id, key, value)
      SELECT $1, key, value FROM unnest(${bind(batch.tags.map(([k]) => k))}::text[], ${bind(batch.tags.map(([, v]) => v))}::text[]) AS t(key, value)${when}
      ORDER BY key
      ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value
      RETURNING run_id, key, value)`);
  }
  // The keys removed are never among those set (a call names each key once).
  if (batch.removeTags.length > 0)
    ctes.push(
      `untags AS (DELETE FROM run_tags WHERE run_id = $1 AND key = ANY(${bind(batch.removeTags)}::text[])${guard ? ` AND EXISTS (SELECT 1 FROM ${guard})` : ''})`,
    );
  if (batch.inputs.length > 0) {
    const column = (pick: (i: DatasetInput) => string | null) => bind(batch.inputs.map(pick));
    ctes.push(`inputs AS (
      INSERT INTO run_inputs (run_id, name, digest, source_type, source, schema, profile, context)
      SELECT $1, * FROM unnest(${column((i) => i.name)}::text[], ${column((i) => i.digest)}::text[], ${column((i) => i.sourceType)}::text[],
        ${column((i) => i.source)}::text[], ${column((i) => i.schema)}::text[], ${column((i) => i.profile)}::text[], ${column((i) => i.context)}::text[])${when}
      ON CONFLICT (run_id, name, digest, context) DO NOTHING
      RETURNING run_id, name, digest, source_type, source, schema, profile, context, created_at)`);
  }
  return ctes;
}

/** Tracking data in PostgreSQL: experiments, runs and what runs log. SQL lives here only. */
export class TrackingStore {
  private readonly cache = new RunCache();

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
  /** Which of the experiments the caller may view (any role may). */
  async viewableAmong(who: Principal, ids: string[]): Promise<Set<string>> {
    const visible = this.permissions.visibleSql(who, 'experiment', 'e.id', 2);
    const rows = await this.db.query<{ id: string }>(`SELECT e.id FROM experiments e WHERE e.id = ANY($1::text[]) AND ${visible.sql}`, [
      ids,
      ...visible.params,
    ]);
    return new Set(rows.map((r) => r.id));
  }

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

  /**
   * Creates a run and writes what came along with it (`batch`) in one statement: the run row
   * is a CTE beside the batch's (see `write`), whose foreign keys are checked at the statement's
   * end, when the run exists. Atomic without a transaction; a new run has no params to conflict.
   * With `who`, only if they may write to the experiment (editor of it, the experiment active),
   * checked in the same statement: undefined when not.
   */
  async createRun(run: NewRun, batch: StoredBatch = EMPTY_BATCH, who?: Principal): Promise<Run | undefined> {
    const id = randomUUID().replace(/-/g, '');
    const values: unknown[] = [id];
    const bind = binder(values);
    const experiment = `${bind(run.experimentId)}::text`;
    const row = `$1, ${experiment}, ${bind(run.name ?? `run-${id.slice(0, 8)}`)}::text, 'RUNNING', ${bind(run.startTime)}::timestamptz,
        ${bind(run.parentRunId ?? null)}::text, ${bind(run.notebook ?? null)}::text, ${bind(run.cell ?? null)}::text,
        ${bind(run.notebookVersion ?? null)}::text, ${bind(run.jobId ?? null)}::text, ${bind(run.createdBy)}::text,
        ${bind(run.heartbeatTimeoutSeconds)}::int`;
    let source = `VALUES (${row})`;
    if (who) {
      const role = this.permissions.roleJoin(who, 'experiment', 'x.id', values.length + 1);
      values.push(...role.params);
      source = `SELECT ${row} FROM experiments x ${role.sql}
        WHERE x.id = ${experiment} AND x.lifecycle_stage = 'active' AND r.role IN ('owner', 'editor')`;
    }
    const created = `created AS (
      INSERT INTO runs (id, experiment_id, name, status, start_time, parent_run_id, notebook, cell, notebook_version, job_id,
        created_by, heartbeat_timeout_s)
      ${source}
      RETURNING *)`;
    const ctes = [created, ...batchCtes(bind, () => experiment, batch, who ? 'created' : undefined)];
    // The new run as its CTEs returned it: it has nothing else yet.
    const from: RunSources = {
      runs: 'created',
      params: batch.params.length > 0 ? 'params' : TABLES.params,
      tags: batch.tags.length > 0 ? 'tags' : TABLES.tags,
      metrics: batch.points.length > 0 ? 'latest' : TABLES.metrics,
      inputs: batch.inputs.length > 0 ? 'inputs' : TABLES.inputs,
    };
    return this.selectRun(this.db, `WITH ${ctes.join(',\n')}`, from, values);
  }

  /** The run's place and state and the caller's role on its experiment, in one query; undefined when they have none. */
  async runAccess(who: Principal, id: string): Promise<RunAccess | undefined> {
    const role = this.permissions.roleJoin(who, 'experiment', 'x.experiment_id', 2);
    const [row] = await this.db.query<RunAccess>(
      `SELECT x.id, x.experiment_id AS "experimentId", e.name AS "experimentName", x.lifecycle_stage AS "lifecycleStage",
         e.lifecycle_stage AS "experimentStage", r.role
       FROM runs x JOIN experiments e ON e.id = x.experiment_id ${role.sql} WHERE x.id = $1`,
      [id, ...role.params],
    );
    return row;
  }

  /**
   * One full run in one query, the side tables aggregated in SQL: the answer of every write call
   * (create, update) and of a get, where five round trips cost more than the JSON building.
   * JSON (not jsonb) objects keep the keys in the order aggregated.
   */
  async run(id: string, q: Queryable = this.db): Promise<Run | undefined> {
    return this.selectRun(q, '', TABLES, [id]);
  }

  /** `run()` of the run $1 as `from` has it (see `selectRuns`). */
  private async selectRun(q: Queryable, prefix: string, from: RunSources, values: unknown[]): Promise<Run | undefined> {
    return (await this.selectRuns(q, prefix, from, 'r.id = $1', values))[0]?.run;
  }

  /**
   * A search's page of full runs, in its order. Runs kept by `cache` at the version the search
   * read are not read again (callers must not change them); the others are read in one
   * statement, so each run and its version come from one snapshot.
   */
  async page(found: { ids: string[]; versions: string[] }): Promise<Run[]> {
    const kept = found.ids.map((id, i) => this.cache.get(id, found.versions[i]!));
    const missing = found.ids.filter((_, i) => !kept[i]);
    const read = new Map<string, Run>();
    if (missing.length > 0)
      for (const { run, version } of await this.selectRuns(this.db, '', TABLES, 'r.id = ANY($1::text[])', [missing])) {
        this.cache.set(run, version);
        read.set(run.id, run);
      }
    return found.ids.map((id, i) => kept[i] ?? read.get(id)).filter((r): r is Run => r !== undefined);
  }

  /**
   * The runs `where` picks, as `from` has them: tables, or CTEs that `prefix` defines (a
   * statement's read sees its CTEs' rows only through their RETURNING); each with its version.
   */
  private async selectRuns(
    q: Queryable,
    prefix: string,
    from: RunSources,
    where: string,
    values: unknown[],
  ): Promise<{ run: Run; version: string }[]> {
    const rows = await q.query<
      Omit<Run, 'metrics'> & { metrics: { key: string; value: number | string; step: number; timestamp: number }[]; version: string }
    >(
      `${prefix} SELECT ${RUN_COLUMNS}, r.version::text AS version,
         COALESCE((SELECT json_object_agg(p.key, p.value ORDER BY p.key) FROM ${from.params} p WHERE p.run_id = r.id), '{}') AS params,
         COALESCE((SELECT json_object_agg(t.key, t.value ORDER BY t.key) FROM ${from.tags} t WHERE t.run_id = r.id), '{}') AS tags,
         COALESCE((SELECT json_agg(json_build_object('key', m.key, 'value', m.value, 'step', m.step, 'timestamp', m.timestamp_ms)
                   ORDER BY m.key) FROM ${from.metrics} m WHERE m.run_id = r.id), '[]') AS metrics,
         COALESCE((SELECT json_agg(json_build_object('name', d.name, 'digest', d.digest, 'sourceType', d.source_type, 'source', d.source,
                   'schema', d.schema, 'profile', d.profile, 'context', d.context) ORDER BY d.created_at, d.name, d.context)
                   FROM ${from.inputs} d WHERE d.run_id = r.id), '[]') AS inputs
       FROM ${from.runs} r JOIN users u ON u.id = r.created_by WHERE ${where}`,
      values,
    );
    return rows.map(({ version, ...row }) => {
      // JSON carries NaN and the infinities as the strings "NaN", "Infinity" and "-Infinity".
      const metrics: Run['metrics'] = {};
      for (const m of parseJson(row.metrics))
        metrics[m.key] = { value: metricValue(Number(m.value)), step: Number(m.step), timestamp: Number(m.timestamp) };
      return { version, run: { ...row, params: parseJson(row.params), tags: parseJson(row.tags), metrics, inputs: parseJson(row.inputs) } };
    });
  }

  /**
   * Renames, sets the status or the end; answers the run as updated (one statement: the update
   * is a CTE of the read). With `who`, only if they may write to it (editor of its experiment,
   * the run active), checked in the same statement as `runAccess` would: undefined when not.
   */
  async updateRun(
    q: Queryable,
    id: string,
    change: { name?: string; status?: RunStatus; endTime?: Date | null },
    who?: Principal,
  ): Promise<Run | undefined> {
    const values: unknown[] = [id, change.name ?? null, change.status ?? null, change.endTime !== undefined, change.endTime ?? null];
    let allowed = '';
    if (who) {
      const role = this.permissions.roleJoin(who, 'experiment', 'x.experiment_id', values.length + 1);
      values.push(...role.params);
      allowed = `AND x.lifecycle_stage = 'active' AND (SELECT r.role FROM (SELECT 1) AS one ${role.sql}) IN ('owner', 'editor')`;
    }
    return this.selectRun(
      q,
      `WITH updated AS (
         UPDATE runs x SET name = COALESCE($2, x.name), status = COALESCE($3, x.status),
           end_time = CASE WHEN $4::boolean THEN $5::timestamptz ELSE x.end_time END, last_seen_at = now()
         WHERE x.id = $1 ${allowed} RETURNING x.*)`,
      { ...TABLES, runs: 'updated' },
      values,
    );
  }

  async setRunStage(tx: Queryable, id: string, stage: LifecycleStage): Promise<void> {
    await tx.query('UPDATE runs SET lifecycle_stage = $2 WHERE id = $1', [id, stage]);
  }

  /**
   * Writes one logging call — params, metric points (series and each key's latest value), tags
   * set and removed, inputs — as ONE statement of data-modifying CTEs, so that it is atomic
   * without BEGIN and COMMIT: a batch costs one round trip instead of up to seven.
   *
   * Params are immutable. A key logged again with its value is left alone; one logged with
   * another value takes ON CONFLICT's DO UPDATE arm (which sees the latest committed row, also
   * one a concurrent writer committed while this insert waited on it), and that arm sets run_id
   * to NULL: the NOT NULL violation aborts the whole statement, so nothing of the batch is
   * stored. The conflicts are then read and answered (the caller refuses the batch with them).
   * Latest values and params are written in key order, so concurrent batches to one run lock
   * their rows in the same order and cannot deadlock.
   */
  async write(q: Queryable, runId: string, experimentId: string, batch: StoredBatch): Promise<ParamConflict[]> {
    const values: unknown[] = [runId];
    const bind = binder(values);
    const ctes = batchCtes(bind, () => `${bind(experimentId)}::text`, batch);
    if (ctes.length === 0) return [];
    try {
      await q.query(`WITH ${ctes.join(',\n')} SELECT 1`, values);
      return [];
    } catch (error) {
      return this.conflictsOf(error, runId, batch);
    }
  }

  /**
   * `write` for a caller who must be an editor of the run's experiment, with the run active: the
   * check is a CTE of the same statement (the batch is written only if it passes), as
   * `runAccess` would make it. Answers the run's experiment and any param conflicts (then
   * nothing is written), or undefined when the check failed (nothing written; `runAccess` says why).
   */
  async writeAs(
    who: Principal,
    runId: string,
    batch: StoredBatch,
  ): Promise<{ experimentId: string; conflicts: ParamConflict[] } | undefined> {
    const values: unknown[] = [runId];
    const bind = binder(values);
    const role = this.permissions.roleJoin(who, 'experiment', 'x.experiment_id', values.length + 1);
    values.push(...role.params);
    const ok = `ok AS (SELECT x.experiment_id FROM runs x WHERE x.id = $1 AND x.lifecycle_stage = 'active'
      AND (SELECT r.role FROM (SELECT 1) AS one ${role.sql}) IN ('owner', 'editor'))`;
    const ctes = [ok, ...batchCtes(bind, () => '(SELECT experiment_id FROM ok)', batch, 'ok')];
    try {
      const [row] = await this.db.query<{ experimentId: string }>(
        `WITH ${ctes.join(',\n')} SELECT experiment_id AS "experimentId" FROM ok`,
        values,
      );
      return row && { experimentId: row.experimentId, conflicts: [] };
    } catch (error) {
      return { experimentId: '', conflicts: await this.conflictsOf(error, runId, batch) };
    }
  }

  /** The param conflicts that made a batch's statement fail (see `write`); rethrows any other failure. */
  private async conflictsOf(error: unknown, runId: string, batch: StoredBatch): Promise<ParamConflict[]> {
    if (pgErrorCode(error) !== NOT_NULL_VIOLATION || batch.params.length === 0) throw error;
    // Read from the database, not the failed statement's connection: inside a transaction it is aborted now.
    const conflicts = await this.db.query<ParamConflict>(
      `SELECT p.key, p.value AS old, i.value AS new FROM unnest($2::text[], $3::text[]) AS i(key, value)
       JOIN run_params p ON p.run_id = $1 AND p.key = i.key WHERE p.value <> i.value ORDER BY p.key`,
      [runId, batch.params.map(([k]) => k), batch.params.map(([, v]) => v)],
    );
    if (conflicts.length === 0) throw error;
    return conflicts;
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
   * One page of run ids matching the search, in order, with their versions (for `page`), and
   * whether more follow (one row past the page is read instead of counting every match). With
   * `viewer`, a search of one experiment finds runs only if they may see it, checked in the same
   * statement: an empty page then does not say whether they may.
   */
  async searchRuns(search: Search<string[]>, viewer?: Principal): Promise<{ ids: string[]; versions: string[]; more: boolean }> {
    if (search.scope.length === 0) return { ids: [], versions: [], more: false };
    const params: unknown[] = [];
    const bind = binder(params);
    // One experiment binds as a plain equality, which the planner carries into the metric join.
    const experiment = search.scope.length === 1 ? `${bind(search.scope[0])}::text` : undefined;
    let scope = experiment ? `r.experiment_id = ${experiment}` : `r.experiment_id = ANY(${bind(search.scope)}::text[])`;
    if (viewer && experiment) {
      // Uncorrelated, so evaluated once per search; any role may see.
      const role = this.permissions.roleJoin(viewer, 'experiment', experiment, params.length + 1, 'access');
      params.push(...role.params);
      scope += ` AND EXISTS (SELECT 1 FROM (SELECT 1) AS one ${role.sql})`;
    }
    const { joins, where, orderBy } = runSearchSql(search.conditions, search.order, bind);
    const rows = await this.db.query<{ id: string; version: string }>(
      `SELECT r.id, r.version::text AS version FROM runs r ${joins.join(' ')}
       WHERE ${[scope, VIEW_SQL[search.view]('r'), ...where].join(' AND ')}
       ORDER BY ${orderBy.join(', ')} LIMIT ${bind(search.limit + 1)} OFFSET ${bind(search.offset)}`,
      params,
    );
    const page = rows.slice(0, search.limit);
    return { ids: page.map((r) => r.id), versions: page.map((r) => r.version), more: rows.length > search.limit };
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

  /** The file at `path` and the files under the folder `path`, with their keys, in path order; at most `limit`. */
  async artifactsAt(runId: string, path: string, limit: number): Promise<StoredArtifact[]> {
    return this.db.query<StoredArtifact>(
      `SELECT path, key, size::float8 AS size, sha256, created_at AS "createdAt" FROM run_artifacts
       WHERE run_id = $1 AND (path = $2 OR path LIKE $3) ORDER BY path LIMIT $4`,
      [runId, path, `${escapeLike(path)}/%`, limit],
    );
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
