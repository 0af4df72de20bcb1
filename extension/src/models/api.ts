import type {
  Model,
  ModelEvent,
  ModelPage,
  ModelVersionPage,
  ModelWithRole,
  SetAliasRequest,
  SetTagRequest,
  UpdateModelRequest,
} from '@tandem/server/api';
import { grantsOf, type Grants } from '../sharing/grants';
import { downloadFile, type TandemClient } from '../requests';

export type { ModelEvent, ModelVersion, Page } from '@tandem/server/api';

/** A model as the panel shows it: with the caller's role when the answer has it (`GET /models/:name`). */
export type ModelSummary = Model & Partial<Pick<ModelWithRole, 'role'>>;

const m = (name: string) => `models/${encodeURIComponent(name)}`;

/** The registry endpoints the Models panel uses, all through `TandemClient.request()`. */
export class ModelsApi {
  constructor(readonly client: TandemClient) {}

  search(query: {
    q?: string;
    filter?: string[];
    tag?: string[];
    alias?: string;
    orderBy?: string;
    pageToken?: string;
  }): Promise<ModelPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) for (const v of [value ?? []].flat()) if (v) params.append(key, v);
    return this.client.request(`models?${params}`);
  }

  get(name: string): Promise<ModelWithRole> {
    return this.client.request(m(name));
  }

  versions(name: string): Promise<ModelVersionPage> {
    return this.client.request(`${m(name)}/versions?limit=200`);
  }

  setAlias(name: string, alias: string, version: number): Promise<Model> {
    return this.client.request(`${m(name)}/aliases/${encodeURIComponent(alias)}`, {
      method: 'PUT',
      json: { version } satisfies SetAliasRequest,
    });
  }

  deleteAlias(name: string, alias: string): Promise<Model> {
    return this.client.request(`${m(name)}/aliases/${encodeURIComponent(alias)}`, { method: 'DELETE' });
  }

  setTag(name: string, key: string, value: string): Promise<Model> {
    return this.client.request(`${m(name)}/tags/${encodeURIComponent(key)}`, { method: 'PUT', json: { value } satisfies SetTagRequest });
  }

  deleteTag(name: string, key: string): Promise<Model> {
    return this.client.request(`${m(name)}/tags/${encodeURIComponent(key)}`, { method: 'DELETE' });
  }

  setDescription(name: string, description: string): Promise<Model> {
    return this.client.request(m(name), { method: 'PATCH', json: { description } satisfies UpdateModelRequest });
  }

  grants(name: string): Grants {
    return grantsOf(this.client, m(name));
  }

  /** A version file's API path (relative to /tandem/api). */
  filePath(name: string, version: number, path: string): string {
    return `${m(name)}/versions/${version}/files/${encodeURIComponent(path)}`;
  }

  /** The file's address, without credentials: safe to show and copy (following it needs a sign-in). */
  fileUrl(name: string, version: number, path: string): string {
    return `${this.client.url}/tandem/api/${this.filePath(name, version, path)}`;
  }

  /** Downloads a version file with the token in the Authorization header, never in the URL. */
  download(name: string, version: number, path: string): Promise<void> {
    return downloadFile(this.client, this.filePath(name, version, path), path.split('/').pop() ?? path);
  }

  /** Live registry events; EventSource reconnects by itself after network blips. */
  events(onEvent: (event: ModelEvent) => void): () => void {
    const source = new EventSource(`${this.client.url}/tandem/api/models/events?token=${encodeURIComponent(this.client.token)}`);
    source.addEventListener('model', (e) => onEvent(JSON.parse((e as MessageEvent<string>).data) as ModelEvent));
    return () => source.close();
  }
}
