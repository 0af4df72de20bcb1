import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  apiFetch,
  apiRequest,
  TandemApiError,
  type ApiRequestInit,
  type ApiSettings,
  type ServableVersion,
  type ServingAuthorization,
  type ServingAuthorizationRequest,
  type ServingDeployment,
} from '../api/index.js';
import { TandemError } from '../errors.js';
import type { ServingSource } from './serving.source.js';

/**
 * How long a replica trusts the server's answer about a caller's token (yes or no). A revoked
 * token or key, or a withdrawn share, is refused by replicas within this time.
 */
export const AUTHORIZATION_CACHE_MS = 2_000;

/**
 * The server's replica API (`/tandem/api/serving/replica/*`), as a replica calls it with a worker
 * token: what to serve, the models' bytes, and whether a caller may predict. The worker token's
 * owner must be able to view a model for the replica to serve it.
 */
export class ReplicaClient implements ServingSource {
  private readonly settings: ApiSettings;
  private readonly decisions = new Map<string, { answer: Promise<ServingAuthorization>; until: number }>();

  constructor(serverUrl: string, token: string) {
    this.settings = { url: serverUrl, token };
  }

  deployments(modelId?: string): Promise<ServingDeployment[]> {
    return this.call(`serving/replica/deployments${modelId ? `?modelId=${encodeURIComponent(modelId)}` : ''}`);
  }

  deployment(id: string): Promise<ServingDeployment | undefined> {
    return this.optional(`serving/replica/deployments/${encodeURIComponent(id)}`);
  }

  async deploymentByAlias(modelId: string, alias: string): Promise<ServingDeployment | undefined> {
    return (await this.deployments(modelId)).find((d) => d.alias === alias);
  }

  version(modelId: string, number: number): Promise<ServableVersion | undefined> {
    return this.optional(`serving/replica/models/${encodeURIComponent(modelId)}/versions/${number}`);
  }

  async readModel(modelId: string, version: ServableVersion): Promise<Readable> {
    const response = await this.send(() =>
      apiFetch(this.settings, `serving/replica/models/${encodeURIComponent(modelId)}/versions/${version.number}/model`),
    );
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }

  /** Sends one of the replica's prediction log files; the server stores it under `key`. */
  async putLog(deploymentId: string, key: string, body: Readable): Promise<void> {
    await this.send(() =>
      apiRequest(this.settings, `serving/replica/deployments/${encodeURIComponent(deploymentId)}/logs?key=${encodeURIComponent(key)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.apache.parquet' },
        body: body as unknown as ApiRequestInit['body'],
      }),
    );
  }

  /**
   * Whether the caller who sent `token` may predict on the target, as the server decides; the
   * answer (or refusal) is kept briefly, so a busy endpoint asks about each caller once in a while.
   */
  authorize(request: ServingAuthorizationRequest): Promise<ServingAuthorization> {
    const id = createHash('sha256').update(JSON.stringify(request)).digest('base64url');
    const now = Date.now();
    const hit = this.decisions.get(id);
    if (hit && hit.until > now) return hit.answer;
    if (this.decisions.size > 10_000) this.decisions.clear();
    const answer = this.call<ServingAuthorization>('serving/replica/authorize', { method: 'POST', json: request });
    // A failure to reach the server is not a refusal: it is not kept.
    answer.catch((error: unknown) => {
      if (error instanceof TandemError && error.code === 'UNAVAILABLE') this.decisions.delete(id);
    });
    this.decisions.set(id, { answer, until: now + AUTHORIZATION_CACHE_MS });
    return answer;
  }

  private call<T>(path: string, init: ApiRequestInit = {}): Promise<T> {
    return this.send(() => apiRequest<T>(this.settings, path, init));
  }

  private async optional<T>(path: string): Promise<T | undefined> {
    try {
      return await this.call<T>(path);
    } catch (error) {
      if (error instanceof TandemError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  /** The server's refusals keep their code (a caller's 401 stays a 401); an unreachable server is a 503. */
  private async send<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof TandemApiError)) throw error;
      const code = error.code === 'NETWORK' ? 'UNAVAILABLE' : error.code;
      throw new TandemError(code, error.code === 'NETWORK' ? `the Tandem server is unreachable: ${error.message}` : error.message, {
        cause: error,
        details: error.details,
      });
    }
  }
}
