-- Model names are unique per namespace, the creator's user name (`owner/name`), not globally: a
-- global UNIQUE answered 409 for a name held by a private model the caller cannot see.
-- Every model needs a namespace. The registry always records its creator; a row without one gets
-- its first owner, else the first admin. While names were globally unique, any owner is conflict-free.
UPDATE models m SET created_by = COALESCE(
  (SELECT g.principal_id FROM grants g
    WHERE g.resource_type = 'model' AND g.resource_id = m.id AND g.principal_type = 'user' AND g.role = 'owner'
    ORDER BY g.created_at LIMIT 1),
  (SELECT u.id FROM users u WHERE u.is_admin ORDER BY u.created_at LIMIT 1))
WHERE m.created_by IS NULL;

ALTER TABLE models ALTER COLUMN created_by SET NOT NULL;
ALTER TABLE models DROP CONSTRAINT models_name_key;
ALTER TABLE models ADD CONSTRAINT models_owner_name_key UNIQUE (created_by, name);
