// The per-column aggregates drift statistics need, computed by DuckDB over the two sides so the
// rows stay in DuckDB: only counts, extremes and a few sums come back to the kernel.
import { DOUBLE, INTEGER, LIST, listValue, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

/** The reference and current sides of a report, as views (or tables) DuckDB can scan. */
export interface Sides {
  reference: string;
  current: string;
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Both sides' non-null values of one column, tagged `s` = 0 (reference) or 1 (current). Numeric
 * values are doubles with ±inf and NaN dropped, as Evidently drops them before testing.
 */
function values(sides: Sides, column: string, numeric: boolean): string {
  const col = quoteIdent(column);
  const value = numeric ? `CAST(${col} AS DOUBLE)` : `CAST(${col} AS VARCHAR)`;
  const keep = numeric ? `isfinite(${value})` : `${col} IS NOT NULL`;
  return `SELECT ${value} AS v, 0 AS s FROM ${sides.reference} WHERE ${keep}
    UNION ALL SELECT ${value} AS v, 1 AS s FROM ${sides.current} WHERE ${keep}`;
}

/** A query's rows as plain objects. */
export async function rows(
  connection: DuckDBConnection,
  text: string,
  params?: DuckDBValue[],
  types?: Parameters<DuckDBConnection['run']>[2],
) {
  const reader = await connection.runAndReadAll(text, params, types);
  return reader.getRowObjectsJS() as Record<string, number | string | null>[];
}

export interface NumericSummary {
  referenceRows: number;
  currentRows: number;
  /**
   * Distinct values in the reference, and in both sides together: exact up to 100, estimated
   * (HyperLogLog) above, where only "more than 20" matters and an exact count would cost a full
   * hash of both sides.
   */
  referenceUnique: number;
  unique: number;
  min: number;
  max: number;
  /** Population standard deviation (ddof 0, as numpy's) of the reference. */
  referenceStd: number;
}

export async function numericSummary(connection: DuckDBConnection, sides: Sides, column: string): Promise<NumericSummary> {
  const distinct = (count: (value: string) => string) =>
    rows(
      connection,
      `SELECT count(*) FILTER (s = 0)::DOUBLE AS n1, count(*) FILTER (s = 1)::DOUBLE AS n2,
         ${count('v')} FILTER (s = 0)::DOUBLE AS u1, ${count('v')}::DOUBLE AS u,
         min(v) AS lo, max(v) AS hi, coalesce(stddev_pop(v) FILTER (s = 0), 0) AS sd
       FROM (${values(sides, column, true)})`,
    );
  let [row] = await distinct((v) => `approx_count_distinct(${v})`);
  if ((row.u1 as number) <= 100) [row] = await distinct((v) => `count(DISTINCT ${v})`);
  return {
    referenceRows: row.n1 as number,
    currentRows: row.n2 as number,
    referenceUnique: row.u1 as number,
    unique: row.u as number,
    min: row.lo as number,
    max: row.hi as number,
    referenceStd: row.sd as number,
  };
}

/** How often each distinct value occurs on each side. */
export interface ValueCounts {
  values: (string | number)[];
  reference: number[];
  current: number[];
}

export async function valueCounts(connection: DuckDBConnection, sides: Sides, column: string, numeric: boolean): Promise<ValueCounts> {
  const found = await rows(
    connection,
    `SELECT v, count(*) FILTER (s = 0)::DOUBLE AS c1, count(*) FILTER (s = 1)::DOUBLE AS c2
     FROM (${values(sides, column, numeric)}) GROUP BY v ORDER BY v`,
  );
  return {
    values: found.map((r) => r.v as string | number),
    reference: found.map((r) => r.c1 as number),
    current: found.map((r) => r.c2 as number),
  };
}

/**
 * Counts per bin of both sides for the bin edges `edges` (ascending), with numpy's histogram rules:
 * bin i holds edges[i] <= v < edges[i+1], and the last bin also holds v = its upper edge. The bin
 * is first estimated from the (equal) width, then corrected against the actual edges, so values
 * lying on an edge land where numpy puts them.
 */
export async function histogram(
  connection: DuckDBConnection,
  sides: Sides,
  column: string,
  edges: number[],
): Promise<{ reference: number[]; current: number[] }> {
  const bins = edges.length - 1;
  const found = await rows(
    connection,
    `WITH guess AS (
       SELECT v, s, least(greatest(floor((v - $1) / ($2 - $1) * $3)::INTEGER, 0), $3 - 1) AS i FROM (${values(sides, column, true)})
     ), bin AS (
       SELECT s, CASE WHEN v < $4[i + 1] THEN i - 1 WHEN i < $3 - 1 AND v >= $4[i + 2] THEN i + 1 ELSE i END AS i FROM guess
     )
     SELECT i, count(*) FILTER (s = 0)::DOUBLE AS c1, count(*) FILTER (s = 1)::DOUBLE AS c2 FROM bin GROUP BY i`,
    [edges[0], edges[bins], bins, listValue(edges)],
    [DOUBLE, DOUBLE, INTEGER, LIST(DOUBLE)],
  );
  const reference = new Array<number>(bins).fill(0);
  const current = new Array<number>(bins).fill(0);
  for (const r of found) {
    reference[r.i as number] = r.c1 as number;
    current[r.i as number] = r.c2 as number;
  }
  return { reference, current };
}

/**
 * From the two empirical CDFs F1 (reference, n1 values) and F2 (current, n2): the KS statistic as
 * the integer max |k1·n2 − k2·n1| over the merged sorted values (D = that / (n1·n2)), and the
 * first Wasserstein distance ∫|F1 − F2| dx as the sum of |F1 − F2| times the gap to the next value.
 * Running counts over single rows (one sort, no grouping) are partial inside a run of equal
 * values, but there the gap is 0, and the KS maximum only looks at each run's last row.
 */
export async function cdfDistances(
  connection: DuckDBConnection,
  sides: Sides,
  column: string,
  n1: number,
  n2: number,
): Promise<{ ksNumerator: number; wasserstein: number }> {
  const [row] = await rows(
    connection,
    `WITH cdf AS (
       SELECT v, sum(1 - s) OVER w AS k1, sum(s) OVER w AS k2, lead(v) OVER w AS next
       FROM (${values(sides, column, true)}) WINDOW w AS (ORDER BY v ROWS UNBOUNDED PRECEDING)
     )
     SELECT max(abs(k1 * $1::BIGINT - k2 * $2::BIGINT)) FILTER (next IS NULL OR next <> v)::DOUBLE AS ks,
       coalesce(sum(abs(k1 / $2 - k2 / $1) * (next - v)), 0) AS w FROM cdf`,
    [n2, n1],
    [DOUBLE, DOUBLE],
  );
  return { ksNumerator: row.ks as number, wasserstein: row.w as number };
}
