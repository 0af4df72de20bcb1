import type { AuditLogEntry as ApiAuditLogEntry, AuditLogFacets, AuditLogQuery, Page, PageQuery } from '../api/index.js';
import type { Db } from '../db/db.js';
import { TOTAL_COLUMN, toPage, type PageRequest } from '../db/paging.js';

export type AuditLogEntry = ApiAuditLogEntry<Date>;

/** The filters of `GET /audit`, without its paging. */
export type AuditFilter = Omit<AuditLogQuery, keyof PageQuery>;

/** Reads the audit log that every feature appends to (src/audit.ts). */
export class AuditStore {
  constructor(private readonly db: Db) {}

  /** Matching entries, newest first. */
  async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditLogEntry>> {
    const params: unknown[] = [];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = ['true'];
    if (filter.who !== undefined) {
      // An id or a name: a list of two keeps the (actor_id, at) index usable.
      const who = p(filter.who);
      where.push(`a.actor_id IN (${who}, (SELECT id FROM users WHERE name = ${who}))`);
    }
    if (filter.action !== undefined) where.push(`a.action = ${p(filter.action)}`);
    if (filter.resourceType !== undefined) where.push(`a.resource_type = ${p(filter.resourceType)}`);
    if (filter.resourceId !== undefined) where.push(`a.resource_id = ${p(filter.resourceId)}`);
    if (filter.from !== undefined) where.push(`a.at >= ${p(filter.from)}::timestamptz`);
    if (filter.to !== undefined) where.push(`a.at < ${p(filter.to)}::timestamptz`);
    // The page is chosen first, so that only its rows are joined to their actors' names.
    const rows = await this.db.query<AuditLogEntry & { total: number }>(
      `WITH page AS (
         SELECT a.id, ${TOTAL_COLUMN} FROM audit_log a WHERE ${where.join(' AND ')}
         ORDER BY a.at DESC, a.id DESC LIMIT ${p(page.limit)} OFFSET ${p(page.offset)}
       )
       SELECT a.id::text AS id, a.at, a.actor_id AS "actorId", u.name AS "actorName", a.action,
              a.resource_type AS "resourceType", a.resource_id AS "resourceId", a.details, page.total
       FROM page JOIN audit_log a ON a.id = page.id LEFT JOIN users u ON u.id = a.actor_id
       ORDER BY a.at DESC, a.id DESC`,
      params,
    );
    return toPage(rows, page);
  }

  /** The actions and resource types the log holds (read from the indexes that lead with them). */
  async facets(): Promise<AuditLogFacets> {
    const actions = await this.db.query<{ action: string }>('SELECT DISTINCT action FROM audit_log ORDER BY action');
    const types = await this.db.query<{ resource_type: string }>('SELECT DISTINCT resource_type FROM audit_log ORDER BY resource_type');
    return { actions: actions.map((r) => r.action), resourceTypes: types.map((r) => r.resource_type) };
  }
}
