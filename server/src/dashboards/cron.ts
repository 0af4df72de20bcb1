import { Cron as Croner } from 'croner';
import { TandemError } from '../errors.js';

/** A parsed five-field cron expression (minute hour day-of-month month day-of-week) read in a time zone. */
export interface Cron {
  source: string;
  /** IANA time zone whose wall clock the fields describe, e.g. `Europe/Berlin` (default UTC). */
  timeZone: string;
  next(after: Date): Date;
}

const FIELDS = [
  { name: 'minute', range: '0-59' },
  { name: 'hour', range: '0-23' },
  { name: 'day of month', range: '1-31' },
  { name: 'month', range: '1-12 or JAN-DEC' },
  { name: 'day of week', range: '0-7 or SUN-SAT' },
] as const;

/**
 * Croner reads the pattern: classic five fields, day of month OR day of week when both are
 * restricted, `5/15` as from 5 every 15. It runs on wall-clock dates (a Date whose UTC fields are
 * the wall fields); the time zone is applied here, so that daylight-saving rules stay ours.
 */
const CRONER = { timezone: 'UTC', mode: '5-part', domAndDow: false, sloppyRanges: true } as const;

function readPattern(source: string): Croner {
  if (!source.startsWith('@')) {
    const fields = source.split(/\s+/);
    if (fields.length !== 5)
      throw new TandemError(
        'INVALID_ARGUMENT',
        `cron: expected 5 fields (minute hour day month weekday), got ${fields.length} in "${source}"`,
      );
    // Each field alone first, so that the error names the field.
    fields.forEach((text, i) => {
      try {
        new Croner(fields.map((_, j) => (j === i ? text : '*')).join(' '), CRONER);
      } catch (error) {
        const { name, range } = FIELDS[i]!;
        throw error instanceof RangeError
          ? new TandemError('INVALID_ARGUMENT', `cron: ${name} "${text}" is outside ${range}`, { cause: error })
          : new TandemError('INVALID_ARGUMENT', `cron: cannot read ${name} field "${text}"`, { cause: error });
      }
    });
  }
  try {
    return new Croner(source, CRONER);
  } catch (error) {
    throw new TandemError('INVALID_ARGUMENT', `cron: cannot read "${source}" (${(error as Error).message.replace(/^CronPattern: /, '')})`, {
      cause: error,
    });
  }
}

/**
 * Parses `m h dom mon dow` (with *, lists, ranges, steps, names such as MON-FRI and JAN, L, W
 * and #, and @hourly/@daily/@weekly/@monthly/@yearly), read on the wall clock of `timeZone`.
 * Across daylight-saving changes a wall time that does not exist (02:30 on a spring-forward
 * night) is skipped, and one that happens twice runs once.
 */
export function parseCron(expression: string, timeZone = 'UTC'): Cron {
  const source = expression.trim();
  const pattern = readPattern(source);
  const zone = wallClock(timeZone);
  /** The first matching wall time at or after `t` (whole minutes). */
  const nextWall = (t: Date): Date => {
    const found = pattern.nextRun(new Date(t.getTime() - 1000));
    if (!found) throw new TandemError('INVALID_ARGUMENT', `cron: "${source}" never matches a real date`);
    return found;
  };
  return {
    source,
    timeZone,
    next(after: Date): Date {
      const wall = zone.toWall(after);
      wall.setUTCSeconds(0, 0);
      wall.setUTCMinutes(wall.getUTCMinutes() + 1);
      for (;;) {
        const candidate = nextWall(wall);
        const instant = zone.toInstant(candidate);
        if (instant > after && zone.toWall(instant).getTime() === candidate.getTime()) return instant;
        wall.setTime(candidate.getTime() + 60_000); // a wall time skipped by the clock change
      }
    },
  };
}

/** Conversions between instants and a zone's wall-clock time (as a Date whose UTC fields are the wall fields). */
function wallClock(timeZone: string): { toWall(instant: Date): Date; toInstant(wall: Date): Date } {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (error) {
    throw new TandemError('INVALID_ARGUMENT', `timezone: unknown time zone "${timeZone}" (use an IANA name such as Europe/Berlin)`, {
      cause: error,
    });
  }
  const toWall = (instant: Date): Date => {
    const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
    return new Date(Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!, instant.getUTCMilliseconds()));
  };
  const offset = (instant: Date) => toWall(instant).getTime() - instant.getTime();
  return {
    toWall,
    // Two rounds settle on the offset in force at that wall time (one round is off near a change).
    toInstant: (wall) => {
      const first = new Date(wall.getTime() - offset(wall));
      return new Date(wall.getTime() - offset(first));
    },
  };
}
