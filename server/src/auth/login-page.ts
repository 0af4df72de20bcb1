import { createHash } from 'node:crypto';
import type { Response } from 'express';
import type { Config } from '../config.js';
import { escapeHtml } from '../dashboards/sanitize.js';
import { TandemError } from '../errors.js';
import { sendPage } from '../http/html-page.js';

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:12vh auto;max-width:22rem;color:#1f2328;padding:0 1rem}' +
  'label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}' +
  'button{margin-top:1rem;padding:.45rem 1rem;font:inherit}.error{color:#b42318}.who{color:#57606a}' +
  '.sso{display:block;margin:1rem 0;padding:.6rem 1rem;border:1px solid #1f2328;border-radius:6px;color:inherit;text-align:center;text-decoration:none}';

/** No script at all; the one inline style is allowed by its hash, and forms may only post here. */
const CSP =
  `default-src 'none'; script-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  `form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'`;

export const DEFAULT_NEXT = '/tandem/login';

/**
 * Where to go after signing in: only a path on this server under /tandem/, never another site
 * (`//evil.example`, `/\evil.example` and the like are refused).
 */
export function safeNext(next: unknown): string {
  if (next === undefined || next === '') return DEFAULT_NEXT;
  const refused = new TandemError('INVALID_ARGUMENT', 'next: must be a path on this server starting with /tandem/');
  if (typeof next !== 'string' || next.length > 2000 || !next.startsWith('/tandem/') || /[\\\s]/.test(next)) throw refused;
  const url = new URL(next, 'http://this.server');
  if (url.origin !== 'http://this.server' || !url.pathname.startsWith('/tandem/')) throw refused;
  return `${url.pathname}${url.search}${url.hash}`;
}

/** How people may sign in on this server (TANDEM_AUTH). */
export interface SignInMethods {
  password: boolean;
  /** The OpenID provider's name on the button, when single sign-on is configured. */
  oidc?: string;
}

export const signInMethods = (config: Config): SignInMethods => ({ password: config.passwordSignIn, oidc: config.oidc?.name });

export interface LoginPage {
  methods: SignInMethods;
  next: string;
  name?: string;
  error?: string;
  /** Set when a session is open: who it is, and the CSRF token its forms must carry. */
  signedIn?: { name: string; csrfToken: string };
}

export function sendLoginPage(res: Response, status: number, page: LoginPage): void {
  const csrf = page.signedIn ? `<input type="hidden" name="csrf" value="${escapeHtml(page.signedIn.csrfToken)}">` : '';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to Tandem</title><style>${STYLE}</style></head>
<body><h1>Sign in to Tandem</h1>
${
  page.signedIn
    ? `<p class="who">Signed in as <strong>${escapeHtml(page.signedIn.name)}</strong>.</p>
<form method="post" action="/tandem/logout">${csrf}<button type="submit">Sign out</button></form>`
    : ''
}
${page.error ? `<p class="error" role="alert">${escapeHtml(page.error)}</p>` : ''}
${
  // A link, not a form: form-action 'self' would also block the redirect on to the provider.
  page.methods.oidc
    ? `<a class="sso" href="/tandem/login/oidc?next=${escapeHtml(encodeURIComponent(page.next))}">Sign in with ${escapeHtml(page.methods.oidc)}</a>`
    : ''
}
${
  page.methods.password
    ? `<form method="post" action="/tandem/login">${csrf}
<input type="hidden" name="next" value="${escapeHtml(page.next)}">
<label for="name">User name</label><input id="name" name="name" autocomplete="username" required value="${escapeHtml(page.name ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`
    : ''
}
</body></html>`;
  sendPage(res, status, CSP, html);
}
