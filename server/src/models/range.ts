import { TandemError } from '../errors.js';

/**
 * Parses a single-range `Range: bytes=…` header against an object of `size` bytes. Returns
 * undefined for no (or a multi-range) header, so the whole object is sent; throws for ranges that
 * lie outside the object (HTTP 416 semantics, answered as INVALID_ARGUMENT with the size).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from, to] = match;
  if (from === '' && to === '') return undefined;
  const range =
    from === ''
      ? { start: Math.max(0, size - Number(to)), end: size - 1 }
      : { start: Number(from), end: to === '' ? size - 1 : Math.min(Number(to), size - 1) };
  if (range.start > range.end || range.start >= size) {
    throw new TandemError('INVALID_ARGUMENT', `range ${header} is outside the file of ${size} bytes`);
  }
  return range;
}
