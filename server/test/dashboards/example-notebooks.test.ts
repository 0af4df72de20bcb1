import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeNotebook } from '../../src/dashboards/runner.js';
import { SERVER_ROOT } from '../../src/paths.js';
import { startTestServer, type TestServer } from '../support/server.js';

const REPO = path.dirname(SERVER_ROOT);
const load = async (file: string) => JSON.parse(await readFile(path.join(REPO, file), 'utf8'));

// The examples and the templates that need no Spark/GPU worker, run headless on the Tandem kernel.
describe('example notebooks and templates run end to end', () => {
  let server: TestServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer();
    env = { TANDEM_URL: server.url, TANDEM_TOKEN: server.adminToken };
  });
  afterAll(() => server.stop());

  it('notebooks/02-dashboard.ipynb publishes the fuel-economy dashboard with its table and chart', async () => {
    const executed = await executeNotebook(await load('notebooks/02-dashboard.ipynb'), { env });
    expect(JSON.stringify(executed.cells.at(-1))).toContain('Published version 1');
    const html = await (
      await fetch(`${server.url}/tandem/d/fuel-economy`, { headers: { authorization: `Bearer ${server.adminToken}` } })
    ).text();
    expect(html).toContain('Fuel economy by origin');
    expect(html).toMatch(/<th[^>]*>avg_mpg<\/th>/);
    expect(html).toContain('<td>USA</td>');
    expect(html).toMatch(/<svg[^>]*class="plot/);
  }, 120_000);

  for (const template of ['explore-data', 'compare-models']) {
    it(`templates/${template}.ipynb runs without errors`, async () => {
      const executed = await executeNotebook(await load(`templates/${template}.ipynb`), { env });
      expect(JSON.stringify(executed)).not.toContain('"output_type": "error"');
    }, 120_000);
  }
});
