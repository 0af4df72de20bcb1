import { serialize } from 'cookie';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { AppContext, Feature } from '../context.js';
import { TandemError } from '../errors.js';
import { callerFor, route } from '../http/route.js';
import { DEFAULT_NEXT, safeNext, sendLoginPage, signInMethods } from './login-page.js';
import { MAX_PASSWORD_LENGTH } from './passwords.js';
import { meOf, SESSION_COOKIE, sessionsService } from './sessions.service.js';

const tags = ['auth'];
const signInBody = z.object({ name: z.string().min(1).max(200), password: z.string().min(1).max(MAX_PASSWORD_LENGTH) });
const password = z.string().max(MAX_PASSWORD_LENGTH);

/** Password sign-in for people: session API, password changes, and the /tandem/login page. */
export function sessionsFeature(ctx: AppContext): Feature {
  const sessions = ctx.shared(sessionsService);
  const { config, openapi } = ctx;
  const methods = signInMethods(config);
  const api = Router();
  const pages = Router();

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/sessions',
      auth: 'public',
      summary: 'Sign in with a password: sets the HttpOnly session cookie and answers the CSRF token its writes must send',
      tags,
      status: 201,
      body: signInBody,
    },
    async ({ body, req, res }) => {
      checkOrigin(req, config, true);
      const { sessionId, csrfToken, user } = await sessions.signIn(body.name, body.password, address(req));
      setSessionCookie(res, config, sessionId);
      return { user, csrfToken };
    },
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/sessions/current', auth: 'user', summary: 'The signed-in user and the session’s CSRF token', tags },
    async ({ caller, req }) => {
      if (!req.session) throw new TandemError('UNAUTHENTICATED', 'not signed in: no session cookie (API tokens have no session)');
      return { user: meOf(caller), csrfToken: req.session.csrfToken };
    },
  );

  route(
    api,
    openapi,
    { method: 'delete', path: '/sessions/current', auth: 'public', summary: 'Sign out: the session ends on the server too', tags },
    async ({ caller, req, res }) => {
      if (caller && req.session) await sessions.signOut(caller, req.session.idHash);
      clearSessionCookie(res, config);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/users/:userId/password',
      auth: 'admin',
      summary: 'Set or reset a user’s password (admins only): lifts a lockout and ends the user’s sessions',
      tags,
      params: z.object({ userId: z.string().min(1).max(100) }),
      body: z.object({ password }),
    },
    async ({ caller, params, body, req }) => {
      await sessions.setPassword(caller, params.userId, body.password, req.session?.idHash);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/me/password',
      auth: 'user',
      summary: 'Change the caller’s password; their other sessions end',
      tags,
      body: z.object({ current: password, password }),
    },
    async ({ caller, body, req }) => {
      await sessions.changePassword(caller, body.current, body.password, address(req), req.session?.idHash);
    },
  );

  pages.get('/tandem/login', (req, res) => {
    callerFor('public', req.principal);
    const signedIn = signedInAs(req);
    let next = DEFAULT_NEXT;
    try {
      next = safeNext(req.query.next);
    } catch (error) {
      sendLoginPage(res, 400, { methods, next, signedIn, error: (error as Error).message });
      return;
    }
    sendLoginPage(res, 200, { methods, next, signedIn });
  });

  pages.post('/tandem/login', async (req, res) => {
    callerFor('public', req.principal);
    const form = (req.body ?? {}) as Record<string, unknown>;
    const name = typeof form.name === 'string' ? form.name : '';
    let next = DEFAULT_NEXT;
    try {
      next = safeNext(form.next);
      // Login CSRF: another site must not sign the browser in as someone else.
      checkOrigin(req, config, false);
      const body = signInBody.safeParse(form);
      if (!body.success) throw new TandemError('INVALID_ARGUMENT', 'enter a user name and a password');
      const { sessionId } = await sessions.signIn(body.data.name, body.data.password, address(req));
      setSessionCookie(res, config, sessionId);
      res.redirect(303, next);
    } catch (error) {
      if (!(error instanceof TandemError) || error.code === 'INTERNAL') throw error;
      const retryAfter = (error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
      if (retryAfter) res.setHeader('Retry-After', String(retryAfter));
      sendLoginPage(res, error.status, { methods, next, name, error: error.message, signedIn: signedInAs(req) });
    }
  });

  // The middleware has checked the form's CSRF token against the session before this runs.
  pages.post('/tandem/logout', async (req, res) => {
    if (req.principal && req.session) await sessions.signOut(req.principal, req.session.idHash);
    clearSessionCookie(res, config);
    res.redirect(303, DEFAULT_NEXT);
  });

  return { name: 'sessions', api, pages };
}

export function signedInAs(req: Request): { name: string; csrfToken: string } | undefined {
  return req.principal && req.session ? { name: req.principal.name, csrfToken: req.session.csrfToken } : undefined;
}

/** The client's address for rate limits (behind a local proxy, the one it forwarded). */
export const address = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/**
 * Refuses sign-ins that a page of another site started (browsers always send Origin then).
 * Clients without Origin (scripts) pass. The API also admits the CORS-allowed origins.
 */
function checkOrigin(req: Request, config: Config, allowCors: boolean): void {
  const origin = req.headers.origin;
  if (!origin) return;
  if (allowCors && (config.allowedOrigins === '*' || config.allowedOrigins.includes(origin))) return;
  const own = [config.publicUrl && new URL(config.publicUrl).origin, `${req.protocol}://${req.headers.host}`];
  if (!own.includes(origin)) throw new TandemError('FORBIDDEN', `sign-in from another site (${origin}) is refused`);
}

export const secure = (config: Config) => config.publicUrl?.startsWith('https:') ?? false;

export function setSessionCookie(res: Response, config: Config, sessionId: string): void {
  res.append(
    'Set-Cookie',
    serialize(SESSION_COOKIE, sessionId, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: secure(config),
      maxAge: Math.floor(config.sessionMaxMs / 1000),
    }),
  );
}

function clearSessionCookie(res: Response, config: Config): void {
  res.append(
    'Set-Cookie',
    serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: '/', secure: secure(config), maxAge: 0 }),
  );
}
