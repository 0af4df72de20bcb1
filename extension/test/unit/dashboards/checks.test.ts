// What the Publish dialog refuses before sending anything; cron and time zone are checked by the
// server before it writes (server/test/dashboards/dashboards.routes.test.ts).
import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';
import { checkChoices } from '../../../src/dashboards/checks';

const trans = nullTranslator.load('tandem');

describe('checkChoices', () => {
  it('accepts a selection with or without a schedule', () => {
    expect(checkChoices({ selection: [{ index: 0 }], cron: '', timezone: '' }, trans)).toBeUndefined();
    expect(checkChoices({ selection: [{ index: 0 }], cron: '0 6 * * 1', timezone: 'UTC' }, trans)).toBeUndefined();
  });

  it('names the field: no cell chosen, a schedule without a time zone', () => {
    expect(checkChoices({ selection: [], cron: '', timezone: 'UTC' }, trans)).toMatch(/^selection: /);
    expect(checkChoices({ selection: [{ index: 1 }], cron: '0 6 * * 1', timezone: '' }, trans)).toMatch(/^timezone: /);
  });
});
