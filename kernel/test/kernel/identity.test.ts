// The kernel acts as whoever JupyterLab signed in: the identity arrives over the `tandem.identity`
// comm, through a real Jupyter client, and the SDK uses it against a real Tandem server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../server/test/support/server.js';
import { asBrowser, signIn, userWithPassword } from '../../../server/test/support/sessions.js';
import { outputOf, runCells, type StepResult } from '../support/jupyter.js';

const PASSWORD = 'correct horse battery';
const ME = "import { tandemRequest } from '@tandem/kernel';\n(await tandemRequest<{ name: string }>('me')).name";
const comm = (msgType: string, content: Record<string, unknown>) => ({ msg_type: msgType, content });
const identity = (commId: string, data: unknown) => comm('comm_open', { comm_id: commId, target_name: 'tandem.identity', data });

describe('the tandem.identity comm', () => {
  let server: TestServer;
  let results: StepResult[];
  const env = { ...process.env };

  beforeAll(async () => {
    server = await startTestServer({ env: { TANDEM_AUTH: 'password' } });
    await userWithPassword(server, 'dana', PASSWORD);
    const signedIn = await signIn(server, 'dana', PASSWORD);
    const session = { cookie: signedIn.cookie!, csrfToken: signedIn.body.csrfToken as string };
    const kernel = await asBrowser(server, session.cookie, session.csrfToken)('POST', 'sessions/current/tokens', { name: 'kernel' });
    // As `npm start` runs JupyterLab: the server's URL, but no token of any kind.
    process.env.TANDEM_URL = server.url;
    delete process.env.TANDEM_TOKEN;
    results = await runCells([
      { code: ME },
      comm('comm_info_request', { target_name: 'tandem.identity' }),
      comm('comm_open', { comm_id: 'widget-1', target_name: 'jupyter.widget', data: {} }),
      identity('bad-1', { url: 'file:///etc/passwd', token: 'x' }),
      identity('id-1', { url: server.url, token: kernel.body.token }),
      comm('comm_info_request', { target_name: 'tandem.identity' }),
      { code: ME },
      // The person signs out in their browser meanwhile (done from a cell: the test cannot act between steps).
      {
        code: `await fetch('${server.url}/tandem/api/sessions/current', { method: 'DELETE', headers: ${JSON.stringify({ cookie: session.cookie, 'x-csrf-token': session.csrfToken })} }).then((r) => r.status)`,
      },
      { code: ME },
      comm('comm_close', { comm_id: 'id-1', data: { reason: 'signed out' } }),
      comm('comm_info_request', {}),
      { code: ME },
    ]);
  }, 120_000);

  afterAll(async () => {
    process.env = env;
    await server.stop();
  });

  const evalue = (result: StepResult) => outputOf(result, 'error')?.content.evalue as string;

  it('a cell calling the SDK before any identity arrived fails at once with a readable error', () => {
    expect(results[0]!.reply.status).toBe('error');
    expect(evalue(results[0]!)).toMatch(/^not signed in: sign in to Tandem in JupyterLab \(the status bar\), then run the cell again/);
  });

  it('lists no comm before one is open', () => {
    expect(results[1]!.reply).toEqual({ status: 'ok', comms: {} });
  });

  it('closes a comm of an unknown target, and an identity that is not one, instead of keeping them', () => {
    expect(outputOf(results[2]!, 'comm_close')?.content).toEqual({
      comm_id: 'widget-1',
      data: { error: 'no comm target jupyter.widget in this kernel' },
    });
    expect(outputOf(results[3]!, 'comm_close')?.content).toMatchObject({ comm_id: 'bad-1', data: { error: expect.stringMatching(/url/) } });
  });

  it('takes the identity, acknowledges it, lists the comm, and the SDK acts as that person', () => {
    expect(outputOf(results[4]!, 'comm_msg')?.content).toEqual({ comm_id: 'id-1', data: { status: 'ok' } });
    expect(outputOf(results[4]!, 'comm_close')).toBeUndefined();
    expect(results[5]!.reply).toEqual({ status: 'ok', comms: { 'id-1': { target_name: 'tandem.identity' } } });
    expect(outputOf(results[6]!, 'execute_result')?.content.data['text/plain']).toBe("'dana'");
  });

  it('once the session ends, the kernel token is refused and the cell says to sign in again', () => {
    expect(outputOf(results[7]!, 'execute_result')?.content.data['text/plain']).toBe('204');
    expect(evalue(results[8]!)).toMatch(/^your Tandem session has ended: sign in to Tandem in JupyterLab/);
  });

  it('closing the comm (sign-out) leaves the kernel acting as nobody', () => {
    expect(results[9]!.reply).toBeNull();
    expect(results[10]!.reply).toEqual({ status: 'ok', comms: {} });
    expect(evalue(results[11]!)).toMatch(/^not signed in: sign in to Tandem in JupyterLab/);
  });
});
