/**
 * `notifications` in cells: subscribe yourself or a team to pipeline, job, alias and dashboard
 * events over JupyterLab, email or a signed webhook, and read a subscription's delivery log.
 */
import type { CreateSubscriptionRequest, NotificationDelivery, NotificationSubscription, Page } from '@tandem/server/api';
import { request } from './api.js';

export type { CreateSubscriptionRequest, NotificationDelivery, NotificationSubscription } from '@tandem/server/api';

const enc = encodeURIComponent;

export function subscribe(body: CreateSubscriptionRequest): Promise<NotificationSubscription> {
  return request<NotificationSubscription>('notifications/subscriptions', { method: 'POST', json: body });
}

/** Your subscriptions and your teams'. */
export async function list(): Promise<NotificationSubscription[]> {
  return (await request<{ items: NotificationSubscription[] }>('notifications/subscriptions')).items;
}

export async function unsubscribe(id: string): Promise<void> {
  await request(`notifications/subscriptions/${enc(id)}`, { method: 'DELETE' });
}

/** What was sent for a subscription, newest first: status, attempts, last error. */
export async function deliveries(subscriptionId: string): Promise<NotificationDelivery[]> {
  return (await request<Page<NotificationDelivery>>(`notifications/deliveries?subscription=${enc(subscriptionId)}&limit=200`)).items;
}

export const notifications = { subscribe, list, unsubscribe, deliveries };
