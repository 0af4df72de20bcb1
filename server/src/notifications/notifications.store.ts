import { randomUUID } from 'node:crypto';
import type {
  DeliveryStatus,
  InboxNotification,
  NotificationChannel,
  NotificationDelivery,
  NotificationEventType,
  NotificationSubscription,
  Page,
} from '../api/index.js';
import type { Principal } from '../auth/principal.js';
import type { Db, Queryable } from '../db/db.js';
import { TOTAL_COLUMN, toPage, type PageRequest } from '../db/paging.js';

/** A subscription as stored: the webhook's secret included (it never leaves the server). */
export interface SubscriptionRow {
  id: string;
  subscriberType: 'user' | 'team';
  subscriberId: string;
  subscriberName: string;
  events: NotificationEventType[];
  resourceType: NonNullable<NotificationSubscription['resource']>['type'] | null;
  resourceId: string | null;
  channelType: NotificationChannel['type'];
  target: string | null;
  webhookSecret: string | null;
  createdBy: string | null;
  createdAt: Date;
}

/** What happened, ready to tell. */
export interface Message {
  key: string;
  eventType: NotificationEventType;
  title: string;
  text: string;
  level: InboxNotification['level'];
  link: string | null;
  resource: { type: string; id: string };
  data: Record<string, unknown>;
}

export type Delivery = NotificationDelivery<Date>;
export type DueDelivery = Delivery & { message: Message; subscription: SubscriptionRow };

const SUBSCRIPTION_COLUMNS = `s.id, s.subscriber_type AS "subscriberType", s.subscriber_id AS "subscriberId",
  COALESCE(u.name, t.name, s.subscriber_id) AS "subscriberName", s.events, s.resource_type AS "resourceType",
  s.resource_id AS "resourceId", s.channel_type AS "channelType", s.target, s.webhook_secret AS "webhookSecret",
  s.created_by AS "createdBy", s.created_at AS "createdAt"`;
const SUBSCRIPTIONS = `notification_subscriptions s LEFT JOIN users u ON s.subscriber_type = 'user' AND u.id = s.subscriber_id
  LEFT JOIN teams t ON s.subscriber_type = 'team' AND t.id = s.subscriber_id`;
const DELIVERY_COLUMNS = `d.id, d.subscription_id AS "subscriptionId", d.event_type AS "eventType", d.title, d.status, d.attempts,
  d.last_error AS "lastError", d.last_status AS "lastStatus", d.created_at AS "createdAt", d.sent_at AS "sentAt",
  d.next_attempt_at AS "nextAttemptAt"`;
const INBOX_COLUMNS = `n.id, n.event_type AS "eventType", n.title, n.body AS text, n.level,
  json_build_object('type', n.resource_type, 'id', n.resource_id) AS resource, n.link, n.at, n.read_at IS NOT NULL AS read`;

/** Subscriptions, deliveries and inboxes in PostgreSQL. SQL lives here only. */
export class NotificationsStore {
  constructor(private readonly db: Db) {}

  // ---- subscriptions

  async createSubscription(input: Omit<SubscriptionRow, 'id' | 'createdAt' | 'subscriberName'>): Promise<SubscriptionRow> {
    const id = randomUUID();
    await this.db.query(
      `INSERT INTO notification_subscriptions (id, subscriber_type, subscriber_id, events, resource_type, resource_id, channel_type, target, webhook_secret, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        id,
        input.subscriberType,
        input.subscriberId,
        input.events,
        input.resourceType,
        input.resourceId,
        input.channelType,
        input.target,
        input.webhookSecret,
        input.createdBy,
      ],
    );
    return (await this.subscription(id))!;
  }

  async subscription(id: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.db.query<SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM ${SUBSCRIPTIONS} WHERE s.id = $1`, [id]);
    return row;
  }

  /** The caller's own subscriptions and their teams'. */
  async subscriptionsOf(who: Principal): Promise<SubscriptionRow[]> {
    return this.db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM ${SUBSCRIPTIONS}
        WHERE (s.subscriber_type = 'user' AND s.subscriber_id = $1) OR (s.subscriber_type = 'team' AND s.subscriber_id = ANY($2::text[]))
        ORDER BY s.created_at, s.id`,
      [who.id, who.teamIds],
    );
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.db.query(`DELETE FROM notification_subscriptions WHERE id = $1`, [id]);
  }

  /** Subscriptions to `eventType` of this resource, or of every resource of its kind. */
  async matching(eventType: NotificationEventType, resource: { type: string; id: string }): Promise<SubscriptionRow[]> {
    return this.db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM ${SUBSCRIPTIONS}
        WHERE $1 = ANY(s.events) AND (s.resource_type IS NULL OR (s.resource_type = $2 AND s.resource_id = $3))`,
      [eventType, resource.type, resource.id],
    );
  }

  async teamMembers(teamId: string): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(`SELECT user_id AS id FROM team_members WHERE team_id = $1`, [teamId]);
    return rows.map((r) => r.id);
  }

  // ---- deliveries

  /** Queues a message on a subscription's channel; false when this happening was queued already. */
  async queue(subscriptionId: string, message: Message, at: Date): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO notification_deliveries (id, subscription_id, event_key, event_type, title, body, level, link, resource_type, resource_id, data, status, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12) ON CONFLICT DO NOTHING RETURNING id`,
      [
        randomUUID(),
        subscriptionId,
        message.key,
        message.eventType,
        message.title,
        message.text,
        message.level,
        message.link,
        message.resource.type,
        message.resource.id,
        message.data,
        at,
      ],
    );
    return rows.length > 0;
  }

  /**
   * Claims due deliveries for `leaseMs` (their next attempt moves on, so that a sender that dies
   * leaves them to another after that time); SKIP LOCKED keeps two senders off the same ones.
   */
  async claimDue(now: Date, leaseMs: number, limit = 20): Promise<DueDelivery[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<Delivery & { message: Message; subscription: string }>(
        `SELECT ${DELIVERY_COLUMNS}, d.subscription_id AS subscription,
           json_build_object('key', d.event_key, 'eventType', d.event_type, 'title', d.title, 'text', d.body, 'level', d.level, 'link', d.link,
             'resource', json_build_object('type', d.resource_type, 'id', d.resource_id), 'data', d.data) AS message
         FROM notification_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= $1
         ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, limit],
      );
      const due: DueDelivery[] = [];
      for (const row of rows) {
        await tx.query(`UPDATE notification_deliveries SET next_attempt_at = $2 WHERE id = $1`, [
          row.id,
          new Date(now.getTime() + leaseMs),
        ]);
        const subscription = await this.subscriptionIn(tx, row.subscription);
        if (subscription) due.push({ ...row, subscription });
      }
      return due;
    });
  }

  private async subscriptionIn(q: Queryable, id: string): Promise<SubscriptionRow | undefined> {
    const [row] = await q.query<SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM ${SUBSCRIPTIONS} WHERE s.id = $1`, [id]);
    return row;
  }

  async recordAttempt(
    id: string,
    outcome: { status: DeliveryStatus; error: string | null; httpStatus: number | null; nextAttemptAt: Date | null },
  ): Promise<void> {
    await this.db.query(
      `UPDATE notification_deliveries SET status = $2, attempts = attempts + 1, last_error = $3, last_status = $4, next_attempt_at = $5,
         sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END WHERE id = $1`,
      [id, outcome.status, outcome.error, outcome.httpStatus, outcome.nextAttemptAt],
    );
  }

  async nextDue(): Promise<Date | undefined> {
    const [row] = await this.db.query<{ at: Date | null }>(
      `SELECT min(next_attempt_at) AS at FROM notification_deliveries WHERE status = 'pending'`,
    );
    return row?.at ?? undefined;
  }

  async deliveries(subscriptionId: string, page: PageRequest): Promise<Page<Delivery>> {
    const rows = await this.db.query<Delivery & { total: number }>(
      `SELECT ${DELIVERY_COLUMNS}, ${TOTAL_COLUMN} FROM notification_deliveries d WHERE d.subscription_id = $1
        ORDER BY d.created_at DESC, d.id LIMIT $2 OFFSET $3`,
      [subscriptionId, page.limit, page.offset],
    );
    return toPage(rows, page);
  }

  // ---- inbox

  /** Adds the message to a person's inbox; undefined when it is there already. */
  async addToInbox(userId: string, message: Message): Promise<InboxNotification<Date> | undefined> {
    const id = randomUUID();
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO notification_inbox (id, user_id, event_key, event_type, title, body, level, resource_type, resource_id, link)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id`,
      [
        id,
        userId,
        message.key,
        message.eventType,
        message.title,
        message.text,
        message.level,
        message.resource.type,
        message.resource.id,
        message.link,
      ],
    );
    if (rows.length === 0) return undefined;
    const [row] = await this.db.query<InboxNotification<Date>>(`SELECT ${INBOX_COLUMNS} FROM notification_inbox n WHERE n.id = $1`, [id]);
    return row;
  }

  async inbox(userId: string, unreadOnly: boolean, page: PageRequest): Promise<Page<InboxNotification<Date>>> {
    const rows = await this.db.query<InboxNotification<Date> & { total: number }>(
      `SELECT ${INBOX_COLUMNS}, ${TOTAL_COLUMN} FROM notification_inbox n WHERE n.user_id = $1 AND (NOT $2 OR n.read_at IS NULL)
        ORDER BY n.at DESC, n.id LIMIT $3 OFFSET $4`,
      [userId, unreadOnly, page.limit, page.offset],
    );
    return toPage(rows, page);
  }

  /** Marks one (or, without an id, every) notification of the person read; answers how many changed. */
  async markRead(userId: string, id?: string): Promise<number> {
    const rows = await this.db.query(
      `UPDATE notification_inbox SET read_at = now() WHERE user_id = $1 AND read_at IS NULL AND ($2::text IS NULL OR id = $2) RETURNING id`,
      [userId, id ?? null],
    );
    return rows.length;
  }
}
