-- Notifications: who wants to hear of what, over which channel; each notification to send
-- (kept as the delivery log, claimed by one sender with SKIP LOCKED and retried with backoff);
-- and each person's JupyterLab inbox.
CREATE TABLE notification_subscriptions (
  id text PRIMARY KEY,
  subscriber_type text NOT NULL CHECK (subscriber_type IN ('user', 'team')),
  subscriber_id text NOT NULL,
  events text[] NOT NULL,
  resource_type text,
  resource_id text,
  channel_type text NOT NULL CHECK (channel_type IN ('jupyterlab', 'email', 'webhook')),
  -- The email address or webhook URL.
  target text,
  webhook_secret text,
  created_by text REFERENCES users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_subscriptions_subscriber ON notification_subscriptions (subscriber_type, subscriber_id);

CREATE TABLE notification_deliveries (
  id text PRIMARY KEY,
  subscription_id text NOT NULL REFERENCES notification_subscriptions(id) ON DELETE CASCADE,
  -- One delivery per subscription and happening, even when two servers hear of it.
  event_key text NOT NULL,
  event_type text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  level text NOT NULL,
  link text,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts int NOT NULL DEFAULT 0,
  last_error text,
  last_status int,
  next_attempt_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  UNIQUE (subscription_id, event_key)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE notification_inbox (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  event_key text NOT NULL,
  event_type text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  level text NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  link text,
  at timestamptz NOT NULL DEFAULT now(),
  read_at timestamptz,
  UNIQUE (user_id, event_key)
);
CREATE INDEX notification_inbox_user ON notification_inbox (user_id, at DESC);
