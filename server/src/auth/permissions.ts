import type { Db, Queryable } from '../db/db.js';
import { TandemError } from '../errors.js';
import type { Principal } from './principal.js';

import type { Grant, PrincipalRef, Role } from '../api/index.js';

export type { PrincipalRef, Role } from '../api/index.js';
export type ResourceType = 'model' | 'notebook' | 'dashboard' | 'job' | 'experiment' | 'pipeline';
/** A role held, without the holder's name. */
export type RoleGrant = Omit<Grant, 'name'>;
/** A grant with the user's or team's name (its id when the principal is gone): the contract's Grant. */
export type NamedGrant = Grant;

const RANK: Record<Role, number> = { viewer: 1, editor: 2, owner: 3 };

export const atLeast = (role: Role | undefined, needed: Role): boolean => role !== undefined && RANK[role] >= RANK[needed];

/** Role grants on resources, for users directly or through their teams. Admins own everything. */
export class Permissions {
  constructor(private readonly db: Db) {}

  async roleOf(who: Principal | undefined, type: ResourceType, id: string, q: Queryable = this.db): Promise<Role | undefined> {
    if (!who) return undefined;
    if (who.isAdmin) return 'owner';
    const rows = await q.query<{ role: Role }>(
      `SELECT role FROM grants WHERE resource_type = $1 AND resource_id = $2 AND
         ((principal_type = 'user' AND principal_id = $3) OR (principal_type = 'team' AND principal_id = ANY($4::text[])))`,
      [type, id, who.id, who.teamIds],
    );
    return rows.reduce<Role | undefined>((best, r) => (atLeast(best, r.role) ? best : r.role), undefined);
  }

  /**
   * Returns the caller's role or throws. Callers with no role at all get NOT_FOUND, so that
   * resource names do not leak to people who cannot see them. Messages name the resource by
   * `label` (default its id), e.g. a model's name.
   */
  async require(
    who: Principal | undefined,
    type: ResourceType,
    id: string,
    needed: Role,
    { q, label = id }: { q?: Queryable; label?: string } = {},
  ): Promise<Role> {
    if (!who) throw new TandemError('UNAUTHENTICATED', 'an API token is required');
    const role = await this.roleOf(who, type, id, q);
    if (!role) throw new TandemError('NOT_FOUND', `${type} ${label} not found`);
    if (!atLeast(role, needed)) {
      throw new TandemError('FORBIDDEN', `${needed} role required on ${type} ${label}; you are ${role}`);
    }
    return role;
  }

  async grant(type: ResourceType, id: string, to: PrincipalRef, role: Role, q: Queryable = this.db): Promise<void> {
    await q.query(
      `INSERT INTO grants (resource_type, resource_id, principal_type, principal_id, role) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (resource_type, resource_id, principal_type, principal_id) DO UPDATE SET role = EXCLUDED.role`,
      [type, id, to.type, to.id, role],
    );
  }

  async revoke(type: ResourceType, id: string, from: PrincipalRef, q: Queryable = this.db): Promise<void> {
    await q.query('DELETE FROM grants WHERE resource_type = $1 AND resource_id = $2 AND principal_type = $3 AND principal_id = $4', [
      type,
      id,
      from.type,
      from.id,
    ]);
  }

  async list(type: ResourceType, id: string): Promise<RoleGrant[]> {
    const rows = await this.db.query<{ principal_type: 'user' | 'team'; principal_id: string; role: Role }>(
      'SELECT principal_type, principal_id, role FROM grants WHERE resource_type = $1 AND resource_id = $2 ORDER BY created_at',
      [type, id],
    );
    return rows.map((r) => ({ principal: { type: r.principal_type, id: r.principal_id }, role: r.role }));
  }

  /** The grants with the names of their users and teams, in the order they were given. */
  async listNamed(type: ResourceType, id: string): Promise<NamedGrant[]> {
    const rows = await this.db.query<{ principal_type: 'user' | 'team'; principal_id: string; role: Role; name: string }>(
      `SELECT g.principal_type, g.principal_id, g.role, COALESCE(u.name, t.name, g.principal_id) AS name FROM grants g
         LEFT JOIN users u ON g.principal_type = 'user' AND u.id = g.principal_id
         LEFT JOIN teams t ON g.principal_type = 'team' AND t.id = g.principal_id
       WHERE g.resource_type = $1 AND g.resource_id = $2 ORDER BY g.created_at`,
      [type, id],
    );
    return rows.map((r) => ({ principal: { type: r.principal_type, id: r.principal_id }, role: r.role, name: r.name }));
  }

  async ownerCount(type: ResourceType, id: string, q: Queryable = this.db): Promise<number> {
    const [row] = await q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM grants WHERE resource_type = $1 AND resource_id = $2 AND role = 'owner'`,
      [type, id],
    );
    return row!.n;
  }

  async removeAll(type: ResourceType, id: string, q: Queryable = this.db): Promise<void> {
    await q.query('DELETE FROM grants WHERE resource_type = $1 AND resource_id = $2', [type, id]);
  }

  /**
   * A SQL condition selecting rows of `type` whose id column `idColumn` the caller can see; it
   * uses two parameters, numbered from `firstParam`. Use it in paged searches.
   */
  visibleSql(who: Principal, type: ResourceType, idColumn: string, firstParam: number): { sql: string; params: unknown[] } {
    if (who.isAdmin) return { sql: 'TRUE', params: [] };
    return { sql: `EXISTS (SELECT 1 FROM grants g WHERE ${callersGrants(type, idColumn, firstParam)})`, params: [who.id, who.teamIds] };
  }

  /**
   * A join giving each row of `type` (id column `idColumn`) the caller's strongest role as
   * `<alias>.role`; rows the caller cannot see drop out. It uses two parameters, numbered from
   * `firstParam`. Use it in lists that show the caller's role, instead of one query per row.
   */
  roleJoin(who: Principal, type: ResourceType, idColumn: string, firstParam: number, alias = 'r'): { sql: string; params: unknown[] } {
    if (who.isAdmin) return { sql: `CROSS JOIN (SELECT 'owner'::text AS role) ${alias}`, params: [] };
    return {
      sql: `JOIN LATERAL (SELECT g.role FROM grants g WHERE ${callersGrants(type, idColumn, firstParam)}
              ORDER BY CASE g.role WHEN 'owner' THEN 3 WHEN 'editor' THEN 2 ELSE 1 END DESC LIMIT 1) ${alias} ON TRUE`,
      params: [who.id, who.teamIds],
    };
  }
}

/**
 * The condition on grants `g` on the row `idColumn` of `type` held by the caller, directly or
 * through a team: their user id is parameter `firstParam`, their team ids the next.
 */
function callersGrants(type: ResourceType, idColumn: string, firstParam: number): string {
  return `g.resource_type = '${type}' AND g.resource_id = ${idColumn} AND
    ((g.principal_type = 'user' AND g.principal_id = $${firstParam}) OR (g.principal_type = 'team' AND g.principal_id = ANY($${firstParam + 1}::text[])))`;
}
