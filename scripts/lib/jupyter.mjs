// Starts JupyterLab from the project venv with the Tandem extension, kernel spec and page config.
// Used by `npm start` and by the browser tests' stack.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JUPYTER_DATA, ROOT, venvPython } from './paths.mjs';
import { httpOk, startProcess, waitFor } from './proc.mjs';

/**
 * `home` holds this JupyterLab's own config/data/runtime folders, so a user's ~/.jupyter never
 * changes what Tandem runs. The extension reads `tandemUrl`/`tandemToken` from page config;
 * kernels inherit TANDEM_URL/TANDEM_TOKEN from the server's environment.
 */
export async function startJupyterLab({ port, home, rootDir, token = '', tandemUrl, tandemToken, logFile, env = {}, pageConfig = {} }) {
  const configDir = path.join(home, 'config');
  mkdirSync(path.join(configDir, 'labconfig'), { recursive: true });
  mkdirSync(rootDir, { recursive: true });
  writeFileSync(path.join(configDir, 'labconfig/page_config.json'), JSON.stringify({ tandemUrl, tandemToken, ...pageConfig }, null, 2));
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
      `--IdentityProvider.token=${token}`,
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
        TANDEM_TOKEN: tandemToken,
        ...env,
      },
      logStream: logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined,
      name: 'jupyterlab',
      group: true,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('JupyterLab', () => httpOk(`${url}/api/status${token ? `?token=${token}` : ''}`), { child, timeoutMs: 120_000 });
  return { url, child };
}
