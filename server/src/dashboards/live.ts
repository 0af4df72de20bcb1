import * as Y from 'yjs';
import { CollabStore } from '../collab/collab.store.js';
import { ipynbFromState } from '../collab/ipynb.js';
import type { Db } from '../db/db.js';
import type { Notebook } from './content.js';

/** How long one read of a shared notebook serves every live viewer's poll. */
const FRESH_MS = 1000;

/**
 * Reads shared notebooks (Yjs documents) for live dashboards. Every update is logged before it
 * is broadcast, so snapshot + log is the document as collaborators see it, outputs included.
 */
export class LiveNotebooks {
  private readonly store: CollabStore;
  private readonly recent = new Map<string, { at: number; read: Promise<{ notebook: Notebook; seq: number } | undefined> }>();

  constructor(db: Db) {
    this.store = new CollabStore(db);
  }

  /** The notebook and the log position it reflects (which changes with every edit), or undefined when gone. */
  read(id: string): Promise<{ notebook: Notebook; seq: number } | undefined> {
    const hit = this.recent.get(id);
    if (hit && Date.now() - hit.at < FRESH_MS) return hit.read;
    const read = this.store
      .load(id)
      .then((stored) =>
        stored
          ? { notebook: ipynbFromState(Y.mergeUpdates([stored.snapshot, ...stored.updates])) as unknown as Notebook, seq: stored.lastSeq }
          : undefined,
      );
    if (this.recent.size > 1000) this.recent.clear();
    this.recent.set(id, { at: Date.now(), read });
    read.catch(() => this.recent.delete(id));
    return read;
  }
}
