"""Evidently's data drift report for the kernel's drift tests.

usage: evidently_drift.py REFERENCE.csv CURRENT.csv SPEC.json
SPEC: {"numerical": [...], "categorical": [...], "methods": [[NUM, CAT], ...]}: each pair names the method for numerical
and categorical columns (null = Evidently's default choice).
Prints a JSON list with, per method pair in order, each column's statistic, method name, threshold and drift verdict, and the share of drifted columns.
"""

import json
import sys
import warnings

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import DriftedColumnsCount
from evidently.presets import DataDriftPreset

warnings.filterwarnings("ignore")

reference_csv, current_csv, spec_json = sys.argv[1:4]
with open(spec_json) as f:
    spec = json.load(f)
columns = spec["numerical"] + spec["categorical"]
dtypes = {c: "string" for c in spec["categorical"]}
reference = pd.read_csv(reference_csv, dtype=dtypes)[columns]
current = pd.read_csv(current_csv, dtype=dtypes)[columns]
# Evidently expects object columns for categories (pandas' string dtype keeps pd.NA, which it does not drop).
for c in spec["categorical"]:
    reference[c] = reference[c].astype(object).where(reference[c].notna(), None)
    current[c] = current[c].astype(object).where(current[c].notna(), None)
definition = DataDefinition(numerical_columns=spec["numerical"], categorical_columns=spec["categorical"])


def dataset(frame):
    return Dataset.from_pandas(frame, data_definition=definition)


out = []
for num_method, cat_method in spec["methods"]:
    chosen = {"num_method": num_method, "cat_method": cat_method}
    # One DriftedColumnsCount per column gives Evidently's own verdict for that column.
    metrics = [DataDriftPreset(**chosen)] + [DriftedColumnsCount(columns=[c], **chosen) for c in columns]
    result = Report(metrics).run(dataset(current), dataset(reference)).dict()["metrics"]
    share = result[0]["value"]["share"]
    values = {m["config"]["column"]: m for m in result if m["config"]["type"].endswith("ValueDrift")}
    verdicts = result[-len(columns):]
    out.append({
        "share": share,
        "columns": {
            c: {
                "statistic": values[c]["value"],
                "method": values[c]["config"]["method"],
                "threshold": values[c]["config"]["threshold"],
                "drifted": verdicts[i]["value"]["count"] == 1,
            }
            for i, c in enumerate(columns)
        },
    })
print(json.dumps(out))
