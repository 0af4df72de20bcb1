// Signing and checking wire messages in-process (signatures.test.ts sends forged ones over a real connection).
import { describe, expect, it } from 'vitest';
import { encodeMessage, parseMessage, type Message } from '../../src/kernel/wire.js';

const KEY = 'connection-key';
const message: Message = {
  identities: [Buffer.from('shell')],
  header: { msg_id: 'm1', msg_type: 'kernel_info_request', session: 's1', username: 'u', date: '2026-01-01T00:00:00Z', version: '5.3' },
  parent: {},
  metadata: {},
  content: { a: 1 },
};
const frames = (key = KEY) => encodeMessage(key, message).map((f) => Buffer.from(f));

describe('the wire protocol', () => {
  it('reads back a message it signed', () => {
    expect(parseMessage(KEY, frames())).toMatchObject({ header: { msg_id: 'm1' }, content: { a: 1 } });
  });

  it('refuses a message signed with another key, a cut or empty signature, and one without a signature frame', () => {
    const refused = /signature does not match/;
    expect(() => parseMessage(KEY, frames('another-key'))).toThrow(refused);
    const signed = frames();
    const at = signed.findIndex((f) => f.toString() === '<IDS|MSG>') + 1;
    const withSignature = (signature: Buffer) => signed.map((f, i) => (i === at ? signature : f));
    expect(() => parseMessage(KEY, withSignature(signed[at]!.subarray(0, 10)))).toThrow(refused);
    expect(() => parseMessage(KEY, withSignature(Buffer.alloc(0)))).toThrow(refused);
    expect(() => parseMessage(KEY, signed.slice(0, at))).toThrow(refused);
  });

  it('checks no signature when the connection has no key', () => {
    expect(parseMessage('', frames(''))).toMatchObject({ content: { a: 1 } });
  });
});
