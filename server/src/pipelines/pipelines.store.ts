import { randomUUID } from 'node:crypto';
import type {
  Page,
  PipelineDefinition,
  PipelineRun,
  PipelineRunStatus,
  PipelineRunSummary,
  PipelineStepRun,
  PipelineStepStatus,
  PipelineTriggerType,
  PipelineValue,
} from '../api/index.js';
import type { Permissions } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { Db, Queryable } from '../db/db.js';
import { TOTAL_COLUMN, toPage, type PageRequest } from '../db/paging.js';
import type { CheckedDefinition } from './pipeline-definition.js';

/** A pipeline row: the API's `Pipeline` without its last run, plus what the scheduler reads. */
export interface PipelineRow {
  id: string;
  name: string;
  description: string;
  definition: CheckedDefinition;
  nextRunAt: Date | null;
  definedBy: string | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type RunSummary = PipelineRunSummary<Date>;
export type Run = Omit<PipelineRun<Date>, 'definition'> & { definition: CheckedDefinition };
export type StepRun = PipelineStepRun<Date>;

export interface NewRun {
  trigger: PipelineTriggerType;
  scheduledFor?: Date;
  eventKey?: string;
  /** What the event trigger saw, for steps to read as {{ event.<field> }}. */
  event?: Record<string, PipelineValue>;
  reason?: string;
  runAs: string | null;
  params: Record<string, PipelineValue>;
}

const PIPELINE_COLUMNS = `p.id, p.name, p.description, p.definition, p.next_run_at AS "nextRunAt", p.defined_by AS "definedBy",
  p.created_by AS "createdBy", p.created_at AS "createdAt", p.updated_at AS "updatedAt"`;
const RUN_COLUMNS = `r.id, r.pipeline_id AS "pipelineId", r.number, r.status, r.trigger, r.scheduled_for AS "scheduledFor",
  r.run_as AS "runAs", r.reason, r.error, r.created_at AS "createdAt", r.started_at AS "startedAt", r.finished_at AS "finishedAt"`;
const STEP_COLUMNS = `s.step_id AS id, s.kind, s.needs, s.status, s.attempt, s.job_id AS "jobId", s.outputs, s.error,
  s.started_at AS "startedAt", s.finished_at AS "finishedAt", s.next_attempt_at AS "nextAttemptAt"`;

export const FINAL_RUN: PipelineRunStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Pipelines, their runs and steps in PostgreSQL. SQL lives here only. */
export class PipelinesStore {
  constructor(
    private readonly db: Db,
    private readonly permissions: Permissions,
  ) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  // ---- pipelines

  /** The caller's own pipeline called `name`, if any. */
  async findOwn(userId: string, name: string, q: Queryable = this.db): Promise<PipelineRow | undefined> {
    const [row] = await q.query<PipelineRow>(`SELECT ${PIPELINE_COLUMNS} FROM pipelines p WHERE p.created_by = $1 AND p.name = $2`, [
      userId,
      name,
    ]);
    return row;
  }

  async find(id: string, q: Queryable = this.db): Promise<PipelineRow | undefined> {
    const [row] = await q.query<PipelineRow>(`SELECT ${PIPELINE_COLUMNS} FROM pipelines p WHERE p.id = $1`, [id]);
    return row;
  }

  async create(tx: Queryable, definition: CheckedDefinition, nextRunAt: Date | null, who: string): Promise<PipelineRow> {
    const id = randomUUID();
    await tx.query(
      `INSERT INTO pipelines (id, name, description, definition, schedule_cron, schedule_timezone, catchup, next_run_at, triggers,
         max_concurrent_runs, defined_by, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
      [
        id,
        definition.name,
        definition.description,
        definition,
        ...scheduleColumns(definition),
        nextRunAt,
        JSON.stringify(definition.on),
        definition.maxConcurrentRuns,
        who,
      ],
    );
    return (await this.find(id, tx))!;
  }

  /** Replaces the definition; the schedule starts again from now, and runs go on as `who`. */
  async replace(tx: Queryable, id: string, definition: CheckedDefinition, nextRunAt: Date | null, who: string): Promise<PipelineRow> {
    await tx.query(
      `UPDATE pipelines SET definition = $2, description = $3, schedule_cron = $4, schedule_timezone = $5, catchup = $6, next_run_at = $7,
         triggers = $8, max_concurrent_runs = $9, defined_by = $10, updated_at = now() WHERE id = $1`,
      [
        id,
        definition,
        definition.description,
        ...scheduleColumns(definition),
        nextRunAt,
        JSON.stringify(definition.on),
        definition.maxConcurrentRuns,
        who,
      ],
    );
    return (await this.find(id, tx))!;
  }

  async delete(tx: Queryable, id: string): Promise<void> {
    await tx.query(`DELETE FROM pipelines WHERE id = $1`, [id]);
    await tx.query(`DELETE FROM grants WHERE resource_type = 'pipeline' AND resource_id = $1`, [id]);
  }

  async list(who: Principal, page: PageRequest): Promise<Page<PipelineRow>> {
    const visible = this.permissions.visibleSql(who, 'pipeline', 'p.id', 3);
    const rows = await this.db.query<PipelineRow & { total: number }>(
      `SELECT ${PIPELINE_COLUMNS}, ${TOTAL_COLUMN} FROM pipelines p WHERE ${visible.sql} ORDER BY p.name, p.id LIMIT $1 OFFSET $2`,
      [page.limit, page.offset, ...visible.params],
    );
    return toPage(rows, page);
  }

  /** Pipelines with event triggers (few: they are read at each event). */
  async withTriggers(): Promise<PipelineRow[]> {
    return this.db.query<PipelineRow>(`SELECT ${PIPELINE_COLUMNS} FROM pipelines p WHERE jsonb_array_length(p.triggers) > 0`);
  }

  // ---- scheduling

  /**
   * Claims the pipelines whose scheduled time has come (row locks, so that each server claims
   * different ones) and creates one run per time `plan` says is due, then moves their next time
   * on. Runs are unique per (pipeline, scheduled time): a time is never fired twice.
   */
  async claimDue(
    now: Date,
    plan: (row: PipelineRow) => { due: Date[]; next: Date | null },
  ): Promise<{ pipelineId: string; created: number }[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<PipelineRow>(
        `SELECT ${PIPELINE_COLUMNS} FROM pipelines p WHERE p.next_run_at <= $1 ORDER BY p.next_run_at LIMIT 20 FOR UPDATE SKIP LOCKED`,
        [now],
      );
      const claimed: { pipelineId: string; created: number }[] = [];
      for (const row of rows) {
        const { due, next } = plan(row);
        let created = 0;
        for (const at of due) {
          if (await this.insertRun(tx, row, { trigger: 'schedule', scheduledFor: at, runAs: row.definedBy, params: {} })) created++;
        }
        await tx.query(`UPDATE pipelines SET next_run_at = $2 WHERE id = $1`, [row.id, next]);
        claimed.push({ pipelineId: row.id, created });
      }
      return claimed;
    });
  }

  /** The earliest scheduled time of any pipeline, to wake up for it. */
  async nextDue(): Promise<Date | undefined> {
    const [row] = await this.db.query<{ at: Date | null }>(`SELECT min(next_run_at) AS at FROM pipelines`);
    return row?.at ?? undefined;
  }

  // ---- runs

  /** Creates a queued run with its steps pending; undefined when that scheduled time or event already has one. */
  async createRun(pipeline: PipelineRow, input: NewRun): Promise<string | undefined> {
    return this.db.transaction((tx) => this.insertRun(tx, pipeline, input));
  }

  private async insertRun(tx: Queryable, pipeline: PipelineRow, input: NewRun): Promise<string | undefined> {
    // The pipeline's row lock orders run numbers (two servers may create runs of one pipeline).
    await tx.query(`SELECT id FROM pipelines WHERE id = $1 FOR UPDATE`, [pipeline.id]);
    const id = randomUUID();
    const inserted = await tx.query(
      `INSERT INTO pipeline_runs (id, pipeline_id, number, status, trigger, scheduled_for, event_key, reason, run_as, params, definition, event)
       SELECT $1, $2, COALESCE(max(number), 0) + 1, 'queued', $3, $4, $5, $6, $7, $8, $9, $10 FROM pipeline_runs WHERE pipeline_id = $2
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        id,
        pipeline.id,
        input.trigger,
        input.scheduledFor ?? null,
        input.eventKey ?? null,
        input.reason ?? null,
        input.runAs,
        input.params,
        pipeline.definition,
        input.event ?? null,
      ],
    );
    if (inserted.length === 0) return undefined;
    for (const [position, step] of pipeline.definition.steps.entries()) {
      await tx.query(`INSERT INTO pipeline_steps (run_id, step_id, position, kind, needs, status) VALUES ($1, $2, $3, $4, $5, 'pending')`, [
        id,
        step.id,
        position,
        step.kind,
        step.needs,
      ]);
    }
    return id;
  }

  /** Starts queued runs of the pipeline while it has fewer than its limit running; answers the ones started. */
  async startQueued(pipelineId: string, now: Date): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const [pipeline] = await tx.query<{ max: number }>(`SELECT max_concurrent_runs AS max FROM pipelines WHERE id = $1 FOR UPDATE`, [
        pipelineId,
      ]);
      if (!pipeline) return [];
      const started = await tx.query<{ id: string }>(
        `UPDATE pipeline_runs SET status = 'running', started_at = $3 WHERE id IN (
           SELECT id FROM pipeline_runs WHERE pipeline_id = $1 AND status = 'queued' ORDER BY number
           LIMIT greatest(0, $2 - (SELECT count(*) FROM pipeline_runs WHERE pipeline_id = $1 AND status = 'running')::int))
         RETURNING id`,
        [pipelineId, pipeline.max, now],
      );
      return started.map((r) => r.id);
    });
  }

  /** Runs not finished yet: queued ones (by pipeline) and running ones. */
  async activeRuns(): Promise<{ id: string; pipelineId: string; status: PipelineRunStatus }[]> {
    return this.db.query(
      `SELECT id, pipeline_id AS "pipelineId", status FROM pipeline_runs WHERE status IN ('queued', 'running') ORDER BY created_at`,
    );
  }

  /**
   * Takes the run's lease for `ms`: only its holder advances the run, so a step is never started
   * twice; a holder that died loses it when it expires. Answers whether it was taken.
   */
  async lease(runId: string, owner: string, ms: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE pipeline_runs SET lease_owner = $2, lease_until = now() + $3 * interval '1 millisecond'
        WHERE id = $1 AND status = 'running' AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2) RETURNING id`,
      [runId, owner, ms],
    );
    return rows.length > 0;
  }

  async release(runId: string, owner: string): Promise<void> {
    await this.db.query(`UPDATE pipeline_runs SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`, [
      runId,
      owner,
    ]);
  }

  async getRun(id: string, q: Queryable = this.db): Promise<Run | undefined> {
    const [run] = await q.query<Omit<Run, 'steps'>>(
      `SELECT ${RUN_COLUMNS}, r.params, r.event, r.definition FROM pipeline_runs r WHERE r.id = $1`,
      [id],
    );
    if (!run) return undefined;
    const steps = await q.query<StepRun>(`SELECT ${STEP_COLUMNS} FROM pipeline_steps s WHERE s.run_id = $1 ORDER BY s.position`, [id]);
    return { ...run, steps };
  }

  async listRuns(pipelineId: string, page: PageRequest): Promise<Page<RunSummary>> {
    const rows = await this.db.query<RunSummary & { total: number }>(
      `SELECT ${RUN_COLUMNS}, ${TOTAL_COLUMN} FROM pipeline_runs r WHERE r.pipeline_id = $1 ORDER BY r.number DESC LIMIT $2 OFFSET $3`,
      [pipelineId, page.limit, page.offset],
    );
    return toPage(rows, page);
  }

  async lastRuns(pipelineIds: string[]): Promise<Map<string, RunSummary>> {
    if (pipelineIds.length === 0) return new Map();
    const rows = await this.db.query<RunSummary>(
      `SELECT DISTINCT ON (r.pipeline_id) ${RUN_COLUMNS} FROM pipeline_runs r WHERE r.pipeline_id = ANY($1::text[]) ORDER BY r.pipeline_id, r.number DESC`,
      [pipelineIds],
    );
    return new Map(rows.map((r) => [r.pipelineId, r]));
  }

  /** The run a job belongs to, when it is a step's. */
  /** The pipeline a job is a step of, if it is one. */
  async pipelineOfJob(jobId: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ pipelineId: string }>(
      `SELECT r.pipeline_id AS "pipelineId" FROM pipeline_steps s JOIN pipeline_runs r ON r.id = s.run_id WHERE s.job_id = $1`,
      [jobId],
    );
    return row?.pipelineId;
  }

  async runOfJob(jobId: string): Promise<string | undefined> {
    const [row] = await this.db.query<{ runId: string }>(`SELECT run_id AS "runId" FROM pipeline_steps WHERE job_id = $1`, [jobId]);
    return row?.runId;
  }

  /**
   * Changes a step when it is in one of `from` (another server, or a cancel, may have moved it
   * on); answers whether it changed.
   */
  async updateStep(
    runId: string,
    stepId: string,
    from: PipelineStepStatus[],
    change: Partial<Pick<StepRun, 'status' | 'attempt' | 'jobId' | 'outputs' | 'error' | 'startedAt' | 'finishedAt' | 'nextAttemptAt'>>,
    q: Queryable = this.db,
  ): Promise<boolean> {
    const columns: Record<string, string> = {
      status: 'status',
      attempt: 'attempt',
      jobId: 'job_id',
      outputs: 'outputs',
      error: 'error',
      startedAt: 'started_at',
      finishedAt: 'finished_at',
      nextAttemptAt: 'next_attempt_at',
    };
    const entries = Object.entries(change).filter(([, v]) => v !== undefined);
    const sets = entries.map(([k], i) => `${columns[k]} = $${i + 4}`);
    const rows = await q.query(
      `UPDATE pipeline_steps SET ${sets.join(', ')} WHERE run_id = $1 AND step_id = $2 AND status = ANY($3::text[]) RETURNING step_id`,
      [runId, stepId, from, ...entries.map(([, v]) => v)],
    );
    return rows.length > 0;
  }

  /** Ends a run that had not ended; answers whether this call ended it. */
  async finishRun(runId: string, status: PipelineRunStatus, error: string | null, at: Date): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE pipeline_runs SET status = $2, error = $3, finished_at = $4, lease_owner = NULL, lease_until = NULL
        WHERE id = $1 AND status IN ('queued', 'running') RETURNING id`,
      [runId, status, error, at],
    );
    return rows.length > 0;
  }

  /** Puts an ended run back to running with its failed, cancelled and skipped steps pending again. */
  async reopen(runId: string, at: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE pipeline_runs SET status = 'running', error = NULL, finished_at = NULL, started_at = COALESCE(started_at, $2)
          WHERE id = $1 AND status IN ('failed', 'cancelled') RETURNING id`,
        [runId, at],
      );
      if (rows.length === 0) return false;
      await tx.query(
        `UPDATE pipeline_steps SET status = 'pending', attempt = 0, error = NULL, started_at = NULL, finished_at = NULL, next_attempt_at = NULL, job_id = NULL
          WHERE run_id = $1 AND status IN ('failed', 'cancelled', 'skipped')`,
        [runId],
      );
      return true;
    });
  }
}

function scheduleColumns(definition: PipelineDefinition): [string | null, string | null, string] {
  const schedule = definition.schedule;
  return [schedule?.cron ?? null, schedule?.timezone ?? null, schedule?.catchup ?? 'skip'];
}
