"""Loads the classes a typical Tandem Spark job needs, so the JVM can archive them (CDS).

The worker runs this once per Spark installation with -XX:ArchiveClassesAtExit; later drivers
start from the archive instead of searching Spark's ~250 jars for each class. Covers a DataFrame
query with a shuffle, CSV and Parquet I/O, an MLlib pipeline, and the REST monitoring API that
the worker polls for progress.
"""
import json
import os
import sys
import tempfile
import urllib.request

from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import SparkSession


def rest(spark, path):
    url = f"{spark.sparkContext.uiWebUrl}/api/v1/applications{path}"
    with urllib.request.urlopen(url, timeout=60) as res:
        return json.load(res)


def main():
    spark = SparkSession.builder.getOrCreate()
    df = spark.range(10_000).selectExpr("id", "id % 7 AS k", "CAST(id % 2 AS DOUBLE) AS label")
    df.groupBy("k").count().collect()
    with tempfile.TemporaryDirectory() as scratch:
        df.write.parquet(os.path.join(scratch, "p"))
        df.write.csv(os.path.join(scratch, "c"), header=True)
        spark.read.parquet(os.path.join(scratch, "p")).count()
        spark.read.csv(os.path.join(scratch, "c"), header=True, inferSchema=True).count()
    assembler = VectorAssembler(inputCols=["id", "k"], outputCol="features")
    Pipeline(stages=[assembler, LogisticRegression(maxIter=2)]).fit(df).transform(df).count()
    app = rest(spark, "")[0]["id"]
    rest(spark, f"/{app}/environment")
    rest(spark, f"/{app}/jobs")
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
