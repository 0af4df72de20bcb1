// Data checks: check(source).notNull('id').between('p', 0, 1).unique('id').matches('email', /@/),
// run in DuckDB, one counting query per check. Awaiting the checks gives their results; `.assert()` also fails the
// cell (and so a pipeline's notebook step) when one fails.
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { quoteIdent } from './column-stats.js';
import { dropAll, NUMERIC_TYPES, rowCount, schemaOf, viewOf, type Source } from './sources.js';

export interface CheckResult {
  /** The check as written, e.g. `between(p, 0, 1)`. */
  check: string;
  column: string | null;
  /** Rows that break it (for `rows`, 0 or 1). */
  failing: number;
  passed: boolean;
  /** Up to five offending values, to see what is wrong. */
  examples: unknown[];
}

export interface CheckReport {
  rows: number;
  passed: boolean;
  checks: CheckResult[];
}

/** One check: its label, its column, the SQL condition of an offending row, and the values it binds. */
interface Rule {
  label: string;
  column: string | null;
  /** Offending rows, as a boolean SQL expression; null for the row-count check. */
  offending: string | null;
  values: DuckDBValue[];
  /** For `unique`: offending means repeated, counted apart. */
  repeated?: boolean;
  rows?: { min: number; max: number };
}

const EXAMPLES = 5;

/** A chain of checks on one dataset; nothing runs until it is awaited (or `assert()`ed). */
export class DataChecks implements PromiseLike<CheckReport> {
  private readonly rules: Rule[] = [];

  constructor(
    /** Runs work on a DuckDB connection (the kernel's, interruptible). */
    private readonly withConnection: <T>(work: (connection: DuckDBConnection) => Promise<T>) => Promise<T>,
    private readonly source: Source,
    /** What the report becomes once run: in cells, a report that displays as a table. */
    private readonly shown: (report: CheckReport) => CheckReport = (report) => report,
  ) {}

  /** No value of the column is null. */
  notNull(column: string): this {
    return this.add({ label: `notNull(${column})`, column, offending: `${quoteIdent(column)} IS NULL`, values: [] });
  }

  /** Every (non-null) value lies in [min, max]. */
  between(column: string, min: number, max: number): this {
    for (const [name, value] of [
      ['min', min],
      ['max', max],
    ] as const)
      if (typeof value !== 'number' || Number.isNaN(value))
        throw new TypeError(`check().between(): ${name} must be a number, not ${JSON.stringify(value)}`);
    if (min > max) throw new TypeError(`check().between(): min (${min}) is above max (${max})`);
    const col = quoteIdent(column);
    return this.add({ label: `between(${column}, ${min}, ${max})`, column, offending: `(${col} < ? OR ${col} > ?)`, values: [min, max] });
  }

  /** No (non-null) value appears twice. */
  unique(column: string): this {
    return this.add({ label: `unique(${column})`, column, offending: null, values: [], repeated: true });
  }

  /** Every (non-null) value matches the pattern (DuckDB's RE2 syntax; the `i` flag is kept). */
  matches(column: string, pattern: RegExp | string): this {
    const source = pattern instanceof RegExp ? `${pattern.flags.includes('i') ? '(?i)' : ''}${pattern.source}` : pattern;
    if (typeof source !== 'string' || source === '')
      throw new TypeError('check().matches(): the pattern must be a non-empty string or a RegExp');
    return this.add({
      label: `matches(${column}, ${pattern instanceof RegExp ? String(pattern) : JSON.stringify(pattern)})`,
      column,
      offending: `NOT regexp_matches(${quoteIdent(column)}::VARCHAR, ?)`,
      values: [source],
    });
  }

  /** Every (non-null) value is one of these. */
  oneOf(column: string, allowed: readonly (string | number | boolean)[]): this {
    if (!Array.isArray(allowed) || allowed.length === 0) throw new TypeError('check().oneOf(): give a non-empty array of allowed values');
    return this.add({
      label: `oneOf(${column}, ${JSON.stringify(allowed)})`,
      column,
      offending: `${quoteIdent(column)} NOT IN (${allowed.map(() => '?').join(', ')})`,
      values: [...allowed],
    });
  }

  /** The dataset has between `min` and `max` rows. */
  rowCount(min: number, max = Number.POSITIVE_INFINITY): this {
    if (!Number.isInteger(min) || min < 0 || !(max >= min))
      throw new TypeError(`check().rowCount(): need 0 ≤ min ≤ max, not ${min}, ${max}`);
    return this.add({
      label: `rowCount(${min}${Number.isFinite(max) ? `, ${max}` : ''})`,
      column: null,
      offending: null,
      values: [],
      rows: { min, max },
    });
  }

  then<A = CheckReport, B = never>(
    onFulfilled?: ((report: CheckReport) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    return this.run().then(onFulfilled, onRejected);
  }

  /** Runs the checks and throws, listing the failed ones, when any fails. */
  async assert(): Promise<CheckReport> {
    const report = await this.run();
    if (!report.passed) {
      const failed = report.checks.filter((c) => !c.passed);
      throw new Error(
        `check(): ${failed.length} of ${report.checks.length} checks failed: ${failed
          .map(
            (c) =>
              `${c.check} (${c.failing} ${c.failing === 1 ? 'row' : 'rows'}${c.examples.length ? `, e.g. ${c.examples.map((e) => JSON.stringify(e)).join(', ')}` : ''})`,
          )
          .join('; ')}`,
      );
    }
    return report;
  }

  private add(rule: Rule): this {
    if (rule.column !== null && (typeof rule.column !== 'string' || rule.column === ''))
      throw new TypeError(`check(): a column name must be a non-empty string, not ${JSON.stringify(rule.column)}`);
    this.rules.push(rule);
    return this;
  }

  private async run(): Promise<CheckReport> {
    if (this.rules.length === 0) throw new TypeError('check(): add at least one check, e.g. check(table).notNull("id")');
    const report = await this.withConnection(async (connection) => {
      const temporary: string[] = [];
      try {
        const view = await viewOf(connection, this.source, { caller: 'check()', side: 'data' }, temporary);
        const schema = await schemaOf(connection, view);
        for (const { column } of this.rules)
          if (column !== null && !schema.has(column))
            throw new Error(`check(): unknown column "${column}" (the data has ${[...schema.keys()].join(', ')})`);
        const rows = await rowCount(connection, view);
        const checks: CheckResult[] = [];
        for (const rule of this.rules) checks.push(await this.result(connection, view, rule, rows, schema.get(rule.column ?? '')));
        return { rows, passed: checks.every((c) => c.passed), checks };
      } finally {
        await dropAll(connection, temporary);
      }
    });
    return this.shown(report);
  }

  private async result(connection: DuckDBConnection, view: string, rule: Rule, rows: number, type = ''): Promise<CheckResult> {
    const base = { check: rule.label, column: rule.column };
    if (rule.rows) {
      const passed = rows >= rule.rows.min && rows <= rule.rows.max;
      return { ...base, failing: passed ? 0 : 1, passed, examples: passed ? [] : [rows] };
    }
    const col = quoteIdent(rule.column!);
    // A value's repeats beyond its first are the offending rows of unique().
    const counted = rule.repeated
      ? `SELECT (count(${col}) - count(DISTINCT ${col}))::DOUBLE AS n FROM ${view}`
      : `SELECT count(*)::DOUBLE AS n FROM ${view} WHERE ${rule.offending}`;
    const values = rule.values.length > 0 ? rule.values : undefined;
    const failing = (await connection.runAndReadAll(counted, values)).getRowObjectsJS()[0]!.n as number;
    if (failing === 0) return { ...base, failing, passed: true, examples: [] };
    const sample = rule.repeated
      ? `SELECT ${col} AS v FROM ${view} WHERE ${col} IS NOT NULL GROUP BY ${col} HAVING count(*) > 1 LIMIT ${EXAMPLES}`
      : `SELECT DISTINCT ${col} AS v FROM ${view} WHERE ${rule.offending} LIMIT ${EXAMPLES}`;
    // JSON-safe values, as the error message and the table print them: numbers as numbers where exact, else as text.
    const examples = (await connection.runAndReadAll(sample, values)).getRowObjectsJson().map((r) => plain(r.v, type));
    return { ...base, failing, passed: false, examples };
  }
}

/** A numeric column's value as a number when the number is exact (DECIMALs and BIGINTs arrive as text). */
function plain(value: unknown, type: string): unknown {
  if (typeof value !== 'string' || !NUMERIC_TYPES.test(type)) return value;
  const n = Number(value);
  return Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n)) ? n : value;
}
