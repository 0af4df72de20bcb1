// Runs cells in a real kernel through jupyter_client (the venv's Python), as JupyterLab would.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { loadMachineConfig } from '../../../server/src/config.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');

/** The Python the server would use (TANDEM_PYTHON, else the repository's venv). */
export function pythonBin(): string {
  return loadMachineConfig().python;
}

export interface Step {
  code?: string;
  /** Sends this shell message instead of code (comm_open, comm_info_request); only *_request ones get a reply. */
  msg_type?: string;
  content?: Record<string, unknown>;
  interrupt_after?: number;
  timeout?: number;
  stop_on_error?: boolean;
  /** Send the next step without waiting for this one, as Run All does. */
  queued?: boolean;
}

export interface Output {
  msg_type: string;
  content: Record<string, any>;
}

export interface StepResult {
  /** Null for messages that get no reply (comm_open, comm_close). */
  reply: Record<string, any>;
  outputs: Output[];
  idle: boolean;
}

/** Runs one of the Python scripts in this folder with the repository's kernel specs; resolves its JSON output. */
function runPython<T>(script: string, args: string[], stdin = ''): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      pythonBin(),
      [path.join(here, script), ...args],
      { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, JUPYTER_PATH: path.join(repoRoot, 'jupyter-config/data') } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${script} failed: ${err.message}\n${stderr}`, { cause: err }));
        else resolve(JSON.parse(stdout));
      },
    );
    child.stdin!.end(stdin);
  });
}

export function runCells(steps: Step[], kernel = 'tandem', cwd = repoRoot): Promise<StepResult[]> {
  return runPython('jupyter_driver.py', [], JSON.stringify({ kernel, cwd, steps }));
}

/** What jupyter_kernel_test's suite (kernel_conformance.py) found: test ids and their failure, error or skip reasons. */
export interface ConformanceReport {
  ran: number;
  failures: { test: string; detail: string }[];
  errors: { test: string; detail: string }[];
  skipped: { test: string; detail: string }[];
}

export function runKernelConformance(): Promise<ConformanceReport> {
  return runPython('kernel_conformance.py', []);
}

export interface NotebookCell {
  cell_type: string;
  source: string;
  outputs?: { output_type: string; data?: Record<string, any>; ename?: string; evalue?: string; text?: string }[];
}

/** Executes a notebook headless with nbclient (as CI does) and returns it with its outputs. */
export function runNotebook(file: string, kernel = 'tandem'): Promise<{ cells: NotebookCell[] }> {
  return runPython('run_notebook.py', [file, kernel]);
}

export const streamText = (result: StepResult, name = 'stdout'): string =>
  result.outputs
    .filter((o) => o.msg_type === 'stream' && o.content.name === name)
    .map((o) => o.content.text)
    .join('');

export const outputOf = (result: StepResult, type: string): Output | undefined => result.outputs.find((o) => o.msg_type === type);
