import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { TandemError } from '../errors.js';
import type { DashboardsService } from './dashboards.service.js';
import type { PdfPrinter } from './pdf.js';
import { renderPage, type PageModel } from './render.js';
import { escapeHtml } from './sanitize.js';

const COOKIE = 'tandem_dashboard_token';
// Outputs were sanitized; this policy is the second wall: the page's own nonce'd script is the
// only one that may run, nothing loads from elsewhere, and the page cannot be a form target.
const csp = (nonce: string) =>
  `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}' 'unsafe-inline'; img-src data:; connect-src 'self'; ` +
  `base-uri 'none'; form-action 'none'; frame-src 'none'; object-src 'none'`;
// Rendered pages are cached per immutable version with this stand-in for the per-response nonce;
// it is random per process, so no output can know it.
const NONCE_SLOT = `nonce-slot-${randomBytes(12).toString('hex')}`;
const CACHE_SIZE = 200;

/** GET /tandem/d/:slug (page), /pdf (export) and /state (what live pages poll). */
export function dashboardPages(dashboards: DashboardsService, auth: AuthStore, printer: PdfPrinter): Router {
  const pages = Router();
  const cache = new Map<string, string>();

  /** Signed-in viewers may arrive with ?token= once; it moves into an HttpOnly cookie scoped to dashboards. */
  async function viewer(req: Request): Promise<Principal | undefined> {
    if (req.principal) return req.principal;
    const token = cookie(req, COOKIE);
    return token ? auth.authenticate(token) : undefined;
  }

  async function load(req: Request) {
    const key = typeof req.query.key === 'string' ? req.query.key : undefined;
    const { row, role } = await dashboards.forPage(String(req.params.slug), await viewer(req), key);
    const asked = typeof req.query.version === 'string' ? Number(req.query.version) : undefined;
    if (asked !== undefined && (!Number.isInteger(asked) || !atLeast(role, 'editor'))) {
      throw new TandemError(Number.isInteger(asked) ? 'FORBIDDEN' : 'INVALID_ARGUMENT', Number.isInteger(asked) ? 'only editors can open earlier versions' : 'version: expected a version number');
    }
    const version = await dashboards.content(row, asked);
    const linkQuery = key ? `?key=${encodeURIComponent(key)}` : '';
    const model: PageModel = { slug: row.slug, title: version.title, description: version.description, version: version.number, refreshedAt: new Date(version.createdAt), content: version.content, linkQuery, live: row.schedule !== null };
    return { row, model };
  }

  pages.get('/tandem/d/:slug', async (req, res) => {
    try {
      if (typeof req.query.token === 'string' && req.principal) {
        res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(req.query.token)}; Path=/tandem/d; HttpOnly; SameSite=Lax`);
        const rest = new URLSearchParams(req.query as Record<string, string>);
        rest.delete('token');
        res.redirect(303, `${req.path}${rest.size ? `?${rest}` : ''}`);
        return;
      }
      const { row, model } = await load(req);
      const cacheKey = `${row.id}:${model.version}:${model.live}:${model.linkQuery}`;
      let html = cache.get(cacheKey);
      if (!html) {
        html = renderPage(model, NONCE_SLOT);
        if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
        cache.set(cacheKey, html);
      }
      const nonce = randomBytes(16).toString('base64');
      securityHeaders(res, nonce);
      res.type('html').send(html.replaceAll(NONCE_SLOT, nonce));
    } catch (error) {
      errorPage(res, error);
    }
  });

  pages.get('/tandem/d/:slug/state', async (req, res) => {
    try {
      const { model } = await load(req);
      res.setHeader('Cache-Control', 'no-store');
      res.json({ version: model.version, refreshedAt: model.refreshedAt });
    } catch (error) {
      const e = asTandemError(error);
      res.status(e.status).json({ error: e.toJSON() });
    }
  });

  pages.get('/tandem/d/:slug/pdf', async (req, res) => {
    try {
      const { row, model } = await load(req);
      const pdf = await printer.print(renderPage({ ...model, print: true, live: false }, randomBytes(16).toString('base64')));
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Content-Disposition', `attachment; filename="${row.slug}-v${model.version}.pdf"`);
      res.setHeader('Cache-Control', 'private, no-store');
      res.send(pdf);
    } catch (error) {
      errorPage(res, error);
    }
  });

  return pages;
}

function securityHeaders(res: Response, nonce: string): void {
  res.setHeader('Content-Security-Policy', csp(nonce));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Share-link keys travel in the URL: never pass them on to sites that outputs link to.
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'private, no-cache');
}

function asTandemError(error: unknown): TandemError {
  return error instanceof TandemError ? error : new TandemError('INTERNAL', 'internal server error', { cause: error });
}

/** Browsers get a readable page rather than JSON. */
function errorPage(res: Response, error: unknown): void {
  const e = asTandemError(error);
  if (e.code === 'INTERNAL') throw error;
  const nonce = randomBytes(16).toString('base64');
  securityHeaders(res, nonce);
  const heading = e.code === 'UNAUTHENTICATED' ? 'Sign in to view this dashboard' : e.code === 'NOT_FOUND' ? 'Dashboard not found' : 'Cannot show this dashboard';
  res
    .status(e.status)
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title><style nonce="${nonce}">body{font-family:system-ui,sans-serif;margin:15vh auto;max-width:36rem;color:#1f2328}</style></head>` +
        `<body><h1>${heading}</h1><p>${escapeHtml(e.message)}</p></body></html>`,
    );
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
