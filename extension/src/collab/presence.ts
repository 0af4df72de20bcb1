import { nullTranslator, type ITranslator, type TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { h, KeyedRows } from '../dom';
import type { ICollabProvider } from '../tokens';
import type { PresenceState } from './cursors';
import type { ConnectionStatus } from './provider';

/** Stable colours per user name, readable on light and dark themes. */
const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080', '#9a6324', '#800000', '#808000', '#000075'];

export function colorFor(name: string): string {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return COLORS[Math.abs(hash) % COLORS.length];
}

/** A part of the list: one person's badge, the view-only notice, the connection status. */
type Part =
  | { key: string; kind: 'user'; user: NonNullable<PresenceState['user']> }
  | { key: 'read-only'; kind: 'read-only'; reason: string }
  | { key: 'status'; kind: 'status'; status: ConnectionStatus; reason?: string };

/**
 * The notebook toolbar's collaborators list: one badge per person in the room (several tabs of
 * one user count once), plus the connection status when it is not "connected". Awareness changes
 * with every cursor move; only the badges whose person changed are rebuilt.
 */
export class CollaboratorsList extends Widget {
  private status: { status: ConnectionStatus; reason?: string } = { status: 'connecting' };
  private readonly trans: TranslationBundle;
  private readonly parts = new KeyedRows<Part>(
    this.node,
    (part) => part.key,
    (part) => this.build(part),
  );

  constructor(
    private readonly provider: ICollabProvider,
    translator: ITranslator = nullTranslator,
  ) {
    super();
    this.trans = translator.load('tandem');
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
    const parts: Part[] = [];
    const seen = new Set<string>();
    for (const state of this.provider.sharedModel.awareness.getStates().values()) {
      const user = (state as PresenceState).user;
      if (!user || seen.has(user.name)) continue;
      seen.add(user.name);
      parts.push({ key: `user:${user.name}`, kind: 'user', user });
    }
    const reason = this.provider.readOnlyReason;
    if (reason !== undefined) parts.push({ key: 'read-only', kind: 'read-only', reason });
    if (this.status.status !== 'connected') parts.push({ key: 'status', kind: 'status', ...this.status });
    this.parts.update(parts);
  };

  private build(part: Part): HTMLElement {
    if (part.kind === 'user') {
      const badge = h('span', { class: 'tandem-Collaborators-badge', title: part.user.displayName || part.user.name });
      badge.style.backgroundColor = part.user.color;
      badge.textContent = initials(part.user.displayName || part.user.name);
      badge.dataset.user = part.user.name;
      return badge;
    }
    if (part.kind === 'read-only') {
      return h('span', { class: 'tandem-Collaborators-readOnly', title: part.reason }, this.trans.__('View only'));
    }
    const text =
      part.status === 'closed'
        ? this.trans.__('closed: %1', part.reason ?? '')
        : part.status === 'disconnected'
          ? this.trans.__('disconnected…')
          : this.trans.__('connecting…');
    return h('span', { class: 'tandem-Collaborators-status' }, text);
  }
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}
