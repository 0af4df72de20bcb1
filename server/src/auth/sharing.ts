import type { Router } from 'express';
import { z } from 'zod';
import { audit } from '../audit.js';
import type { Queryable } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { OpenApiRegistry } from '../http/openapi.js';
import { route } from '../http/route.js';
import type { AuthStore } from './auth.store.js';
import type { Grant, Permissions, PrincipalRef, ResourceType, Role } from './permissions.js';
import type { Principal } from './principal.js';

export type NamedGrant = Grant & { name: string };
export interface Grantee {
  type: 'user' | 'team';
  name: string;
}

/** The resource being shared: its type and id, and how messages name it (e.g. its name or slug). */
export interface SharedResource {
  type: ResourceType;
  id: string;
  label: string;
}

/** Runs a change in a transaction; features with their own wrapper (cache clearing) pass that. */
export type Transaction = <T>(fn: (tx: Queryable) => Promise<T>) => Promise<T>;

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

  async listGrants(type: ResourceType, id: string): Promise<NamedGrant[]> {
    const grants = await this.permissions.list(type, id);
    return Promise.all(grants.map(async (g) => ({ ...g, name: await this.principalName(g.principal) })));
  }

  /** Grants `role` to a user or team by name; null removes access. The last owner cannot be removed. */
  async share(who: Principal, resource: SharedResource, to: Grantee, role: Role | null, transaction: Transaction): Promise<void> {
    const found = to.type === 'user' ? await this.auth.findUserByName(to.name) : await this.auth.findTeamByName(to.name);
    if (!found) throw new TandemError('NOT_FOUND', `${to.type} ${to.name} not found`);
    const ref: PrincipalRef = { type: to.type, id: found.id };
    await transaction(async (tx) => {
      if (role) await this.permissions.grant(resource.type, resource.id, ref, role, tx);
      else await this.permissions.revoke(resource.type, resource.id, ref, tx);
      const [owners] = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM grants WHERE resource_type = $1 AND resource_id = $2 AND role = 'owner'`,
        [resource.type, resource.id],
      );
      if (owners!.n === 0) throw new TandemError('CONFLICT', `${resource.type} ${resource.label} must keep at least one owner`);
      await audit(tx, {
        actorId: who.id,
        action: role ? `${resource.type}.share` : `${resource.type}.unshare`,
        resourceType: resource.type,
        resourceId: resource.id,
        details: { to, role },
      });
    });
  }

  private async principalName(ref: PrincipalRef): Promise<string> {
    if (ref.type === 'user') return (await this.auth.getUser(ref.id))?.name ?? ref.id;
    return (await this.auth.getTeam(ref.id))?.name ?? ref.id;
  }
}

/** The body of `PUT <resource>/grants`: a user or team by name, and a role (null removes access). */
const shareBody = z.object({
  type: z.enum(['user', 'team']),
  name: z.string().min(1).max(200),
  role: z.enum(['owner', 'editor', 'viewer']).nullable(),
});

export interface GrantRoutesSpec<P extends z.ZodType> {
  /** Express path of the resource, e.g. `/models/:name`; the routes are `<path>/grants`. */
  path: string;
  params: P;
  tags: string[];
  /** How OpenAPI summaries name the resource, e.g. `model`. */
  noun: string;
  list: (who: Principal, params: z.output<P>) => Promise<NamedGrant[]>;
  share: (who: Principal, params: z.output<P>, to: Grantee, role: Role | null) => Promise<void>;
}

/** Declares `GET <path>/grants` and `PUT <path>/grants` (which answers the grants after the change). */
export function grantRoutes<P extends z.ZodType>(api: Router, openapi: OpenApiRegistry, spec: GrantRoutesSpec<P>): void {
  const { path, params, tags, noun } = spec;
  route(
    api,
    openapi,
    { method: 'get', path: `${path}/grants`, auth: 'user', summary: `Who has which role on the ${noun}`, tags, params },
    async ({ caller, params }) => ({ grants: await spec.list(caller, params as z.output<P>) }),
  );
  route(
    api,
    openapi,
    {
      method: 'put',
      path: `${path}/grants`,
      auth: 'user',
      summary: `Share the ${noun} with a user or team (owners); role null removes access`,
      tags,
      params,
      body: shareBody,
    },
    async ({ caller, params: raw, body }) => {
      // route() cannot narrow its conditional output type for a generic schema.
      const params = raw as z.output<P>;
      const who = caller;
      await spec.share(who, params, { type: body.type, name: body.name }, body.role);
      return { grants: await spec.list(who, params) };
    },
  );
}
