import type { Principal } from './auth/principal.js';
import type { Permissions, ResourceType } from './auth/permissions.js';
import { audit, type AuditEntry } from './audit.js';
import type { Queryable } from './db/db.js';
import type { EventBus, TandemEvent } from './events.js';

/** Anything that runs a function in one transaction: the Db, or a store that forwards to it. */
export interface Transactor {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

type Entry = Omit<AuditEntry, 'actorId'>;

/**
 * Runs a change and records its audit entry in the same transaction, so that either both commit
 * or neither does. The entry may depend on what the change returned (a new id, say).
 */
export function audited<T>(
  db: Transactor,
  who: Principal | undefined,
  entry: Entry | ((result: T) => Entry),
  change: (tx: Queryable) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const result = await change(tx);
    await audit(tx, { actorId: who?.id, ...(typeof entry === 'function' ? entry(result) : entry) });
    return result;
  });
}

export interface OwnedResource<T> {
  type: ResourceType;
  /** The audit action, e.g. `model.create`. */
  action: string;
  details?: (created: T) => Record<string, unknown>;
  /** Published once the transaction committed. */
  event?: (created: T) => Omit<TandemEvent, 'at'>;
}

/**
 * Creates a resource its creator owns: the row, the owner grant and the audit entry commit
 * together, and the event goes out only after they did.
 */
export async function createOwned<T extends { id: string }>(
  deps: { db: Transactor; permissions: Permissions; events: EventBus },
  who: Principal,
  resource: OwnedResource<T>,
  create: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const created = await audited(
    deps.db,
    who,
    (row: T) => ({ action: resource.action, resourceType: resource.type, resourceId: row.id, details: resource.details?.(row) }),
    async (tx) => {
      const row = await create(tx);
      await deps.permissions.grant(resource.type, row.id, { type: 'user', id: who.id }, 'owner', tx);
      return row;
    },
  );
  if (resource.event) deps.events.publish(resource.event(created));
  return created;
}
