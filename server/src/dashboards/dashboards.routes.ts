import { Router } from 'express';
import { z } from 'zod';
import { grantRoutes } from '../auth/grants.routes.js';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { route } from '../http/route.js';
import { cellChoice, notebookSchema } from './content.js';
import { createDashboardRefresh } from './dashboards.refresh.js';
import { createDashboardsService } from './dashboards.service.js';
import { dashboardPages } from './pages.js';
import { PdfPrinter } from './pdf.js';
import { templateRoutes } from './templates.js';

const tags = ['dashboards'];
export const SLUG = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and - (max 63)');
const slugParams = z.object({ slug: SLUG });
const selection = z.array(cellChoice).max(10_000).optional();
const cron = z.string().max(200).nullable();
const timezone = z.string().min(1).max(64).optional();
const publishBody = z.object({
  title: z.string().trim().min(1, 'must not be empty').max(200),
  description: z.string().max(20_000).optional(),
  notebook: notebookSchema,
  selection,
  /** Checked before anything is written; absent leaves the schedule as it was. */
  schedule: z.object({ cron, timezone }).optional(),
});

/** How often due refresh schedules are looked for; cron has minute resolution. */
const TICK_MS = 30_000;

/** Published dashboards (API under /tandem/api/dashboards, pages under /tandem/d) and the notebook templates they start from. */
export function dashboardsFeature(ctx: AppContext): Feature {
  const dashboards = createDashboardsService(ctx);
  const refresh = createDashboardRefresh(ctx, dashboards);
  const printer = new PdfPrinter();
  const api = Router();
  const { openapi } = ctx;

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/dashboards',
      auth: 'user',
      summary: 'Dashboards the caller can see, recently updated first',
      tags,
      query: pageQuery(),
    },
    async ({ caller, query }) => ({
      items: await dashboards.list(caller, query),
    }),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/dashboards',
      auth: 'user',
      summary:
        'Publish a notebook as a new dashboard (chosen cells; code hidden unless chosen), optionally with its refresh schedule; everything is checked before anything is written; the caller owns it',
      tags,
      status: 201,
      body: publishBody.extend({ slug: SLUG.optional(), notebookPath: z.string().max(1000).optional() }),
    },
    async ({ caller, body }) => refresh.publishWithSchedule(caller, body, () => dashboards.create(caller, body)),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/dashboards/:slug',
      auth: 'user',
      summary: 'A dashboard, the caller’s role and (editors) its schedule and last run',
      tags,
      params: slugParams,
    },
    async ({ caller, params }) => dashboards.get(caller, params.slug),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/dashboards/:slug',
      auth: 'user',
      summary: 'Delete a dashboard and all its versions (owners)',
      tags,
      params: slugParams,
    },
    async ({ caller, params }) => {
      await dashboards.delete(caller, params.slug);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/dashboards/:slug/versions',
      auth: 'user',
      summary: 'Republish: add a version and make it current, optionally changing the refresh schedule (checked first) (editors)',
      tags,
      status: 201,
      params: slugParams,
      body: publishBody,
    },
    async ({ caller, params, body }) => refresh.publishWithSchedule(caller, body, () => dashboards.publish(caller, params.slug, body)),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/dashboards/:slug/versions',
      auth: 'user',
      summary: 'Published versions, newest first (editors)',
      tags,
      params: slugParams,
    },
    async ({ caller, params }) => ({
      versions: await dashboards.versions(caller, params.slug),
    }),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/dashboards/:slug/revert',
      auth: 'user',
      summary: 'Make an older version current again (editors)',
      tags,
      params: slugParams,
      body: z.object({
        version: z
          .number()
          .int()
          .min(1)
          .max(2 ** 31 - 1),
      }),
    },
    async ({ caller, params, body }) => dashboards.revert(caller, params.slug, body.version),
  );

  grantRoutes(api, openapi, {
    path: '/dashboards/:slug',
    params: slugParams,
    tags,
    noun: 'dashboard',
    list: (who, params) => dashboards.listGrants(who, params.slug),
    share: (who, params, to, role) => dashboards.share(who, params.slug, to, role),
  });

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/dashboards/:slug/link',
      auth: 'user',
      summary: 'Create a secret view link, replacing the previous one (owners)',
      tags,
      status: 201,
      params: slugParams,
    },
    async ({ caller, params }) => dashboards.createLink(caller, params.slug),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/dashboards/:slug/link',
      auth: 'user',
      summary: 'Revoke the secret view link (owners)',
      tags,
      params: slugParams,
    },
    async ({ caller, params }) => {
      await dashboards.deleteLink(caller, params.slug);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/dashboards/:slug/schedule',
      auth: 'user',
      summary:
        'Refresh on a cron schedule (fields on the wall clock of `timezone`, an IANA name; default UTC) by re-running the notebook headless; cron null stops it (editors)',
      tags,
      params: slugParams,
      body: z.object({
        cron,
        timezone,
        notebook: notebookSchema.optional(),
        selection,
      }),
    },
    async ({ caller, params, body }) => refresh.setSchedule(caller, params.slug, body),
  );

  route(
    api,
    openapi,
    {
      method: 'put',
      path: '/dashboards/:slug/live',
      auth: 'user',
      summary: 'Follow a shared notebook’s outputs live (chosen cells); notebookId null stops (editors; needs read access to the notebook)',
      tags,
      params: slugParams,
      body: z.object({ notebookId: z.string().min(1).max(64).nullable(), selection }),
    },
    async ({ caller, params, body }) => refresh.setLive(caller, params.slug, body),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/dashboards/:slug/refresh',
      auth: 'user',
      summary: 'Refresh now; follow lastRun for the outcome (editors)',
      tags,
      status: 202,
      params: slugParams,
    },
    async ({ caller, params }) => refresh.refreshNow(caller, params.slug),
  );

  templateRoutes(api, openapi);

  refresh.start();
  const tick = setInterval(() => {
    refresh.runDue().catch((error: unknown) => ctx.log.warn('looking for due dashboard refreshes failed', { error: String(error) }));
  }, TICK_MS).unref();

  return {
    name: 'dashboards',
    api,
    pages: dashboardPages(dashboards, refresh, ctx.auth, printer),
    async close() {
      clearInterval(tick);
      refresh.close();
      await printer.close();
    },
  };
}
