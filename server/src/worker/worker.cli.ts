import { parseArgs } from 'node:util';
import { loadWorkerConfig, type WorkerConfig } from '../config.js';
import { startWorker, type RunningWorker } from './agent.js';

export const WORKER_USAGE = `usage: tandem worker [--spark] [--gpu [--allow-cpu]] [--notebook] [--concurrency N] [--server URL] [--token TOKEN] [--name NAME] [--cache-dir DIR]
                     [--share DIR]... [--team NAME] [--trust-all-submitters]

  --spark         run Spark jobs (spark-submit against TANDEM_SPARK_MASTER, default local[*])
  --gpu           run GPU jobs (PyTorch; CUDA_VISIBLE_DEVICES per job from nvidia-smi)
  --allow-cpu     run GPU jobs on the CPU when there is no NVIDIA GPU
  --notebook      run notebook jobs (dashboard refreshes: nbclient on the notebook's kernel)
  --concurrency   jobs run at the same time (default 1)
  --server        Tandem server URL (default TANDEM_URL or http://127.0.0.1:8787)
  --token         worker token (default TANDEM_WORKER_TOKEN); create one with
                  POST /tandem/api/tokens {"name":"worker","kind":"worker"}
  --cache-dir     where Spark workers keep the driver class archive that makes Spark jobs start
                  faster (default TANDEM_CACHE_DIR or ~/.cache/tandem; built on first start)
  --team NAME     run only the jobs of this team's members (a team of the token's owner)
  --share DIR     a folder of this machine (shared storage) that jobs may read by path, read-only;
                  repeat for more
  --trust-all-submitters
                  run other users' jobs even without bubblewrap to isolate them (by default such
                  a worker runs only its owner's jobs)`;

/** `tandem worker …`: starts the agent; resolves once it is registered. */
export async function workerCommand(argv: string[], config: WorkerConfig = loadWorkerConfig()): Promise<RunningWorker> {
  const { values } = parseArgs({
    args: argv,
    options: {
      spark: { type: 'boolean', default: false },
      gpu: { type: 'boolean', default: false },
      notebook: { type: 'boolean', default: false },
      'allow-cpu': { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '1' },
      server: { type: 'string' },
      token: { type: 'string' },
      name: { type: 'string' },
      'cache-dir': { type: 'string' },
      'lease-ms': { type: 'string', default: '30000' },
      'trust-all-submitters': { type: 'boolean', default: false },
      share: { type: 'string', multiple: true },
      team: { type: 'string' },
    },
  });
  const token = values.token ?? config.token;
  if (!token) throw new Error(`a worker token is required: --token or TANDEM_WORKER_TOKEN\n\n${WORKER_USAGE}`);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency must be a positive integer (got ${values.concurrency})`);
  const leaseMs = Number(values['lease-ms']);
  if (!Number.isInteger(leaseMs) || leaseMs < 1000) throw new Error(`--lease-ms must be an integer ≥ 1000 (got ${values['lease-ms']})`);
  return startWorker({
    serverUrl: values.server ?? config.serverUrl,
    token,
    name: values.name,
    spark: values.spark,
    gpu: values.gpu,
    notebook: values.notebook,
    allowCpu: values['allow-cpu'],
    concurrency,
    leaseMs,
    cacheDir: values['cache-dir'] ?? config.cacheDir,
    python: config.python,
    sparkMaster: config.sparkMaster,
    trustAllSubmitters: values['trust-all-submitters'],
    shareDirs: values.share,
    team: values.team,
  });
}
