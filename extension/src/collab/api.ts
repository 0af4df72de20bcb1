import type { TandemClient } from '../requests';
import { grantsOf, type Grants, type Role } from '../sharing/grants';

export interface SharedNotebook {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  updatedAt: string;
}

export interface NotebookVersion {
  id: string;
  name: string;
  createdAt: string;
}

/** The shared-notebook REST API of the Tandem server. */
export class NotebooksApi {
  constructor(readonly client: TandemClient) {}

  async list(): Promise<SharedNotebook[]> {
    return (await this.client.request<{ notebooks: SharedNotebook[] }>('notebooks')).notebooks;
  }

  /** `content` is an .ipynb to import; without it the server creates an empty notebook. */
  create(name: string, content?: unknown): Promise<SharedNotebook> {
    return this.client.request('notebooks', { method: 'POST', json: { name, content } });
  }

  rename(id: string, name: string): Promise<SharedNotebook> {
    return this.client.request(`notebooks/${id}`, { method: 'PATCH', json: { name } });
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
    return (await this.client.request<{ versions: NotebookVersion[] }>(`notebooks/${id}/versions`)).versions;
  }

  saveVersion(id: string, name: string): Promise<NotebookVersion> {
    return this.client.request(`notebooks/${id}/versions`, { method: 'POST', json: { name } });
  }

  restoreVersion(id: string, versionId: string): Promise<void> {
    return this.client.request(`notebooks/${id}/versions/${versionId}/restore`, { method: 'POST' });
  }

  /** The y-websocket URL of a notebook's room (the provider appends nothing). */
  roomUrl(id: string): string {
    return `${this.client.url.replace(/^http/, 'ws')}/tandem/collab/${id}?token=${encodeURIComponent(this.client.token)}`;
  }

  downloadUrl(id: string): string {
    return `${this.client.url}/tandem/api/notebooks/${id}/ipynb?attachment=1&token=${encodeURIComponent(this.client.token)}`;
  }
}
