import type { InboxNotification, Page } from '@tandem/server/api';
import type { TandemClient } from '../requests';

export type { InboxNotification };

/** The signed-in person's Tandem notifications (the server's inbox of the `jupyterlab` channel). */
export class NotificationsApi {
  constructor(private readonly client: TandemClient) {}

  unread(): Promise<Page<InboxNotification>> {
    return this.client.request<Page<InboxNotification>>('notifications?unread=true&limit=50');
  }

  async markRead(id: string): Promise<void> {
    await this.client.request(`notifications/${encodeURIComponent(id)}/read`, { method: 'POST' });
  }

  /** New notifications as they arrive, until the answer is called. */
  follow(onNotification: (notification: InboxNotification) => void): () => void {
    return this.client.events<InboxNotification>('notifications/stream', 'notification', onNotification);
  }
}
