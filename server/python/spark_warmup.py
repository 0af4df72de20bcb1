"""Loads the classes a typical Tandem Spark job needs, so the JVM can archive them (CDS).

The worker runs this once per Spark installation with -XX:ArchiveClassesAtExit; later drivers
start from the archive instead of searching Spark's ~250 jars for each class. Covers a DataFrame
query with a shuffle, CSV and Parquet I/O, an MLlib pipeline, and the event log that the worker
reads for progress (the worker runs this with the same event log settings as jobs).
"""
import os
import sys
import tempfile

from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import SparkSession


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
    spark.stop()


if __name__ == "__main__":
    sys.exit(main())
