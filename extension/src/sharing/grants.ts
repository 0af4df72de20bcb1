import type { TandemClient } from '../requests';

export type Role = 'owner' | 'editor' | 'viewer';

/** A user or team, by name. */
export interface Grantee {
  type: 'user' | 'team';
  name: string;
}

export interface Grant {
  principal: { type: 'user' | 'team'; id: string };
  name: string;
  role: Role;
}

/** Who has which role on one resource, and sharing it by name (owners only). */
export interface Grants {
  list(): Promise<Grant[]>;
  /** Grants `role`; null removes access. Answers the grants after the change. */
  share(to: Grantee, role: Role | null): Promise<Grant[]>;
}

/** The grants of the resource at `path` (e.g. `models/churn`): every shareable resource answers `<path>/grants` the same way. */
export function grantsOf(client: TandemClient, path: string): Grants {
  const url = `${path}/grants`;
  return {
    list: async () => (await client.request<{ grants: Grant[] }>(url)).grants,
    share: async (to, role) => (await client.request<{ grants: Grant[] }>(url, { method: 'PUT', json: { ...to, role } })).grants,
  };
}
