import { YNotebook } from '@jupyter/ydoc';
import { ServerConnection, type Contents } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import type { ITandemDrive } from '../tokens';
import type { NotebooksApi, SharedNotebook } from './api';
import { CollabProvider } from './provider';

export const DRIVE_NAME = 'Tandem';

/** Edits reach the server as they happen, so a shared notebook is never "unsaved". */
class SharedNotebookModel extends YNotebook {
  override get dirty(): boolean {
    return false;
  }

  override set dirty(_value: boolean) {
    // nothing to save: the room already has every edit
  }
}

/** A 404 the document manager recognises (it checks `err.response.status`). */
function notFound(path: string): Error {
  return Object.assign(new Error(`no shared notebook ${path}`), { response: { status: 404 } });
}

/**
 * The "Tandem" drive: a flat folder of the notebooks shared with the user, stored on the Tandem
 * server as Yjs documents. Content never travels through get()/save(): the shared model created by
 * `sharedModelFactory` is bound to the notebook's room, and get() waits for its first sync so that
 * JupyterLab never mistakes a not-yet-synced notebook for an empty one.
 */
export class TandemDrive implements Contents.IDrive, ITandemDrive {
  readonly name = DRIVE_NAME;
  readonly serverSettings = ServerConnection.makeSettings();
  readonly fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  readonly sharedModelFactory: Contents.ISharedFactory;
  /** path → notebook, from the last listing. */
  private readonly byPath = new Map<string, SharedNotebook>();
  private readonly providers = new Map<string, CollabProvider>();
  /** path → first sync of its room, registered as soon as JupyterLab asks for the shared model. */
  private readonly syncs = new Map<string, Promise<void>>();
  private readonly providerAdded_ = new Signal<this, { path: string; provider: CollabProvider }>(this);
  private disposed = false;

  constructor(private readonly api: NotebooksApi) {
    this.sharedModelFactory = {
      collaborative: true,
      // JupyterLab passes the full path here ("Tandem:x.ipynb"), unlike the other drive methods.
      createNew: (options) => (options.contentType === 'notebook' ? this.bind(options.path.replace(`${DRIVE_NAME}:`, '')) : undefined),
    };
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get providerAdded(): Signal<this, { path: string; provider: CollabProvider }> {
    return this.providerAdded_;
  }

  providerFor(path: string): CollabProvider | undefined {
    return this.providers.get(path);
  }

  notebookAt(path: string): SharedNotebook | undefined {
    return this.byPath.get(path);
  }

  dispose(): void {
    this.disposed = true;
    for (const provider of this.providers.values()) provider.dispose();
    Signal.clearData(this);
  }

  async get(path: string, options?: Contents.IFetchOptions): Promise<Contents.IModel> {
    if (path === '' || path === '/') {
      const notebooks = await this.refresh();
      return {
        ...folderModel(),
        content: options?.content === false ? null : notebooks.map((n) => this.fileModel(n)),
      };
    }
    const notebook = await this.lookup(path);
    await this.syncs.get(path.replace(/^\/+/, ''));
    return this.fileModel(notebook);
  }

  /**
   * A blob: URL of the .ipynb, for JupyterLab's "Download": the file is fetched with the token in
   * the Authorization header, so no credential is ever put in a link.
   */
  async getDownloadUrl(path: string): Promise<string> {
    const url = URL.createObjectURL(await this.api.exportBlob((await this.lookup(path)).id));
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return url;
  }

  async newUntitled(options?: Contents.ICreateOptions): Promise<Contents.IModel> {
    if (options?.type && options.type !== 'notebook') throw new Error('the Tandem drive holds notebooks only');
    await this.refresh();
    let name = 'Untitled.ipynb';
    for (let i = 1; this.byPath.has(name); i++) name = `Untitled${i}.ipynb`;
    return this.created(await this.api.create(name));
  }

  /** Imports .ipynb content as a new shared notebook. */
  async importNotebook(name: string, content: unknown): Promise<Contents.IModel> {
    return this.created(await this.api.create(name, content));
  }

  async delete(path: string): Promise<void> {
    const notebook = await this.lookup(path);
    await this.api.delete(notebook.id);
    this.byPath.delete(path);
    this.fileChanged.emit({ type: 'delete', oldValue: { path }, newValue: null });
  }

  async rename(oldPath: string, newPath: string): Promise<Contents.IModel> {
    const notebook = await this.lookup(oldPath);
    const renamed = await this.api.rename(notebook.id, newPath.replace(/^\/+/, ''));
    await this.refresh();
    const model = this.fileModel(renamed);
    this.fileChanged.emit({ type: 'rename', oldValue: { path: oldPath }, newValue: model });
    return model;
  }

  /** Edits are already in the room; saving only reports the current model. */
  async save(path: string): Promise<Contents.IModel> {
    return this.fileModel(await this.lookup(path));
  }

  async copy(path: string): Promise<Contents.IModel> {
    const notebook = await this.lookup(path);
    const content = await this.api.exportIpynb(notebook.id);
    return this.created(await this.api.create(notebook.name.replace(/(\.ipynb)?$/, '-Copy.ipynb'), content));
  }

  async createCheckpoint(path: string): Promise<Contents.ICheckpointModel> {
    const notebook = await this.lookup(path);
    const version = await this.api.saveVersion(notebook.id, `checkpoint ${new Date().toISOString()}`);
    return { id: version.id, last_modified: version.createdAt };
  }

  async listCheckpoints(path: string): Promise<Contents.ICheckpointModel[]> {
    const versions = await this.api.versions((await this.lookup(path)).id);
    return versions.map((v) => ({ id: v.id, last_modified: v.createdAt }));
  }

  async restoreCheckpoint(path: string, checkpointID: string): Promise<void> {
    await this.api.restoreVersion((await this.lookup(path)).id, checkpointID);
  }

  async deleteCheckpoint(): Promise<void> {
    throw new Error('named versions of shared notebooks are kept');
  }

  private bind(path: string): SharedNotebookModel {
    // The constructor writes nothing: the content comes from the room, never from this client.
    const notebook = new SharedNotebookModel();
    const known = this.byPath.get(path);
    const start = async () => {
      const id = (known ?? (await this.lookup(path))).id;
      if (notebook.isDisposed) return;
      const provider = new CollabProvider(this.api.roomUrl(id), notebook);
      this.providers.set(path, provider);
      notebook.disposed.connect(() => {
        provider.dispose();
        if (this.providers.get(path) === provider) this.providers.delete(path);
      });
      this.providerAdded_.emit({ path, provider });
      await provider.ready;
    };
    const synced = start();
    this.syncs.set(path, synced);
    notebook.disposed.connect(() => this.syncs.delete(path));
    synced.catch((error: unknown) => console.error(`Tandem: cannot open shared notebook ${path}`, error));
    return notebook;
  }

  private async created(notebook: SharedNotebook): Promise<Contents.IModel> {
    await this.refresh();
    const model = this.fileModel(notebook);
    this.fileChanged.emit({ type: 'new', oldValue: null, newValue: model });
    return model;
  }

  async pathOfNotebook(id: string): Promise<string | undefined> {
    const find = () => [...this.byPath.entries()].find(([, n]) => n.id === id)?.[0];
    if (find() === undefined) await this.refresh();
    return find();
  }

  private async lookup(path: string): Promise<SharedNotebook> {
    const clean = path.replace(/^\/+/, '');
    if (!this.byPath.has(clean)) await this.refresh();
    const notebook = this.byPath.get(clean);
    if (!notebook) throw notFound(path);
    return notebook;
  }

  private async refresh(): Promise<SharedNotebook[]> {
    const notebooks = await this.api.list();
    this.byPath.clear();
    for (const n of notebooks) this.byPath.set(this.pathOf(n), n);
    return notebooks;
  }

  /** Names are not unique on the server; a clash gets the id's first characters appended. */
  private pathOf(notebook: SharedNotebook): string {
    const base = /\.ipynb$/i.test(notebook.name) ? notebook.name : `${notebook.name}.ipynb`;
    const holder = this.byPath.get(base);
    return holder && holder.id !== notebook.id ? base.replace(/\.ipynb$/i, ` (${notebook.id.slice(0, 8)}).ipynb`) : base;
  }

  private fileModel(notebook: SharedNotebook): Contents.IModel {
    const path = [...this.byPath.entries()].find(([, n]) => n.id === notebook.id)?.[0] ?? this.pathOf(notebook);
    return {
      name: path,
      path,
      type: 'notebook',
      format: 'json',
      // Others' edits must not look like a conflicting save on disk, so the date stays fixed.
      created: notebook.createdAt,
      last_modified: notebook.createdAt,
      mimetype: 'application/x-ipynb+json',
      writable: notebook.role !== 'viewer',
      content: null,
    };
  }
}

function folderModel(): Omit<Contents.IModel, 'content'> {
  const epoch = new Date(0).toISOString();
  return { name: '', path: '', type: 'directory', format: 'json', created: epoch, last_modified: epoch, mimetype: '', writable: true };
}
