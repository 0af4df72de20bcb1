import { randomUUID } from 'node:crypto';
import type { Permissions } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { Db, Queryable } from '../db/db.js';
import type {
  Job as ApiJob,
  JobEvent as ApiJobEvent,
  JobEventType,
  JobKind,
  JobOutputFile,
  JobStatus,
  Json,
  Worker as ApiWorker,
} from '../api/index.js';

// The entities are the API contract's (../api), with the server's Dates.
export type { JobEventType, JobKind, JobStatus, Json } from '../api/index.js';
export const FINAL_STATUSES: JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export type Job = ApiJob<Date>;
export type JobEvent = ApiJobEvent<Date>;

export interface NewJob {
  kind: JobKind;
  name: string;
  spec: Json;
  register?: Job['register'];
  notebook?: string;
  /** The experiment its attempts log runs into. */
  experimentId?: string;
  maxAttempts: number;
  createdBy: string;
}

export type Worker = ApiWorker<Date>;

/** A stored output file: what clients see, plus its object-store key. */
export interface JobOutput extends JobOutputFile {
  key: string;
}

export interface JobFilter {
  status?: JobStatus;
  kind?: JobKind;
  q?: string;
  limit: number;
  offset: number;
}

/** A job a worker holds: `attempt` fences every call it makes about the job. */
export interface Lease {
  jobId: string;
  workerId: string;
  attempt: number;
}

const JOB_COLUMNS = `id, kind, name, status, spec, register, notebook, attempt, max_attempts AS "maxAttempts",
  worker_id AS "workerId", lease_expires_at AS "leaseExpiresAt", cancel_requested AS "cancelRequested",
  progress, metrics, info, error, result, experiment_id AS "experimentId", run_id AS "runId", created_by AS "createdBy", created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt", updated_at AS "updatedAt"`;

const WORKER_COLUMNS = `id, name, owner_id AS "ownerId", capabilities, gpus, concurrency, only_owner AS "onlyOwner", team_id AS "teamId", last_seen_at AS "lastSeenAt"`;

/** Prefixes each column of JOB_COLUMNS with a table alias. */
const jobColumns = (alias: string) => JOB_COLUMNS.replace(/(^|,\s*)([a-z_]+)/g, `$1${alias}.$2`);

/** The job queue in PostgreSQL: jobs, their event logs and outputs, and the workers that run them. */
export class JobsStore {
  constructor(
    private readonly db: Db,
    private readonly permissions: Permissions,
  ) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  async create(tx: Queryable, job: NewJob): Promise<Job> {
    const [row] = await tx.query<Job>(
      `INSERT INTO jobs (id, kind, name, status, spec, register, notebook, max_attempts, created_by, experiment_id)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9) RETURNING ${JOB_COLUMNS}`,
      [
        randomUUID(),
        job.kind,
        job.name,
        JSON.stringify(job.spec),
        job.register ? JSON.stringify(job.register) : null,
        job.notebook ?? null,
        job.maxAttempts,
        job.createdBy,
        job.experimentId ?? null,
      ],
    );
    return row!;
  }

  /** Records the run of the job's current attempt (unless another attempt started meanwhile). */
  async setRun(jobId: string, attempt: number, runId: string | null): Promise<void> {
    await this.db.query('UPDATE jobs SET run_id = $3 WHERE id = $1 AND attempt = $2', [jobId, attempt, runId]);
  }

  async get(id: string, q: Queryable = this.db): Promise<Job | undefined> {
    const [row] = await q.query<Job>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return row;
  }

  /** The job read under a row lock, so that changes to it in `tx` are serialized. */
  async lock(tx: Queryable, id: string): Promise<Job | undefined> {
    const [row] = await tx.query<Job>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE`, [id]);
    return row;
  }

  async list(who: Principal, filter: JobFilter): Promise<{ jobs: Job[]; total: number }> {
    const visible = this.permissions.visibleSql(who, 'job', 'j.id', 1);
    const params: unknown[] = [...visible.params];
    const where = [visible.sql];
    if (filter.status) where.push(`j.status = $${params.push(filter.status)}`);
    if (filter.kind) where.push(`j.kind = $${params.push(filter.kind)}`);
    if (filter.q) where.push(`j.name ILIKE $${params.push(`%${filter.q.replace(/[%_\\]/g, '\\$&')}%`)}`);
    const condition = where.join(' AND ');
    const [count] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs j WHERE ${condition}`, params);
    const jobs = await this.db.query<Job>(
      `SELECT ${jobColumns('j')} FROM jobs j WHERE ${condition} ORDER BY j.created_at DESC, j.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, filter.limit, filter.offset],
    );
    return { jobs, total: count!.n };
  }

  /**
   * Hands the oldest queued job this worker can run to it. SKIP LOCKED lets concurrent claimers
   * pass over a row another transaction is taking instead of waiting for it or taking it twice.
   */
  async claim(worker: Worker, onlyCreatedBy: string | undefined, leaseMs: number): Promise<Job | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Job>(
        `UPDATE jobs SET status = 'running', attempt = attempt + 1, worker_id = $1,
           lease_expires_at = now() + $2 * interval '1 millisecond', started_at = coalesce(started_at, now()),
           progress = NULL, error = NULL, updated_at = now()
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND kind = ANY($3::text[])
                       AND ($4::text IS NULL OR created_by = $4)
                       AND ($5::text IS NULL OR created_by IN (SELECT user_id FROM team_members WHERE team_id = $5))
                     ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING ${JOB_COLUMNS}`,
        [worker.id, leaseMs, worker.capabilities, onlyCreatedBy ?? null, worker.teamId],
      );
      if (row)
        await this.addEvents(tx, row.id, row.attempt, [
          { type: 'state', data: { status: 'running', worker: worker.name, attempt: row.attempt } },
        ]);
      return row;
    });
  }

  /** Extends the leases a worker still holds; returns the held jobs' ids and whether cancel was asked. */
  async renew(
    workerId: string,
    leases: { jobId: string; attempt: number }[],
    leaseMs: number,
  ): Promise<{ id: string; cancelRequested: boolean }[]> {
    await this.db.query('UPDATE workers SET last_seen_at = now() WHERE id = $1', [workerId]);
    if (leases.length === 0) return [];
    return this.db.query<{ id: string; cancelRequested: boolean }>(
      `UPDATE jobs SET lease_expires_at = now() + $2 * interval '1 millisecond'
       WHERE worker_id = $1 AND status = 'running'
         AND (id, attempt) IN (SELECT * FROM unnest($3::text[], $4::int[]))
       RETURNING id, cancel_requested AS "cancelRequested"`,
      [workerId, leaseMs, leases.map((l) => l.jobId), leases.map((l) => l.attempt)],
    );
  }

  /** The job if `lease` still holds it (running, same worker and attempt), read under a row lock. */
  async leased(tx: Queryable, lease: Lease): Promise<Job | undefined> {
    const [row] = await tx.query<Job>(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status = 'running' FOR UPDATE`,
      [lease.jobId, lease.workerId, lease.attempt],
    );
    return row;
  }

  /** Moves a job to a new status and records the change in its event log. */
  async setStatus(
    tx: Queryable,
    job: Pick<Job, 'id' | 'attempt'>,
    status: JobStatus,
    change: { error?: string | null; result?: Json; progress?: number } = {},
  ): Promise<Job> {
    const final = FINAL_STATUSES.includes(status);
    const [row] = await tx.query<Job>(
      `UPDATE jobs SET status = $2, error = $3, result = coalesce($4, result), progress = coalesce($5, progress),
         finished_at = CASE WHEN $6 THEN now() ELSE NULL END, updated_at = now(),
         worker_id = CASE WHEN $2 = 'running' THEN worker_id END,
         lease_expires_at = CASE WHEN $2 = 'running' THEN lease_expires_at END
       WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [job.id, status, change.error ?? null, change.result ? JSON.stringify(change.result) : null, change.progress ?? null, final],
    );
    await this.addEvents(tx, job.id, job.attempt, [{ type: 'state', data: { status, ...(change.error ? { error: change.error } : {}) } }]);
    return row!;
  }

  async requestCancel(tx: Queryable, id: string): Promise<void> {
    await tx.query('UPDATE jobs SET cancel_requested = true, updated_at = now() WHERE id = $1', [id]);
  }

  /** Running jobs whose lease ran out, locked for the caller to requeue or fail. */
  async expired(tx: Queryable): Promise<Job[]> {
    return tx.query<Job>(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE status = 'running' AND lease_expires_at < now() ORDER BY lease_expires_at FOR UPDATE SKIP LOCKED`,
    );
  }

  /** Appends events; progress, metric and info events also update the job row so lists show them. */
  async addEvents(tx: Queryable, jobId: string, attempt: number, events: { type: JobEventType; data: Json }[]): Promise<void> {
    if (events.length === 0) return;
    await tx.query(
      `INSERT INTO job_events (job_id, attempt, type, data)
       SELECT $1, $2, e.type, e.data FROM unnest($3::text[], $4::jsonb[]) AS e(type, data)`,
      [jobId, attempt, events.map((e) => e.type), events.map((e) => JSON.stringify(e.data))],
    );
    const progress = events.filter((e) => e.type === 'progress' && typeof e.data.fraction === 'number').at(-1);
    const metrics = Object.fromEntries(
      events
        .filter((e) => e.type === 'metric')
        .flatMap((e) => Object.entries(e.data).filter(([k, v]) => k !== 'step' && typeof v === 'number')),
    );
    const info = Object.assign({}, ...events.filter((e) => e.type === 'info').map((e) => e.data));
    if (progress || Object.keys(metrics).length > 0 || Object.keys(info).length > 0) {
      await tx.query(
        `UPDATE jobs SET progress = coalesce($2, progress), metrics = metrics || $3::jsonb, info = info || $4::jsonb, updated_at = now()
         WHERE id = $1`,
        [jobId, progress ? progress.data.fraction : null, JSON.stringify(metrics), JSON.stringify(info)],
      );
    }
  }

  async events(jobId: string, after: number, types: JobEventType[] | undefined, limit: number): Promise<JobEvent[]> {
    return this.db.query<JobEvent>(
      `SELECT id::int AS id, attempt, at, type, data FROM job_events
       WHERE job_id = $1 AND id > $2 AND ($3::text[] IS NULL OR type = ANY($3::text[])) ORDER BY id LIMIT $4`,
      [jobId, after, types ?? null, limit],
    );
  }

  async recordOutput(jobId: string, attempt: number, output: JobOutput): Promise<void> {
    await this.db.query(
      `INSERT INTO job_outputs (job_id, attempt, path, key, size, sha256) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (job_id, attempt, path) DO UPDATE SET key = EXCLUDED.key, size = EXCLUDED.size, sha256 = EXCLUDED.sha256`,
      [jobId, attempt, output.path, output.key, output.size, output.sha256],
    );
  }

  async outputs(jobId: string, attempt: number, q: Queryable = this.db): Promise<JobOutput[]> {
    return q.query<JobOutput>(
      'SELECT path, key, size::float8 AS size, sha256 FROM job_outputs WHERE job_id = $1 AND attempt = $2 ORDER BY path',
      [jobId, attempt],
    );
  }

  /** Notes that `ownerId` uploaded the blob `sha256`, so their jobs may name it. */
  async recordData(ownerId: string, sha256: string, size: number): Promise<void> {
    await this.db.query(
      `INSERT INTO job_data (owner_id, sha256, size) VALUES ($1, $2, $3)
       ON CONFLICT (owner_id, sha256) DO UPDATE SET uploaded_at = now()`,
      [ownerId, sha256, size],
    );
  }

  /** The blobs among `sha256s` that `ownerId` uploaded. */
  async dataOf(ownerId: string, sha256s: string[]): Promise<{ sha256: string; size: number }[]> {
    return this.db.query<{ sha256: string; size: number }>(
      'SELECT sha256, size::float8 AS size FROM job_data WHERE owner_id = $1 AND sha256 = ANY($2::text[]) ORDER BY sha256',
      [ownerId, sha256s],
    );
  }

  async registerWorker(input: Omit<Worker, 'id' | 'lastSeenAt'>): Promise<Worker> {
    const [row] = await this.db.query<Worker>(
      `INSERT INTO workers (id, name, owner_id, capabilities, gpus, concurrency, only_owner, team_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       RETURNING ${WORKER_COLUMNS}`,
      [
        randomUUID(),
        input.name,
        input.ownerId,
        JSON.stringify(input.capabilities),
        JSON.stringify(input.gpus),
        input.concurrency,
        input.onlyOwner,
        input.teamId,
      ],
    );
    return row!;
  }

  async getWorker(id: string): Promise<Worker | undefined> {
    const [row] = await this.db.query<Worker>(`SELECT ${WORKER_COLUMNS} FROM workers WHERE id = $1`, [id]);
    return row;
  }

  async listWorkers(activeSince: Date): Promise<Worker[]> {
    return this.db.query<Worker>(`SELECT ${WORKER_COLUMNS} FROM workers WHERE last_seen_at > $1 ORDER BY name, id`, [activeSince]);
  }
}
