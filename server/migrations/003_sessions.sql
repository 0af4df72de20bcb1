-- Passwords (scrypt, parameters and salt inside the hash) and the lockout after repeated failures.
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN failed_sign_ins int NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until timestamptz;

-- Browser sessions: only the sha256 of the cookie's value is stored, so a read of this table
-- signs nobody in. The CSRF secret alone is useless without the cookie.
CREATE TABLE sessions (
  id_hash text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_secret text NOT NULL,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;
