import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

export interface ClaimedJob {
  id: string;
  kind: 'spark' | 'gpu';
  name: string;
  spec: Record<string, unknown>;
  attempt: number;
  maxAttempts: number;
}

export interface WorkerEvent {
  type: 'log' | 'metric' | 'progress';
  data: Record<string, unknown>;
}

export class WorkerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerApiError';
  }
}

/** The worker side of `/tandem/api/workers/*`, authenticated with a worker token. */
export class WorkerClient {
  workerId = '';

  constructor(
    private readonly serverUrl: string,
    private readonly token: string,
  ) {}

  async register(input: {
    name: string;
    capabilities: string[];
    gpus: Record<string, unknown>[];
    concurrency: number;
    /** The worker cannot isolate jobs, so it takes only its owner's. */
    onlyOwner?: boolean;
  }): Promise<string> {
    const worker = await this.call<{ id: string }>('POST', 'workers', input);
    this.workerId = worker.id;
    return worker.id;
  }

  async claim(leaseMs: number, waitMs: number, signal?: AbortSignal): Promise<ClaimedJob | undefined> {
    const answer = await this.call<{ job: ClaimedJob } | undefined>('POST', `workers/${this.workerId}/claim`, { leaseMs, waitMs }, signal);
    return answer?.job;
  }

  heartbeat(leaseMs: number, leases: { jobId: string; attempt: number }[]): Promise<{ cancel: string[]; lost: string[] }> {
    return this.call('POST', `workers/${this.workerId}/heartbeat`, { leaseMs, leases });
  }

  async events(job: ClaimedJob, events: WorkerEvent[]): Promise<void> {
    await this.call('POST', `${this.leasePath(job)}/events`, { events });
  }

  /** Streams a file to the server; never reads it whole into memory. */
  async upload(job: ClaimedJob, path: string, body: Readable): Promise<void> {
    await this.call('PUT', `${this.leasePath(job)}/outputs/${path.split('/').map(encodeURIComponent).join('/')}`, body);
  }

  /** Streams data the job names (uploaded by its submitter) from the server. */
  async data(job: ClaimedJob, sha256: string): Promise<Readable> {
    const response = await this.fetch('GET', `${this.leasePath(job)}/data/${sha256}`);
    if (!response.ok) throw await this.failure('GET', `data/${sha256}`, response);
    return Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>);
  }

  async complete(
    job: ClaimedJob,
    outcome: { status: 'succeeded' | 'failed' | 'cancelled'; error?: string; metrics?: Record<string, number> },
  ): Promise<void> {
    await this.call('POST', `${this.leasePath(job)}/complete`, outcome);
  }

  private leasePath(job: ClaimedJob): string {
    return `workers/${this.workerId}/jobs/${job.id}/${job.attempt}`;
  }

  private async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const response = await this.fetch(method, path, body, signal);
    if (response.status === 204) return undefined as T;
    if (!response.ok) throw await this.failure(method, path, response);
    return (await response.json()) as T;
  }

  private fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const stream = body !== null && typeof body === 'object' && 'pipe' in body;
    return fetch(`${this.serverUrl}/tandem/api/${path}`, {
      method,
      signal,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': stream ? 'application/octet-stream' : 'application/json' },
      body: body === undefined ? undefined : stream ? (body as Readable) : JSON.stringify(body),
      ...(stream ? { duplex: 'half' } : {}),
    } as RequestInit).catch((cause: unknown) => {
      if (signal?.aborted) throw cause;
      throw new Error(`cannot reach the Tandem server at ${this.serverUrl}: ${(cause as Error).cause ?? (cause as Error).message}`, {
        cause,
      });
    });
  }

  private async failure(method: string, path: string, response: Response): Promise<WorkerApiError> {
    const text = await response.text();
    let error: { code?: string; message?: string } = {};
    try {
      error = JSON.parse(text).error ?? {};
    } catch {
      // not JSON: a proxy's error page
    }
    return new WorkerApiError(response.status, error.code ?? 'INTERNAL', `${method} ${path}: ${error.message ?? text.slice(0, 200)}`);
  }
}
