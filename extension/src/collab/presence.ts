import { Widget } from '@lumino/widgets';
import type { PresenceState } from './cursors';
import type { CollabProvider, ConnectionStatus } from './provider';

/** Stable colours per user name, readable on light and dark themes. */
const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080', '#9a6324', '#800000', '#808000', '#000075'];

export function colorFor(name: string): string {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return COLORS[Math.abs(hash) % COLORS.length];
}

/**
 * The notebook toolbar's collaborators list: one badge per person in the room (several tabs of
 * one user count once), plus the connection status when it is not "connected".
 */
export class CollaboratorsList extends Widget {
  private status: { status: ConnectionStatus; reason?: string } = { status: 'connecting' };

  constructor(private readonly provider: CollabProvider) {
    super();
    this.addClass('tandem-Collaborators');
    provider.sharedModel.awareness.on('change', this.render);
    provider.statusChanged.connect((_, status) => {
      this.status = status;
      this.render();
    });
    provider.readOnlyChanged.connect(this.render);
    this.render();
  }

  override dispose(): void {
    this.provider.sharedModel.awareness.off('change', this.render);
    super.dispose();
  }

  /** Names of everyone in the room, this user first. */
  names(): string[] {
    const awareness = this.provider.sharedModel.awareness;
    const people = new Map<string, NonNullable<PresenceState['user']>>();
    const own = (awareness.getLocalState() as PresenceState | null)?.user;
    if (own) people.set(own.name, own);
    awareness.getStates().forEach((state) => {
      const user = (state as PresenceState).user;
      if (user && !people.has(user.name)) people.set(user.name, user);
    });
    return [...people.keys()];
  }

  private readonly render = (): void => {
    const awareness = this.provider.sharedModel.awareness;
    this.node.replaceChildren();
    const seen = new Set<string>();
    for (const state of awareness.getStates().values()) {
      const user = (state as PresenceState).user;
      if (!user || seen.has(user.name)) continue;
      seen.add(user.name);
      const badge = document.createElement('span');
      badge.className = 'tandem-Collaborators-badge';
      badge.style.backgroundColor = user.color;
      badge.textContent = initials(user.displayName || user.name);
      badge.title = user.displayName || user.name;
      badge.dataset.user = user.name;
      this.node.appendChild(badge);
    }
    if (this.provider.readOnlyReason !== undefined) {
      const viewOnly = document.createElement('span');
      viewOnly.className = 'tandem-Collaborators-readOnly';
      viewOnly.textContent = 'View only';
      viewOnly.title = this.provider.readOnlyReason;
      this.node.appendChild(viewOnly);
    }
    if (this.status.status !== 'connected') {
      const status = document.createElement('span');
      status.className = 'tandem-Collaborators-status';
      status.textContent = this.status.status === 'closed' ? `closed: ${this.status.reason ?? ''}` : `${this.status.status}…`;
      this.node.appendChild(status);
    }
  };
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}
