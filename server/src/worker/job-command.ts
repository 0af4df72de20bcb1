import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClaimedJob } from './worker.client.js';
import { NOTEBOOK_OUTPUT } from '../jobs/job-spec.js';
import { SERVER_ROOT } from '../paths.js';
import { PYTHON_DIR, sparkSubmit } from './python.js';
import { jobEnvironment, type Sandbox } from './sandbox.js';
import { classArchiveJavaOptions, DRIVER_JAVA_OPTIONS } from './spark-class-archive.js';
import { isSparkNoise, sparkLogJavaOption } from './spark-logging.js';
import { sparkProgressConf } from './spark-progress.js';

export interface Runtime {
  python: string;
  /** The Tandem server as the worker reaches it: jobs call it back as their submitter. */
  serverUrl: string;
  sparkMaster: string;
  /** Spark drivers start from this class-data-sharing archive once it is ready. */
  sparkClassArchive?: string;
  sandbox: Sandbox;
  /** What jobs read besides the system: the Python environment (and the install it was made from). */
  pythonPaths: string[];
  /** Folders of this machine (shared storage) that jobs may read by path. */
  sharedDirs: string[];
}

export interface JobCommand {
  command: string;
  args: string[];
  /**
   * The job's own command line as its log shows it: without the sandbox around it, nor the
   * settings Tandem adds to every Spark job (logging, progress, class archive).
   */
  inner: string[];
  env: NodeJS.ProcessEnv;
  /** Where the Spark driver writes its event log, read for progress. */
  sparkEventLog?: string;
  /** Output lines of the job's tools (not the job's own) that tell its user nothing: left out of its log. */
  isNoise?: (line: string) => boolean;
}

const TEMPLATE_FILES: Record<string, string> = {
  'mllib-train': 'spark_train.py',
  'tabular-mlp': 'gpu_tabular_mlp.py',
};

/** Writes what the job runs into `dir` and returns the program to start: a script file plus its argv. */
async function scriptOf(job: ClaimedJob, dir: string): Promise<{ file: string; args: string[] }> {
  const spec = job.spec as { script?: string; file?: string; template?: string; inputs?: unknown; args?: string[] };
  const args = spec.args ?? [];
  if (spec.script !== undefined) {
    const file = path.join(dir, 'job.py');
    await writeFile(file, spec.script);
    return { file, args };
  }
  if (spec.template !== undefined) {
    const inputs = path.join(dir, 'inputs.json');
    await writeFile(inputs, JSON.stringify(spec.inputs ?? {}));
    return { file: path.join(PYTHON_DIR, TEMPLATE_FILES[spec.template]!), args: [inputs, ...args] };
  }
  return { file: String(spec.file), args };
}

const REPO_ROOT = path.dirname(SERVER_ROOT);

/**
 * What a notebook's Tandem kernel runs from, read-only: its code and packages, the server's
 * built API client it imports, and the kernel spec. Not the repository as a whole: `.tandem`
 * holds the server's tokens and database.
 */
const KERNEL_PATHS = ['kernel', 'node_modules', 'server/dist', 'server/package.json', 'package.json', 'jupyter-config/data'].map((p) =>
  path.join(REPO_ROOT, p),
);

/** Writes a notebook job's notebook into its folder; the runner writes the executed one among its outputs. */
async function notebookOf(job: ClaimedJob, dir: string, outputDir: string): Promise<{ file: string; args: string[] }> {
  const spec = job.spec as { notebook: unknown; timeoutSeconds?: number };
  const source = path.join(dir, 'notebook.ipynb');
  await writeFile(source, JSON.stringify(spec.notebook));
  return {
    file: path.join(PYTHON_DIR, 'run_notebook.py'),
    args: [source, path.join(outputDir, NOTEBOOK_OUTPUT), String(spec.timeoutSeconds ?? 600)],
  };
}

/**
 * The command line for a job: `spark-submit` against the configured master for Spark jobs, the
 * venv's Python for GPU jobs, nbclient on the notebook's kernel for notebook jobs. All see
 * TANDEM_OUTPUT_DIR (files there are uploaded when the job succeeds), can `import tandem_job` for
 * metrics and progress, and reach the server as their submitter (TANDEM_URL, TANDEM_TOKEN: the
 * job's own short-lived token, which is also what a notebook's cell SDK uses).
 */
export async function jobCommand(
  job: ClaimedJob,
  dir: string,
  outputDir: string,
  runtime: Runtime,
  cudaDevices: number[],
): Promise<JobCommand> {
  const { file, args } = job.kind === 'notebook' ? await notebookOf(job, dir, outputDir) : await scriptOf(job, dir);
  if (runtime.sandbox.isolated) requireShared(job, [dir, ...runtime.sharedDirs]);
  const env = jobEnvironment(dir, {
    TANDEM_OUTPUT_DIR: outputDir,
    TANDEM_JOB_ID: job.id,
    TANDEM_JOB_ATTEMPT: String(job.attempt),
    TANDEM_URL: runtime.serverUrl,
    TANDEM_TOKEN: job.token,
    PYTHONPATH: PYTHON_DIR,
    PYTHONUNBUFFERED: '1',
    // `tandem_job.data(name)` reads the local paths of the job's downloaded data from here.
    ...(job.spec.data ? { TANDEM_DATA: JSON.stringify(job.spec.data) } : {}),
  });
  const readOnly = [
    ...runtime.pythonPaths,
    PYTHON_DIR,
    ...runtime.sharedDirs,
    ...(runtime.sparkClassArchive ? [runtime.sparkClassArchive] : []),
  ];
  const sandboxed = (command: string, argv: string[], devices: string[] = []) => ({
    ...runtime.sandbox.wrap(command, argv, { jobDir: dir, readOnly, devices }),
    inner: [command, ...argv],
  });
  if (job.kind === 'notebook') {
    return {
      ...runtime.sandbox.wrap(runtime.python, [file, ...args], { jobDir: dir, readOnly: [...readOnly, ...KERNEL_PATHS] }),
      inner: [runtime.python, file, ...args],
      // The kernel spec `tandem` (and any the notebook names) from the repository's Jupyter data.
      env: { ...env, JUPYTER_PATH: path.join(REPO_ROOT, 'jupyter-config/data'), JUPYTER_PLATFORM_DIRS: '1' },
    };
  }
  if (job.kind === 'gpu') {
    return {
      ...sandboxed(runtime.python, [file, ...args], await gpuDevices(cudaDevices)),
      env: { ...env, CUDA_VISIBLE_DEVICES: cudaDevices.join(',') },
    };
  }
  const sparkEventLog = path.join(dir, 'spark-events');
  await mkdir(sparkEventLog);
  const userConf = (job.spec.conf as Record<string, string> | undefined) ?? {};
  const conf: Record<string, string> = {
    // The job runs as the sandbox's user while a cluster's executors write parts of its output
    // into the job's folder as theirs: Hadoop must leave those parts for the job to move.
    'spark.hadoop.fs.permissions.umask-mode': '000',
    'spark.ui.showConsoleProgress': 'false',
    ...userConf,
    // Before the user's own default options, so that theirs win where they overlap.
    [DRIVER_JAVA_OPTIONS]: [
      sparkLogJavaOption(),
      runtime.sparkClassArchive && classArchiveJavaOptions(runtime.sparkClassArchive),
      userConf[DRIVER_JAVA_OPTIONS],
    ]
      .filter(Boolean)
      .join(' '),
    ...sparkProgressConf(sparkEventLog),
    'spark.app.name': `tandem-${job.name}`.slice(0, 100),
  };
  const submit = (settings: Record<string, string>) => [
    '--master',
    runtime.sparkMaster,
    ...Object.entries(settings).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
    file,
    ...args,
  ];
  return {
    ...sandboxed(sparkSubmit(runtime.python), submit(conf)),
    inner: [sparkSubmit(runtime.python), ...submit(userConf)],
    env: { SPARK_LOCAL_IP: '127.0.0.1', ...env, PYSPARK_PYTHON: runtime.python, PYSPARK_DRIVER_PYTHON: runtime.python },
    sparkEventLog,
    isNoise: isSparkNoise,
  };
}

/**
 * A job may name files of this machine (a script `file`, a template's `data`) only inside its own
 * folder (downloaded data) or the folders the worker shares with jobs: anything else is outside
 * its sandbox, and naming it must not be a way to read the machine's files.
 */
function requireShared(job: ClaimedJob, readable: string[]): void {
  const spec = job.spec as { file?: string; inputs?: { data?: unknown } };
  for (const [what, value] of [
    ['file', spec.file],
    ['inputs.data', spec.inputs?.data],
  ] as const) {
    if (typeof value !== 'string' || value.includes('://')) continue;
    const resolved = path.resolve(value);
    if (readable.some((dir) => resolved === dir || resolved.startsWith(`${dir}${path.sep}`))) continue;
    throw new Error(
      `${what} ${value} is a path on the worker that jobs cannot read: upload the data from a kernel (spark.train({ data }) does), or start the worker with --share <folder>`,
    );
  }
}

/** The NVIDIA device files a job with GPUs needs inside its sandbox. */
async function gpuDevices(cudaDevices: number[]): Promise<string[]> {
  if (cudaDevices.length === 0) return [];
  const names = await readdir('/dev').catch(() => [] as string[]);
  return names.filter((n) => n.startsWith('nvidia')).map((n) => `/dev/${n}`);
}
