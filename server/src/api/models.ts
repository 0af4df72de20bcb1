import type { Json, Page, Role } from './common.js';

/** One input or output column of a model's signature. */
export interface Column {
  name: string;
  /** e.g. `Float64`, `Utf8`, `float32`. */
  type: string;
  shape?: number[];
}

export interface Signature {
  inputs: Column[];
  outputs: Column[];
}

/** Where a version came from; every field is optional. */
export interface Lineage {
  /** The notebook it came from: `tandem:<id>` for a shared notebook, else its path on the Jupyter server. */
  notebook?: string;
  jobId?: string;
  datasetFingerprint?: string;
  author?: string;
  source?: string;
}

/** A file of a version as clients see it (the server also keeps its object-store key). */
export interface ModelFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * A registered model; the server holds `Date`s, the wire ISO strings. Names are unique per owner:
 * routes take `owner/name` (URL-encoded as `owner%2Fname` in paths) or a bare `name`, which means
 * the caller's own model of that name, else the only one of that name they can see.
 */
export interface Model<Time = string> {
  id: string;
  name: string;
  /** The namespace: the user name of the model's creator. */
  owner: string;
  /** `owner/name`: names this model for everyone who can see it. */
  fullName: string;
  description: string;
  tags: Record<string, string>;
  createdBy: string | null;
  createdAt: Time;
  updatedAt: Time;
  latestVersion: number | null;
  latestMetrics: Record<string, number>;
  /** Alias name → version number. */
  aliases: Record<string, number>;
}

/** `GET /models/:name`: the model and the caller's role on it. */
export interface ModelWithRole<Time = string> extends Model<Time> {
  role: Role;
}

/** `GET /models` answers a page of these. */
export type ModelPage<Time = string> = Page<Model<Time>>;

/** What every version has, ready or still uploading. */
interface VersionFields<Time, File> {
  id: string;
  modelId: string;
  description: string;
  params: Json;
  metrics: Record<string, number>;
  signature: Signature | null;
  lineage: Lineage;
  /** The experiment run that produced it; null when none was named, or the run was purged. */
  runId: string | null;
  createdBy: string | null;
  createdAt: Time;
  files: File[];
  /** Aliases pointing at this version. */
  aliases: string[];
}

/**
 * A published version, as every version route answers it. `File` is what the server stores per
 * file (with its object-store key); clients get `ModelFile`.
 */
export interface ModelVersion<Time = string, File = ModelFile> extends VersionFields<Time, File> {
  status: 'ready';
  number: number;
  readyAt: Time;
}

/** An upload in progress: no number until committed. Clients only see its id (`uploadId`). */
export interface PendingModelVersion<Time = string, File = ModelFile> extends VersionFields<Time, File> {
  status: 'pending';
  number: null;
  readyAt: null;
}

export type ModelVersionStatus = ModelVersion['status'] | PendingModelVersion['status'];

/** `GET /models/:name/versions`: ready versions, newest first. */
export type ModelVersionPage<Time = string> = Page<ModelVersion<Time>>;

/** `POST /models`: creates the model in the caller's namespace. */
export interface CreateModelRequest {
  /** A bare name (no owner part). */
  name: string;
  description?: string;
  tags?: Record<string, string>;
}

/** `PATCH /models/:name`: edit the card (markdown) or replace the tags. */
export interface UpdateModelRequest {
  description?: string;
  tags?: Record<string, string>;
}

/** `PUT /models/:name/tags/:key`. */
export interface SetTagRequest {
  value: string;
}

/** `PUT /models/:name/aliases/:alias`. */
export interface SetAliasRequest {
  version: number;
}

/** The metadata of a new version. */
export interface NewModelVersion {
  description?: string;
  params?: Record<string, string | number | boolean | null>;
  metrics?: Record<string, number>;
  signature?: Signature;
  lineage?: Lineage;
  /**
   * The id of the run that produced it: the caller must see the run (404 otherwise, as for a
   * missing one). The run is tagged `tandem.registeredModel` = `owner/name:version` on commit.
   */
  run?: string;
}

/** `POST /models/:name/uploads`: starts an upload; `createModel` registers the model too. */
export interface StartUploadRequest extends NewModelVersion {
  createModel?: boolean;
}

export interface StartedUpload {
  uploadId: string;
  status: ModelVersionStatus;
  /** The model's `fullName`: send the files and the commit there (a bare name may mean another model). */
  model: string;
}

/** `PUT /models/:name/uploads/:uploadId/files/*path` answers the stored file. */
export type UploadedFile = ModelFile;

/** One server-sent event of `GET /models/events` (event name `model`). */
export interface ModelEvent {
  /** e.g. `model.created`, `model.version.created`, `model.alias.set`. */
  type: string;
  /** The model's name. */
  name: string;
  /** The model's `owner/name`. */
  fullName: string;
  at: string;
  version?: number;
  alias?: string;
}
