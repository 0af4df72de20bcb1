import { TandemError } from '../errors.js';

/** A parsed five-field cron expression (minute hour day-of-month month day-of-week), in UTC. */
export interface Cron {
  source: string;
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

/** Parses `m h dom mon dow` (with *, lists, ranges, steps, @hourly/@daily/@weekly/@monthly). */
export function parseCron(expression: string): Cron {
  const source = expression.trim();
  const fields = (MACROS[source] ?? source).split(/\s+/);
  if (fields.length !== 5)
    throw new TandemError(
      'INVALID_ARGUMENT',
      `cron: expected 5 fields (minute hour day month weekday), got ${fields.length} in "${source}"`,
    );
  const [minutes, hours, days, months, weekdays] = fields.map((f, i) => parseField(f, FIELDS[i]!)) as Set<number>[];
  if (weekdays!.has(7)) weekdays!.add(0);
  // Classic cron: when both day fields are restricted, either one matching is enough.
  const dayRestricted = fields[2] !== '*' && fields[4] !== '*';
  const dayMatches = (d: Date) =>
    dayRestricted ? days!.has(d.getUTCDate()) || weekdays!.has(d.getUTCDay()) : days!.has(d.getUTCDate()) && weekdays!.has(d.getUTCDay());
  return {
    source,
    next(after: Date): Date {
      const t = new Date(after.getTime());
      t.setUTCSeconds(0, 0);
      t.setUTCMinutes(t.getUTCMinutes() + 1);
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
    },
  };
}
