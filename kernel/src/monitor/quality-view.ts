// How a quality report shows in a cell: rows and duplicates above a table of the columns.
import * as arrow from 'apache-arrow';
import { displayedAs } from '../display/mime-bundle.js';
import type { MimeBundle } from '../kernel/channel.js';
import { verdictAndTable } from './drift-view.js';
import type { QualityReport } from './quality.js';

function bundle(report: QualityReport): MimeBundle {
  const withReference = report.columns.some((c) => c.outOfRange !== null || c.newCategories !== null);
  const rows = arrow.tableFromJSON(
    report.columns.map((c) => ({
      column: c.column,
      type: c.type,
      nulls: c.nulls,
      'null %': Math.round(c.nullShare * 1000) / 10,
      distinct: c.distinct,
      min: c.min,
      max: c.max,
      ...(withReference
        ? { 'out of range': c.outOfRange, 'new categories': c.newCategories, 'e.g.': c.newExamples.join(', ') || null }
        : {}),
    })),
  );
  return verdictAndTable(`${report.rows} rows, ${report.duplicateRows} duplicate rows`, rows);
}

/** The report as it is, shown in cells as a table of the columns. */
export const shownQuality = (report: QualityReport): QualityReport => displayedAs(report, bundle);
