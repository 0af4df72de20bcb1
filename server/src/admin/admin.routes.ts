import { Router } from 'express';
import { z } from 'zod';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { route } from '../http/route.js';
import { adminPages } from './admin.page.js';
import { AuditStore } from './audit.store.js';

const tags = ['admin'];
const time = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time with a zone, e.g. 2025-01-31T09:00:00Z' });

const auditQuery = pageQuery(
  {},
  {
    who: z.string().min(1).max(200).optional(),
    action: z
      .string()
      .max(100)
      .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, 'expected a dotted action name, e.g. user.create')
      .optional(),
    resourceType: z
      .string()
      .max(50)
      .regex(/^[a-z][a-z0-9_]*$/, 'expected a resource type, e.g. user or model')
      .optional(),
    resourceId: z.string().min(1).max(200).optional(),
    from: time.optional(),
    to: time.optional(),
  },
).refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { path: ['to'], message: 'must be after query.from' });

/** The admin page at /tandem/admin, the audit log reader, and the account lists the page shows. */
export async function adminFeature(ctx: AppContext): Promise<Feature> {
  const { auth, openapi } = ctx;
  const store = new AuditStore(ctx.db);
  const api = Router();

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/audit',
      auth: 'admin',
      summary: 'The audit log, newest first, filtered by who (user id or name), action, resource and time (admins only)',
      tags,
      query: auditQuery,
    },
    async ({ query: { limit, offset, ...filter } }) => store.list(filter, { limit, offset }),
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/audit/facets', auth: 'admin', summary: 'The actions and resource types in the audit log (admins only)', tags },
    () => store.facets(),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/admin/users',
      auth: 'admin',
      summary: 'Every account with its state, by name; q matches names (admins only)',
      tags,
      query: pageQuery({}, { q: z.string().max(100).default('') }),
    },
    ({ query: { q, ...page } }) => auth.listUsers(q, page),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/admin/teams',
      auth: 'admin',
      summary: 'Every team with its members, by name (admins only)',
      tags,
      query: pageQuery(),
    },
    ({ query }) => auth.listTeams(query),
  );

  return { name: 'admin', api, pages: await adminPages() };
}
