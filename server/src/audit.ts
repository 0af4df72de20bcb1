import type { Queryable } from './db/db.js';

export interface AuditEntry {
  actorId?: string;
  action: string;
  resourceType: string;
  resourceId: string;
  details?: Record<string, unknown>;
}

/** Appends to the audit log; pass the transaction so the entry commits with the change it records. */
export async function audit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query('INSERT INTO audit_log (actor_id, action, resource_type, resource_id, details) VALUES ($1, $2, $3, $4, $5)', [
    entry.actorId ?? null,
    entry.action,
    entry.resourceType,
    entry.resourceId,
    JSON.stringify(entry.details ?? {}),
  ]);
}
