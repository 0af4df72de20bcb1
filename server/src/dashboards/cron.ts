import { TandemError } from '../errors.js';

/** A parsed five-field cron expression (minute hour day-of-month month day-of-week) read in a time zone. */
export interface Cron {
  source: string;
  /** IANA time zone whose wall clock the fields describe, e.g. `Europe/Berlin` (default UTC). */
  timeZone: string;
  next(after: Date): Date;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
};

function parseField(text: string, { name, min, max }: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new TandemError('INVALID_ARGUMENT', `cron: cannot read ${name} field "${text}"`);
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] ? max : from;
    const step = m[4] ? Number(m[4]) : 1;
    if (from < min || to > max || from > to || step < 1)
      throw new TandemError('INVALID_ARGUMENT', `cron: ${name} "${part}" is outside ${min}-${max}`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/**
 * Parses `m h dom mon dow` (with *, lists, ranges, steps, @hourly/@daily/@weekly/@monthly), read
 * on the wall clock of `timeZone`. Across daylight-saving changes a wall time that does not exist
 * (02:30 on a spring-forward night) is skipped, and one that happens twice runs once.
 */
export function parseCron(expression: string, timeZone = 'UTC'): Cron {
  const source = expression.trim();
  const fields = (MACROS[source] ?? source).split(/\s+/);
  if (fields.length !== 5)
    throw new TandemError(
      'INVALID_ARGUMENT',
      `cron: expected 5 fields (minute hour day month weekday), got ${fields.length} in "${source}"`,
    );
  const [minutes, hours, days, months, weekdays] = fields.map((f, i) => parseField(f, FIELDS[i]!)) as Set<number>[];
  if (weekdays!.has(7)) weekdays!.add(0);
  const zone = wallClock(timeZone);
  // Classic cron: when both day fields are restricted, either one matching is enough.
  const dayRestricted = fields[2] !== '*' && fields[4] !== '*';
  const dayMatches = (d: Date) =>
    dayRestricted ? days!.has(d.getUTCDate()) || weekdays!.has(d.getUTCDay()) : days!.has(d.getUTCDate()) && weekdays!.has(d.getUTCDay());
  /** The first matching wall time at or after `t` (a Date whose UTC fields are wall-clock fields). */
  const nextWall = (t: Date): Date => {
    // Skipping whole days/hours keeps this to a few hundred steps even for yearly schedules.
    for (let guard = 0; guard < 50_000; guard++) {
      if (!months!.has(t.getUTCMonth() + 1) || !dayMatches(t)) {
        t.setUTCDate(t.getUTCDate() + 1);
        t.setUTCHours(0, 0, 0, 0);
      } else if (!hours!.has(t.getUTCHours())) {
        t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      } else if (!minutes!.has(t.getUTCMinutes())) {
        t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      } else return t;
    }
    throw new TandemError('INVALID_ARGUMENT', `cron: "${source}" never matches a real date`);
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
        wall.setUTCMinutes(wall.getUTCMinutes() + 1); // a wall time skipped by the clock change
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
