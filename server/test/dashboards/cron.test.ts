import { describe, expect, it } from 'vitest';
import { parseCron } from '../../src/dashboards/cron.js';

const next = (expr: string, from: string, timeZone?: string) => parseCron(expr, timeZone).next(new Date(from)).toISOString();

describe('parseCron()', () => {
  it('finds the next matching minute strictly after the given time', () => {
    expect(next('*/15 * * * *', '2026-11-23T10:07:30Z')).toBe('2026-11-23T10:15:00.000Z');
    expect(next('*/15 * * * *', '2026-11-23T10:15:00Z')).toBe('2026-11-23T10:30:00.000Z');
  });

  it('handles hours, ranges, lists and weekdays (7 is Sunday too)', () => {
    expect(next('30 6 * * 1-5', '2026-11-21T12:00:00Z')).toBe('2026-11-23T06:30:00.000Z'); // Saturday → Monday
    expect(next('0 9,17 * * *', '2026-11-23T09:00:00Z')).toBe('2026-11-23T17:00:00.000Z');
    expect(next('0 0 * * 7', '2026-11-23T00:00:00Z')).toBe('2026-11-29T00:00:00.000Z');
  });

  it('understands macros and month boundaries', () => {
    expect(next('@daily', '2026-12-31T23:59:00Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('@monthly', '2026-02-15T00:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
    expect(next('0 0 29 2 *', '2026-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('names the bad field in its errors', () => {
    expect(() => parseCron('61 * * * *')).toThrow(/minute "61" is outside 0-59/);
    expect(() => parseCron('* * *')).toThrow(/expected 5 fields/);
    expect(() => parseCron('0 0 31 2 *').next(new Date())).toThrow(/never matches/);
    expect(() => parseCron('x * * * *')).toThrow(/cannot read minute field "x"/);
  });

  it('reads the fields on a time zone’s wall clock, following daylight saving', () => {
    expect(next('0 7 * * 1-5', '2026-11-23T00:00:00Z', 'Europe/Berlin')).toBe('2026-11-23T06:00:00.000Z'); // CET
    expect(next('0 7 * * 1-5', '2026-06-01T00:00:00Z', 'Europe/Berlin')).toBe('2026-06-01T05:00:00.000Z'); // CEST
    expect(next('30 9 * * *', '2026-11-23T00:00:00Z', 'America/New_York')).toBe('2026-11-23T14:30:00.000Z');
    expect(next('0 0 * * *', '2026-11-23T12:00:00Z', 'Asia/Kolkata')).toBe('2026-11-23T18:30:00.000Z');
  });

  it('skips a wall time the clock jumps over and runs a repeated one once', () => {
    // 2026-03-29 in Berlin: 02:00 → 03:00, so 02:30 does not exist that night.
    expect(next('30 2 * * *', '2026-03-28T12:00:00Z', 'Europe/Berlin')).toBe('2026-03-30T00:30:00.000Z');
    // 2026-10-25 in Berlin: 03:00 → 02:00, so 02:30 happens twice; the schedule runs once.
    const daily = parseCron('30 2 * * *', 'Europe/Berlin');
    const first = daily.next(new Date('2026-10-24T12:00:00Z'));
    expect(daily.next(first).getTime() - first.getTime()).toBeGreaterThan(20 * 3600_000);
  });

  it('reads month and weekday names in either case', () => {
    expect(next('30 6 * * MON-FRI', '2026-11-21T12:00:00Z')).toBe('2026-11-23T06:30:00.000Z'); // Saturday → Monday
    expect(next('0 0 1 JAN *', '2026-11-23T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('0 12 * jun-aug sat,sun', '2026-01-01T00:00:00Z')).toBe('2026-06-06T12:00:00.000Z');
    expect(() => parseCron('0 0 * * FUNDAY')).toThrow(/cannot read day of week field "FUNDAY"/);
  });

  it('keeps its daylight-saving rules in other zones and for hourly schedules', () => {
    // New York springs forward at 02:00 on 2026-03-08 and falls back at 02:00 on 2026-11-01.
    expect(next('30 2 * * *', '2026-03-07T12:00:00Z', 'America/New_York')).toBe('2026-03-09T06:30:00.000Z');
    const hourly = parseCron('0 * * * *', 'Europe/Berlin');
    const runs = [new Date('2026-03-28T23:30:00Z')];
    for (let i = 0; i < 4; i++) runs.push(hourly.next(runs.at(-1)!));
    // Wall clock 01:00, 03:00 (02:00 does not exist), 04:00, 05:00: one hour apart in real time.
    expect(runs.slice(1).map((d) => d.toISOString())).toEqual([
      '2026-03-29T00:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T02:00:00.000Z',
      '2026-03-29T03:00:00.000Z',
    ]);
    const fallBack = parseCron('30 1 * * *', 'America/New_York');
    const first = fallBack.next(new Date('2026-10-31T12:00:00Z'));
    expect(first.toISOString()).toBe('2026-11-01T05:30:00.000Z'); // the first 01:30 (EDT)
    expect(fallBack.next(first).toISOString()).toBe('2026-11-02T06:30:00.000Z'); // not the second one (EST) an hour later
  });

  it('rejects an unknown time zone, naming it', () => {
    expect(() => parseCron('0 7 * * *', 'Mars/Olympus')).toThrow(/timezone: unknown time zone "Mars\/Olympus"/);
  });
});
