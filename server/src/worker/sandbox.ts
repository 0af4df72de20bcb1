// Jobs run teammates' code. On the worker each job sees only what it needs: a new mount namespace
// with the system read-only, the Python and Java installs read-only, its own folder writable, a
// private /tmp, no agent home, caches, tokens or other jobs' folders; its own PID, IPC and UTS
// namespaces; an environment built from an allow-list; and, when the agent runs as root, an
// unprivileged user. Bubblewrap (Debian's `bubblewrap`) does the namespaces; without it a job
// still gets the allow-listed environment and its own folder, but nothing stops it from reading
// the machine's files, so such a worker runs only its owner's jobs unless told to trust everyone.
import { spawnSync } from 'node:child_process';
import { chown, readdir } from 'node:fs/promises';
import path from 'node:path';
import { inheritedEnvironment } from '../config.js';

/** The user jobs run as when the agent is root: `nobody`. */
export const JOB_UID = 65534;
export const JOB_GID = 65534;

/** Variables a job may inherit from the agent; everything else (tokens, keys, the agent's paths) stays behind. */
const INHERITED = [
  'PATH',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'JAVA_HOME',
  'SPARK_HOME',
  'HADOOP_CONF_DIR',
  'SPARK_LOCAL_IP',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'OPENBLAS_CORETYPE',
  'OPENBLAS_L2_SIZE',
  'OPENBLAS_NUM_THREADS',
  'NVIDIA_VISIBLE_DEVICES',
];

/** The job's environment: the allow-list from the agent's, a home and temp folder inside its own folder, then `own`. */
export function jobEnvironment(
  jobDir: string,
  own: Record<string, string>,
  agentEnv: NodeJS.ProcessEnv = inheritedEnvironment(),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) if (agentEnv[name] !== undefined) env[name] = agentEnv[name]!;
  return { ...env, HOME: path.join(jobDir, 'home'), TMPDIR: path.join(jobDir, 'tmp'), ...own };
}

export interface Sandbox {
  /** Wraps a command so that it runs isolated; the result is what to spawn. */
  wrap(command: string, args: string[], options: SandboxOptions): { command: string; args: string[] };
  /** Hands the job folder to the job's user (when jobs run as another user). */
  prepare(jobDir: string): Promise<void>;
  /** How jobs are isolated, for the agent's start line and the job log. */
  readonly description: string;
  readonly isolated: boolean;
}

export interface SandboxOptions {
  jobDir: string;
  /** Folders and files the job reads (Python, pyspark, the class archive): mounted read-only. */
  readOnly: string[];
  /** Device files the job uses (GPUs). */
  devices?: string[];
}

/** Bubblewrap when the machine has it (and `disabled` is not set), else only the environment and folder. */
export function createSandbox({ disabled = false, isRoot = process.getuid?.() === 0 } = {}): Sandbox {
  const bwrap = disabled ? undefined : findBwrap();
  if (!bwrap) {
    return {
      isolated: false,
      description: disabled ? 'not sandboxed (disabled)' : 'not sandboxed: bubblewrap (bwrap) is not installed',
      wrap: (command, args) => ({ command, args }),
      prepare: async () => undefined,
    };
  }
  return {
    isolated: true,
    description: isRoot ? `sandboxed with bubblewrap as uid ${JOB_UID}` : 'sandboxed with bubblewrap in a user namespace',
    wrap(command, args, options) {
      const targets = [...new Set(options.readOnly), options.jobDir];
      const mounts = [
        // Folders leading to the mounts, traversable by the job's user (bubblewrap makes them 0700).
        ...ancestors(targets).flatMap((dir) => ['--perms', '0755', '--dir', dir]),
        ...['/usr', '/etc', '/sys'].flatMap((p) => ['--ro-bind', p, p]),
        // Debian's merged /usr: the top-level folders are links into it.
        ...['bin', 'sbin', 'lib', 'lib64'].flatMap((p) => ['--symlink', `usr/${p}`, `/${p}`]),
        ...[...new Set(options.readOnly)].flatMap((p) => ['--ro-bind-try', p, p]),
        ...(options.devices ?? []).flatMap((d) => ['--dev-bind-try', d, d]),
        '--bind',
        options.jobDir,
        options.jobDir,
      ];
      // As root, bubblewrap sets up the mounts and setpriv drops to an unprivileged user for the
      // job itself; otherwise the job runs as the agent's user inside a user namespace.
      const drop = isRoot
        ? ['setpriv', `--reuid=${JOB_UID}`, `--regid=${JOB_GID}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--']
        : [];
      return {
        command: bwrap,
        args: [
          '--unshare-pid',
          '--unshare-ipc',
          '--unshare-uts',
          // Not the cgroup namespace: the JVM's container support then fails to start Spark (no BufferPool MBean).
          ...(isRoot ? [] : ['--unshare-user']),
          // The network stays: Spark drivers reach their master, and jobs call the server back.
          '--die-with-parent',
          '--new-session',
          '--proc',
          '/proc',
          '--dev',
          '/dev',
          '--perms',
          '01777',
          '--tmpfs',
          '/tmp',
          ...mounts,
          '--chdir',
          options.jobDir,
          '--',
          ...drop,
          command,
          ...args,
        ],
      };
    },
    async prepare(jobDir) {
      if (isRoot) await chownTree(jobDir, JOB_UID, JOB_GID);
    },
  };
}

/** Every folder above `paths`, outermost first, except those the sandbox mounts anyway. */
function ancestors(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    for (let dir = path.dirname(p); dir !== '/' && dir !== '.'; dir = path.dirname(dir)) dirs.add(dir);
  }
  const bound = ['/usr', '/etc', '/sys', '/proc', '/dev'];
  return [...dirs]
    .filter((d) => d !== '/tmp' && !bound.some((m) => d === m || d.startsWith(`${m}/`)))
    .sort((a, b) => a.split('/').length - b.split('/').length);
}

function findBwrap(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' });
  const file = found.stdout?.trim();
  if (!file) return undefined;
  // A bwrap that cannot create namespaces here (a container without them) is no sandbox.
  const probe = spawnSync(file, ['--unshare-pid', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'], { timeout: 10_000 });
  return probe.status === 0 ? file : undefined;
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    await chown(path.join(entry.parentPath, entry.name), uid, gid);
  }
}
