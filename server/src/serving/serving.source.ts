import type { Readable } from 'node:stream';
import type { ServableVersion, ServingDeployment } from '../api/index.js';
import type { ArtifactStore } from '../artifacts/store.js';
import { TandemError } from '../errors.js';
import type { ModelFile, ModelsStore } from '../models/models.store.js';
import type { ServingStore } from './serving.store.js';

/**
 * Where a serving process learns what to serve and reads the models it loads: the database and
 * the artifact store in the server, the server's replica API in a replica (`tandem serve --server`).
 */
export interface ServingSource {
  /** The deployments to serve, of one model or all. */
  deployments(modelId?: string): Promise<ServingDeployment[]>;
  deployment(id: string): Promise<ServingDeployment | undefined>;
  deploymentByAlias(modelId: string, alias: string): Promise<ServingDeployment | undefined>;
  /** A ready version and the ONNX file serving loads; undefined when there is no such version. */
  version(modelId: string, number: number): Promise<ServableVersion | undefined>;
  /** The bytes of that ONNX file. */
  readModel(modelId: string, version: ServableVersion): Promise<Readable>;
}

/** The server's own source: its stores. */
export class StoreSource implements ServingSource {
  /** Artifact keys of the versions handed out, so that reading one needs no second query. */
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly store: Pick<ServingStore, 'all' | 'findDeployment' | 'findByAlias'>,
    private readonly registry: Pick<ModelsStore, 'findVersion'>,
    private readonly artifacts: Pick<ArtifactStore, 'get'>,
  ) {}

  deployments(modelId?: string): Promise<ServingDeployment[]> {
    return this.store.all(modelId);
  }

  deployment(id: string): Promise<ServingDeployment | undefined> {
    return this.store.findDeployment(id);
  }

  deploymentByAlias(modelId: string, alias: string): Promise<ServingDeployment | undefined> {
    return this.store.findByAlias(modelId, alias);
  }

  async version(modelId: string, number: number): Promise<ServableVersion | undefined> {
    const version = await this.registry.findVersion(modelId, { version: number });
    if (!version || version.status !== 'ready') return undefined;
    const { key, path, size, sha256 } = onnxFile(version.files, number);
    this.keys.set(version.id, key);
    return { id: version.id, number, signature: version.signature, file: { path, size, sha256 } };
  }

  async readModel(modelId: string, version: ServableVersion): Promise<Readable> {
    if (!this.keys.has(version.id)) await this.version(modelId, version.number);
    const key = this.keys.get(version.id);
    if (!key) throw new TandemError('NOT_FOUND', `version ${version.number} no longer exists`);
    return this.artifacts.get(key);
  }
}

/** The version's ONNX file: `model.onnx`, else its only `.onnx` file. */
export function onnxFile(files: ModelFile[], number: number): ModelFile {
  const onnx = files.filter((f) => f.path.endsWith('.onnx'));
  const file = onnx.find((f) => f.path === 'model.onnx') ?? (onnx.length === 1 ? onnx[0] : undefined);
  if (!file) {
    throw new TandemError(
      'INVALID_ARGUMENT',
      onnx.length === 0
        ? `version ${number} has no .onnx file to serve`
        : `version ${number} has several .onnx files (${onnx.map((f) => f.path).join(', ')}): name the one to serve model.onnx`,
    );
  }
  return file;
}
