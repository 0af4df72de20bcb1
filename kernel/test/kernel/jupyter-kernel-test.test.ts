// jupyter_kernel_test (PyPI), the Jupyter project's protocol conformance suite, run against the
// Tandem kernel spec with history enabled (samples in test/support/kernel_conformance.py).
import { beforeAll, describe, expect, it } from 'vitest';
import { runKernelConformance, type ConformanceReport } from '../support/jupyter.js';

/** The suite's tests the samples enable; the pager and clear_output ones are skipped (the kernel sends neither). */
const ENABLED = [
  'kernel_info',
  'execute_stdout',
  'execute_stderr',
  'completion',
  'inspect',
  'is_complete',
  'execute_result',
  'display_data',
  'error',
  'history',
];

describe('jupyter_kernel_test against the Tandem kernel', () => {
  let report: ConformanceReport;

  beforeAll(async () => {
    report = await runKernelConformance();
  }, 240_000);

  it.each(ENABLED)('passes test_%s', (name) => {
    const id = (entry: { test: string }) => entry.test.endsWith(`.test_${name}`);
    expect(report.failures.filter(id)).toEqual([]);
    expect(report.errors.filter(id)).toEqual([]);
    expect(report.skipped.filter(id)).toEqual([]);
  });

  it('runs every test of the suite, and no other fails', () => {
    expect(report.ran).toBeGreaterThanOrEqual(ENABLED.length + 2);
    expect([...report.failures, ...report.errors]).toEqual([]);
  });
});
