-- The audit log reader (GET /tandem/api/audit) pages newest first, filtered by actor or action.
-- The resource filter already has audit_log_resource (001). `id` breaks ties between entries
-- written in one transaction (same `at`).
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at, id);
CREATE INDEX audit_log_action ON audit_log (action, at, id);
