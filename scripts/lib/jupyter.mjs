// Starts JupyterLab from the project venv with the Tandem extension, kernel spec and page config.
// Used by `npm start` and by the browser tests' stack.
import { chmodSync, createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JUPYTER_DATA, ROOT, venvPython } from './paths.mjs';
import { httpOk, startProcess, waitFor } from './proc.mjs';

/**
 * `port` 0 (the default) lets the OS choose; the port JupyterLab bound is read back from its
 * runtime file. `home` holds this JupyterLab's own config/data/runtime folders, so a user's ~/.jupyter never
 * changes what Tandem runs. The extension reads `tandemUrl` from page config and kernels inherit
 * TANDEM_URL. Without `tandemToken` the extension acts as the person signed in to Tandem and hands
 * their kernels tokens of their own (what `npm start` does); with it (scripted set-ups, the browser
 * tests' token mode) page config and kernels get that token.
 */
export async function startJupyterLab({ port = 0, home, rootDir, token = '', tandemUrl, tandemToken, logFile, env = {}, pageConfig = {} }) {
  const configDir = path.join(home, 'config');
  mkdirSync(path.join(configDir, 'labconfig'), { recursive: true, mode: 0o700 });
  mkdirSync(rootDir, { recursive: true });
  // The page config may hold a token or the sign-in key: only its owner may read it.
  const pageConfigFile = path.join(configDir, 'labconfig/page_config.json');
  writeFileSync(pageConfigFile, JSON.stringify({ tandemUrl, ...(tandemToken ? { tandemToken } : {}), ...pageConfig }, null, 2), {
    mode: 0o600,
  });
  chmodSync(pageConfigFile, 0o600); // mode applies only when the file is created
  const child = startProcess(
    venvPython(),
    [
      '-m',
      'jupyter',
      'lab',
      '--no-browser',
      '--allow-root',
      `--port=${port}`,
      '--ip=127.0.0.1',
      // A token goes through the environment, not the command line that `ps` shows to everyone.
      ...(token ? [] : ['--IdentityProvider.token=']),
      '--ServerApp.password=',
      `--ServerApp.root_dir=${rootDir}`,
    ],
    {
      env: {
        JUPYTER_CONFIG_DIR: configDir,
        JUPYTER_CONFIG_PATH: path.join(ROOT, 'jupyter-config/config'),
        JUPYTER_DATA_DIR: path.join(home, 'data'),
        JUPYTER_RUNTIME_DIR: path.join(home, 'runtime'),
        JUPYTER_PATH: JUPYTER_DATA,
        JUPYTER_PLATFORM_DIRS: '1',
        TANDEM_URL: tandemUrl,
        // Undefined drops it: kernels never inherit a token from whoever ran this.
        TANDEM_TOKEN: tandemToken || undefined,
        ...(token ? { JUPYTER_TOKEN: token } : {}),
        ...env,
      },
      logStream: logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined,
      name: 'jupyterlab',
      group: true,
    },
  );
  const runtimeDir = path.join(home, 'runtime');
  const bound = await waitFor('JupyterLab to bind its port', () => boundPort(runtimeDir, child.pid), { child, timeoutMs: 120_000 });
  const url = `http://127.0.0.1:${bound}`;
  await waitFor('JupyterLab', () => httpOk(`${url}/api/status${token ? `?token=${token}` : ''}`), { child, timeoutMs: 120_000 });
  return { url, child };
}

/** The port in the server's `jpserver-<pid>.json`, written once it listens. */
function boundPort(runtimeDir, pid) {
  try {
    return JSON.parse(readFileSync(path.join(runtimeDir, `jpserver-${pid}.json`), 'utf8')).port;
  } catch {
    return undefined;
  }
}
