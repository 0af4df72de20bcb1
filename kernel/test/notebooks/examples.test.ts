// Every notebook in notebooks/ and every template in templates/, run headless on the Tandem kernel
// as a user runs them: a template is copied into the user's own folder (as "New from template"
// does), Spark and GPU jobs go to a worker agent that runs in a folder of its own.
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../server/test/support/server.js';
import { repoRoot, runNotebook, type NotebookCell } from '../support/jupyter.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker.js';

const TABLE = 'application/vnd.tandem.table+json';

interface Run {
  cells: NotebookCell[];
  server: TestServer;
  token: string;
}

/**
 * The output a cell whose source matches `source` shows as its value: its execute_result, else
 * its last display (a slow query shows a progress line as a display first).
 */
function resultOf(run: Run, source: RegExp): Record<string, any> {
  const cell = run.cells.find((c) => c.cell_type === 'code' && source.test(c.source));
  if (!cell) throw new Error(`no cell matches ${source}`);
  const result =
    cell.outputs!.find((o) => o.output_type === 'execute_result') ?? cell.outputs!.findLast((o) => o.output_type === 'display_data');
  if (!result) throw new Error(`the cell ${source} shows nothing; outputs: ${JSON.stringify(cell.outputs).slice(0, 500)}`);
  return result.data!;
}

const svgOf = (data: Record<string, any>): string => String(data['image/svg+xml'] ?? data['text/html'] ?? '');

async function dashboardPage(run: Run, slug: string): Promise<string> {
  const res = await fetch(`${run.server.url}/tandem/d/${slug}`, { headers: { authorization: `Bearer ${run.token}` } });
  expect(res.status).toBe(200);
  return res.text();
}

/** Year axes read 1970, 1972, … rather than 1,970. */
const expectYearTicks = (svg: string) => {
  expect(svg).toMatch(/>19[78]\d</);
  expect(svg).not.toMatch(/>1,9\d\d</);
};

/** What each notebook must show, in the order they run (the comparison needs the trained models). */
const EXPECTED: Record<string, (run: Run) => Promise<void> | void> = {
  'templates/train-on-spark.ipynb': async (run) => {
    expect(JSON.stringify(resultOf(run, /spark\.train/))).toContain('succeeded');
    const version = await run.server.api('GET', 'models/cars-origin/versions/1', { token: run.token });
    expect(version).toMatchObject({ status: 200, body: { metrics: { accuracy: expect.any(Number) } } });
    const card = resultOf(run, /models\.get/);
    expect(card['text/plain']).toMatch(/^cars-origin v1\n.*accuracy=0\.\d+/);
    expect(card['text/html']).toContain('class="tandem-model-version"');
  },
  'templates/train-on-gpu.ipynb': async (run) => {
    expect(JSON.stringify(resultOf(run, /gpu\.train/))).toContain('succeeded');
    const version = await run.server.api('GET', 'models/cars-mpg-mlp/versions/1', { token: run.token });
    expect(version).toMatchObject({ status: 200, body: { metrics: { val_rmse: expect.any(Number) } } });
    const scores = resultOf(run, /positional join/)[TABLE];
    expect(scores.rowCount).toBe(10);
    expect(scores.columns.map((c: { name: string }) => c.name)).toEqual([
      'Horsepower',
      'Weight_in_lbs',
      'Cylinders',
      'Miles_per_Gallon',
      'predicted_mpg',
    ]);
    // A trained model, not noise: predictions within a few mpg of the truth on average.
    const errors = scores.rows.map((r: number[]) => Math.abs(r[4]! - r[3]!));
    expect(errors.reduce((a: number, b: number) => a + b, 0) / errors.length).toBeLessThan(6);
  },
  'templates/compare-models.ipynb': (run) => {
    const listed = String(resultOf(run, /models\.search/)['text/plain']);
    expect(listed).toContain('cars-origin');
    expect(listed).toContain('cars-mpg-mlp');
    expect(svgOf(resultOf(run, /Plot\.barX|Plot\.dot|plot\(/))).toMatch(/<svg/);
  },
  'templates/retrain-daily.ipynb': async (run) => {
    expect(resultOf(run, /pipelines\.define/)['text/plain']).toMatch(/^pipeline retrain-cars: 6 steps .*; 0 3 \* \* \* \(UTC\), next /);
    expect(String(resultOf(run, /pipelines\.run/)['text/plain'])).toMatch(/^run #1 succeeded\n/);
    // The first run finds no champion, so both gates pass and both aliases move to the new versions.
    for (const model of ['cars-origin', 'cars-mpg-mlp']) {
      const { body } = await run.server.api('GET', `models/${model}`, { token: run.token });
      expect(body.aliases.champion, model).toBe(body.latestVersion);
    }
  },
  'templates/explore-data.ipynb': (run) => {
    expect(resultOf(run, /const overview/)[TABLE].rows[0][0]).toBe(406);
    expect(svgOf(resultOf(run, /const hp/))).toMatch(/<svg/);
    expect(resultOf(run, /group by all order by mpg/)[TABLE].rows.map((r: unknown[]) => r[0])).toEqual(['Japan', 'Europe', 'USA']);
  },
  'templates/dashboard.ipynb': async (run) => {
    expect(resultOf(run, /dashboards\.publish/)['text/markdown']).toMatch(/^Published version \d+/);
    expectYearTicks(svgOf(resultOf(run, /const trend/)));
    const html = await dashboardPage(run, 'my-fuel-economy');
    expect(html).toContain('<td>USA</td>');
    expectYearTicks(html);
  },
  'notebooks/01-explore.ipynb': (run) => {
    const overview = resultOf(run, /const overview/)[TABLE];
    expect(overview.columns.map((c: { name: string }) => c.name)).toEqual([
      'flights',
      'airports',
      'first_departure',
      'last_departure',
      'avg_delay_min',
    ]);
    expect(overview.rows[0].slice(0, 2)).toEqual([3_000_000, 229]);
    const airports = resultOf(run, /const airports/)[TABLE];
    expect(airports.rowCount).toBeGreaterThan(10);
    expect(airports.rows[0][0]).toBe('JFK');
    for (const source of [/const byHour/, /const bands/, /const monthly/]) {
      expect(svgOf(resultOf(run, source))).toMatch(/<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
    expect(resultOf(run, /const cars/)[TABLE].rows.map((r: unknown[]) => r[0])).toEqual(['Japan', 'Europe', 'USA']);
    expect(resultOf(run, /corr\(Horsepower/)[TABLE].rowCount).toBe(3);
    expect(resultOf(run, /md\(/)['text/markdown']).toBe(
      'Of **3,000,000** flights, departures from **JFK** were the most delayed busy airport: **12.3 min** on average.',
    );
  },
  'notebooks/02-dashboard.ipynb': async (run) => {
    expect(resultOf(run, /dashboards\.publish/)['text/markdown']).toMatch(/^Published version \d+/);
    const html = await dashboardPage(run, 'fuel-economy');
    expect(html).toContain('Fuel economy by origin');
    expect(html).toMatch(/<th[^>]*>avg_mpg<\/th>/);
    expect(html).toContain('<td>USA</td>');
    expect(html).toMatch(/<svg[^>]*class="plot/);
    expectYearTicks(html);
  },
};

/**
 * Output a user should not see: errors, anything written to stderr (warnings included), and raw
 * dumps of objects (a long value with no display but plain text).
 */
function unwantedOutputs(cells: NotebookCell[]) {
  const rawDump = (o: NonNullable<NotebookCell['outputs']>[number]) =>
    o.output_type === 'execute_result' &&
    Object.keys(o.data ?? {}).join() === 'text/plain' &&
    String(o.data!['text/plain']).split('\n').length > 12;
  // Job views show the job's log: Python warnings there (a FutureWarning per Spark job) are noise too.
  const warnedJob = (o: NonNullable<NotebookCell['outputs']>[number]) => /\b[A-Z]\w*Warning: /.test(String(o.data?.['text/html'] ?? ''));
  return cells.flatMap((cell) =>
    (cell.outputs ?? [])
      .filter(
        (o) =>
          o.output_type === 'error' ||
          (o.output_type === 'stream' && (o as { name?: string }).name === 'stderr') ||
          rawDump(o) ||
          warnedJob(o),
      )
      .map((o) => ({ cell: cell.source.slice(0, 80), output: o })),
  );
}

describe('notebooks and templates, run as a user runs them', () => {
  let server: TestServer;
  let worker: WorkerProcess;
  let token: string;
  const env = { ...process.env };

  beforeAll(async () => {
    server = await startTestServer({ db: 'postgres', store: 'minio' });
    token = (await server.user('dana')).token;
    const workerToken = (await server.api('POST', 'tokens', { body: { name: 'remote', kind: 'worker' } })).body.token;
    worker = await startWorkerProcess({ serverUrl: server.url, token: workerToken, spark: true, gpu: true });
    // The kernels nbclient starts inherit this environment, as they inherit Jupyter's under `npm start`.
    Object.assign(process.env, { TANDEM_URL: server.url, TANDEM_TOKEN: token });
  }, 120_000);

  afterAll(async () => {
    process.env = env;
    await worker?.stop();
    await server?.stop();
  });

  it('has expectations for every notebook and template in the repository', async () => {
    const files = [
      ...(await readdir(path.join(repoRoot, 'notebooks'))).map((f) => `notebooks/${f}`),
      ...(await readdir(path.join(repoRoot, 'templates'))).map((f) => `templates/${f}`),
    ].filter((f) => f.endsWith('.ipynb'));
    expect(Object.keys(EXPECTED).sort()).toEqual(files.sort());
  });

  for (const [file, check] of Object.entries(EXPECTED)) {
    it(`${file} runs end to end and shows what it promises`, async () => {
      let notebook = path.join(repoRoot, file);
      let userDir: string | undefined;
      if (file.startsWith('templates/')) {
        userDir = await mkdtemp(path.join(os.tmpdir(), 'tandem-user-'));
        notebook = path.join(userDir, path.basename(file));
        await copyFile(path.join(repoRoot, file), notebook);
      }
      try {
        const executed = await runNotebook(notebook);
        // Kept for reading after a failure, as CI leaves its logs.
        await mkdir(path.join(repoRoot, 'test-results/notebooks'), { recursive: true });
        await writeFile(path.join(repoRoot, 'test-results/notebooks', file.replace('/', '--')), JSON.stringify(executed, null, 1));
        expect(unwantedOutputs(executed.cells)).toEqual([]);
        await check({ cells: executed.cells, server, token });
      } finally {
        if (userDir) await rm(userDir, { recursive: true, force: true });
      }
    }, 600_000);
  }
});
