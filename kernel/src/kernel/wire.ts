// The Jupyter wire protocol (messaging spec 5.3): framing, HMAC signing and ordered sends.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

const DELIM = Buffer.from('<IDS|MSG>');

export interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface Message {
  identities: Buffer[];
  header: Header;
  parent: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: Record<string, any>;
}

function sign(key: string, parts: (string | Buffer)[]): string {
  const hmac = createHmac('sha256', key);
  for (const p of parts) hmac.update(p);
  return hmac.digest('hex');
}

/** Whether `signature` is the HMAC of `parts` (all present), compared in constant time. */
function signedBy(key: string, signature: Buffer | undefined, parts: (Buffer | undefined)[]): boolean {
  if (!signature || parts.some((p) => p === undefined)) return false;
  const expected = Buffer.from(sign(key, parts as Buffer[]));
  return signature.length === expected.length && timingSafeEqual(signature, expected);
}

export function parseMessage(key: string, frames: Buffer[]): Message {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0) throw new Error('message has no <IDS|MSG> delimiter');
  const [signature, header, parent, metadata, content] = frames.slice(at + 1);
  if (key && !signedBy(key, signature, [header, parent, metadata, content])) {
    throw new Error('message signature does not match the connection key');
  }
  return {
    identities: frames.slice(0, at),
    header: JSON.parse(header.toString()),
    parent: JSON.parse(parent.toString()),
    metadata: JSON.parse(metadata.toString()),
    content: JSON.parse(content.toString()),
  };
}

/** A reply or broadcast whose parent is `parent`; shell replies keep the parent's routing ids. */
export function childMessage(parent: Message, msgType: string, content: Record<string, unknown>, routed = false): Message {
  return {
    identities: routed ? parent.identities : [Buffer.from(msgType)],
    header: {
      msg_id: randomUUID(),
      msg_type: msgType,
      session: parent.header.session,
      username: parent.header.username,
      date: new Date().toISOString(),
      version: '5.3',
    },
    parent: parent.header,
    metadata: {},
    content,
  };
}

export function encodeMessage(key: string, msg: Message): (string | Buffer)[] {
  const body = [msg.header, msg.parent, msg.metadata, msg.content].map((part) => JSON.stringify(part));
  return [...msg.identities, DELIM, key ? sign(key, body) : '', ...body];
}

interface Sendable {
  send(frames: (string | Buffer)[]): Promise<void>;
}

/**
 * zeromq 6 rejects a send while the previous one is in flight ("Socket is busy writing"); tslab
 * fired sends without awaiting them and lost messages, including the final `idle`. Chaining every
 * send keeps them all, in order.
 */
export class OrderedSender {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Sendable,
    private readonly key: string,
  ) {}

  send(msg: Message): Promise<void> {
    const frames = encodeMessage(this.key, msg);
    this.tail = this.tail.then(
      () => this.socket.send(frames),
      () => this.socket.send(frames),
    );
    return this.tail;
  }
}
