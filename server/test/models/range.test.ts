import express, { type Request } from 'express';
import { describe, expect, it } from 'vitest';
import { requestedRange } from '../../src/models/range.js';

/** A request with Express's own `range()`, carrying only a Range header. */
const withRange = (range?: string): Request =>
  Object.assign(Object.create(express.request) as Request, { headers: range === undefined ? {} : { range } });
const of10 = (range?: string) => requestedRange(withRange(range), 10);

describe('requestedRange()', () => {
  it('reads a byte range, an open-ended one and a suffix, clamped to the file', () => {
    expect(of10('bytes=2-5')).toEqual({ start: 2, end: 5 });
    expect(of10('bytes=8-')).toEqual({ start: 8, end: 9 });
    expect(of10('bytes=7-100')).toEqual({ start: 7, end: 9 });
    expect(of10('bytes=-3')).toEqual({ start: 7, end: 9 });
    expect(of10('bytes=-30')).toEqual({ start: 0, end: 9 }); // a suffix longer than the file is all of it
  });

  it('sends the whole file for no, an unreadable, a non-byte or a multi-range header', () => {
    for (const header of [undefined, '', 'bytes=', 'bytes=-', 'bytes=x-y', 'items=0-1', 'bytes=0-1,4-5'])
      expect(of10(header)).toBeUndefined();
  });

  it('refuses a range outside the file, naming the file size', () => {
    for (const header of ['bytes=50-60', 'bytes=10-', 'bytes=5-2', 'bytes=-0'])
      expect(() => of10(header)).toThrow(`range ${header} is outside the file of 10 bytes`);
    expect(() => requestedRange(withRange('bytes=0-'), 0)).toThrow(/outside the file of 0 bytes/);
    expect(() => requestedRange(withRange('bytes=-5'), 0)).toThrow(/outside the file of 0 bytes/);
  });
});
