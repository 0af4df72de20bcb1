/** `gpu` in cells: run PyTorch scripts or the shipped tabular MLP template on GPU workers. */
import { submitJob, type Job } from './jobs.js';

export interface GpuSubmitOptions {
  /** Inline Python, or `file`: a script path on the worker. */
  script?: string;
  file?: string;
  args?: string[];
  /** GPUs the job needs (CUDA_VISIBLE_DEVICES lists them); default 1. */
  gpus?: number;
  name?: string;
  maxAttempts?: number;
  /** Register the files the script writes to TANDEM_OUTPUT_DIR as a new version of this model. */
  model?: string;
}

export interface GpuTrainOptions {
  template: 'tabular-mlp';
  data: string;
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
}

export const gpu = {
  submit(options: GpuSubmitOptions): Promise<Job> {
    const { name, maxAttempts, model, ...spec } = options;
    return submitJob({ kind: 'gpu', name, maxAttempts, spec, ...(model ? { register: { model } } : {}) });
  },

  /** Trains with PyTorch (per-epoch metrics), exports ONNX + state dict, registers the version. */
  train(options: GpuTrainOptions): Promise<Job> {
    const { template, model, description, name, gpus, ...inputs } = options;
    const modelName = model ?? `${inputs.label}-mlp`;
    return submitJob({
      kind: 'gpu',
      name: name ?? `train ${modelName} (${template})`,
      spec: { template, inputs, ...(gpus !== undefined ? { gpus } : {}) },
      register: { model: modelName, ...(description ? { description } : {}) },
    });
  },
};
