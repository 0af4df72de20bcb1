import { parse as parseCookies, serialize } from 'cookie';
import { Router, type Request, type Response } from 'express';
import type { Config } from '../config.js';
import type { AppContext, Feature } from '../context.js';
import { TandemError } from '../errors.js';
import { callerFor } from '../http/route.js';
import { DEFAULT_NEXT, safeNext, sendLoginPage, signInMethods } from './login-page.js';
import { OidcService, PENDING_MS } from './oidc.service.js';
import { sessionsService } from './sessions.service.js';
import { address, secure, setSessionCookie, signedInAs } from './sessions.routes.js';

const START_PATH = '/tandem/login/oidc';
const CALLBACK_PATH = '/tandem/login/oidc/callback';
/** Holds the state of the sign-in this browser started; only the two paths above receive it. */
const STATE_COOKIE = 'tandem_oidc';

/** Single sign-on pages: `/tandem/login/oidc` sends the browser to the provider, its callback signs the person in. */
export function oidcFeature(ctx: AppContext): Feature {
  const { config } = ctx;
  if (!config.oidc) return { name: 'oidc' };
  const oidc = new OidcService(ctx, config.oidc, ctx.shared(sessionsService));
  const methods = signInMethods(config);
  const pages = Router();

  /** Shows a refusal on the sign-in page, whose button starts again; unexpected errors stay 500s. */
  const refuse = (req: Request, res: Response, error: unknown, next = DEFAULT_NEXT) => {
    if (!(error instanceof TandemError) || error.code === 'INTERNAL') throw error;
    const retryAfter = (error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
    if (retryAfter) res.setHeader('Retry-After', String(retryAfter));
    sendLoginPage(res, error.status, { methods, next, error: error.message, signedIn: signedInAs(req) });
  };

  pages.get(START_PATH, async (req, res) => {
    callerFor('public', req.principal);
    let next = DEFAULT_NEXT;
    try {
      next = safeNext(req.query.next);
      const redirectUri = new URL(CALLBACK_PATH, config.publicUrl ?? `${req.protocol}://${req.get('host')}`).href;
      const { url, state } = await oidc.start(next, redirectUri, address(req));
      setStateCookie(res, config, state, Math.floor(PENDING_MS / 1000));
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, url);
    } catch (error) {
      refuse(req, res, error, next);
    }
  });

  pages.get(CALLBACK_PATH, async (req, res) => {
    callerFor('public', req.principal);
    // Used or not, the state is spent: a second use of this answer must fail.
    setStateCookie(res, config, '', 0);
    try {
      const answer = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
      const cookie = parseCookies(req.headers.cookie ?? '')[STATE_COOKIE];
      const { sessionId, next } = await oidc.finish(cookie, answer, address(req));
      setSessionCookie(res, config, sessionId);
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, next);
    } catch (error) {
      refuse(req, res, error);
    }
  });

  return { name: 'oidc', pages };
}

function setStateCookie(res: Response, config: Config, value: string, maxAge: number): void {
  res.append(
    'Set-Cookie',
    serialize(STATE_COOKIE, value, { httpOnly: true, sameSite: 'lax', path: START_PATH, secure: secure(config), maxAge }),
  );
}
