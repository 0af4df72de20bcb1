/**
 * Who the kernel acts as. In JupyterLab, the Tandem extension sends the signed-in person's kernel
 * token over a comm with target `tandem.identity` (data `{ url, token }`) when the kernel starts,
 * and closes the comm when they sign out. The SDK reads TANDEM_URL/TANDEM_TOKEN on every request,
 * so setting them here is all it takes; headless runs (nbclient, tests) set them in the
 * environment instead.
 */
export const IDENTITY_TARGET = 'tandem.identity';

let fromJupyterLab = false;

/** Sets the identity JupyterLab sent; throws a readable error when `data` is not one. */
export function applyIdentity(data: unknown): void {
  const { url, token } = (data ?? {}) as { url?: unknown; token?: unknown };
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || typeof token !== 'string' || !token) {
    throw new Error('tandem.identity wants { url: "http(s)://…", token: "…" }');
  }
  process.env.TANDEM_URL = url;
  process.env.TANDEM_TOKEN = token;
  fromJupyterLab = true;
}

/** The person signed out: the kernel acts as nobody until JupyterLab sends an identity again. */
export function clearIdentity(): void {
  delete process.env.TANDEM_TOKEN;
  fromJupyterLab = true;
}

/** Whether the identity (or its absence) is JupyterLab's, not the environment's. */
export function identityFromJupyterLab(): boolean {
  return fromJupyterLab;
}
