-- Deactivated users keep their history (audit, ownership) but no token of theirs authenticates.
ALTER TABLE users ADD COLUMN deactivated_at timestamptz;
