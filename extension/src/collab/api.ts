import type {
  CreateNotebookRequest,
  NotebookList,
  NotebookVersion,
  NotebookVersionList,
  NotebookWithRole,
  RenameNotebookRequest,
  SaveVersionRequest,
} from '@tandem/server/api';
import type { TandemClient } from '../requests';
import { grantsOf, type Grants } from '../sharing/grants';

export type { NotebookVersion } from '@tandem/server/api';

/** A shared notebook and the caller's role on it. */
export type SharedNotebook = NotebookWithRole;

/** The shared-notebook REST API of the Tandem server. */
export class NotebooksApi {
  constructor(readonly client: TandemClient) {}

  async list(): Promise<SharedNotebook[]> {
    return (await this.client.request<NotebookList>('notebooks')).notebooks;
  }

  /** `content` is an .ipynb to import; without it the server creates an empty notebook. */
  create(name: string, content?: unknown): Promise<SharedNotebook> {
    return this.client.request('notebooks', { method: 'POST', json: { name, content } satisfies CreateNotebookRequest });
  }

  rename(id: string, name: string): Promise<SharedNotebook> {
    return this.client.request(`notebooks/${id}`, { method: 'PATCH', json: { name } satisfies RenameNotebookRequest });
  }

  delete(id: string): Promise<void> {
    return this.client.request(`notebooks/${id}`, { method: 'DELETE' });
  }

  grants(id: string): Grants {
    return grantsOf(this.client, `notebooks/${id}`);
  }

  exportIpynb(id: string): Promise<unknown> {
    return this.client.request(`notebooks/${id}/ipynb`);
  }

  async versions(id: string): Promise<NotebookVersion[]> {
    return (await this.client.request<NotebookVersionList>(`notebooks/${id}/versions`)).versions;
  }

  saveVersion(id: string, name: string): Promise<NotebookVersion> {
    return this.client.request(`notebooks/${id}/versions`, { method: 'POST', json: { name } satisfies SaveVersionRequest });
  }

  restoreVersion(id: string, versionId: string): Promise<void> {
    return this.client.request(`notebooks/${id}/versions/${versionId}/restore`, { method: 'POST' });
  }

  /** The y-websocket URL of a notebook's room (the provider appends nothing); in session mode the cookie signs it in. */
  roomUrl(id: string): string {
    return this.client.authorizedUrl(`${this.client.url.replace(/^http/, 'ws')}/tandem/collab/${id}`);
  }

  /** The notebook as .ipynb, fetched with the token in the Authorization header (never in a URL). */
  async exportBlob(id: string): Promise<Blob> {
    return (await this.client.fetch(`notebooks/${id}/ipynb?attachment=1`)).blob();
  }
}
