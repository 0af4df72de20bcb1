"""Tandem template: train a PySpark MLlib model on a CSV, Parquet, JSON or Arrow table.

Inputs (JSON, first argument): data, label, features (default: numeric columns), algorithm
(logistic | gbt | random_forest | linear), params (estimator params, e.g. maxIter, maxDepth),
testFraction, seed. Writes spark-model.zip (the saved PipelineModel) and model_info.json.
"""
import json
import os
import shutil
import tempfile

import tandem_job as tj
from pyspark.ml import Pipeline
from pyspark.ml.classification import GBTClassifier, LogisticRegression, RandomForestClassifier
from pyspark.ml.evaluation import BinaryClassificationEvaluator, MulticlassClassificationEvaluator, RegressionEvaluator
from pyspark.ml.feature import StringIndexer, VectorAssembler
from pyspark.ml.regression import LinearRegression
from pyspark.sql import SparkSession

ESTIMATORS = {
    "logistic": LogisticRegression,
    "gbt": GBTClassifier,
    "random_forest": RandomForestClassifier,
    "linear": LinearRegression,
}
NUMERIC = ("int", "bigint", "smallint", "tinyint", "double", "float", "decimal")


def estimator(algorithm, params, label_col):
    est = ESTIMATORS[algorithm](featuresCol="__features", labelCol=label_col)
    unknown = [k for k in params if not est.hasParam(k)]
    if unknown:
        valid = sorted(p.name for p in est.params if p.name not in ("featuresCol", "labelCol"))
        raise ValueError(f"unknown {algorithm} parameter(s) {unknown}; valid: {', '.join(valid)}")
    return est.setParams(**params)


def main():
    cfg = tj.inputs()
    algorithm, label = cfg["algorithm"], cfg["label"]
    spark = SparkSession.builder.getOrCreate()
    tj.progress(message=f"loading {os.path.basename(cfg['data'])}")
    df = tj.read_spark(spark, cfg["data"])
    if label not in df.columns:
        raise ValueError(f"label column {label!r} is not in the data; columns: {', '.join(df.columns)}")
    features = cfg.get("features") or [c for c, t in df.dtypes if c != label and t.startswith(NUMERIC)]
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise ValueError(f"feature column(s) {missing} are not in the data; columns: {', '.join(df.columns)}")
    if not features:
        raise ValueError("no numeric feature columns found: pass features explicitly")
    df = df.select(*features, label).dropna()

    classification = algorithm != "linear"
    stages = [VectorAssembler(inputCols=features, outputCol="__features", handleInvalid="skip")]
    label_col = label
    if classification:
        stages.insert(0, StringIndexer(inputCol=label, outputCol="__label", stringOrderType="alphabetAsc"))
        label_col = "__label"
    stages.append(estimator(algorithm, cfg.get("params", {}), label_col))

    train, test = df.randomSplit([1 - cfg["testFraction"], cfg["testFraction"]], seed=cfg["seed"]) if cfg["testFraction"] > 0 else (df, df)
    tj.progress(message=f"training {algorithm} on {len(features)} features")
    model = Pipeline(stages=stages).fit(train)
    fitted = model.stages[-1]
    summary = getattr(fitted, "summary", None) if getattr(fitted, "hasSummary", False) else None
    # Tree ensembles report a one-value placeholder history; only iterative solvers have a loss curve.
    history = list(getattr(summary, "objectiveHistory", []) or [])
    for step, loss in enumerate(history if len(history) > 1 else []):
        tj.metric(step=step, loss=loss)

    predictions = model.transform(test)
    # Row counts describe the data, not the model: info for the job's view and model_info.json, not metrics.
    rows = {"train": train.count(), "test": test.count()}
    tj.info(train_rows=rows["train"], test_rows=rows["test"])
    tj.progress(message=f"evaluating on {rows['test']:,} held-out rows")
    metrics = {}
    if classification:
        labels = list(model.stages[0].labels)
        if algorithm == "gbt" and len(labels) > 2:
            raise ValueError(f"gbt supports two classes; label {label!r} has {len(labels)}: use random_forest or logistic")
        for name in ("accuracy", "f1"):
            metrics[name] = MulticlassClassificationEvaluator(labelCol=label_col, metricName=name).evaluate(predictions)
        if len(labels) == 2:
            metrics["auc"] = BinaryClassificationEvaluator(labelCol=label_col).evaluate(predictions)
    else:
        labels = None
        for name in ("rmse", "r2", "mae"):
            metrics[name] = RegressionEvaluator(labelCol=label_col, metricName=name).evaluate(predictions)
    tj.metric(**metrics)

    tj.progress(message="saving the model")
    out = tj.output_dir()
    # Not removed here: on a cluster, executors (another user) write parts of the model, which the
    # job cannot delete; the worker removes the job's whole folder afterwards.
    saved = os.path.join(tempfile.mkdtemp(), "model")
    model.save(saved)
    # Spark writes _SUCCESS and .crc files; one archive keeps the folder exactly as saved.
    shutil.make_archive(os.path.join(out, "spark-model"), "zip", saved)
    with open(os.path.join(out, "model_info.json"), "w") as f:
        json.dump({"framework": "pyspark.ml", "algorithm": algorithm, "label": label, "features": features, "classes": labels, "rows": rows, "metrics": metrics}, f, indent=2)
    spark.stop()


if __name__ == "__main__":
    main()
