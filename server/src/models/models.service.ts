import { Readable } from 'node:stream';
import type { ArtifactStore } from '../artifacts/store.js';
import type { AuthStore } from '../auth/auth.store.js';
import { atLeast, type Permissions, type Role } from '../auth/permissions.js';
import { Sharing, type Grantee, type NamedGrant } from '../auth/sharing.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { PgCode, pgErrorCode } from '../db/db.js';
import type { PageRequest } from '../db/paging.js';
import { notFound, TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from '../events.js';
import { audited, createOwned } from '../mutations.js';
import { createTrackingService, type TrackingService } from '../tracking/tracking.service.js';
import type { ModelSearch } from './models.search.js';
import { ModelsStore, type Model, type ModelFile, type ModelVersion, type NewVersion, type Page } from './models.store.js';

export type VersionRef = { version: number } | { alias: string };

export type FileUpload = {
  /** Relative path inside the version, e.g. `model.onnx` or `weights/layer1.bin`. */
  path: string;
  /** When given, the upload fails unless the received bytes hash to it. */
  sha256?: string;
  contentType?: string;
} & (
  | { body: Readable | AsyncIterable<Uint8Array> }
  /** An object already in the artifact store (e.g. a job output): streamed into the version. */
  | { fromKey: string }
);

export interface RegisterVersionInput extends NewVersion {
  /** `owner/name` or a bare name, resolved as `startVersion` with `createModel` does. */
  model: string;
  actor: Principal;
  files: FileUpload[];
  /** Create the model (actor becomes owner) when it does not exist yet. Default true. */
  createModel?: boolean;
}

export interface ModelsLimits {
  maxFileBytes: number;
  maxFilesPerVersion: number;
  /** Uncommitted uploads older than this are removed by `sweepPending()`. */
  pendingTtlMs: number;
}

const FILE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._@=+-]*$/;

/** Rejects file paths that are empty, absolute, contain `..` or odd characters, or are too long. */
export function assertFilePath(path: string): void {
  const segments = path.split('/');
  if (path.length === 0 || path.length > 512 || segments.length > 16 || segments.some((s) => !FILE_SEGMENT.test(s))) {
    throw new TandemError(
      'INVALID_ARGUMENT',
      `invalid file path ${JSON.stringify(path.slice(0, 200))}: use '/'-separated names of letters, digits and . _ @ = + - (no '..', max 512 characters)`,
    );
  }
}

/**
 * The model registry. Versions are created `pending`, their files stream into the object store,
 * and only `commitVersion` makes them visible with the next number; anything that fails before
 * leaves no visible trace (and `sweepPending` removes the leftovers).
 */
export class ModelsService {
  private readonly sharing: Sharing;

  constructor(
    private readonly store: ModelsStore,
    private readonly artifacts: ArtifactStore,
    private readonly permissions: Permissions,
    private readonly events: EventBus,
    auth: AuthStore,
    /** Experiment tracking, for the runs versions come from. */
    private readonly tracking: TrackingService,
    private readonly limits: ModelsLimits,
  ) {
    this.sharing = new Sharing(permissions, auth);
  }

  // ---- access

  /**
   * The model `name` refers to and the caller's role, or NOT_FOUND (a model the caller cannot see
   * answers exactly as a missing one) / FORBIDDEN. `name` is `owner/name` or a bare name: the
   * caller's own model of that name, else the only one they can see; CONFLICT when they can see
   * several, naming those.
   */
  async access(who: Principal | undefined, name: string, needed: Role): Promise<{ model: Model; role: Role }> {
    if (!who) throw new TandemError('UNAUTHENTICATED', 'an API token is required');
    const slash = name.indexOf('/');
    if (slash >= 0) {
      const model = await this.store.findQualified(name.slice(0, slash), name.slice(slash + 1));
      if (!model) throw notFound(`model ${name}`);
      return { model, role: await this.permissions.require(who, 'model', model.id, needed, { label: name }) };
    }
    const seen = await this.store.visibleNamed(who, name);
    const model = seen.find((m) => m.createdBy === who.id) ?? only(name, seen);
    return { model, role: await this.permissions.require(who, 'model', model.id, needed, { label: model.fullName }) };
  }

  async canSee(who: Principal, modelId: string): Promise<boolean> {
    return (await this.permissions.roleOf(who, 'model', modelId)) !== undefined;
  }

  // ---- models

  async createModel(who: Principal, input: { name: string; description?: string; tags?: Record<string, string> }): Promise<Model> {
    return createOwned(
      { db: this.store, permissions: this.permissions, events: this.events },
      who,
      {
        type: 'model',
        action: 'model.create',
        details: () => ({ name: input.name }),
        event: (model) => modelEvent('model.created', model),
      },
      (tx) => this.store.createModel(tx, { ...input, creator: who }),
    );
  }

  async getModel(who: Principal, name: string): Promise<Model & { role: Role }> {
    const { model, role } = await this.access(who, name, 'viewer');
    return { ...model, role };
  }

  search(who: Principal, search: ModelSearch): Promise<Page<Model>> {
    return this.store.searchModels(who, search);
  }

  async updateModel(who: Principal, name: string, change: { description?: string; tags?: Record<string, string> }): Promise<Model> {
    const { model } = await this.access(who, name, 'editor');
    await audited(this.store, who, onModel(model, 'model.update', { fields: Object.keys(change) }), (tx) =>
      this.store.updateModel(tx, model.id, change),
    );
    return this.changed('model.updated', model);
  }

  async setTag(who: Principal, name: string, key: string, value: string | undefined): Promise<Model> {
    const { model } = await this.access(who, name, 'editor');
    await audited(
      this.store,
      who,
      onModel(model, value === undefined ? 'model.tag.delete' : 'model.tag.set', { key, value }),
      async (tx) => {
        if (!(await this.store.setTag(tx, model.id, key, value)))
          throw new TandemError('NOT_FOUND', `tag ${key} not found on model ${name}`);
      },
    );
    return this.changed('model.updated', model);
  }

  async deleteModel(who: Principal, name: string): Promise<void> {
    const { model } = await this.access(who, name, 'owner');
    const keys = await this.store.fileKeysOfModel(model.id);
    // Event listeners check visibility after the grants are gone, so the event names its audience.
    const audience = (await this.permissions.list('model', model.id)).map((g) => g.principal);
    await audited(this.store, who, onModel(model, 'model.delete', { name: model.fullName }), async (tx) => {
      await this.store.deleteModel(tx, model.id);
      await this.permissions.removeAll('model', model.id, tx);
    });
    // Metadata is gone first, so a failing object delete can only leave unreachable bytes.
    await this.deleteObjects(keys);
    this.publish('model.deleted', model, { audience });
  }

  // ---- versions

  async listVersions(who: Principal, name: string, page: PageRequest): Promise<Page<ModelVersion>> {
    const { model } = await this.access(who, name, 'viewer');
    return this.store.listVersions(model.id, page);
  }

  async getVersion(who: Principal, name: string, ref: VersionRef): Promise<ModelVersion> {
    const { model } = await this.access(who, name, 'viewer');
    return this.requireVersion(model, ref);
  }

  /**
   * Starts a version upload; returns the pending version (its id is the upload id) and the
   * `fullName` of its model, which the file uploads and the commit should name. A run it names
   * must be one the caller can see.
   */
  async startVersion(
    who: Principal,
    name: string,
    input: NewVersion & { createModel?: boolean },
  ): Promise<ModelVersion & { model: string }> {
    if (input.run) await this.tracking.access(who, input.run, 'viewer');
    const model = input.createModel ? await this.modelForRegistration(who, name) : (await this.access(who, name, 'editor')).model;
    const id = await this.store.transaction((tx) => this.store.createPendingVersion(tx, model.id, input, who.id));
    return { ...(await this.store.findVersionById(id))!, model: model.fullName };
  }

  /** Streams one file of a pending version into the object store; never buffers it. */
  async uploadFile(who: Principal, name: string, uploadId: string, file: FileUpload): Promise<ModelFile> {
    assertFilePath(file.path);
    const { model } = await this.access(who, name, 'editor');
    const version = await this.pendingVersion(model, uploadId);
    if (version.files.length >= this.limits.maxFilesPerVersion && !version.files.some((f) => f.path === file.path)) {
      throw new TandemError('PAYLOAD_TOO_LARGE', `a version holds at most ${this.limits.maxFilesPerVersion} files`);
    }
    const key = `models/${model.id}/${version.id}/${file.path}`;
    const body =
      'fromKey' in file ? await this.artifacts.get(file.fromKey) : file.body instanceof Readable ? file.body : Readable.from(file.body);
    const put = await this.artifacts.put(key, body, {
      maxBytes: this.limits.maxFileBytes,
      contentType: file.contentType,
      sha256: file.sha256,
    });
    const recorded: ModelFile = { path: file.path, key, size: put.size, sha256: put.sha256 };
    try {
      await this.store.recordFile(version.id, recorded);
    } catch (cause) {
      await this.artifacts.delete(key).catch(() => undefined);
      if (pgErrorCode(cause) === PgCode.foreignKeyViolation)
        throw new TandemError('NOT_FOUND', `upload ${uploadId} was abandoned`, { cause });
      throw cause;
    }
    return recorded;
  }

  /**
   * Makes a pending version visible with the model's next number, once all its files are stored,
   * and tags the run it came from with it. The caller must still see that run.
   */
  async commitVersion(who: Principal, name: string, uploadId: string): Promise<ModelVersion> {
    const { model } = await this.access(who, name, 'editor');
    const version = await this.pendingVersion(model, uploadId);
    const run = version.runId ? await this.tracking.access(who, version.runId, 'viewer') : undefined;
    if (version.files.length === 0)
      throw new TandemError('INVALID_ARGUMENT', `upload ${uploadId} has no files: upload at least one before committing`);
    for (const file of version.files) {
      const info = await this.artifacts.stat(file.key);
      if (info?.size !== file.size)
        throw new TandemError('CONFLICT', `file ${file.path} of upload ${uploadId} is missing from the object store: upload it again`);
    }
    const number = await audited(
      this.store,
      who,
      (n: number) => onModel(model, 'model.version.create', { version: n, files: version.files.length }),
      (tx) => this.store.commitVersion(tx, version),
    );
    this.publish('model.version.created', model, { version: number });
    if (run) await this.tracking.noteRegisteredModel(run, `${model.fullName}:${number}`);
    return (await this.store.findVersionById(version.id))!;
  }

  /** Drops a pending upload and its stored files. */
  async abortVersion(who: Principal, name: string, uploadId: string): Promise<void> {
    const { model } = await this.access(who, name, 'editor');
    await this.removePending(await this.pendingVersion(model, uploadId));
  }

  /**
   * Server-side registration in one call (used by jobs): creates the model if needed, streams
   * every file, commits. On any failure the pending version is removed and the error rethrown.
   */
  async registerVersion(input: RegisterVersionInput): Promise<ModelVersion> {
    const { actor, files, createModel = true, ...meta } = input;
    const pending = await this.startVersion(actor, input.model, { ...meta, createModel });
    const name = pending.model;
    try {
      for (const file of files) await this.uploadFile(actor, name, pending.id, file);
      return await this.commitVersion(actor, name, pending.id);
    } catch (error) {
      const current = await this.store.findVersionById(pending.id);
      if (current?.status === 'pending') await this.removePending(current).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Registers what a run stored at `artifact` (a file, or every file under a folder) as a new
   * version of `model`, resolved and created as `registerVersion` does. The bytes are copied in the
   * object store; the version takes the run's params, its finite latest metrics and its lineage.
   */
  async registerFromRun(who: Principal, runId: string, { model, artifact }: { model: string; artifact: string }): Promise<ModelVersion> {
    const run = await this.tracking.getRun(who, runId);
    const files = await this.tracking.artifactFiles(who, runId, artifact, this.limits.maxFilesPerVersion);
    // Refused before anything is created, rather than half-way through the copy.
    for (const file of files) assertFilePath(file.name);
    const trainedOn = run.inputs.find((i) => i.context === 'train') ?? run.inputs[0];
    return this.registerVersion({
      model,
      actor: who,
      run: run.id,
      description: `Registered from run ${run.name}`,
      params: run.params,
      metrics: Object.fromEntries(
        Object.entries(run.metrics).flatMap(([key, point]) => (typeof point.value === 'number' ? [[key, point.value]] : [])),
      ),
      lineage: {
        source: `run:${artifact}`,
        author: run.userName,
        ...(run.notebook ? { notebook: run.notebook } : {}),
        ...(run.jobId ? { jobId: run.jobId } : {}),
        ...(trainedOn ? { datasetFingerprint: trainedOn.digest } : {}),
      },
      files: files.map((f) => ({ path: f.name, fromKey: f.key, sha256: f.sha256 })),
    });
  }

  /** A file of a ready version, after checking the caller may read it. */
  async findFile(who: Principal, name: string, ref: VersionRef, path: string): Promise<{ file: ModelFile; version: ModelVersion }> {
    assertFilePath(path);
    const { model } = await this.access(who, name, 'viewer');
    const version = await this.requireVersion(model, ref);
    const file = version.files.find((f) => f.path === path);
    if (!file) throw new TandemError('NOT_FOUND', `file ${path} not found in ${name} version ${version.number}`);
    return { file, version };
  }

  /** Streams a file returned by `findFile`, optionally a byte range (inclusive). */
  readFile(file: ModelFile, range?: { start: number; end: number }): Promise<Readable> {
    return this.artifacts.get(file.key, range);
  }

  /** Removes uploads that were started but never committed within the TTL. */
  async sweepPending(now = Date.now()): Promise<number> {
    const stale = await this.store.stalePending(new Date(now - this.limits.pendingTtlMs));
    for (const version of stale) await this.removePending(version);
    return stale.length;
  }

  // ---- aliases

  async setAlias(who: Principal, name: string, alias: string, version: number): Promise<Model> {
    const { model } = await this.access(who, name, 'editor');
    const target = await this.requireVersion(model, { version });
    await audited(this.store, who, onModel(model, 'model.alias.set', { alias, version }), (tx) =>
      this.store.setAlias(tx, model.id, alias, target.id, who.id),
    );
    return this.changed('model.alias.set', model, { alias, version });
  }

  async deleteAlias(who: Principal, name: string, alias: string): Promise<Model> {
    const { model } = await this.access(who, name, 'editor');
    await audited(this.store, who, onModel(model, 'model.alias.delete', { alias }), async (tx) => {
      if (!(await this.store.deleteAlias(tx, model.id, alias)))
        throw new TandemError('NOT_FOUND', `alias ${alias} not found on model ${name}`);
    });
    return this.changed('model.alias.deleted', model, { alias });
  }

  // ---- sharing

  async listGrants(who: Principal, name: string): Promise<NamedGrant[]> {
    const { model } = await this.access(who, name, 'viewer');
    return this.sharing.listGrants('model', model.id);
  }

  async share(who: Principal, name: string, to: Grantee, role: Role | null): Promise<void> {
    const { model } = await this.access(who, name, 'owner');
    await this.sharing.share(who, { type: 'model', id: model.id, label: model.fullName }, to, role, this.store);
    this.publish('model.shared', model);
  }

  /** Registry events (resourceType 'model'); callers filter by visibility. */
  subscribe(listener: (event: TandemEvent) => void): () => void {
    return this.events.subscribe((event) => {
      if (event.resourceType === 'model') listener(event);
    });
  }

  // ---- helpers

  /**
   * The model a registration with `createModel` goes to. `owner/name` must exist unless the owner
   * is the caller. A bare name: the caller's own model, else the only one they may edit, else a
   * new model of theirs. Models they only view are not written to, and ones they cannot see never
   * stop them creating theirs.
   */
  private async modelForRegistration(who: Principal, name: string): Promise<Model> {
    const slash = name.indexOf('/');
    if (slash >= 0 && name.slice(0, slash) !== who.name) return (await this.access(who, name, 'editor')).model;
    const bare = name.slice(slash + 1);
    const own = `${who.name}/${bare}`;
    const seen = await this.store.visibleNamed(who, bare);
    if (seen.some((m) => m.createdBy === who.id)) return (await this.access(who, own, 'editor')).model;
    const editable = seen.filter((m) => atLeast(m.role, 'editor'));
    if (slash < 0 && editable.length > 0) return only(bare, editable);
    try {
      return await this.createModel(who, { name: bare });
    } catch (error) {
      // Another registration created it first: use it.
      if (error instanceof TandemError && error.code === 'ALREADY_EXISTS') return (await this.access(who, own, 'editor')).model;
      throw error;
    }
  }

  private async requireVersion(model: Model, ref: VersionRef): Promise<ModelVersion> {
    const version = await this.store.findVersion(model.id, ref);
    if (!version) {
      throw new TandemError(
        'NOT_FOUND',
        'version' in ref ? `model ${model.name} has no version ${ref.version}` : `model ${model.name} has no alias ${ref.alias}`,
      );
    }
    return version;
  }

  private async pendingVersion(model: Model, uploadId: string): Promise<ModelVersion> {
    const version = await this.store.findVersionById(uploadId);
    if (!version || version.modelId !== model.id) throw new TandemError('NOT_FOUND', `upload ${uploadId} not found on model ${model.name}`);
    if (version.status !== 'pending')
      throw new TandemError('CONFLICT', `upload ${uploadId} is already committed as version ${version.number}`);
    return version;
  }

  private async removePending(version: ModelVersion): Promise<void> {
    await this.store.transaction((tx) => this.store.deleteVersion(tx, version.id));
    await this.deleteObjects(version.files.map((f) => f.key));
  }

  private async deleteObjects(keys: string[]): Promise<void> {
    for (const key of keys) await this.artifacts.delete(key);
  }

  private async changed(type: string, before: Model, data: Record<string, unknown> = {}): Promise<Model> {
    const model = (await this.store.findModelById(before.id))!;
    this.publish(type, model, data);
    return model;
  }

  private publish(type: string, model: Model, data: Record<string, unknown> = {}): void {
    this.events.publish(modelEvent(type, model, data));
  }
}

/** The audit entry of a change to `model`. */
const onModel = (model: Model, action: string, details: Record<string, unknown>) => ({
  action,
  resourceType: 'model',
  resourceId: model.id,
  details,
});

const modelEvent = (type: string, model: Model, data: Record<string, unknown> = {}): Omit<TandemEvent, 'at'> => ({
  type,
  resourceType: 'model',
  resourceId: model.id,
  data: { name: model.name, fullName: model.fullName, ...data },
});

/** The one model a bare `name` can mean among `candidates`; else NOT_FOUND, or CONFLICT naming them all. */
function only<T extends Model>(name: string, candidates: T[]): T {
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) throw notFound(`model ${name}`);
  const names = candidates.map((m) => m.fullName);
  throw new TandemError('CONFLICT', `model name ${name} is ambiguous: say which you mean, ${names.join(' or ')}`, {
    details: { candidates: names },
  });
}

/** The registry service wired to the server's shared stores; jobs use this to register versions. */
export function createModelsService(ctx: AppContext): ModelsService {
  return new ModelsService(
    new ModelsStore(ctx.db, ctx.permissions),
    ctx.artifacts,
    ctx.permissions,
    ctx.events,
    ctx.auth,
    ctx.shared(createTrackingService),
    {
      maxFileBytes: ctx.config.maxArtifactBytes,
      maxFilesPerVersion: 1000,
      pendingTtlMs: 24 * 60 * 60 * 1000,
    },
  );
}
