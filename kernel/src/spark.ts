/** `spark` in cells: run PySpark scripts or the shipped MLlib training template on Spark workers. */
import { stageData, type DataSource } from './job-data.js';
import { submitJob, submitScript, type Job, type ScriptJobOptions } from './jobs.js';

export interface SparkSubmitOptions extends ScriptJobOptions {
  /** Inline PySpark code, or `file`: a script path on the worker. */
  script?: string;
  file?: string;
  args?: string[];
  /** Spark configuration, e.g. `{ 'spark.executor.memory': '2g' }`. */
  conf?: Record<string, string>;
}

export interface SparkTrainOptions {
  /**
   * The training table: a CSV, Parquet, JSON or Arrow file, a folder of Parquet files, an `s3://`
   * object, or an Arrow/arquero table such as `await sql`…``. Uploaded for the worker.
   */
  data: DataSource;
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
  /** The experiment its run goes into (name or id; default one named after the job). */
  experiment?: string;
}

export const spark = {
  submit(options: SparkSubmitOptions): Promise<Job> {
    return submitScript('spark', { ...options });
  },

  /** Trains with PySpark MLlib, records metrics and registers the model as a new version. */
  async train(options: SparkTrainOptions): Promise<Job> {
    const { model, description, conf, name, experiment, data, ...inputs } = options;
    const modelName = model ?? `${inputs.label}-${inputs.algorithm}`.replace(/_/g, '-');
    return submitJob({
      kind: 'spark',
      name: name ?? `train ${modelName} (${inputs.algorithm})`,
      spec: { template: 'mllib-train', inputs: { ...inputs, data: await stageData(data) }, ...(conf ? { conf } : {}) },
      register: { model: modelName, ...(description ? { description } : {}) },
      ...(experiment ? { experiment } : {}),
    });
  },
};
