// A real OpenID provider for tests (oidc-provider, a certified implementation) in this process, on
// a port the OS chose, with its development login and consent pages; and a browser-less person who
// signs in there by following its redirects and submitting its forms.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error oidc-provider ships no types (DefinitelyTyped's are not installed)
import Provider from 'oidc-provider';

export const CLIENT_ID = 'tandem';
export const CLIENT_SECRET = 'a-client-secret-for-tests-only';
const CALLBACK_PATH = '/tandem/login/oidc/callback';

export type Claims = Record<string, unknown>;

export interface TestProvider {
  issuer: string;
  /** What a person's login (their `sub`) answers with; change it between sign-ins as the provider's admin would. */
  accounts: Map<string, Claims>;
  /** The TANDEM_* variables of a server that signs people in here, `extra` on top. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Accepts a Tandem server's callback from now on (a server's URL is known once it listens). */
  allow(serverUrl: string): void;
  close(): Promise<void>;
}

export async function startOidcProvider(): Promise<TestProvider> {
  const accounts = new Map<string, Claims>();
  const redirectUris = new Set<string>();
  // One key for every rebuild of the provider, so tokens it signed stay verifiable.
  const key = {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: randomUUID(),
    alg: 'RS256',
    use: 'sig',
  };
  let handle = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(503).end('no client registered yet');
  const http = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  const build = () => {
    const provider = new Provider(issuer, {
      clients: [
        { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [...redirectUris], grant_types: ['authorization_code'] },
      ],
      jwks: { keys: [key] },
      cookies: { keys: ['cookie-signing-key-for-tests'] },
      scopes: ['openid', 'profile', 'email', 'groups'],
      claims: {
        profile: ['name', 'given_name', 'family_name', 'preferred_username', 'tandem_admin'],
        email: ['email', 'email_verified'],
        groups: ['groups'],
      },
      features: { devInteractions: { enabled: true } },
      // Set, so that the provider does not print a notice for each default it falls back to.
      ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
      async findAccount(_ctx: unknown, sub: string) {
        if (!accounts.has(sub)) return undefined;
        return { accountId: sub, claims: async () => ({ sub, ...accounts.get(sub) }) };
      },
    });
    handle = provider.callback();
  };

  return {
    issuer,
    accounts,
    env: (extra = {}) => ({
      TANDEM_AUTH: 'oidc',
      TANDEM_OIDC_ISSUER: issuer,
      TANDEM_OIDC_CLIENT_ID: CLIENT_ID,
      TANDEM_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      TANDEM_OIDC_SCOPES: 'openid profile email groups',
      TANDEM_OIDC_NAME: 'Test ID',
      ...extra,
    }),
    allow(serverUrl) {
      redirectUris.add(`${serverUrl}${CALLBACK_PATH}`);
      build();
    },
    async close() {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

/** A browser without JavaScript: its own cookies per origin, redirects followed by hand. */
export class Person {
  private readonly jars = new Map<string, Map<string, string>>();

  /** `name=value` of a cookie this browser holds for `url`'s origin. */
  cookie(url: string, name: string): string | undefined {
    const value = this.jars.get(new URL(url).origin)?.get(name);
    return value === undefined ? undefined : `${name}=${value}`;
  }

  /** One request, redirects not followed; cookies sent and kept. */
  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...(jar.size > 0 ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, at).trim(), pair!.slice(at + 1).trim()];
      const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (gone) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /**
   * From a Tandem URL that starts a sign-in (`/tandem/login/oidc?next=…`) through the provider's
   * login (as `login`) and consent pages, up to the provider's redirect back to Tandem, which is
   * answered without being followed (tests may replay or alter it).
   */
  async signInAtProvider(startUrl: string, login: string): Promise<string> {
    let url = startUrl;
    let res = await this.fetch(url);
    for (let step = 0; step < 20; step++) {
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location')!, url).href;
        if (new URL(url).pathname === CALLBACK_PATH) return url;
        res = await this.fetch(url);
        continue;
      }
      const html = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      if (res.status !== 200 || !action || !prompt) throw new Error(`the provider answered ${res.status} at ${url}: ${html.slice(0, 500)}`);
      url = new URL(action, url).href;
      res = await this.fetch(url, { form: prompt === 'login' ? { prompt, login, password: 'any' } : { prompt } });
    }
    throw new Error(`no redirect back to Tandem after 20 steps (last at ${url})`);
  }
}
