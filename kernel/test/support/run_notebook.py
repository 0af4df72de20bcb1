"""Executes a notebook headless with nbclient, as CI does, and prints the executed notebook as JSON.

Usage: run_notebook.py <notebook.ipynb> <kernel name>; cells run with the notebook's folder as cwd.
"""
import json
import os
import sys

import nbclient
import nbformat


def main():
    path, kernel = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel, timeout=180, resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}
    )
    client.execute()
    json.dump(nb, sys.stdout)  # not nbformat.write, which splits text into lists of lines


if __name__ == "__main__":
    main()
