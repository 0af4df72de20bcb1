import type { Grant, Grantee, GrantList, Role, ShareRequest } from '@tandem/server/api';
import type { TandemClient } from '../requests';

export type { Grant, Grantee, Role } from '@tandem/server/api';

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
    list: async () => (await client.request<GrantList>(url)).grants,
    share: async (to, role) =>
      (await client.request<GrantList>(url, { method: 'PUT', json: { ...to, role } satisfies ShareRequest })).grants,
  };
}
