// How data checks show in a cell: a one-line verdict above a table of the checks.
import * as arrow from 'apache-arrow';
import { displayedAs } from '../display/mime-bundle.js';
import type { MimeBundle } from '../kernel/channel.js';
import type { CheckReport } from './checks.js';
import { verdictAndTable } from './drift-view.js';

export function checksVerdict(report: CheckReport): string {
  const failed = report.checks.filter((c) => !c.passed).length;
  return failed === 0
    ? `All ${report.checks.length} checks passed on ${report.rows} rows`
    : `${failed} of ${report.checks.length} checks failed on ${report.rows} rows`;
}

function bundle(report: CheckReport): MimeBundle {
  const rows = arrow.tableFromJSON(
    report.checks.map((c) => ({
      check: c.check,
      passed: c.passed,
      failing: c.failing,
      examples: c.examples.length ? c.examples.map((e) => JSON.stringify(e)).join(', ') : null,
    })),
  );
  return verdictAndTable(checksVerdict(report), rows);
}

/** The report as it is, shown in cells as a verdict and a table. */
export const shownChecks = (report: CheckReport): CheckReport => displayedAs(report, bundle);
