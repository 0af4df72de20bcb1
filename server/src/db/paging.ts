import { z } from 'zod';
import type { Page } from '../api/common.js';
import { TandemError } from '../errors.js';

/** Where a page starts and how long it is, as the stores take it. */
export interface PageRequest {
  limit: number;
  offset: number;
}

export interface PageOptions {
  defaultLimit?: number;
  maxLimit?: number;
  /** Largest `offset=` accepted (default 2^31 - 1). */
  maxOffset?: number;
}

/**
 * `?limit=&pageToken=` (or `offset=`) for every list route, validated at the edge, beside the
 * route's own `filters` (passed through as they are). The token is opaque to clients; it carries
 * the next offset.
 */
export function pageQuery<F extends z.ZodRawShape = Record<never, never>>(options: PageOptions = {}, filters: F = {} as F) {
  return z
    .object({
      ...filters,
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
        .max(options.maxOffset ?? 2 ** 31 - 1)
        .optional(),
      pageToken: z.string().max(200).optional(),
    })
    .transform((query): z.output<z.ZodObject<F>> & PageRequest => {
      // zod cannot spell the output of a generic shape spread into another, so name the fields.
      const { limit, offset, pageToken, ...filtered } = query as unknown as { limit: number; offset?: number; pageToken?: string };
      return { ...(filtered as z.output<z.ZodObject<F>>), limit, offset: pageToken ? decodePageToken(pageToken) : (offset ?? 0) };
    });
}

/** The SQL select-list item that counts every matching row beside the page's rows. */
export const TOTAL_COLUMN = 'count(*) OVER ()::int AS total';

/** Turns rows selected with `TOTAL_COLUMN` into a page with its total and the next page's token. */
export function toPage<T>(rows: (T & { total: number })[], page: PageRequest): Page<T> {
  return pageWith(
    rows.map(({ total: _total, ...row }) => row as T),
    rows[0]?.total ?? 0,
    page,
  );
}

/** The requested page of a whole list held in memory (e.g. listed from the artifact store). */
export function pageOf<T>(all: T[], page: PageRequest): Page<T> {
  return pageWith(all.slice(page.offset, page.offset + page.limit), all.length, page);
}

function pageWith<T>(items: T[], total: number, page: PageRequest): Page<T> {
  const next = page.offset + items.length;
  return { items, total, nextPageToken: items.length > 0 && next < total ? encodePageToken(next) : undefined };
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
