/**
 * The document this kernel runs for, as lineage names it: `tandem:<id>` for a shared notebook (the
 * Tandem drive tells its kernel in TANDEM_NOTEBOOK, since Jupyter's JPY_SESSION_NAME is then a local
 * path that does not exist), else the notebook's real path from Jupyter.
 */
export function currentNotebook(): string | undefined {
  return process.env.TANDEM_NOTEBOOK || process.env.JPY_SESSION_NAME || undefined;
}
