// What a Spark job's log shows: the user's output and real errors, not Spark's own chatter. The
// driver logs through log4j2 with Tandem's configuration (WARN and up, minus notes about the
// machine); the few lines that come from elsewhere are dropped here by their exact shape.
import path from 'node:path';
import { PYTHON_DIR } from './python.js';

/** Shipped with the job helpers, so a sandboxed driver can read it. */
export const SPARK_LOG_CONFIG = path.join(PYTHON_DIR, 'spark-log4j2.properties');

/** The driver JVM option that makes log4j2 read it. */
export const sparkLogJavaOption = (): string => `-Dlog4j2.configurationFile=file:${SPARK_LOG_CONFIG}`;

const NOISE = [
  // Printed by the JVM for the vector module Spark's launcher always adds; no flag silences it.
  /^WARNING: Using incubator modules: jdk\.incubator\.vector$/,
  // netlib's native loader on a machine without a system BLAS/LAPACK: MLlib then uses its Java one.
  /^netlib-(blas|lapack|arpack): JNI_OnLoad: dlopen\(\S+\) failed: .*cannot open shared object file/,
  // PySpark logs each JVM error it converts as one JSON line with the whole Java stack, then raises
  // it: the Python traceback that follows says the same readably (and a caught error needs neither).
  /^\{"ts": "[^"]*", "level": "ERROR", "logger": "(DataFrame|SQL)QueryContextLogger"/,
];

/** True for a line of a Spark job's output that tells its user nothing. */
export const isSparkNoise = (line: string): boolean => NOISE.some((pattern) => pattern.test(line));
