import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodePageToken, encodePageToken, pageQuery, TOTAL_COLUMN, toPage } from '../../src/db/paging.js';
import { TandemError } from '../../src/errors.js';

const token = (offset: unknown) => Buffer.from(JSON.stringify({ offset })).toString('base64url');

describe('pageQuery()', () => {
  it('starts at the first row with 50 rows unless told otherwise', () => {
    expect(pageQuery().parse({})).toEqual({ limit: 50, offset: 0 });
    expect(pageQuery({ defaultLimit: 10 }).parse({})).toEqual({ limit: 10, offset: 0 });
    expect(pageQuery().parse({ limit: '5', offset: '20' })).toEqual({ limit: 5, offset: 20 });
  });

  it('takes the offset from a page token, which wins over offset=', () => {
    expect(pageQuery().parse({ limit: '5', offset: '3', pageToken: encodePageToken(40) })).toEqual({ limit: 5, offset: 40 });
  });

  it('refuses limits and offsets out of range, and exponent forms beyond them', () => {
    for (const query of [
      { limit: '0' },
      { limit: '201' },
      { limit: '1e20' },
      { offset: '-1' },
      { offset: '2147483648' },
      { offset: '1.5' },
    ]) {
      expect(pageQuery().safeParse(query).success, JSON.stringify(query)).toBe(false);
    }
    expect(pageQuery({ maxLimit: 10 }).safeParse({ limit: '11' }).success).toBe(false);
    expect(pageQuery({ maxOffset: 100 }).safeParse({ offset: '101' }).success).toBe(false);
  });

  it('passes the route’s own filters through, validated, beside the page', () => {
    const query = pageQuery({}, { status: z.enum(['queued', 'running']).optional(), q: z.string().max(3).optional() });
    expect(query.parse({ status: 'queued', limit: '2' })).toEqual({ status: 'queued', limit: 2, offset: 0 });
    expect(query.safeParse({ status: 'lost' }).success).toBe(false);
    expect(query.safeParse({ q: 'long' }).success).toBe(false);
  });

  it('answers a token that is not one of its own with INVALID_ARGUMENT naming pageToken', () => {
    for (const bad of [
      'nonsense',
      token(-1),
      token(1.5),
      token(2 ** 31),
      token(1e300),
      token('7'),
      Buffer.from('[]').toString('base64url'),
    ]) {
      let error: unknown;
      try {
        pageQuery().parse({ pageToken: bad });
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(TandemError);
      expect(error, bad).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('pageToken') });
    }
  });
});

describe('page tokens', () => {
  it('carry an offset there and back', () => {
    for (const offset of [0, 1, 50, 2 ** 31 - 1]) expect(decodePageToken(encodePageToken(offset))).toBe(offset);
  });
});

describe('toPage()', () => {
  const rows = (from: number, count: number, total: number) => Array.from({ length: count }, (_, i) => ({ id: `r${from + i}`, total }));

  it('counts rows with a window over the same query', () => {
    expect(TOTAL_COLUMN).toBe('count(*) OVER ()::int AS total');
  });

  it('drops the total column from the rows and links the next page while rows remain', () => {
    const page = toPage(rows(0, 2, 5), { limit: 2, offset: 0 });
    expect(page.items).toEqual([{ id: 'r0' }, { id: 'r1' }]);
    expect(page.total).toBe(5);
    expect(decodePageToken(page.nextPageToken!)).toBe(2);
    expect(decodePageToken(toPage(rows(2, 2, 5), { limit: 2, offset: 2 }).nextPageToken!)).toBe(4);
  });

  it('has no next page on the last page, nor past the end', () => {
    expect(toPage(rows(4, 1, 5), { limit: 2, offset: 4 })).toEqual({ items: [{ id: 'r4' }], total: 5, nextPageToken: undefined });
    expect(toPage([], { limit: 2, offset: 10 })).toEqual({ items: [], total: 0, nextPageToken: undefined });
  });
});
