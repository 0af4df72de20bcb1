import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup as lookupCallback, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { TandemError } from '../errors.js';

// Outbound POSTs to URLs people configure (notification webhooks, pipeline webhook steps). The
// server must not become a way into its own network: loopback, private and link-local targets are
// refused unless their host is allowed by configuration (TANDEM_WEBHOOK_ALLOW_HOSTS).

export interface WebhookOptions {
  /** Signs the body: `X-Tandem-Signature: sha256=<hex HMAC of "<timestamp>.<body>">`. */
  secret?: string;
  headers?: Record<string, string>;
  /** Default 10 s. */
  timeoutMs?: number;
  /** Hosts that may be private or loopback addresses; `*` allows any. */
  allowHosts: string[];
}

/** The signature header's value for a body sent at `timestamp` (unix seconds). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Whether `header` is the signature of `body` at `timestamp`, for receivers (and tests). */
export function verifySignature(secret: string, timestamp: string, body: string, header: string | undefined): boolean {
  const expected = Buffer.from(signature(secret, timestamp, body));
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const PRIVATE_V4 = [
  /^127\./,
  /^10\./,
  /^192\.168\./,
  /^172\.(1[6-9]|2\d|3[01])\./,
  /^169\.254\./,
  /^0\./,
  /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
];

/** Loopback, private, link-local or unspecified addresses (IPv4, IPv6, IPv4-mapped IPv6). */
export function isPrivateAddress(address: string): boolean {
  const ip = address.toLowerCase().replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped) return isPrivateAddress(mapped[1]!);
  // URLs write a mapped address in hex (`[::ffff:127.0.0.1]` becomes `::ffff:7f00:1`).
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (hex) {
    const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
    return isPrivateAddress([high >> 8, high & 255, low >> 8, low & 255].join('.'));
  }
  if (isIP(ip) === 4) return PRIVATE_V4.some((re) => re.test(ip));
  return ip === '::1' || ip === '::' || /^f[cd]/.test(ip) || /^fe[89ab]/.test(ip);
}

const privateTarget = (host: string) =>
  new TandemError('FORBIDDEN', `url: ${host} is a private or loopback address; an admin may allow it with TANDEM_WEBHOOK_ALLOW_HOSTS`);

/** A URL's host as addresses and allow lists write it: lower case, an IPv6 address without brackets. */
const hostOf = (url: URL) => url.hostname.toLowerCase().replace(/^\[|\]$/g, '');

const isAllowed = (host: string, allowHosts: string[]) => allowHosts.includes('*') || allowHosts.includes(host);

/**
 * The name lookup of the connection itself, refusing private addresses: a name that resolved to a
 * public address when checked and to a private one when connecting (DNS rebinding) is refused.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  lookupCallback(hostname, { ...options, all: true }, (error, found: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    if (found.length === 0 || found.some((a) => isPrivateAddress(a.address))) return callback(privateTarget(hostname), '', 0);
    if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, found);
    callback(null, found[0]!.address, found[0]!.family);
  });
};

/** Refuses a URL this server may not call: not http(s), or a private target whose host is not allowed. */
export async function checkTarget(url: string, allowHosts: string[]): Promise<URL> {
  let target: URL;
  try {
    target = new URL(url);
  } catch (cause) {
    throw new TandemError('INVALID_ARGUMENT', `url: "${url}" is not a URL`, { cause });
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new TandemError('INVALID_ARGUMENT', `url: only http and https URLs (got ${target.protocol})`);
  const host = hostOf(target);
  if (isAllowed(host, allowHosts)) return target;
  const addresses = isIP(host)
    ? [host]
    : await lookup(host, { all: true }).then(
        (found) => found.map((a) => a.address),
        () => [],
      );
  if (addresses.length === 0) throw new TandemError('INVALID_ARGUMENT', `url: cannot resolve ${host}`);
  if (addresses.some(isPrivateAddress) || host === 'localhost') throw privateTarget(host);
  return target;
}

/** POSTs `body` as JSON; answers the HTTP status (never throws on a non-2xx answer). */
export async function postWebhook(url: string, body: unknown, options: WebhookOptions): Promise<{ status: number }> {
  const target = await checkTarget(url, options.allowHosts);
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Tandem-Webhook',
    'x-tandem-timestamp': timestamp,
    ...options.headers,
    ...(options.secret ? { 'x-tandem-signature': signature(options.secret, timestamp, text) } : {}),
  };
  const host = hostOf(target);
  try {
    return await new Promise((resolve, reject) => {
      // node:http follows no redirects: a public URL cannot bounce the request to a private one.
      const request = (target.protocol === 'https:' ? https : http).request(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(text)) },
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
          ...(isAllowed(host, options.allowHosts) ? {} : { lookup: publicOnlyLookup }),
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        },
      );
      request.once('error', reject);
      request.end(text);
    });
  } catch (cause) {
    if (cause instanceof TandemError) throw cause;
    const reason = (cause as { code?: string }).code ?? (cause as Error).name;
    throw new TandemError('UNAVAILABLE', `could not reach ${target.host} (${reason})`, { cause });
  }
}
