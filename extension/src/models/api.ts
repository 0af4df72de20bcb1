import type {
  CreateDeploymentRequest,
  CreatedDeploymentKey,
  Deployment,
  DeploymentKey,
  DeploymentKeyList,
  DeploymentPage,
  DeploymentTrafficStats,
  Model,
  ModelEvent,
  ModelPage,
  ModelVersionPage,
  ModelWithRole,
  PredictionLogPage,
  SetAliasRequest,
  SetTagRequest,
  UpdateDeploymentRequest,
  UpdateModelRequest,
} from '@tandem/server/api';
import { grantsOf, type Grants } from '../sharing/grants';
import { downloadFile, type TandemClient } from '../requests';

export type {
  Deployment,
  DeploymentKey,
  DeploymentSettings,
  DeploymentTrafficStats,
  ModelEvent,
  ModelVersion,
  Page,
  PredictionLogFile,
  PredictionLogSettings,
  TrafficSplit,
} from '@tandem/server/api';

/** A model as the panel shows it: with the caller's role when the answer has it (`GET /models/:name`). */
export type ModelSummary = Model & Partial<Pick<ModelWithRole, 'role'>>;

const m = (name: string) => `models/${encodeURIComponent(name)}`;
const d = (id: string) => `deployments/${encodeURIComponent(id)}`;

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

  /** The deployments serving aliases of the model (a model has a handful: one page holds them). */
  async deployments(name: string): Promise<Deployment[]> {
    return (await this.client.request<DeploymentPage>(`deployments?model=${encodeURIComponent(name)}&limit=200`)).items;
  }

  createDeployment(body: CreateDeploymentRequest): Promise<Deployment> {
    return this.client.request('deployments', { method: 'POST', json: body });
  }

  updateDeployment(id: string, settings: UpdateDeploymentRequest): Promise<Deployment> {
    return this.client.request(d(id), { method: 'PATCH', json: settings });
  }

  /** Moves the alias to the canary's version and removes the canary (editors). */
  promoteCanary(id: string): Promise<Deployment> {
    return this.client.request(`${d(id)}/promote`, { method: 'POST' });
  }

  /** The last minute's requests per split and version, as the server process saw them (viewers). */
  deploymentTraffic(id: string): Promise<DeploymentTrafficStats> {
    return this.client.request(`${d(id)}/traffic`);
  }

  /** The deployment's prediction log files, newest hour first (editors). */
  deploymentLogs(id: string): Promise<PredictionLogPage> {
    return this.client.request(`${d(id)}/logs?limit=20`);
  }

  /** Saves one prediction log file (Parquet) through the browser. */
  downloadDeploymentLog(id: string, key: string): Promise<void> {
    return downloadFile(this.client, `${d(id)}/logs/file?key=${encodeURIComponent(key)}`, key.split('/').pop()!);
  }

  deleteDeployment(id: string): Promise<void> {
    return this.client.request(d(id), { method: 'DELETE' });
  }

  async deploymentKeys(id: string): Promise<DeploymentKey[]> {
    return (await this.client.request<DeploymentKeyList>(`${d(id)}/keys`)).items;
  }

  createDeploymentKey(id: string, name: string): Promise<CreatedDeploymentKey> {
    return this.client.request(`${d(id)}/keys`, { method: 'POST', json: name ? { name } : {} });
  }

  revokeDeploymentKey(id: string, keyId: string): Promise<void> {
    return this.client.request(`${d(id)}/keys/${encodeURIComponent(keyId)}`, { method: 'DELETE' });
  }

  /** A deployment's endpoint as applications call it (the answer's `endpoint` is a path on this server). */
  endpointUrl(deployment: Pick<Deployment, 'endpoint'>): string {
    return `${this.client.url}${deployment.endpoint}`;
  }

  /** Live registry events, until the answer is called. */
  events(onEvent: (event: ModelEvent) => void): () => void {
    return this.client.events<ModelEvent>('models/events', 'model', onEvent);
  }
}
