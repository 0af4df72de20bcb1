/** `spark` in cells: run PySpark scripts or the shipped MLlib training template on Spark workers. */
import { submitJob, type Job } from './jobs.js';

export interface SparkSubmitOptions {
  /** Inline PySpark code, or `file`: a script path on the worker. */
  script?: string;
  file?: string;
  args?: string[];
  /** Spark configuration, e.g. `{ 'spark.executor.memory': '2g' }`. */
  conf?: Record<string, string>;
  name?: string;
  maxAttempts?: number;
  /** Register the files the script writes to TANDEM_OUTPUT_DIR as a new version of this model. */
  model?: string;
}

export interface SparkTrainOptions {
  /** CSV or Parquet file (or folder of Parquet files) the worker can read. */
  data: string;
  label: string;
  /** Default: every numeric column except the label. */
  features?: string[];
  algorithm: 'logistic' | 'gbt' | 'random_forest' | 'linear';
  /** MLlib estimator params, e.g. `{ maxIter: 50, regParam: 0.01 }`. */
  params?: Record<string, string | number | boolean>;
  testFraction?: number;
  seed?: number;
  /** Registered model name (default `<label>-<algorithm>`). */
  model?: string;
  description?: string;
  conf?: Record<string, string>;
  name?: string;
}

export const spark = {
  submit(options: SparkSubmitOptions): Promise<Job> {
    const { name, maxAttempts, model, ...spec } = options;
    return submitJob({ kind: 'spark', name, maxAttempts, spec, ...(model ? { register: { model } } : {}) });
  },

  /** Trains with PySpark MLlib, records metrics and registers the model as a new version. */
  train(options: SparkTrainOptions): Promise<Job> {
    const { model, description, conf, name, ...inputs } = options;
    const modelName = model ?? `${inputs.label}-${inputs.algorithm}`.replace(/_/g, '-');
    return submitJob({
      kind: 'spark',
      name: name ?? `train ${modelName} (${inputs.algorithm})`,
      spec: { template: 'mllib-train', inputs, ...(conf ? { conf } : {}) },
      register: { model: modelName, ...(description ? { description } : {}) },
    });
  },
};
