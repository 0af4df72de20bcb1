"""Runs a notebook headless, as a notebook job on a worker: every cell in order on the notebook's
kernel (default ``tandem``), stopping at the first error. The executed notebook is written either
way, so its outputs (and the failing cell's error) are kept.

usage: run_notebook.py IN.ipynb OUT.ipynb CELL_TIMEOUT_SECONDS
"""

import sys
import warnings

import nbclient
import nbformat

import tandem_job


def main(source, target, timeout):
    # Notebooks from older tools lack cell ids: they get ids, not a warning in the job's error.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        notebook = nbformat.read(source, as_version=4)
    _, notebook = nbformat.validator.normalize(notebook)
    notebook = nbformat.from_dict(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    done = 0

    def on_cell_complete(cell, cell_index, **_):
        nonlocal done
        done += 1
        tandem_job.progress(done / max(1, len(code)), f"cell {done} of {len(code)}")

    kernel = notebook.metadata.get("kernelspec", {}).get("name", "tandem")
    client = nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name=kernel, allow_errors=False, on_cell_complete=on_cell_complete
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        nbformat.write(notebook, target)
        print(f"a cell failed: {error.ename}: {error.evalue}", file=sys.stderr)
        return 3
    nbformat.write(notebook, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
