/** `gpu` in cells: run PyTorch scripts or the shipped tabular MLP template on GPU workers. */
import { stageData, type DataSource } from './job-data.js';
import { submitJob, submitScript, type Job, type ScriptJobOptions } from './jobs.js';

export interface GpuSubmitOptions extends ScriptJobOptions {
  /** Inline Python, or `file`: a script path on the worker. */
  script?: string;
  file?: string;
  args?: string[];
  /** GPUs the job needs (CUDA_VISIBLE_DEVICES lists them); default 1. */
  gpus?: number;
}

export interface GpuTrainOptions {
  template: 'tabular-mlp';
  /** The training table: a file, an `s3://` object or a table (see `SparkTrainOptions.data`). */
  data: DataSource;
  label: string;
  features?: string[];
  task?: 'classification' | 'regression';
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  hidden?: number[];
  testFraction?: number;
  seed?: number;
  gpus?: number;
  /** Registered model name (default `<label>-mlp`). */
  model?: string;
  description?: string;
  name?: string;
  /** The experiment its run goes into (name or id; default one named after the job). */
  experiment?: string;
}

export const gpu = {
  submit(options: GpuSubmitOptions): Promise<Job> {
    return submitScript('gpu', { ...options });
  },

  /** Trains with PyTorch (per-epoch metrics), exports ONNX + state dict, registers the version. */
  async train(options: GpuTrainOptions): Promise<Job> {
    const { template, model, description, name, experiment, gpus, data, ...inputs } = options;
    const modelName = model ?? `${inputs.label}-mlp`;
    return submitJob({
      kind: 'gpu',
      name: name ?? `train ${modelName} (${template})`,
      spec: { template, inputs: { ...inputs, data: await stageData(data) }, ...(gpus !== undefined ? { gpus } : {}) },
      register: { model: modelName, ...(description ? { description } : {}) },
      ...(experiment ? { experiment } : {}),
    });
  },
};
