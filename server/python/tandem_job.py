"""Helpers for Tandem job scripts: report metrics and progress, find the inputs and the output folder.

Lines printed as ``##tandem {json}`` are read by the worker agent; everything else is a log line.
Files written to ``output_dir()`` are uploaded when the job succeeds (and registered as the model
version when the job was submitted with ``register``).
"""
import json
import os
import sys


def _emit(kind, payload):
    sys.stdout.write("##tandem " + json.dumps({kind: payload}) + "\n")
    sys.stdout.flush()


def metric(step=None, **values):
    """Report metric values, e.g. ``metric(step=3, loss=0.41, accuracy=0.87)``."""
    payload = {k: float(v) for k, v in values.items()}
    if step is not None:
        payload["step"] = int(step)
    _emit("metric", payload)


def progress(fraction=None, message=None):
    """Report progress as a fraction in [0, 1] and/or a message."""
    payload = {}
    if fraction is not None:
        payload["fraction"] = max(0.0, min(1.0, float(fraction)))
    if message is not None:
        payload["message"] = str(message)
    _emit("progress", payload)


def output_dir():
    path = os.environ.get("TANDEM_OUTPUT_DIR", "outputs")
    os.makedirs(path, exist_ok=True)
    return path


def inputs():
    """The template's settings (a JSON file named by the first argument)."""
    with open(sys.argv[1]) as f:
        return json.load(f)

