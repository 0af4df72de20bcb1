import { EventEmitter } from 'node:events';
import { createTransport, type Transporter } from 'nodemailer';
import type {
  CreateSubscriptionRequest,
  InboxNotification,
  NotificationChannelView,
  NotificationEventType,
  NotificationSubscription,
  Page,
} from '../api/index.js';
import type { AuthStore } from '../auth/auth.store.js';
import type { Permissions, ResourceType } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import type { PageRequest } from '../db/paging.js';
import { notFound, TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { checkTarget, postWebhook } from '../http/webhook.js';
import type { Logger } from '../logger.js';
import { NotificationsStore, type DueDelivery, type Message, type SubscriptionRow } from './notifications.store.js';

export interface SenderTiming {
  /** Waits before each retry; a delivery fails after one attempt more than there are waits. */
  retryDelaysMs: number[];
  /** How long a claimed delivery is left to its sender before another may try it. */
  claimMs: number;
}

const DEFAULT_TIMING: SenderTiming = { retryDelaysMs: [2000, 8000, 30_000], claimMs: 60_000 };
/** How often the sender looks for due deliveries besides being woken after queueing one. */
const SEND_EVERY_MS = 1000;

/**
 * Notifications: subscriptions of people and teams, turned into deliveries when the event bus
 * tells of a job, pipeline run, alias move or dashboard refresh. Each recipient must still see the
 * resource when it happens. Deliveries are written first and sent by a loop (at most one sender
 * per delivery across servers), retried with backoff, and kept as the delivery log.
 */
export class NotificationsService {
  private readonly inboxes = new EventEmitter().setMaxListeners(0);
  private mailer?: Transporter;
  private timer?: NodeJS.Timeout;
  private stopEvents?: () => void;
  private sending?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(
    private readonly store: NotificationsStore,
    private readonly permissions: Permissions,
    private readonly auth: AuthStore,
    private readonly events: EventBus,
    private readonly config: Pick<Config, 'smtp' | 'webhookAllowHosts' | 'publicUrl'>,
    private readonly log: Logger,
    private readonly timing: SenderTiming = DEFAULT_TIMING,
  ) {}

  // ---- subscriptions

  async subscribe(who: Principal, input: CreateSubscriptionRequest): Promise<NotificationSubscription<Date>> {
    let subscriber: { type: 'user' | 'team'; id: string } = { type: 'user', id: who.id };
    if (input.team) {
      const team = await this.auth.findTeamByName(input.team);
      if (!team || !(who.teamIds.includes(team.id) || who.isAdmin))
        throw new TandemError('FORBIDDEN', `team: you are not a member of team ${input.team}`);
      subscriber = { type: 'team', id: team.id };
    }
    if (input.resource) await this.permissions.require(who, input.resource.type as ResourceType, input.resource.id, 'viewer');
    const { channel } = input;
    if (channel.type === 'email' && !this.config.smtp)
      throw new TandemError('INVALID_ARGUMENT', 'channel: email is not configured on this server (TANDEM_SMTP_URL)');
    if (channel.type === 'webhook') {
      await checkTarget(channel.url, this.config.webhookAllowHosts).catch((error: unknown) => {
        throw new TandemError('INVALID_ARGUMENT', `channel.${(error as Error).message}`, { cause: error });
      });
    }
    const row = await this.store.createSubscription({
      subscriberType: subscriber.type,
      subscriberId: subscriber.id,
      events: [...new Set(input.events)],
      resourceType: input.resource?.type ?? null,
      resourceId: input.resource?.id ?? null,
      channelType: channel.type,
      target: channel.type === 'email' ? channel.to : channel.type === 'webhook' ? channel.url : null,
      webhookSecret: channel.type === 'webhook' ? (channel.secret ?? null) : null,
      createdBy: who.id,
    });
    return view(row);
  }

  async subscriptions(who: Principal): Promise<NotificationSubscription<Date>[]> {
    return (await this.store.subscriptionsOf(who)).map(view);
  }

  async unsubscribe(who: Principal, id: string): Promise<void> {
    await this.access(who, id);
    await this.store.deleteSubscription(id);
  }

  async deliveries(who: Principal, subscriptionId: string, page: PageRequest) {
    await this.access(who, subscriptionId);
    return this.store.deliveries(subscriptionId, page);
  }

  /** Its subscriber (the person, or a member of the team), its creator, or an admin. */
  private async access(who: Principal, id: string): Promise<SubscriptionRow> {
    const row = await this.store.subscription(id);
    const mine =
      row &&
      (who.isAdmin ||
        row.createdBy === who.id ||
        (row.subscriberType === 'user' ? row.subscriberId === who.id : who.teamIds.includes(row.subscriberId)));
    if (!row || !mine) throw notFound(`subscription ${id}`);
    return row;
  }

  // ---- the JupyterLab inbox

  inbox(who: Principal, unreadOnly: boolean, page: PageRequest): Promise<Page<InboxNotification<Date>>> {
    return this.store.inbox(who.id, unreadOnly, page);
  }

  async markRead(who: Principal, id?: string): Promise<{ read: number }> {
    const read = await this.store.markRead(who.id, id);
    if (id && read === 0 && (await this.store.inbox(who.id, false, { limit: 200, offset: 0 })).items.every((n) => n.id !== id))
      throw notFound(`notification ${id}`);
    return { read };
  }

  /** Calls `listener` with each new notification of `who`'s inbox until the answer is called. */
  follow(who: Principal, listener: (notification: InboxNotification<Date>) => void): () => void {
    this.inboxes.on(who.id, listener);
    return () => this.inboxes.off(who.id, listener);
  }

  // ---- turning events into notifications

  start(): void {
    if (this.timer) return;
    this.stopEvents = this.events.subscribe((event) => {
      const message = messageOf(event);
      if (message)
        this.notify(message).catch((error: unknown) =>
          this.log.warn('queueing notifications failed', { event: event.type, error: String(error) }),
        );
    });
    this.timer = setInterval(() => this.wake(), SEND_EVERY_MS).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.stopEvents?.();
    await this.sending;
    this.mailer?.close();
  }

  /** Tells each subscriber who can still see the resource. */
  async notify(message: Message): Promise<void> {
    const now = new Date();
    for (const subscription of await this.store.matching(message.eventType, message.resource)) {
      const recipients =
        subscription.subscriberType === 'user' ? [subscription.subscriberId] : await this.store.teamMembers(subscription.subscriberId);
      const seeing: string[] = [];
      for (const id of recipients) if (await this.canSee(id, message.resource)) seeing.push(id);
      if (subscription.channelType === 'jupyterlab') {
        for (const id of seeing) {
          const added = await this.store.addToInbox(id, message);
          if (added) this.inboxes.emit(id, added);
        }
      } else if (seeing.length > 0 && (subscription.createdBy === null || (await this.canSee(subscription.createdBy, message.resource)))) {
        // Email and webhooks go outside: the person who set them up must see the resource too.
        await this.store.queue(subscription.id, message, now);
      }
    }
    this.wake();
  }

  private async canSee(userId: string, resource: { type: string; id: string }): Promise<boolean> {
    const who = await this.auth.principalOf(userId);
    return (await this.permissions.roleOf(who, resource.type as ResourceType, resource.id)) !== undefined;
  }

  // ---- sending

  /** Sends what is due now (coalesced with a send already running). */
  wake(): void {
    if (this.closed) return;
    if (this.sending) {
      this.again = true;
      return;
    }
    this.sending = this.sendDue()
      .catch((error: unknown) => this.log.warn('sending notifications failed', { error: String(error) }))
      .finally(() => {
        this.sending = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async sendDue(now = new Date()): Promise<void> {
    for (const delivery of await this.store.claimDue(now, this.timing.claimMs)) await this.send(delivery);
  }

  private async send(delivery: DueDelivery): Promise<void> {
    let httpStatus: number | null = null;
    try {
      if (delivery.subscription.channelType === 'email') await this.email(delivery);
      else {
        httpStatus = (
          await postWebhook(delivery.subscription.target!, slackBody(delivery.message), {
            secret: delivery.subscription.webhookSecret ?? undefined,
            headers: { 'x-tandem-event': delivery.message.eventType },
            allowHosts: this.config.webhookAllowHosts,
          })
        ).status;
        if (httpStatus < 200 || httpStatus > 299) throw new Error(`the webhook answered HTTP ${httpStatus}`);
      }
      await this.store.recordAttempt(delivery.id, { status: 'sent', error: null, httpStatus, nextAttemptAt: null });
    } catch (error) {
      const wait = this.timing.retryDelaysMs[delivery.attempts];
      const message = error instanceof Error ? error.message : String(error);
      await this.store.recordAttempt(delivery.id, {
        status: wait === undefined ? 'failed' : 'pending',
        error: message,
        httpStatus,
        nextAttemptAt: wait === undefined ? null : new Date(Date.now() + wait),
      });
      if (wait !== undefined) setTimeout(() => this.wake(), wait).unref();
      else this.log.warn('a notification could not be delivered', { delivery: delivery.id, error: message });
    }
  }

  private async email(delivery: DueDelivery): Promise<void> {
    const smtp = this.config.smtp;
    if (!smtp) throw new Error('email is no longer configured on this server (TANDEM_SMTP_URL)');
    this.mailer ??= createTransport(smtp.url);
    const { message } = delivery;
    const link = message.link && this.config.publicUrl ? new URL(message.link, this.config.publicUrl).toString() : null;
    const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    await this.mailer.sendMail({
      from: smtp.from,
      to: delivery.subscription.target!,
      subject: `[Tandem] ${message.title}`,
      text: [message.text, link].filter(Boolean).join('\n\n'),
      html: `<p><b>${escape(message.title)}</b></p><p>${escape(message.text)}</p>${link ? `<p><a href="${escape(link)}">${escape(link)}</a></p>` : ''}`,
    });
  }
}

/** A Slack-compatible incoming-webhook body, with the event for other receivers. */
function slackBody(message: Message) {
  const text = `*${message.title}*\n${message.text}`;
  return {
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    tandem: {
      eventType: message.eventType,
      resource: message.resource,
      title: message.title,
      text: message.text,
      link: message.link,
      data: message.data,
    },
  };
}

/** What each bus event means to subscribers, if anything. */
export function messageOf(event: TandemEvent): Message | undefined {
  const data = event.data ?? {};
  const resource = { type: event.resourceType, id: event.resourceId };
  if (event.resourceType === 'job' && event.type === 'job.updated' && (data.status === 'failed' || data.status === 'succeeded')) {
    const failed = data.status === 'failed';
    return {
      key: `job:${event.resourceId}:${String(data.status)}`,
      eventType: failed ? 'job.failed' : 'job.succeeded',
      title: `Job “${String(data.name)}” ${failed ? 'failed' : 'succeeded'}`,
      text: failed ? String(data.error ?? 'see its log in the Jobs panel') : 'It finished successfully.',
      level: failed ? 'error' : 'success',
      link: `/tandem/api/jobs/${event.resourceId}`,
      resource,
      data: { status: data.status, name: data.name, error: data.error ?? null },
    };
  }
  if (
    event.resourceType === 'pipeline' &&
    event.type === 'pipeline.run.finished' &&
    (data.status === 'failed' || data.status === 'succeeded')
  ) {
    const failed = data.status === 'failed';
    return {
      key: `pipeline-run:${String(data.runId)}:${event.at}`,
      eventType: failed ? 'pipeline.failed' : 'pipeline.succeeded',
      title: `Pipeline “${String(data.pipeline)}” run #${String(data.number)} ${failed ? 'failed' : 'succeeded'}`,
      text: failed ? String(data.error ?? 'no reason given') : 'Every step succeeded or was skipped by a gate.',
      level: failed ? 'error' : 'success',
      link: `/tandem/api/pipeline-runs/${String(data.runId)}`,
      resource,
      data: { runId: data.runId, number: data.number, status: data.status, error: data.error ?? null },
    };
  }
  if (event.resourceType === 'model' && event.type === 'model.alias.set') {
    return {
      key: `alias:${event.resourceId}:${String(data.alias)}:${String(data.version)}:${event.at}`,
      eventType: 'model.alias.set',
      title: `${String(data.fullName)}@${String(data.alias)} now points at v${String(data.version)}`,
      text: `The alias ${String(data.alias)} of ${String(data.fullName)} moved to version ${String(data.version)}.`,
      level: 'info',
      link: `/tandem/api/models/${encodeURIComponent(String(data.fullName))}`,
      resource,
      data: { model: data.fullName, alias: data.alias, version: data.version },
    };
  }
  if (event.resourceType === 'dashboard' && event.type === 'dashboard.refresh.failed') {
    return {
      key: `dashboard-refresh:${event.resourceId}:${event.at}`,
      eventType: 'dashboard.refresh.failed',
      title: `Refreshing dashboard ${String(data.slug)} failed`,
      text: String(data.error ?? 'no reason given'),
      level: 'error',
      link: `/tandem/d/${String(data.slug)}`,
      resource,
      data: { slug: data.slug, error: data.error ?? null },
    };
  }
  return undefined;
}

function view(row: SubscriptionRow): NotificationSubscription<Date> {
  const channel: NotificationChannelView =
    row.channelType === 'email'
      ? { type: 'email', to: row.target! }
      : row.channelType === 'webhook'
        ? { type: 'webhook', url: row.target!, signed: row.webhookSecret !== null }
        : { type: 'jupyterlab' };
  return {
    id: row.id,
    subscriber: { type: row.subscriberType, id: row.subscriberId, name: row.subscriberName },
    events: row.events as NotificationEventType[],
    resource: row.resourceType && row.resourceId ? { type: row.resourceType, id: row.resourceId } : null,
    channel,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
  };
}

export function createNotificationsService(ctx: AppContext): NotificationsService {
  return new NotificationsService(new NotificationsStore(ctx.db), ctx.permissions, ctx.auth, ctx.events, ctx.config, ctx.log);
}
