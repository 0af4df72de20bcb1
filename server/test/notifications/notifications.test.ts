import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/http/webhook.js';
import { registeredWorker } from '../jobs/support.js';
import { define, startRun, waitForRun, webhookReceiver } from '../pipelines/support.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually, smtpReceiver } from './support.js';

const SECRET = 'a-webhook-secret-of-some-length';

describe('notifications', () => {
  let server: TestServer;
  let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let flaky: Awaited<ReturnType<typeof webhookReceiver>>;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    smtp = await smtpReceiver();
    hook = await webhookReceiver();
    flaky = await webhookReceiver([500]);
    server = await startTestServer({ env: { TANDEM_SMTP_URL: smtp.url, TANDEM_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
    alice = await server.user('note-alice');
    bob = await server.user('note-bob');
  });
  afterAll(async () => {
    await server?.stop();
    await Promise.all([smtp?.close(), hook?.close(), flaky?.close()]);
  });

  const subscribe = async (token: string, body: unknown) => {
    const res = await server.api('POST', 'notifications/subscriptions', { token, body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  };
  /** A pipeline of `owner` whose one step fails (it calls a port nobody listens on). */
  const failing = async (name: string, token: string) =>
    define(server, { name, steps: [{ id: 'call', kind: 'webhook', url: 'http://127.0.0.1:1/nothing', timeoutSeconds: 2 }] }, token);

  it('a failed pipeline sends an email and a signed, Slack-shaped webhook that the receivers get', async () => {
    const pipeline = await failing('nightly', alice.token);
    await subscribe(alice.token, {
      events: ['pipeline.failed'],
      resource: { type: 'pipeline', id: pipeline.id },
      channel: { type: 'email', to: 'alice@example.com' },
    });
    const sub = await subscribe(alice.token, { events: ['pipeline.failed'], channel: { type: 'webhook', url: hook.url, secret: SECRET } });
    expect(sub.channel).toEqual({ type: 'webhook', url: hook.url, signed: true });
    const run = await startRun(server, pipeline.id, {}, alice.token);
    expect((await waitForRun(server, run.id)).status).toBe('failed');

    const mail = await eventually(() => smtp.mails.find((m) => m.subject?.includes('nightly')));
    expect(mail.subject).toBe('[Tandem] Pipeline “nightly” run #1 failed');
    expect(mail.to).toMatchObject({ text: 'alice@example.com' });
    expect(mail.text).toMatch(/step call failed: could not reach 127\.0\.0\.1:1/);

    const call = await eventually(() => hook.received.find((r) => r.body?.tandem?.eventType === 'pipeline.failed'));
    expect(call.body.text).toMatch(/^\*Pipeline “nightly” run #1 failed\*\n/);
    expect(call.body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(call.headers['x-tandem-event']).toBe('pipeline.failed');
    expect(verifySignature(SECRET, String(call.headers['x-tandem-timestamp']), call.raw, String(call.headers['x-tandem-signature']))).toBe(
      true,
    );
    expect(
      verifySignature(
        'another-secret-entirely',
        String(call.headers['x-tandem-timestamp']),
        call.raw,
        String(call.headers['x-tandem-signature']),
      ),
    ).toBe(false);
  });

  it('retries a webhook that answered 500, and the delivery log shows both attempts', async () => {
    const pipeline = await failing('retried', alice.token);
    const sub = await subscribe(alice.token, {
      events: ['pipeline.failed'],
      resource: { type: 'pipeline', id: pipeline.id },
      channel: { type: 'webhook', url: flaky.url },
    });
    const run = await startRun(server, pipeline.id, {}, alice.token);
    await waitForRun(server, run.id);
    const log = await eventually(async () => {
      const { body } = await server.api('GET', `notifications/deliveries?subscription=${sub.id}`, { token: alice.token });
      return body.items[0]?.status === 'sent' ? body.items : undefined;
    }, 15_000);
    expect(log[0]).toMatchObject({ eventType: 'pipeline.failed', attempts: 2, lastStatus: 200, lastError: null });
    expect(flaky.received).toHaveLength(2);
    expect((await server.api('GET', `notifications/deliveries?subscription=${sub.id}`, { token: bob.token })).status).toBe(404);
  });

  it('a failed job’s notification says why it failed', async () => {
    await subscribe(alice.token, { events: ['job.failed'], channel: { type: 'jupyterlab' } });
    const worker = await registeredWorker(server, ['gpu']);
    const submitted = await server.api('POST', 'jobs', { token: alice.token, body: { kind: 'gpu', spec: { script: 'pass', gpus: 0 } } });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const job = await worker.claim(60_000, 10_000);
    await worker.complete(job!, { status: 'failed', error: 'CUDA out of memory (tried to allocate 2 GiB)' });
    let note: any;
    await eventually(async () => {
      const inbox = (await server.api('GET', 'notifications', { token: alice.token })).body.items;
      note = inbox.find((n: any) => n.eventType === 'job.failed' && n.resource.id === submitted.body.id);
      return note !== undefined;
    });
    expect(note).toMatchObject({ level: 'error', text: 'CUDA out of memory (tried to allocate 2 GiB)' });
  });

  it('JupyterLab notifications reach the subscriber’s inbox and stream, and nobody else’s', async () => {
    const pipeline = await failing('inboxed', alice.token);
    await subscribe(alice.token, { events: ['pipeline.failed'], channel: { type: 'jupyterlab' } });
    // Bob subscribes to every pipeline failure, but cannot see alice's pipeline.
    await subscribe(bob.token, { events: ['pipeline.failed'], channel: { type: 'jupyterlab' } });
    const streams = await Promise.all(
      [alice, bob].map(async (who) => {
        const res = await fetch(`${server.url}/tandem/api/notifications/stream`, { headers: { authorization: `Bearer ${who.token}` } });
        const reader = res.body!.getReader();
        let text = '';
        void (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            text += Buffer.from(value).toString('utf8');
          }
        })().catch(() => undefined);
        return { text: () => text, close: () => reader.cancel() };
      }),
    );
    const run = await startRun(server, pipeline.id, {}, alice.token);
    await waitForRun(server, run.id);
    await eventually(() => streams[0]!.text().includes('inboxed'));
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all(streams.map((s) => s.close()));
    expect(streams[1]!.text()).not.toContain('inboxed');

    const inbox = (await server.api('GET', 'notifications?unread=true', { token: alice.token })).body.items;
    const note = inbox.find((n: any) => n.title.includes('inboxed'));
    expect(note).toMatchObject({
      eventType: 'pipeline.failed',
      level: 'error',
      read: false,
      resource: { type: 'pipeline', id: pipeline.id },
    });
    expect((await server.api('GET', 'notifications', { token: bob.token })).body.items.some((n: any) => n.title.includes('inboxed'))).toBe(
      false,
    );
    expect((await server.api('POST', `notifications/${note.id}/read`, { token: bob.token })).status).toBe(404);
    expect((await server.api('POST', `notifications/${note.id}/read`, { token: alice.token })).body).toEqual({ read: 1 });
    expect(
      (await server.api('GET', 'notifications?unread=true', { token: alice.token })).body.items.some((n: any) => n.id === note.id),
    ).toBe(false);
  });

  it('a team subscription reaches members who can see the resource, and stops for one who left', async () => {
    const team = (await server.api('POST', 'teams', { body: { name: 'note-team' } })).body;
    for (const who of ['note-alice', 'note-bob'])
      expect((await server.api('POST', `teams/${team.id}/members`, { body: { user: who } })).status).toBe(204);
    const pipeline = await failing('team-watched', alice.token);
    await server.api('PUT', `pipelines/${pipeline.id}/grants`, {
      token: alice.token,
      body: { type: 'team', name: 'note-team', role: 'viewer' },
    });
    await subscribe(alice.token, { events: ['pipeline.failed'], team: 'note-team', channel: { type: 'jupyterlab' } });
    await waitForRun(server, (await startRun(server, pipeline.id, {}, alice.token)).id);
    const bobs = async () =>
      (await server.api('GET', 'notifications', { token: bob.token })).body.items.filter((n: any) => n.title.includes('team-watched'));
    expect(await eventually(async () => (await bobs()).length === 1)).toBe(true);

    expect((await server.api('DELETE', `teams/${team.id}/members/${bob.id}`)).status).toBe(204);
    await waitForRun(server, (await startRun(server, pipeline.id, {}, alice.token)).id);
    const alices = async () =>
      (await server.api('GET', 'notifications', { token: alice.token })).body.items.filter((n: any) => n.title.includes('team-watched'));
    await eventually(async () => (await alices()).length === 2);
    expect(await bobs()).toHaveLength(1);
  });

  describe('bad input and abuse', () => {
    const refused = async (token: string, body: unknown, status: number, message: RegExp) => {
      const res = await server.api('POST', 'notifications/subscriptions', { token, body });
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error.message).toMatch(message);
    };
    it('names a bad email address, URL or event', async () => {
      await refused(alice.token, { events: ['pipeline.failed'], channel: { type: 'email', to: 'not-an-address' } }, 400, /channel.to/);
      await refused(
        alice.token,
        { events: ['pipeline.failed'], channel: { type: 'webhook', url: 'ftp://x/y' } },
        400,
        /channel.url: an http or https URL/,
      );
      await refused(alice.token, { events: ['job.exploded'], channel: { type: 'jupyterlab' } }, 400, /events.0/);
      await refused(alice.token, { events: [], channel: { type: 'jupyterlab' } }, 400, /at least one event/);
    });
    it('refuses a team the caller is not in, and a resource they cannot see', async () => {
      const other = await server.user('note-outsider');
      await refused(
        other.token,
        { events: ['pipeline.failed'], team: 'note-team', channel: { type: 'jupyterlab' } },
        403,
        /not a member of team note-team/,
      );
      const pipeline = await failing('secret', alice.token);
      await refused(
        other.token,
        { events: ['pipeline.failed'], resource: { type: 'pipeline', id: pipeline.id }, channel: { type: 'jupyterlab' } },
        404,
        /not found/,
      );
    });
    it('refuses a webhook to a private address not allowed by the admin', async () => {
      await refused(
        alice.token,
        { events: ['pipeline.failed'], channel: { type: 'webhook', url: 'http://169.254.169.254/latest/meta-data' } },
        400,
        /private or loopback address/,
      );
      await refused(
        alice.token,
        { events: ['pipeline.failed'], channel: { type: 'webhook', url: 'http://[::1]:8080/' } },
        400,
        /private or loopback address/,
      );
    });
    it('another user cannot delete or list a subscription, and a worker token is refused', async () => {
      const sub = await subscribe(alice.token, { events: ['job.failed'], channel: { type: 'jupyterlab' } });
      expect((await server.api('DELETE', `notifications/subscriptions/${sub.id}`, { token: bob.token })).status).toBe(404);
      expect((await server.api('GET', 'notifications/subscriptions', { token: bob.token })).body.items.map((s: any) => s.id)).not.toContain(
        sub.id,
      );
      const worker = (await server.api('POST', 'tokens', { body: { name: 'w', kind: 'worker' } })).body.token;
      expect((await server.api('GET', 'notifications', { token: worker })).status).toBe(403);
      expect((await server.api('DELETE', `notifications/subscriptions/${sub.id}`, { token: alice.token })).status).toBe(204);
    });
  });
});

describe('notifications without SMTP configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => server?.stop());

  it('an email subscription is a 400 saying what to configure', async () => {
    const res = await server.api('POST', 'notifications/subscriptions', {
      body: { events: ['job.failed'], channel: { type: 'email', to: 'a@example.com' } },
    });
    expect(res).toMatchObject({
      status: 400,
      body: { error: { message: 'channel: email is not configured on this server (TANDEM_SMTP_URL)' } },
    });
  });
});
