import type { Role } from './common.js';

/** A shared notebook (its content lives in its Yjs room at `/tandem/collab/:id`). */
export interface Notebook<Time = string> {
  id: string;
  name: string;
  createdBy: string | null;
  createdAt: Time;
  updatedAt: Time;
}

/** What the notebook routes answer: the notebook and the caller's role on it. */
export interface NotebookWithRole<Time = string> extends Notebook<Time> {
  role: Role;
}

/** `GET /notebooks`. */
export interface NotebookList<Time = string> {
  notebooks: NotebookWithRole<Time>[];
}

/** `POST /notebooks`: empty, or imported from .ipynb `content`. */
export interface CreateNotebookRequest {
  name: string;
  content?: unknown;
}

/** `PATCH /notebooks/:id`. */
export interface RenameNotebookRequest {
  name: string;
}

/** A named version of a notebook's content. */
export interface NotebookVersion<Time = string> {
  id: string;
  notebookId: string;
  name: string;
  createdBy: string | null;
  createdAt: Time;
}

/** `GET /notebooks/:id/versions` (newest first). */
export interface NotebookVersionList<Time = string> {
  versions: NotebookVersion<Time>[];
}

/** `POST /notebooks/:id/versions`. */
export interface SaveVersionRequest {
  name: string;
}
