import type { Json, Page, PageQuery } from './common.js';

/** One entry of the audit log: who did what to which resource, and when. */
export interface AuditLogEntry<Time = string> {
  /** Increasing in the order entries were written (a decimal string: it may outgrow 2^53). */
  id: string;
  at: Time;
  /** The acting user; null for the server itself (failed sign-ins, stopped schedules). */
  actorId: string | null;
  /** The acting user's name; null when there is no actor or the user is gone. */
  actorName: string | null;
  /** Dotted, e.g. `user.create`, `team.member.add`, `token.revoke`, `model.alias.set`. */
  action: string;
  resourceType: string;
  resourceId: string;
  details: Json;
}

/** `GET /audit` (admins): newest first. */
export type AuditLogPage<Time = string> = Page<AuditLogEntry<Time>>;

/** The filters of `GET /audit`; all optional, combined with AND. */
export interface AuditLogQuery extends PageQuery {
  /** The actor's user id or user name. */
  who?: string;
  /** An exact action, e.g. `user.deactivate`. */
  action?: string;
  resourceType?: string;
  resourceId?: string;
  /** ISO 8601 time with offset, inclusive. */
  from?: string;
  /** ISO 8601 time with offset, exclusive; after `from`. */
  to?: string;
}

/** `GET /audit/facets` (admins): the actions and resource types the log holds, to filter by. */
export interface AuditLogFacets {
  actions: string[];
  resourceTypes: string[];
}
