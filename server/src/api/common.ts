/**
 * The API contract shared by the server, the kernel and the extension: kernel and extension import
 * it with `import type`, so that no package redeclares another's request or response types.
 */

/** What clients switch on when a request fails; the server maps each to its HTTP status. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_REQUESTS'
  | 'UNAVAILABLE'
  /** The answer did not come within the endpoint's time limit (a prediction's `timeoutMs`). */
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** One page of a list; pass `nextPageToken` back as `?pageToken=` for the next one. */
export interface Page<T> {
  items: T[];
  total: number;
  nextPageToken?: string;
}

export type Role = 'owner' | 'editor' | 'viewer';

/** A JSON object of any shape (job specs, model params). */
export type Json = Record<string, unknown>;

/** Query of list routes: `?limit=&pageToken=` (or `offset=`). */
export interface PageQuery {
  limit?: number;
  offset?: number;
  pageToken?: string;
}
