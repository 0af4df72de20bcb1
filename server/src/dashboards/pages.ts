import { parse as parseCookies } from 'cookie';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { Router, type Request, type Response } from 'express';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { callerFor } from '../http/route.js';
import { TandemError } from '../errors.js';
import type { DashboardRefresh } from './dashboards.refresh.js';
import type { DashboardsService } from './dashboards.service.js';
import type { DashboardRow } from './dashboards.store.js';
import type { DashboardContent } from './content.js';
import type { PdfPrinter } from './pdf.js';
import { pageCsp, renderPage, tableRows, type PageModel } from './render.js';
import { escapeHtml } from './sanitize.js';

const gzip = promisify(gzipCallback);
const COOKIE = 'tandem_dashboard_token';
const CACHE_SIZE = 100;

interface CachedPage {
  html: Buffer;
  gzipped: Buffer;
  csp: string;
  etag: string;
}

interface Resolved {
  row: DashboardRow;
  version: number;
  linkQuery: string;
  /** Live mode: the shared notebook's outputs right now. */
  live?: { content: DashboardContent; token: string };
}

/** GET /tandem/d/:slug (page), /pdf (export) and /state (what live pages poll). */
export function dashboardPages(dashboards: DashboardsService, refresh: DashboardRefresh, auth: AuthStore, printer: PdfPrinter): Router {
  const pages = Router();
  // Versions are immutable, so a rendered page (sanitized, compressed) is reused until evicted.
  const cache = new Map<string, Promise<CachedPage>>();

  /** Signed-in viewers may arrive with ?token= once; it moves into an HttpOnly cookie scoped to dashboards. */
  async function viewer(req: Request): Promise<Principal | undefined> {
    const token = req.principal ? undefined : cookie(req, COOKIE);
    // Pages are public routes: a worker token is refused here as on every route outside the worker API.
    return callerFor('public', req.principal ?? (token ? await auth.authenticate(token) : undefined));
  }

  async function resolve(req: Request): Promise<Resolved> {
    const key = typeof req.query.key === 'string' ? req.query.key : undefined;
    const { row, role } = await dashboards.forPage(String(req.params.slug), await viewer(req), key);
    const asked = typeof req.query.version === 'string' ? Number(req.query.version) : undefined;
    if (asked !== undefined && !(Number.isInteger(asked) && asked >= 1 && asked <= MAX_VERSION))
      throw new TandemError('INVALID_ARGUMENT', 'version: expected a version number');
    if (asked !== undefined && !atLeast(role, 'editor')) throw new TandemError('FORBIDDEN', 'only editors can open earlier versions');
    const live = row.liveNotebookId && asked === undefined ? await refresh.liveContent(row) : undefined;
    return { row, version: asked ?? row.currentVersion ?? 0, linkQuery: key ? `?key=${encodeURIComponent(key)}` : '', live };
  }

  const stateToken = ({ version, live }: Resolved) => live?.token ?? String(version);

  async function model(resolved: Resolved): Promise<PageModel> {
    const { row, version, linkQuery, live } = resolved;
    const v = await dashboards.content(row, version);
    return {
      slug: row.slug,
      title: v.title,
      description: v.description,
      version: v.number,
      refreshedAt: live ? new Date() : new Date(v.createdAt),
      content: live?.content ?? v.content,
      linkQuery,
      live: row.schedule !== null || live !== undefined,
      stateToken: stateToken(resolved),
    };
  }

  async function render(resolved: Resolved): Promise<CachedPage> {
    const { html, csp } = renderPage(await model(resolved));
    const bytes = Buffer.from(html);
    return {
      html: bytes,
      gzipped: await gzip(bytes),
      csp,
      etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`,
    };
  }

  pages.get('/tandem/d/:slug', async (req, res) => {
    try {
      if (typeof req.query.token === 'string' && callerFor('public', req.principal)) {
        res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(req.query.token)}; Path=/tandem/d; HttpOnly; SameSite=Lax`);
        const rest = new URLSearchParams(req.query as Record<string, string>);
        rest.delete('token');
        res.redirect(303, `${req.path}${rest.size ? `?${rest}` : ''}`);
        return;
      }
      const resolved = await resolve(req);
      const cacheKey = `${resolved.row.id}:${stateToken(resolved)}:${resolved.row.schedule !== null}:${resolved.linkQuery}`;
      let page = cache.get(cacheKey);
      if (!page) {
        if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
        page = render(resolved);
        cache.set(cacheKey, page);
        page.catch(() => cache.delete(cacheKey));
      }
      const { html, gzipped, csp, etag } = await page;
      securityHeaders(res, csp);
      res.setHeader('ETag', etag);
      res.setHeader('Vary', 'Accept-Encoding, Cookie, Authorization');
      if (req.headers['if-none-match'] === etag) {
        res.status(304).end();
        return;
      }
      res.type('html');
      if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        res.setHeader('Content-Encoding', 'gzip');
        res.end(gzipped);
      } else res.end(html);
    } catch (error) {
      errorPage(req, res, error);
    }
  });

  /** Small JSON answers the page's script fetches; errors stay JSON for it to show. */
  const json = (path: string, answer: (resolved: Resolved, req: Request) => Promise<unknown>) =>
    pages.get(path, async (req, res) => {
      try {
        const body = await answer(await resolve(req), req);
        res.setHeader('Cache-Control', 'private, no-cache');
        res.json(body);
      } catch (error) {
        const e = asTandemError(error);
        res.status(e.status).json({ error: e.toJSON() });
      }
    });

  json('/tandem/d/:slug/state', async (resolved) => ({ version: stateToken(resolved) }));

  json('/tandem/d/:slug/tables/:index', async (resolved, req) => {
    const content = resolved.live?.content ?? (await dashboards.content(resolved.row, resolved.version)).content;
    const rows = tableRows(content, Number(req.params.index));
    if (!rows) throw new TandemError('NOT_FOUND', `dashboard ${resolved.row.slug} has no table ${req.params.index}`);
    return rows;
  });

  pages.get('/tandem/d/:slug/pdf', async (req, res) => {
    try {
      const resolved = await resolve(req);
      const page = await model(resolved);
      const pdf = await printer.print(renderPage({ ...page, print: true, live: false }).html);
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Content-Disposition', `attachment; filename="${resolved.row.slug}-v${page.version}.pdf"`);
      res.setHeader('Cache-Control', 'private, no-store');
      res.send(pdf);
    } catch (error) {
      errorPage(req, res, error);
    }
  });

  return pages;
}

function securityHeaders(res: Response, csp: string): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // frame-ancestors 'none' in the CSP, for browsers that only know the older header.
  res.setHeader('X-Frame-Options', 'DENY');
  // Share-link keys travel in the URL: never pass them on to sites that outputs link to.
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'private, no-cache');
}

function asTandemError(error: unknown): TandemError {
  return error instanceof TandemError ? error : new TandemError('INTERNAL', 'internal server error', { cause: error });
}

/** Browsers get a readable page rather than JSON; anonymous viewers a link to sign in and come back. */
function errorPage(req: Request, res: Response, error: unknown): void {
  const e = asTandemError(error);
  if (e.code === 'INTERNAL') throw error;
  securityHeaders(res, pageCsp());
  const heading =
    e.code === 'UNAUTHENTICATED'
      ? 'Sign in to view this dashboard'
      : e.code === 'NOT_FOUND'
        ? 'Dashboard not found'
        : 'Cannot show this dashboard';
  res
    .status(e.status)
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${heading}</title><style>body{font-family:system-ui,sans-serif;margin:15vh auto;max-width:36rem;color:#1f2328}</style></head>` +
        `<body><h1>${heading}</h1><p>${escapeHtml(e.message)}</p>` +
        (e.code === 'UNAUTHENTICATED'
          ? `<p><a href="/tandem/login?next=${escapeHtml(encodeURIComponent(req.originalUrl))}">Sign in</a></p>`
          : '') +
        `</body></html>`,
    );
}

const MAX_VERSION = 2 ** 31 - 1;

/** A malformed Cookie header (bad %-escapes, no `=`) yields nothing rather than an error. */
function cookie(req: Request, name: string): string | undefined {
  return parseCookies(req.headers.cookie ?? '')[name];
}
