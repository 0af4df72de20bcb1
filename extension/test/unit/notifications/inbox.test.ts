import { describe, expect, it } from 'vitest';
import type { InboxNotification } from '../../../src/notifications/api';
import { Inbox } from '../../../src/notifications/inbox';

const note = (id: string, title = id): InboxNotification => ({
  id,
  eventType: 'pipeline.failed',
  title,
  text: 'step train failed',
  level: 'error',
  resource: { type: 'pipeline', id: 'p1' },
  link: null,
  at: '2026-12-02T00:00:00.000Z',
  read: false,
});

function harness(unread: InboxNotification[]) {
  const shown: string[] = [];
  const read: string[] = [];
  let push: (n: InboxNotification) => void = () => undefined;
  let stopped = false;
  const inbox = new Inbox({
    unread: async () => ({ items: unread }),
    markRead: async (id) => void read.push(id),
    follow: (listener) => {
      push = listener;
      return () => (stopped = true);
    },
    show: (n) => shown.push(n.id),
    onError: (error) => {
      throw error;
    },
  });
  return { inbox, shown, read, push: (n: InboxNotification) => push(n), stopped: () => stopped };
}

describe('the JupyterLab inbox of Tandem notifications', () => {
  it('shows unread notifications oldest first, then new ones as they come, and marks each read', async () => {
    const h = harness([note('b'), note('a')]);
    await h.inbox.start();
    h.push(note('c'));
    await Promise.resolve();
    expect(h.shown).toEqual(['a', 'b', 'c']);
    expect(h.read).toEqual(['a', 'b', 'c']);
  });

  it('shows a notification once, though it came both live and in the unread list', async () => {
    const h = harness([note('a')]);
    await h.inbox.start();
    h.push(note('a'));
    await Promise.resolve();
    expect(h.shown).toEqual(['a']);
    expect(h.read).toEqual(['a']);
  });

  it('stops following when disposed', async () => {
    const h = harness([]);
    await h.inbox.start();
    h.inbox.dispose();
    expect(h.stopped()).toBe(true);
  });
});
