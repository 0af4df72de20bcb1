import type { InboxNotification } from './api';

/** What the inbox needs of the server and of JupyterLab's notification area. */
export interface InboxDeps {
  unread(): Promise<{ items: InboxNotification[] }>;
  markRead(id: string): Promise<void>;
  follow(onNotification: (notification: InboxNotification) => void): () => void;
  /** Shows one notification (a toast that stays in the notification center). */
  show(notification: InboxNotification): void;
  onError(error: unknown): void;
}

/**
 * Brings the person's Tandem notifications into JupyterLab: those not yet read when it starts,
 * then each new one as it arrives; each is shown once and then marked read on the server, so that
 * another JupyterLab tab or a reload does not show it again.
 */
export class Inbox {
  private readonly shown = new Set<string>();
  private stop?: () => void;

  constructor(private readonly deps: InboxDeps) {}

  async start(): Promise<void> {
    this.stop = this.deps.follow((n) => void this.present(n));
    try {
      const { items } = await this.deps.unread();
      // Oldest first, as they happened.
      for (const n of [...items].reverse()) await this.present(n);
    } catch (error) {
      this.deps.onError(error);
    }
  }

  dispose(): void {
    this.stop?.();
  }

  private async present(notification: InboxNotification): Promise<void> {
    if (this.shown.has(notification.id)) return;
    this.shown.add(notification.id);
    this.deps.show(notification);
    await this.deps.markRead(notification.id).catch((error: unknown) => this.deps.onError(error));
  }
}
