"""Helpers for Tandem job scripts: report metrics, facts and progress, find the inputs, data and output folder.

Lines printed as ``##tandem {json}`` are read by the worker agent; everything else is a log line.
Files written to ``output_dir()`` are uploaded when the job succeeds (and registered as the model
version when the job was submitted with ``register``).
"""
import atexit
import gc
import json
import math
import numbers
import os
import sys

# pyarrow's Parquet reader can leave a thread that aborts the interpreter at exit ("terminate
# called without an active exception", exit 134) after the script did all its work
# (apache/arrow#34314). Collecting garbage while Arrow is still alive joins such threads first.
atexit.register(gc.collect)


def _emit(kind, payload):
    sys.stdout.write("##tandem " + json.dumps({kind: payload}) + "\n")
    sys.stdout.flush()


def metric(step=None, **values):
    """Report metric values, e.g. ``metric(step=3, loss=0.41, accuracy=0.87)``."""
    payload = {k: float(v) for k, v in values.items()}
    if step is not None:
        payload["step"] = int(step)
    _emit("metric", payload)


def info(**values):
    """Report facts about the run that are not metrics of the model, e.g. ``info(train_rows=1208)``.

    Job views show them as text next to the metrics; they are not charted or compared as metrics.
    Values are numbers, strings or booleans.
    """
    _emit("info", {k: _fact(v) for k, v in values.items()})


def _fact(value):
    """A value as JSON the server takes: numbers (NumPy's too) while finite, else text."""
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    return str(value)


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


def data(name):
    """The local path of the data the job was given as ``data={name: ...}`` (the worker downloaded it)."""
    paths = json.loads(os.environ.get("TANDEM_DATA") or "{}")
    if name not in paths:
        raise KeyError(f"this job has no data named {name!r}; it has: {', '.join(paths) or 'none'}")
    return paths[name]


def data_format(path):
    """How to read a data file, from its name: parquet (also a folder of Parquet files), json, arrow or csv."""
    lower = path.lower()
    if lower.endswith((".parquet", ".pq")) or os.path.isdir(path):
        return "parquet"
    if lower.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    if lower.endswith((".arrow", ".feather", ".ipc")):
        return "arrow"
    return "csv"


def json_is_array(path):
    """True for a JSON array of records, False for one record per line (JSON Lines)."""
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4096), b""):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1] == b"["
    return False


def read_pandas(path):
    """Reads a CSV, Parquet, JSON (array or lines) or Arrow IPC file into a pandas DataFrame."""
    import pandas as pd

    fmt = data_format(path)
    if fmt == "parquet":
        # No pre-buffering: its background reads are what outlives the script above.
        return pd.read_parquet(path, pre_buffer=False)
    if fmt == "json":
        return pd.read_json(path, lines=not json_is_array(path))
    if fmt == "arrow":
        return pd.read_feather(path)
    return pd.read_csv(path)


def read_spark(spark, path):
    """Reads a CSV, Parquet, JSON (array or lines) or Arrow IPC file into a Spark DataFrame."""
    fmt = data_format(path)
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "json":
        return spark.read.json(path, multiLine=json_is_array(path))
    if fmt == "arrow":
        return spark.createDataFrame(read_pandas(path))
    return spark.read.csv(path, header=True, inferSchema=True)
