/**
 * The document this kernel runs for, as lineage names it: `tandem:<id>` for a shared notebook (the
 * Tandem drive tells its kernel in TANDEM_NOTEBOOK, since Jupyter's JPY_SESSION_NAME is then a local
 * path that does not exist), else the notebook's real path from Jupyter.
 */
export function currentNotebook(): string | undefined {
  return process.env.TANDEM_NOTEBOOK || process.env.JPY_SESSION_NAME || undefined;
}

let cell: string | undefined;

/** The kernel names the cell it runs (JupyterLab sends its id in the execute request's metadata). */
export function setCurrentCell(id: unknown): void {
  cell = typeof id === 'string' && id ? id : undefined;
}

/** The id of the cell running now, when the front end said; runs record it as their source. */
export function currentCell(): string | undefined {
  return cell;
}
