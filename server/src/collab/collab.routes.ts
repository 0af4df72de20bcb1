import { Router } from 'express';
import { z } from 'zod';
import { grantRoutes } from '../auth/grants.routes.js';
import { sessionsService } from '../auth/sessions.service.js';
import type { AppContext, Feature } from '../context.js';
import { route } from '../http/route.js';
import { collabMetrics } from './collab.metrics.js';
import { CollabService } from './collab.service.js';
import { CollabStore } from './collab.store.js';
import { ipynbSchema } from './ipynb.js';
import { Rooms } from './rooms.js';

const tags = ['notebooks'];
const NAME = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'at most 200 characters')
  .refine((n) => !/[/\\]/.test(n), 'must not contain / or \\');
const notebookParams = z.object({ id: z.uuid('must be a notebook id (uuid)') });
const versionParams = notebookParams.extend({ versionId: z.uuid('must be a version id (uuid)') });

/**
 * Shared notebooks: REST for lifecycle, sharing, .ipynb import/export and versions, and the
 * y-websocket rooms at /tandem/collab/:id where their content is edited.
 */
export async function collabFeature(ctx: AppContext): Promise<Feature> {
  const store = new CollabStore(ctx.db);
  // The gauges read the rooms only when /metrics is scraped, after they exist.
  const observer = collabMetrics(ctx.metrics.registry, () => rooms.counts());
  const rooms = new Rooms(
    store,
    ctx.auth,
    ctx.permissions,
    ctx.log,
    observer,
    ctx.config.maxBodyBytes,
    ctx.shared(sessionsService),
    ctx.config,
  );
  const notebooks = new CollabService(store, rooms, ctx.permissions, ctx.auth, ctx.events);
  const stopWatchingAccess = await rooms.watchAccess();
  const api = Router();
  const { openapi } = ctx;

  route(
    api,
    openapi,
    { method: 'get', path: '/notebooks', auth: 'user', summary: 'Shared notebooks the caller can see, with their role', tags },
    async ({ caller }) => ({
      notebooks: await notebooks.list(caller),
    }),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/notebooks',
      auth: 'user',
      summary: 'Create a shared notebook, empty or from .ipynb content (import); the caller owns it',
      tags,
      status: 201,
      body: z.object({ name: NAME, content: ipynbSchema.optional() }),
    },
    async ({ caller, body }) => notebooks.create(caller, body.name, body.content),
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/notebooks/:id', auth: 'user', summary: 'One notebook and the caller’s role', tags, params: notebookParams },
    async ({ caller, params }) => notebooks.get(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'patch',
      path: '/notebooks/:id',
      auth: 'user',
      summary: 'Rename (editors)',
      tags,
      params: notebookParams,
      body: z.object({ name: NAME }),
    },
    async ({ caller, params, body }) => notebooks.rename(caller, params.id, body.name),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/notebooks/:id',
      auth: 'user',
      summary: 'Delete with its history and versions (owners); connected editors are disconnected',
      tags,
      params: notebookParams,
    },
    async ({ caller, params }) => {
      await notebooks.delete(caller, params.id);
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/notebooks/:id/ipynb',
      auth: 'user',
      summary: 'Download as .ipynb (?attachment=1 for a file download)',
      tags,
      params: notebookParams,
    },
    async ({ caller, req, res, params }) => {
      const { notebook, content } = await notebooks.export(caller, params.id);
      if (req.query.attachment) res.attachment(`${notebook.name.replace(/\.ipynb$/i, '')}.ipynb`);
      res.json(content);
    },
  );

  grantRoutes(api, openapi, {
    path: '/notebooks/:id',
    params: notebookParams,
    tags,
    noun: 'notebook',
    list: (who, params) => notebooks.listGrants(who, params.id),
    share: (who, params, to, role) => notebooks.share(who, params.id, to, role),
  });

  route(
    api,
    openapi,
    { method: 'get', path: '/notebooks/:id/versions', auth: 'user', summary: 'Named versions, newest first', tags, params: notebookParams },
    async ({ caller, params }) => ({
      versions: await notebooks.listVersions(caller, params.id),
    }),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/notebooks/:id/versions',
      auth: 'user',
      summary: 'Save the current content as a named version (editors)',
      tags,
      status: 201,
      params: notebookParams,
      body: z.object({ name: NAME }),
    },
    async ({ caller, params, body }) => notebooks.createVersion(caller, params.id, body.name),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/notebooks/:id/versions/:versionId/restore',
      auth: 'user',
      summary: 'Make the notebook equal to a version; connected editors see the change live',
      tags,
      params: versionParams,
    },
    async ({ caller, params }) => {
      await notebooks.restoreVersion(caller, params.id, params.versionId);
    },
  );

  return {
    name: 'collab',
    api,
    upgrade: (req, socket, head) => rooms.upgrade(req, socket, head),
    async close() {
      await stopWatchingAccess();
      await rooms.close();
    },
  };
}
