import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SERVER_ROOT } from './paths.js';

// The only module that reads the environment: everything else is handed what is read here.

/** Environment variables the server reads; README's configuration table mirrors this. */
const envSchema = z.object({
  TANDEM_HOME: z.string().min(1).default('.tandem'),
  TANDEM_HOST: z.string().min(1).default('127.0.0.1'),
  TANDEM_PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  TANDEM_PUBLIC_URL: z.url().optional(),
  TANDEM_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  TANDEM_S3_ENDPOINT: z.url().optional(),
  TANDEM_S3_ACCESS_KEY: z.string().min(1).optional(),
  TANDEM_S3_SECRET_KEY: z.string().min(1).optional(),
  TANDEM_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
    .default('tandem'),
  TANDEM_S3_REGION: z.string().default('us-east-1'),
  TANDEM_ALLOWED_ORIGINS: z.string().default('*'),
  TANDEM_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  TANDEM_SERVE_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  TANDEM_SERVE_LOG_FLUSH_SECONDS: z.coerce.number().positive().max(3600).default(10),
  TANDEM_MAX_ARTIFACT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024 * 1024),
  TANDEM_SPARK_MASTER: z.string().default('local[*]'),
  TANDEM_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  TANDEM_METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  TANDEM_SESSION_IDLE_MINUTES: z.coerce
    .number()
    .positive()
    .default(8 * 60),
  TANDEM_SESSION_MAX_HOURS: z.coerce
    .number()
    .positive()
    .default(7 * 24),
  TANDEM_AUTH: z
    .string()
    .regex(/^(password|oidc)(,(password|oidc))?$/, 'must be password, oidc, or password,oidc for both')
    .default('password'),
  TANDEM_OIDC_ISSUER: z.url().optional(),
  TANDEM_OIDC_CLIENT_ID: z.string().min(1).optional(),
  TANDEM_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  TANDEM_OIDC_SCOPES: z
    .string()
    .regex(/(^|\s)openid(\s|$)/, 'must include openid')
    .default('openid profile email'),
  TANDEM_OIDC_GROUPS_CLAIM: z.string().min(1).optional(),
  TANDEM_OIDC_ADMIN_CLAIM: z.string().min(1).optional(),
  TANDEM_OIDC_ADMIN_VALUE: z.string().min(1).optional(),
  TANDEM_OIDC_NAME: z.string().min(1).max(60).default('single sign-on'),
  TANDEM_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  TANDEM_SMTP_FROM: z.string().min(3).max(300).default('Tandem <tandem@localhost>'),
  TANDEM_WEBHOOK_ALLOW_HOSTS: z.string().default(''),
});

export type Env = z.infer<typeof envSchema>;

export interface S3Config {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

export interface Config {
  home: string;
  host: string;
  port: number;
  publicUrl?: string;
  databaseUrl?: string;
  s3?: S3Config;
  allowedOrigins: string[] | '*';
  maxBodyBytes: number;
  maxArtifactBytes: number;
  /** Largest body a prediction request may send (TANDEM_SERVE_MAX_BODY_BYTES, default 4 MiB); more is a 413. */
  serveMaxBodyBytes: number;
  /** How often sampled prediction logs are written to the artifact store, one file per deployment (TANDEM_SERVE_LOG_FLUSH_SECONDS, default 10). */
  serveLogFlushMs: number;
  sparkMaster: string;
  logLevel: Env['TANDEM_LOG_LEVEL'];
  /** When set, `/metrics` answers only to `Authorization: Bearer <it>` (what Prometheus scrapes with). */
  metricsToken?: string;
  /** A browser session ends after this long without a request (TANDEM_SESSION_IDLE_MINUTES, default 8 h). */
  sessionIdleMs: number;
  /** … and this long after sign-in however active (TANDEM_SESSION_MAX_HOURS, default 7 days). */
  sessionMaxMs: number;
  /** People may sign in with a password (TANDEM_AUTH includes `password`, the default). */
  passwordSignIn: boolean;
  /**
   * Single-person mode: TANDEM_AUTH is unset. The local user may then also sign in with the key
   * in `<home>/sign-in-key` that `npm start` hands to JupyterLab (auth/session-tokens.ts).
   */
  singlePerson: boolean;
  /** Set when people may sign in with OpenID Connect (TANDEM_AUTH includes `oidc`). */
  oidc?: OidcConfig;
  /** Where notification email goes out (TANDEM_SMTP_URL, e.g. smtp://mail:587) and who it is from (TANDEM_SMTP_FROM). */
  smtp?: { url: string; from: string };
  /**
   * Hosts webhooks (notification channels, pipeline steps) may reach although they are loopback
   * or private addresses (TANDEM_WEBHOOK_ALLOW_HOSTS, comma-separated; `*` for any).
   */
  webhookAllowHosts: string[];
}

/** An OpenID provider (TANDEM_OIDC_*); the sign-in rules are in auth/oidc.service.ts. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** Without one, Tandem is a public client and PKCE alone protects the code. */
  clientSecret?: string;
  scopes: string;
  /** The claim listing the person's groups; when set, team memberships follow it at each sign-in. */
  groupsClaim?: string;
  /** The claim that makes admins; when set, admin is granted or taken away at each sign-in. */
  adminClaim?: string;
  /** The value of `adminClaim` (or one of its values) that means admin; unset: the claim must be true. */
  adminValue?: string;
  /** The provider as the sign-in button names it: "Sign in with <name>". */
  name: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Tandem configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads configuration from the environment; every bad variable is named in one error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(envSchema, env);
  const s3Vars = [e.TANDEM_S3_ENDPOINT, e.TANDEM_S3_ACCESS_KEY, e.TANDEM_S3_SECRET_KEY];
  if (s3Vars.some(Boolean) && !s3Vars.every(Boolean)) {
    throw new ConfigError(['TANDEM_S3_ENDPOINT, TANDEM_S3_ACCESS_KEY and TANDEM_S3_SECRET_KEY must be set together']);
  }
  const methods = e.TANDEM_AUTH.split(',');
  const oidc = methods.includes('oidc') ? oidcConfig(e) : undefined;
  if (!oidc) {
    const stray = Object.keys(env).filter((name) => name.startsWith('TANDEM_OIDC_'));
    if (stray.length > 0) throw new ConfigError([`${stray.join(', ')} set, but TANDEM_AUTH (${e.TANDEM_AUTH}) does not include oidc`]);
  }
  return {
    home: path.resolve(e.TANDEM_HOME),
    host: e.TANDEM_HOST,
    port: e.TANDEM_PORT,
    publicUrl: e.TANDEM_PUBLIC_URL,
    databaseUrl: e.TANDEM_DATABASE_URL,
    s3: e.TANDEM_S3_ENDPOINT
      ? {
          endpoint: e.TANDEM_S3_ENDPOINT,
          accessKey: e.TANDEM_S3_ACCESS_KEY!,
          secretKey: e.TANDEM_S3_SECRET_KEY!,
          bucket: e.TANDEM_S3_BUCKET,
          region: e.TANDEM_S3_REGION,
        }
      : undefined,
    allowedOrigins: e.TANDEM_ALLOWED_ORIGINS === '*' ? '*' : e.TANDEM_ALLOWED_ORIGINS.split(',').map((o) => o.trim()),
    maxBodyBytes: e.TANDEM_MAX_BODY_BYTES,
    maxArtifactBytes: e.TANDEM_MAX_ARTIFACT_BYTES,
    serveMaxBodyBytes: e.TANDEM_SERVE_MAX_BODY_BYTES,
    serveLogFlushMs: e.TANDEM_SERVE_LOG_FLUSH_SECONDS * 1000,
    sparkMaster: e.TANDEM_SPARK_MASTER,
    logLevel: e.TANDEM_LOG_LEVEL,
    metricsToken: e.TANDEM_METRICS_TOKEN,
    sessionIdleMs: e.TANDEM_SESSION_IDLE_MINUTES * 60_000,
    sessionMaxMs: e.TANDEM_SESSION_MAX_HOURS * 3_600_000,
    passwordSignIn: methods.includes('password'),
    singlePerson: env.TANDEM_AUTH === undefined,
    oidc,
    smtp: e.TANDEM_SMTP_URL ? { url: e.TANDEM_SMTP_URL, from: e.TANDEM_SMTP_FROM } : undefined,
    webhookAllowHosts: e.TANDEM_WEBHOOK_ALLOW_HOSTS.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  };
}

function oidcConfig(e: Env): OidcConfig {
  const problems: string[] = [];
  if (!e.TANDEM_OIDC_ISSUER) problems.push('TANDEM_OIDC_ISSUER: required when TANDEM_AUTH includes oidc (the provider’s issuer URL)');
  if (!e.TANDEM_OIDC_CLIENT_ID) problems.push('TANDEM_OIDC_CLIENT_ID: required when TANDEM_AUTH includes oidc');
  // Plain http would let anyone on the path read codes and tokens; a provider on this machine may use it.
  if (e.TANDEM_OIDC_ISSUER?.startsWith('http:') && !isLoopback(new URL(e.TANDEM_OIDC_ISSUER).hostname)) {
    problems.push(`TANDEM_OIDC_ISSUER: must be an https URL (http only for localhost) (got "${e.TANDEM_OIDC_ISSUER}")`);
  }
  if (e.TANDEM_OIDC_ADMIN_VALUE && !e.TANDEM_OIDC_ADMIN_CLAIM) problems.push('TANDEM_OIDC_ADMIN_VALUE: needs TANDEM_OIDC_ADMIN_CLAIM');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    issuer: e.TANDEM_OIDC_ISSUER!,
    clientId: e.TANDEM_OIDC_CLIENT_ID!,
    clientSecret: e.TANDEM_OIDC_CLIENT_SECRET,
    scopes: e.TANDEM_OIDC_SCOPES.trim().split(/\s+/).join(' '),
    groupsClaim: e.TANDEM_OIDC_GROUPS_CLAIM,
    adminClaim: e.TANDEM_OIDC_ADMIN_CLAIM,
    adminValue: e.TANDEM_OIDC_ADMIN_VALUE,
    name: e.TANDEM_OIDC_NAME,
  };
}

const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * The Python interpreter Tandem starts (nbclient for dashboard refreshes, pyspark and torch for
 * jobs): `configured` (TANDEM_PYTHON), else the repository's .venv that set-up makes, else
 * python3 on PATH.
 */
export function findPython(configured: string | undefined): string {
  if (configured) return configured;
  const venv = path.join(path.dirname(SERVER_ROOT), '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/** Programs of this machine that the server starts. */
export interface MachineConfig {
  /** TANDEM_PYTHON, else the repository's .venv (findPython). */
  python: string;
  /** Chromium for dashboard PDF export: TANDEM_CHROMIUM, else Debian's /usr/bin/chromium. */
  chromium: string;
  /** JUPYTER_PATH: Jupyter data folders that dashboard refreshes search after the repository's own. */
  jupyterPath?: string;
}

export function loadMachineConfig(env: NodeJS.ProcessEnv = process.env): MachineConfig {
  return { python: findPython(env.TANDEM_PYTHON), chromium: env.TANDEM_CHROMIUM ?? '/usr/bin/chromium', jupyterPath: env.JUPYTER_PATH };
}

/**
 * The environment that the trusted programs this process starts inherit (nbclient, the worker's
 * Spark warm-up), below their own variables. Jobs get only the sandbox's allow-list of it.
 */
export function inheritedEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/** The worker agent's settings (`tandem worker`); its flags override them. */
export interface WorkerConfig {
  /** TANDEM_URL, else http://127.0.0.1:8787. */
  serverUrl: string;
  /** TANDEM_WORKER_TOKEN. */
  token?: string;
  /** Where the Spark driver class archive is kept: TANDEM_CACHE_DIR, else $XDG_CACHE_HOME/tandem or ~/.cache/tandem. */
  cacheDir: string;
  /** TANDEM_SPARK_MASTER, else local[*]. */
  sparkMaster: string;
  /** TANDEM_PYTHON, else the repository's .venv (findPython). */
  python: string;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    serverUrl: env.TANDEM_URL ?? 'http://127.0.0.1:8787',
    token: env.TANDEM_WORKER_TOKEN,
    cacheDir: env.TANDEM_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tandem'),
    sparkMaster: env.TANDEM_SPARK_MASTER ?? 'local[*]',
    python: findPython(env.TANDEM_PYTHON),
  };
}

/** A serving replica's settings (`tandem serve --server URL`); its flags override them. */
export interface ReplicaConfig {
  /** TANDEM_WORKER_TOKEN: a worker token; the replica serves the deployments its owner may view. */
  token?: string;
  /** TANDEM_REPLICA_HOST, else 127.0.0.1. */
  host: string;
  /** TANDEM_REPLICA_PORT, else 8788 (0: any free port). */
  port: number;
  /** As the server's: TANDEM_SERVE_MAX_BODY_BYTES, TANDEM_MAX_ARTIFACT_BYTES, TANDEM_SERVE_LOG_FLUSH_SECONDS, TANDEM_METRICS_TOKEN, TANDEM_LOG_LEVEL. */
  serveMaxBodyBytes: number;
  maxModelBytes: number;
  serveLogFlushMs: number;
  metricsToken?: string;
  logLevel: Env['TANDEM_LOG_LEVEL'];
}

const replicaEnvSchema = envSchema
  .pick({
    TANDEM_SERVE_MAX_BODY_BYTES: true,
    TANDEM_MAX_ARTIFACT_BYTES: true,
    TANDEM_SERVE_LOG_FLUSH_SECONDS: true,
    TANDEM_METRICS_TOKEN: true,
    TANDEM_LOG_LEVEL: true,
  })
  .extend({
    TANDEM_WORKER_TOKEN: z.string().min(1).optional(),
    TANDEM_REPLICA_HOST: z.string().min(1).default('127.0.0.1'),
    TANDEM_REPLICA_PORT: z.coerce.number().int().min(0).max(65_535).default(8788),
  });

export function loadReplicaConfig(env: NodeJS.ProcessEnv = process.env): ReplicaConfig {
  const e = parseEnv(replicaEnvSchema, env);
  return {
    token: e.TANDEM_WORKER_TOKEN,
    host: e.TANDEM_REPLICA_HOST,
    port: e.TANDEM_REPLICA_PORT,
    serveMaxBodyBytes: e.TANDEM_SERVE_MAX_BODY_BYTES,
    maxModelBytes: e.TANDEM_MAX_ARTIFACT_BYTES,
    serveLogFlushMs: e.TANDEM_SERVE_LOG_FLUSH_SECONDS * 1000,
    metricsToken: e.TANDEM_METRICS_TOKEN,
    logLevel: e.TANDEM_LOG_LEVEL,
  };
}

/** The variables `schema` reads; every bad one is named in one error. */
function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message} (got ${JSON.stringify(env[String(issue.path[0])])})`),
    );
  }
  return parsed.data;
}
