import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  apiFetch,
  apiRequest,
  type ApiRequestInit,
  type ApiSettings,
  type Claimed,
  type ClaimRequest,
  type HeartbeatAnswer,
  type HeartbeatRequest,
  type Job,
  type JobOutcome,
  type RegisterWorkerRequest,
  type Worker,
  type WorkerEvent,
} from '../api/index.js';

export type { WorkerEvent } from '../api/index.js';

/** What the agent needs of a claimed job (the server answers the whole job), and the token the job runs with. */
export type ClaimedJob = Pick<Job, 'id' | 'kind' | 'name' | 'spec' | 'attempt' | 'maxAttempts'> & { token: string };

/**
 * The worker side of `/tandem/api/workers/*`, authenticated with a worker token. Failures are
 * TandemApiErrors (from the shared client), NETWORK when the server cannot be reached.
 */
export class WorkerClient {
  workerId = '';
  private readonly settings: ApiSettings;

  constructor(serverUrl: string, token: string) {
    this.settings = { url: serverUrl, token };
  }

  async register(input: RegisterWorkerRequest): Promise<string> {
    const worker = await this.call<Worker>('POST', 'workers', input);
    this.workerId = worker.id;
    return worker.id;
  }

  async claim(leaseMs: number, waitMs: number, signal?: AbortSignal): Promise<ClaimedJob | undefined> {
    const body: ClaimRequest = { leaseMs, waitMs };
    const answer = await this.call<Claimed | undefined>('POST', `workers/${this.workerId}/claim`, body, signal);
    return answer && { ...answer.job, token: answer.token };
  }

  heartbeat(leaseMs: number, leases: HeartbeatRequest['leases']): Promise<HeartbeatAnswer> {
    const body: HeartbeatRequest = { leaseMs, leases };
    return this.call('POST', `workers/${this.workerId}/heartbeat`, body);
  }

  async events(job: ClaimedJob, events: WorkerEvent[]): Promise<void> {
    await this.call('POST', `${this.leasePath(job)}/events`, { events });
  }

  /** Streams a file to the server; never reads it whole into memory. */
  async upload(job: ClaimedJob, path: string, body: Readable): Promise<void> {
    await apiRequest(this.settings, `${this.leasePath(job)}/outputs/${path.split('/').map(encodeURIComponent).join('/')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: body as unknown as ApiRequestInit['body'],
    });
  }

  /** Streams data the job names (uploaded by its submitter) from the server. */
  async data(job: ClaimedJob, sha256: string): Promise<Readable> {
    const response = await apiFetch(this.settings, `${this.leasePath(job)}/data/${sha256}`);
    return Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>);
  }

  async complete(job: ClaimedJob, outcome: JobOutcome): Promise<void> {
    await this.call('POST', `${this.leasePath(job)}/complete`, outcome);
  }

  private leasePath(job: ClaimedJob): string {
    return `workers/${this.workerId}/jobs/${job.id}/${job.attempt}`;
  }

  private call<T>(method: string, path: string, json: unknown, signal?: AbortSignal): Promise<T> {
    return apiRequest<T>(this.settings, path, { method, json, signal });
  }
}
