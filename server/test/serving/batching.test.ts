import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { deploy, linear, predict, registerOnnx } from './onnx.js';

const ROW = { rows: [{ features: [1, 1, 1] }] };

/** A sample's value in the Prometheus text, e.g. `tandem_serving_batch_size_count{model="admin/m",endpoint="prod",split="primary"}`. */
function sample(metrics: string, name: string, labels: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}`) && !l.startsWith('#'));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('micro-batching and bounded queues', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
    for (const name of ['batched', 'tiny-queue', 'slow', 'metered']) {
      await registerOnnx(server, name, linear([1, 1, 1], 0));
      await server.api('PUT', `models/${name}/aliases/prod`, { body: { version: 1 } });
    }
    await deploy(server, 'batched', 'prod', { version: 1, settings: { maxBatchSize: 8, maxWaitMs: 1000 } });
    await deploy(server, 'tiny-queue', 'prod', { version: 1, settings: { maxBatchSize: 100, maxWaitMs: 1500, queueLimit: 2 } });
    await deploy(server, 'slow', 'prod', { version: 1, settings: { maxBatchSize: 100, maxWaitMs: 2000, timeoutMs: 100 } });
    await deploy(server, 'metered', 'prod', { version: 1 });
  });
  afterAll(() => server.stop());

  const metrics = async () => (await server.api('GET', '/metrics')).body as string;

  it('runs concurrent requests as one batch once max batch size rows arrived, before max wait', async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => predict(server, 'batched/prod/predict', { rows: [{ features: [i, 0, 0] }] })),
    );
    expect(Date.now() - started).toBeLessThan(800);
    expect(answers.map((a) => a.body.predictions[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const text = await metrics();
    const labels = 'model="admin/batched",endpoint="prod",split="primary"';
    // The warm-up runs outside the histogram: one batch of 8 rows.
    expect(sample(text, 'tandem_serving_batch_size_count', labels)).toBe(1);
    expect(sample(text, 'tandem_serving_batch_size_sum', labels)).toBe(8);
  });

  it('a lone request waits at most max wait for company', async () => {
    const started = Date.now();
    expect((await predict(server, 'batched/prod/predict', ROW)).status).toBe(200);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(3000);
  });

  it('refuses requests beyond the queue limit with 429 and Retry-After, and serves those queued', async () => {
    const queued = [predict(server, 'tiny-queue/prod/predict', ROW), predict(server, 'tiny-queue/prod/predict', ROW)];
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await predict(server, 'tiny-queue/prod/predict', ROW);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('TOO_MANY_REQUESTS');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await Promise.all(queued)).map((r) => r.status)).toEqual([200, 200]);
  });

  it('answers 504 when a request is not answered within the timeout', async () => {
    const started = Date.now();
    const res = await predict(server, 'slow/prod/predict', ROW);
    expect(res.status).toBe(504);
    expect(res.body.error).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: 'no answer within 100 ms' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('applies changed settings to requests that arrive afterwards', async () => {
    const { body: list } = await server.api('GET', 'deployments?model=slow');
    const patched = await server.api('PATCH', `deployments/${list.items[0].id}`, { body: { maxWaitMs: 0, timeoutMs: 5000 } });
    expect(patched.body).toMatchObject({ maxWaitMs: 0, timeoutMs: 5000, maxBatchSize: 100 });
    expect((await predict(server, 'slow/prod/predict', ROW)).status).toBe(200);
  });

  it('exports requests, errors, latency, batch sizes and the version served per deployment', async () => {
    for (let i = 0; i < 3; i++) await predict(server, 'metered/prod/predict', ROW);
    await predict(server, 'metered/prod/predict', { rows: [{ features: [1] }] });
    const text = await metrics();
    const labels = 'model="admin/metered",endpoint="prod",split="primary"';
    expect(sample(text, 'tandem_serving_requests_total', `${labels},version="1",status="200"`)).toBe(3);
    expect(sample(text, 'tandem_serving_requests_total', `${labels},version="1",status="400"`)).toBe(1);
    expect(sample(text, 'tandem_serving_errors_total', `${labels},code="INVALID_ARGUMENT"`)).toBe(1);
    expect(sample(text, 'tandem_serving_request_duration_seconds_count', labels)).toBe(4);
    expect(sample(text, 'tandem_serving_batch_size_count', labels)).toBe(3);
    expect(sample(text, 'tandem_serving_version', labels)).toBe(1);
    // 429 and 504 were counted as errors of their deployments.
    expect(
      sample(text, 'tandem_serving_errors_total', 'model="admin/tiny-queue",endpoint="prod",split="primary",code="TOO_MANY_REQUESTS"'),
    ).toBe(1);
    expect(sample(text, 'tandem_serving_errors_total', 'model="admin/slow",endpoint="prod",split="primary",code="DEADLINE_EXCEEDED"')).toBe(
      1,
    );
  });

  it('drops a deleted deployment’s series and never makes series for names callers type', async () => {
    const { body: list } = await server.api('GET', 'deployments?model=metered');
    expect((await server.api('DELETE', `deployments/${list.items[0].id}`)).status).toBe(204);
    await predict(server, 'made-up/prod/predict', ROW);
    const text = await metrics();
    expect(text).not.toContain('model="admin/metered"');
    expect(text).not.toContain('made-up');
  });
});
