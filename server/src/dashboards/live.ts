import type { NotebookReader } from '../collab/collab.service.js';
import type { Notebook } from './content.js';

/** How long one read of a shared notebook serves every live viewer's poll. */
const FRESH_MS = 1000;

/**
 * Reads shared notebooks for live dashboards through the collaboration feature's reader, once a
 * second at most however many viewers poll.
 */
export class LiveNotebooks {
  private readonly recent = new Map<string, { at: number; read: Promise<{ notebook: Notebook; seq: number } | undefined> }>();

  constructor(private readonly notebooks: NotebookReader) {}

  /** The notebook and the log position it reflects (which changes with every edit), or undefined when gone. */
  read(id: string): Promise<{ notebook: Notebook; seq: number } | undefined> {
    const hit = this.recent.get(id);
    if (hit && Date.now() - hit.at < FRESH_MS) return hit.read;
    const read = this.notebooks.read(id).then((doc) => doc && { notebook: doc.notebook as unknown as Notebook, seq: doc.seq });
    if (this.recent.size > 1000) this.recent.clear();
    this.recent.set(id, { at: Date.now(), read });
    read.catch(() => this.recent.delete(id));
    return read;
  }
}
