import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { AppContext, Feature } from '../context.js';
import { escapeHtml } from '../dashboards/sanitize.js';
import { TandemError } from '../errors.js';
import { sendPage } from '../http/html-page.js';
import { callerFor, route } from '../http/route.js';
import { meOf, sessionsService } from './sessions.service.js';
import { address, setSessionCookie } from './sessions.routes.js';
import { sameSecret } from './tokens.js';

const tags = ['auth'];
/** server.ts makes this user on first start; in single-person mode it is the local person. */
const LOCAL_USER = 'admin';
const SIGN_IN_KEY_FILE = 'sign-in-key';
const SIGNED_IN_PATH = '/tandem/login/done';

/**
 * How JupyterLab acts as the signed-in person: kernel tokens minted by a browser session, the
 * single-person sign-in key that `npm start` hands to JupyterLab, and the page a sign-in popup
 * ends on.
 */
export async function sessionTokensFeature(ctx: AppContext): Promise<Feature> {
  const { auth, config, openapi } = ctx;
  const sessions = ctx.shared(sessionsService);
  const signInKey = config.singlePerson ? await ensureSignInKey(config) : undefined;
  const api = Router();
  const pages = Router();

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/sessions/current/tokens',
      auth: 'user',
      summary:
        'Mint a kernel token for the signed-in person (session cookie and CSRF token only): it works while the session does, never on admin routes, and mints nothing',
      tags,
      status: 201,
      body: z.object({ name: z.string().min(1).max(100).optional() }).default({}),
    },
    async ({ caller, req, body }) => {
      // Only the browser's own session: a token (even a kernel's) cannot extend itself this way.
      if (!req.session || caller.tokenKind !== 'user') {
        throw new TandemError(
          'FORBIDDEN',
          'kernel tokens are minted by a signed-in browser session (the session cookie), not by API tokens',
        );
      }
      const { id, token, expiresAt } = await auth.createKernelToken(caller, req.session.idHash, body.name ?? 'kernel');
      return { id, token, expiresAt: expiresAt.toISOString() };
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/sessions/key',
      auth: 'public',
      summary: 'Single-person mode only (no TANDEM_AUTH): the sign-in key in TANDEM_HOME starts a session for the local user',
      tags,
      status: 201,
      body: z.object({ key: z.string().min(1).max(200) }),
    },
    async ({ body, req, res }) => {
      if (!signInKey) {
        throw new TandemError(
          'FORBIDDEN',
          'sign-in keys work only in single-person mode; this server has TANDEM_AUTH set: sign in at /tandem/login',
        );
      }
      if (!sameSecret(body.key, signInKey)) throw new TandemError('UNAUTHENTICATED', 'wrong sign-in key');
      const local = await auth.findUserByName(LOCAL_USER);
      const principal = local && (await auth.principalOf(local.id));
      if (!principal) throw new TandemError('FORBIDDEN', `the local user (${LOCAL_USER}) is missing or deactivated`);
      const { sessionId, csrfToken, user } = await sessions.startSession(principal, { address: address(req), method: 'sign-in key' });
      setSessionCookie(res, config, sessionId);
      return { user, csrfToken };
    },
  );

  // Where a sign-in popup ends (`/tandem/login?next=/tandem/login/done`); its opener polls the session.
  pages.get(SIGNED_IN_PATH, (req, res) => {
    callerFor('public', req.principal);
    const me = req.principal && req.session ? meOf(req.principal) : undefined;
    sendSignedInPage(
      res,
      me
        ? `<p>Signed in as <strong>${escapeHtml(me.displayName)}</strong> (${escapeHtml(me.name)}). You can close this window.</p>`
        : `<p>You are not signed in. <a href="/tandem/login?next=${encodeURIComponent(SIGNED_IN_PATH)}">Sign in</a></p>`,
    );
  });

  return { name: 'session-tokens', api, pages };
}

/**
 * The key in `<home>/sign-in-key` (mode 0600), made on first start. Whoever can read it, or load
 * the JupyterLab pages `npm start` hands it to, can sign in as the local user: it is no API token,
 * so it never reaches kernels, and other OS users cannot read it.
 */
async function ensureSignInKey(config: Config): Promise<string> {
  const file = path.join(config.home, SIGN_IN_KEY_FILE);
  const fresh = randomBytes(32).toString('base64url');
  try {
    await writeFile(file, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const kept = (await readFile(file, 'utf8')).trim();
    if (!kept) throw new TandemError('INTERNAL', `${file} is empty: delete it and restart`);
    return kept;
  }
}

/** No style and no script: nothing to allow. */
function sendSignedInPage(res: Response, body: string): void {
  sendPage(
    res,
    200,
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Tandem</title></head>\n<body><h1>Tandem</h1>\n${body}\n</body></html>`,
  );
}
