import type { INotebookContent } from '@jupyterlab/nbformat';
import * as Y from 'yjs';
import type { NotebookWithRole as ApiNotebookWithRole } from '../api/index.js';
import { audit } from '../audit.js';
import type { AuthStore } from '../auth/auth.store.js';
import type { Permissions, Role } from '../auth/permissions.js';
import { Sharing, type Grantee, type NamedGrant } from '../auth/sharing.js';
import type { Principal } from '../auth/principal.js';
import type { Db } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { audited, createOwned } from '../mutations.js';
import { CollabStore, type Notebook, type NotebookVersion } from './collab.store.js';
import { EMPTY_NOTEBOOK, ipynbFromState, restoreUpdate, stateFromIpynb, type Ipynb } from './ipynb.js';
import type { Rooms } from './rooms.js';

// Collaboration keeps its timestamps as the database's text.
export type NotebookWithRole = ApiNotebookWithRole;

/** Shared notebooks: lifecycle, sharing, .ipynb import/export and named versions. */
export class CollabService {
  private readonly sharing: Sharing;

  constructor(
    private readonly store: CollabStore,
    private readonly rooms: Rooms,
    private readonly permissions: Permissions,
    auth: AuthStore,
    private readonly events: EventBus,
  ) {
    this.sharing = new Sharing(permissions, auth);
  }

  /** Creates a notebook (empty, or from .ipynb content) and writes its one and only seed state. */
  async create(who: Principal, name: string, content: Ipynb = EMPTY_NOTEBOOK): Promise<NotebookWithRole> {
    const state = stateFromIpynb(content);
    const notebook = await createOwned(
      { db: this.store, permissions: this.permissions, events: this.events },
      who,
      {
        type: 'notebook',
        action: 'notebook.create',
        details: () => ({ name, cells: content.cells.length }),
        event: (created: Notebook) => notebookEvent('notebook.created', created),
      },
      (tx) => this.store.create(tx, { name, createdBy: who.id, state }),
    );
    return { ...notebook, role: 'owner' };
  }

  list(who: Principal): Promise<NotebookWithRole[]> {
    return this.store.list(this.permissions.roleJoin(who, 'notebook', 'notebooks.id', 1));
  }

  async get(who: Principal, id: string): Promise<NotebookWithRole> {
    const role = await this.permissions.require(who, 'notebook', id, 'viewer');
    return { ...(await this.existing(id)), role };
  }

  async rename(who: Principal, id: string, name: string): Promise<NotebookWithRole> {
    const role = await this.permissions.require(who, 'notebook', id, 'editor');
    await this.existing(id);
    const notebook = await audited(this.store, who, onNotebook(id, 'notebook.rename', { name }), (tx) => this.store.rename(tx, id, name));
    this.publish('notebook.renamed', notebook);
    return { ...notebook, role };
  }

  async delete(who: Principal, id: string): Promise<void> {
    await this.permissions.require(who, 'notebook', id, 'owner');
    const notebook = await this.existing(id);
    await audited(this.store, who, onNotebook(id, 'notebook.delete', { name: notebook.name }), async (tx) => {
      await this.store.delete(tx, id);
      await this.permissions.removeAll('notebook', id, tx);
    });
    await this.rooms.evict(id);
    await this.rooms.accessChanged(id); // sockets on other servers
    this.publish('notebook.deleted', notebook);
  }

  async listGrants(who: Principal, id: string): Promise<NamedGrant[]> {
    await this.permissions.require(who, 'notebook', id, 'viewer');
    return this.sharing.listGrants('notebook', id);
  }

  /** Grants `role` to a user or team by name; null removes access. The last owner cannot be removed. */
  async share(who: Principal, id: string, to: Grantee, role: Role | null): Promise<void> {
    await this.permissions.require(who, 'notebook', id, 'owner');
    const notebook = await this.existing(id);
    await this.sharing.share(who, { type: 'notebook', id, label: notebook.name }, to, role, this.store);
    await this.rooms.accessChanged(id);
    this.publish('notebook.shared', notebook);
  }

  /** The notebook as .ipynb, including edits not yet folded into the snapshot. */
  async export(who: Principal, id: string): Promise<{ notebook: Notebook; content: INotebookContent }> {
    await this.permissions.require(who, 'notebook', id, 'viewer');
    const notebook = await this.existing(id);
    const content = await this.rooms.use(id, (room) => ipynbFromState(room.state()));
    return { notebook, content };
  }

  async listVersions(who: Principal, id: string): Promise<NotebookVersion[]> {
    await this.permissions.require(who, 'notebook', id, 'viewer');
    await this.existing(id);
    return this.store.listVersions(id);
  }

  async createVersion(who: Principal, id: string, name: string): Promise<NotebookVersion> {
    await this.permissions.require(who, 'notebook', id, 'editor');
    await this.existing(id);
    const state = await this.rooms.use(id, (room) => room.state());
    return audited(
      this.store,
      who,
      (version: NotebookVersion) => onNotebook(id, 'notebook.version.create', { version: version.id, name }),
      (tx) => this.store.createVersion(tx, { notebookId: id, name, createdBy: who.id, state }),
    );
  }

  /**
   * Makes the notebook equal to a version by applying a new edit to the live document, so that
   * connected clients converge on it and the restore itself can be undone by another restore.
   */
  async restoreVersion(who: Principal, id: string, versionId: string): Promise<void> {
    await this.permissions.require(who, 'notebook', id, 'editor');
    await this.existing(id);
    const target = await this.store.versionState(id, versionId);
    if (!target) throw new TandemError('NOT_FOUND', `version ${versionId} of notebook ${id} not found`);
    await this.rooms.use(id, async (room) => {
      room.apply(restoreUpdate(room.state(), target));
      await room.flush();
    });
    await audit(this.store.db, { actorId: who.id, ...onNotebook(id, 'notebook.version.restore', { version: versionId }) });
    this.publish('notebook.restored', await this.existing(id));
  }

  private async existing(id: string): Promise<Notebook> {
    const notebook = await this.store.get(id);
    if (!notebook) throw new TandemError('NOT_FOUND', `notebook ${id} not found`);
    return notebook;
  }

  private publish(type: string, notebook: Notebook): void {
    this.events.publish(notebookEvent(type, notebook));
  }
}

/** The audit entry of a change to notebook `id`. */
const onNotebook = (id: string, action: string, details: Record<string, unknown>) => ({
  action,
  resourceType: 'notebook',
  resourceId: id,
  details,
});

const notebookEvent = (type: string, notebook: Notebook): Omit<TandemEvent, 'at'> => ({
  type,
  resourceType: 'notebook',
  resourceId: notebook.id,
  data: { name: notebook.name },
});

/** Read access to shared notebooks for other features (live dashboards), without joining a room. */
export interface NotebookReader {
  /**
   * The notebook as collaborators see it (every update is logged before it is broadcast, so this
   * includes outputs), and the log position it reflects, which changes with every edit; undefined
   * when the notebook is gone. Callers check the reader's permissions themselves.
   */
  read(id: string): Promise<{ notebook: INotebookContent; seq: number } | undefined>;
}

export function createNotebookReader(db: Db): NotebookReader {
  const store = new CollabStore(db);
  return {
    async read(id) {
      const stored = await store.load(id);
      return stored && { notebook: ipynbFromState(Y.mergeUpdates([stored.snapshot, ...stored.updates])), seq: stored.lastSeq };
    },
  };
}
