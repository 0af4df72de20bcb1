import { Router } from 'express';
import { z } from 'zod';
import type { AppContext, Feature } from '../context.js';
import { pageQuery } from '../db/paging.js';
import { openEventStream } from '../http/event-stream.js';
import { route } from '../http/route.js';
import { createNotificationsService } from './notifications.service.js';

const tags = ['notifications'];
const EVENTS = z.enum([
  'pipeline.failed',
  'pipeline.succeeded',
  'job.failed',
  'job.succeeded',
  'model.alias.set',
  'dashboard.refresh.failed',
  'monitor.alert',
]);
const idParams = z.object({ id: z.uuid() });

const subscriptionBody = z
  .object({
    events: z.array(EVENTS).min(1, 'subscribe to at least one event').max(10),
    resource: z
      .object({ type: z.enum(['pipeline', 'job', 'model', 'dashboard']), id: z.string().min(1).max(200) })
      .strict()
      .optional(),
    channel: z.discriminatedUnion('type', [
      z.object({ type: z.literal('jupyterlab') }).strict(),
      z.object({ type: z.literal('email'), to: z.email().max(320) }).strict(),
      z
        .object({
          type: z.literal('webhook'),
          url: z.url({ protocol: /^https?$/, error: 'an http or https URL' }).max(2000),
          secret: z.string().min(16, 'at least 16 characters').max(500).optional(),
        })
        .strict(),
    ]),
    team: z.string().min(1).max(200).optional(),
  })
  .strict();

/** Subscriptions, the delivery log and each person's JupyterLab inbox, under /tandem/api/notifications. */
export function notificationsFeature(ctx: AppContext): Feature {
  const notifications = createNotificationsService(ctx);
  const { openapi } = ctx;
  const api = Router();

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/notifications/subscriptions',
      auth: 'user',
      summary: 'Subscribe yourself (or a team you are in) to events, over JupyterLab, email or a signed webhook',
      tags,
      status: 201,
      body: subscriptionBody,
    },
    async ({ caller, body }) => notifications.subscribe(caller, body),
  );

  route(
    api,
    openapi,
    { method: 'get', path: '/notifications/subscriptions', auth: 'user', summary: 'Your subscriptions and your teams’', tags },
    async ({ caller }) => ({ items: await notifications.subscriptions(caller) }),
  );

  route(
    api,
    openapi,
    {
      method: 'delete',
      path: '/notifications/subscriptions/:id',
      auth: 'user',
      summary: 'Unsubscribe (the subscriber, a team member, or its creator)',
      tags,
      params: idParams,
    },
    async ({ caller, params }) => notifications.unsubscribe(caller, params.id),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/notifications/deliveries',
      auth: 'user',
      summary: 'The delivery log of a subscription: each notification, its attempts and last error',
      tags,
      query: pageQuery({}, { subscription: z.uuid() }),
    },
    async ({ caller, query }) => notifications.deliveries(caller, query.subscription, query),
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/notifications/stream',
      auth: 'user',
      summary: 'Server-sent events (`notification`) as your inbox receives them',
      tags,
    },
    async ({ caller, req, res }) => {
      const stream = openEventStream(req, res);
      const stop = notifications.follow(caller, (n) => stream.send('notification', n));
      await stream.ended;
      stop();
    },
  );

  route(
    api,
    openapi,
    {
      method: 'get',
      path: '/notifications',
      auth: 'user',
      summary: 'Your JupyterLab notifications, newest first',
      tags,
      query: pageQuery({}, { unread: z.enum(['true', 'false']).optional() }),
    },
    async ({ caller, query }) => notifications.inbox(caller, query.unread === 'true', query),
  );

  route(
    api,
    openapi,
    { method: 'post', path: '/notifications/read-all', auth: 'user', summary: 'Mark all your notifications read', tags },
    async ({ caller }) => notifications.markRead(caller),
  );

  route(
    api,
    openapi,
    {
      method: 'post',
      path: '/notifications/:id/read',
      auth: 'user',
      summary: 'Mark one of your notifications read',
      tags,
      params: idParams,
    },
    async ({ caller, params }) => notifications.markRead(caller, params.id),
  );

  notifications.start();
  return {
    name: 'notifications',
    api,
    async close() {
      await notifications.close();
    },
  };
}
