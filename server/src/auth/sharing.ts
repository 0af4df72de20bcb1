import { TandemError } from '../errors.js';
import { audited, type Transactor } from '../mutations.js';
import type { AuthStore } from './auth.store.js';
import type { NamedGrant, Permissions, PrincipalRef, ResourceType, Role } from './permissions.js';
import type { Principal } from './principal.js';

export type { NamedGrant } from './permissions.js';

import type { Grantee } from '../api/index.js';

export type { Grantee } from '../api/index.js';

/** The resource being shared: its type and id, and how messages name it (e.g. its name or slug). */
export interface SharedResource {
  type: ResourceType;
  id: string;
  label: string;
}

/**
 * Sharing by name, the same for every resource type: grants listed with principal names, and
 * grant/revoke in one transaction that keeps at least one owner and writes the audit entry.
 * Callers check the caller's own role first and publish their own events afterwards.
 */
export class Sharing {
  constructor(
    private readonly permissions: Permissions,
    private readonly auth: AuthStore,
  ) {}

  listGrants(type: ResourceType, id: string): Promise<NamedGrant[]> {
    return this.permissions.listNamed(type, id);
  }

  /**
   * Grants `role` to a user or team by name; null removes access. The last owner cannot be
   * removed. `db` runs the transaction: features with their own wrapper (cache clearing) pass that.
   */
  async share(who: Principal, resource: SharedResource, to: Grantee, role: Role | null, db: Transactor): Promise<void> {
    const found = to.type === 'user' ? await this.auth.findUserByName(to.name) : await this.auth.findTeamByName(to.name);
    if (!found) throw new TandemError('NOT_FOUND', `${to.type} ${to.name} not found`);
    const ref: PrincipalRef = { type: to.type, id: found.id };
    const entry = {
      action: role ? `${resource.type}.share` : `${resource.type}.unshare`,
      resourceType: resource.type,
      resourceId: resource.id,
      details: { to, role },
    };
    await audited(db, who, entry, async (tx) => {
      if (role) await this.permissions.grant(resource.type, resource.id, ref, role, tx);
      else await this.permissions.revoke(resource.type, resource.id, ref, tx);
      if ((await this.permissions.ownerCount(resource.type, resource.id, tx)) === 0)
        throw new TandemError('CONFLICT', `${resource.type} ${resource.label} must keep at least one owner`);
    });
  }
}
