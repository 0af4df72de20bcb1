import { PIPELINE_OUTPUT_MIME, TandemApiError } from '@tandem/server/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/server.js';
import { webhookReceiver } from '../../server/test/pipelines/support.js';
import { mimeBundleOf } from '../src/display/mime-bundle.js';
import { setDisplaySink, type MimeBundle } from '../src/kernel/channel.js';
import { notifications } from '../src/notifications.js';
import { pipelines } from '../src/pipelines.js';

describe('pipelines in cells against a real Tandem server', () => {
  let server: TestServer;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  const env = { ...process.env };

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
    hook = await webhookReceiver();
    process.env.TANDEM_URL = server.url;
    process.env.TANDEM_TOKEN = server.adminToken;
  });
  afterAll(async () => {
    process.env = env;
    await hook?.close();
    await server?.stop();
  });

  it('define() creates the pipeline and shows it as a card; run() waits for the run to end', async () => {
    const defined = await pipelines.define({
      name: 'ping',
      parameters: { who: { default: 'world' } },
      steps: [{ id: 'hello', kind: 'webhook', url: hook.url, body: { text: 'hello {{ params.who }}' } }],
    });
    expect(mimeBundleOf(defined)['text/plain']).toBe('pipeline ping: 1 steps (hello); no schedule; not run yet');
    const run = await pipelines.run('ping', { params: { who: 'team' } });
    expect(run).toMatchObject({ status: 'succeeded', number: 1 });
    expect(mimeBundleOf(run)['text/plain']).toBe('run #1 succeeded\n  hello: succeeded');
    expect(hook.received.at(-1)!.body).toEqual({ text: 'hello team' });
    expect((await pipelines.runs('ping')).map((r) => r.number)).toEqual([1]);
  });

  it('notifications.subscribe() hears of a failed run on a webhook; the delivery log says it was sent', async () => {
    await pipelines.define({ name: 'broken', steps: [{ id: 'call', kind: 'webhook', url: 'http://127.0.0.1:1/', timeoutSeconds: 2 }] });
    const sub = await notifications.subscribe({ events: ['pipeline.failed'], channel: { type: 'webhook', url: hook.url } });
    expect((await notifications.list()).map((s) => s.id)).toContain(sub.id);
    expect(await pipelines.run('broken')).toMatchObject({ status: 'failed' });
    const deadline = Date.now() + 10_000;
    let log = await notifications.deliveries(sub.id);
    while (log[0]?.status !== 'sent' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      log = await notifications.deliveries(sub.id);
    }
    expect(log[0]).toMatchObject({ eventType: 'pipeline.failed', status: 'sent', attempts: 1 });
    await notifications.unsubscribe(sub.id);
    expect(await notifications.list()).toEqual([]);
  });

  it('a bad definition is a TandemApiError naming the problem', async () => {
    const error = await pipelines
      .define({ name: 'bad', steps: [{ id: 'a', kind: 'gate', expression: 'params.x > 1' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TandemApiError);
    expect((error as TandemApiError).message).toMatch(/params.x, which is not a parameter|params.x is not a parameter/);
  });

  it('output() displays the value for the step to hand on, and refuses values that are not scalars', () => {
    const shown: MimeBundle[] = [];
    setDisplaySink((bundle) => shown.push(bundle));
    try {
      pipelines.output('accuracy', 0.93);
      expect(shown).toEqual([
        { [PIPELINE_OUTPUT_MIME]: { name: 'accuracy', value: 0.93 }, 'text/plain': 'pipeline output accuracy = 0.93' },
      ]);
      expect(() => pipelines.output('table', { rows: 1 } as never)).toThrow(/must be a string, number, boolean or null/);
      expect(() => pipelines.output('1bad', 1)).toThrow(/must start with a letter/);
    } finally {
      setDisplaySink(undefined);
    }
  });
});
