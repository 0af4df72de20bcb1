import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
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
  if (isIP(ip) === 4) return PRIVATE_V4.some((re) => re.test(ip));
  return ip === '::1' || ip === '::' || /^f[cd]/.test(ip) || /^fe[89ab]/.test(ip);
}

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
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (allowHosts.includes('*') || allowHosts.includes(host)) return target;
  const addresses = isIP(host)
    ? [host]
    : await lookup(host, { all: true }).then(
        (found) => found.map((a) => a.address),
        () => [],
      );
  if (addresses.length === 0) throw new TandemError('INVALID_ARGUMENT', `url: cannot resolve ${host}`);
  if (addresses.some(isPrivateAddress) || host === 'localhost')
    throw new TandemError(
      'FORBIDDEN',
      `url: ${host} is a private or loopback address; an admin may allow it with TANDEM_WEBHOOK_ALLOW_HOSTS`,
    );
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
  let res: Response;
  try {
    // No redirects: a public URL must not bounce the request to a private one.
    res = await fetch(target, {
      method: 'POST',
      headers,
      body: text,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    const reason = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).name;
    throw new TandemError('UNAVAILABLE', `could not reach ${target.host} (${reason})`, { cause });
  }
  await res.body?.cancel();
  return { status: res.status };
}
