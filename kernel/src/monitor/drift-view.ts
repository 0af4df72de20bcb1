// How a drift report shows in a cell: a one-line verdict above a table of the per-column results.
import * as arrow from 'apache-arrow';
import { displayedAs } from '../display/mime-bundle.js';
import { tableBundle } from '../display/table.js';
import type { MimeBundle } from '../kernel/channel.js';
import type { DriftReport } from './drift.js';

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

export function verdict(report: DriftReport): string {
  const computed = report.columns.filter((c) => c.drifted !== null).length;
  if (report.share === null) return 'Drift not computed for any column';
  const dataset = report.datasetDrift ? 'dataset drift' : 'no dataset drift';
  return `Drift in ${report.driftedColumns} of ${computed} columns (${percent(report.share)}): ${dataset} (at ${percent(report.driftShare)} of columns)`;
}

function bundle(report: DriftReport): MimeBundle {
  // Six significant digits are enough to read; the report itself keeps the exact values.
  const shown = (x: number | null) => (x === null ? null : Number(x.toPrecision(6)));
  const rows = arrow.tableFromJSON(
    report.columns.map((c) => ({
      column: c.column,
      type: c.type,
      method: c.method,
      statistic: shown(c.statistic),
      threshold: c.threshold,
      drifted: c.drifted,
      note: c.reason ?? null,
    })),
  );
  return verdictAndTable(verdict(report), rows);
}

/** A monitor's display: its one-line verdict above its table. */
export function verdictAndTable(line: string, rows: arrow.Table): MimeBundle {
  const table = tableBundle(rows);
  return {
    'text/plain': `${line}\n${String(table['text/plain'])}`,
    'text/html': `<p><strong>${line}</strong></p>${String(table['text/html'])}`,
  };
}

/** The report as it is, shown in cells as a verdict and a table. */
export const displayed = (report: DriftReport): DriftReport => displayedAs(report, bundle);
