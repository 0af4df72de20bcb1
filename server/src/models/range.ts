import type { Request } from 'express';
import { TandemError } from '../errors.js';

/**
 * The single byte range a request asks for (`Range: bytes=…`, read by Express's `req.range()`)
 * of an object of `size` bytes. Undefined for no, an unreadable or a multi-range header, so the
 * whole object is sent; throws for a range that lies outside the object (HTTP 416 semantics,
 * answered as INVALID_ARGUMENT with the size).
 */
export function requestedRange(req: Pick<Request, 'range' | 'headers'>, size: number): { start: number; end: number } | undefined {
  const ranges = req.range(size);
  if (ranges === undefined || ranges === -2) return undefined;
  if (ranges === -1) {
    // A suffix longer than the object asks for all of it (RFC 9110, 14.1.1); range-parser refuses it.
    if (size > 0 && /^bytes=\s*-\s*0*[1-9]\d*\s*$/.test(req.headers.range ?? '')) return { start: 0, end: size - 1 };
    throw new TandemError('INVALID_ARGUMENT', `range ${req.headers.range} is outside the file of ${size} bytes`);
  }
  if (ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  return { start: ranges[0]!.start, end: ranges[0]!.end };
}
