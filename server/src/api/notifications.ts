// Notifications: people and teams subscribe to what happens to pipelines, jobs, models and
// dashboards, and hear of it in JupyterLab, by email or on a webhook (Slack-compatible, signed).
// Routes under /tandem/api/notifications.

/** What can be subscribed to. */
export type NotificationEventType =
  | 'pipeline.failed'
  | 'pipeline.succeeded'
  | 'job.failed'
  | 'job.succeeded'
  | 'model.alias.set'
  | 'dashboard.refresh.failed'
  /** Reserved for monitors. */
  | 'monitor.alert';

/** Where a subscription's notifications go. */
export type NotificationChannel =
  /** The JupyterLab notification area of each person subscribed (live, and kept until read). */
  | { type: 'jupyterlab' }
  | { type: 'email'; to: string }
  /**
   * A POST of `{ text, blocks, tandem }` (Slack's incoming-webhook shape plus the event). With a
   * `secret`, `X-Tandem-Signature: sha256=<hex HMAC-SHA256 of "<X-Tandem-Timestamp>.<body>">`.
   */
  | { type: 'webhook'; url: string; secret?: string };

/** A channel as answers show it: a webhook's secret is never sent back. */
export type NotificationChannelView =
  { type: 'jupyterlab' } | { type: 'email'; to: string } | { type: 'webhook'; url: string; signed: boolean };

export interface NotificationSubscription<Time = string> {
  id: string;
  /** A person's own subscription, or a team's (its members hear of it). */
  subscriber: { type: 'user' | 'team'; id: string; name: string };
  events: NotificationEventType[];
  /** Only events of this resource; absent, every such resource the subscriber can see. */
  resource: { type: 'pipeline' | 'job' | 'model' | 'dashboard'; id: string } | null;
  channel: NotificationChannelView;
  createdBy: string | null;
  createdAt: Time;
}

/** `POST /notifications/subscriptions`; `team` (a team the caller is in) makes it the team's. */
export interface CreateSubscriptionRequest {
  events: NotificationEventType[];
  resource?: { type: 'pipeline' | 'job' | 'model' | 'dashboard'; id: string };
  channel: NotificationChannel;
  team?: string;
}

export type DeliveryStatus = 'pending' | 'sent' | 'failed';

/** One attempt series to send one notification over one channel: the delivery log. */
export interface NotificationDelivery<Time = string> {
  id: string;
  subscriptionId: string;
  eventType: NotificationEventType;
  title: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  /** HTTP status of the webhook's last answer. */
  lastStatus: number | null;
  createdAt: Time;
  sentAt: Time | null;
  nextAttemptAt: Time | null;
}

/** An entry of a person's JupyterLab notification area. */
export interface InboxNotification<Time = string> {
  id: string;
  eventType: NotificationEventType;
  title: string;
  text: string;
  /** `error` for failures and alerts, else `info` / `success`. */
  level: 'info' | 'success' | 'error';
  resource: { type: string; id: string };
  /** A page or panel to open, e.g. `/tandem/pipelines/<id>`. */
  link: string | null;
  at: Time;
  read: boolean;
}
