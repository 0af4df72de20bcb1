import { z } from 'zod';
import type { Page } from '../api/common.js';
import { TandemError } from '../errors.js';

/** Where a page starts and how long it is, as the stores take it. */
export interface PageRequest {
  limit: number;
  offset: number;
}

/**
 * `?limit=&pageToken=` (or `offset=`) for every list route, validated at the edge. The token is
 * opaque to clients; it carries the next offset.
 */
export function pageQuery(options: { defaultLimit?: number; maxLimit?: number } = {}) {
  return z
    .object({
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(options.maxLimit ?? 200)
        .default(options.defaultLimit ?? 50),
      offset: z.coerce
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1)
        .optional(),
      pageToken: z.string().max(200).optional(),
    })
    .transform((q): PageRequest => ({ limit: q.limit, offset: q.pageToken ? decodePageToken(q.pageToken) : (q.offset ?? 0) }));
}

/** The SQL select-list item that counts every matching row beside the page's rows. */
export const TOTAL_COLUMN = 'count(*) OVER ()::int AS total';

/** Turns rows selected with `TOTAL_COLUMN` into a page with its total and the next page's token. */
export function toPage<T>(rows: (T & { total: number })[], page: PageRequest): Page<T> {
  const total = rows[0]?.total ?? 0;
  const next = page.offset + rows.length;
  return {
    items: rows.map(({ total: _total, ...row }) => row as T),
    total,
    nextPageToken: rows.length > 0 && next < total ? encodePageToken(next) : undefined,
  };
}

export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

export function decodePageToken(token: string): number {
  let offset: unknown;
  try {
    ({ offset } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset: unknown });
  } catch (cause) {
    throw new TandemError('INVALID_ARGUMENT', 'query.pageToken: not a page token from this API', { cause });
  }
  if (Number.isInteger(offset) && (offset as number) >= 0 && (offset as number) < 2 ** 31) return offset as number;
  throw new TandemError('INVALID_ARGUMENT', 'query.pageToken: not a page token from this API');
}
