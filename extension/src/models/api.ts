import { grantsOf, type Grants, type Role } from '../sharing/grants';
import type { TandemClient } from '../requests';

export interface ModelSummary {
  name: string;
  description: string;
  tags: Record<string, string>;
  updatedAt: string;
  latestVersion: number | null;
  latestMetrics: Record<string, number>;
  aliases: Record<string, number>;
  role?: Role;
}

export interface ModelVersion {
  number: number;
  description: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  signature: { inputs: { name: string; type: string }[]; outputs: { name: string; type: string }[] } | null;
  lineage: Record<string, string>;
  files: { path: string; size: number; sha256: string }[];
  aliases: string[];
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  nextPageToken?: string;
}

export interface ModelEvent {
  type: string;
  name: string;
  at: string;
}

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
  }): Promise<Page<ModelSummary>> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) for (const v of [value ?? []].flat()) if (v) params.append(key, v);
    return this.client.request(`models?${params}`);
  }

  get(name: string): Promise<ModelSummary> {
    return this.client.request(m(name));
  }

  versions(name: string): Promise<Page<ModelVersion>> {
    return this.client.request(`${m(name)}/versions?limit=200`);
  }

  setAlias(name: string, alias: string, version: number): Promise<ModelSummary> {
    return this.client.request(`${m(name)}/aliases/${encodeURIComponent(alias)}`, { method: 'PUT', json: { version } });
  }

  deleteAlias(name: string, alias: string): Promise<ModelSummary> {
    return this.client.request(`${m(name)}/aliases/${encodeURIComponent(alias)}`, { method: 'DELETE' });
  }

  setTag(name: string, key: string, value: string): Promise<ModelSummary> {
    return this.client.request(`${m(name)}/tags/${encodeURIComponent(key)}`, { method: 'PUT', json: { value } });
  }

  deleteTag(name: string, key: string): Promise<ModelSummary> {
    return this.client.request(`${m(name)}/tags/${encodeURIComponent(key)}`, { method: 'DELETE' });
  }

  setDescription(name: string, description: string): Promise<ModelSummary> {
    return this.client.request(m(name), { method: 'PATCH', json: { description } });
  }

  grants(name: string): Grants {
    return grantsOf(this.client, m(name));
  }

  /** A link the browser can follow: downloads cannot send headers, so the token rides in the query. */
  downloadUrl(name: string, version: number, path: string): string {
    return `${this.client.url}/tandem/api/${m(name)}/versions/${version}/files/${encodeURIComponent(path)}?token=${encodeURIComponent(this.client.token)}`;
  }

  /** Live registry events; EventSource reconnects by itself after network blips. */
  events(onEvent: (event: ModelEvent) => void): () => void {
    const source = new EventSource(`${this.client.url}/tandem/api/models/events?token=${encodeURIComponent(this.client.token)}`);
    source.addEventListener('model', (e) => onEvent(JSON.parse((e as MessageEvent<string>).data) as ModelEvent));
    return () => source.close();
  }
}
