-- Kernel tokens: API tokens a person's browser session mints for their kernels. Each works only
-- while its session does (not signed out or revoked, before its absolute expiry), and goes when
-- the session row goes. They keep kind 'user' here, the kernel kind is the session column: the
-- kind CHECK belongs to 023, which runs after this file on a fresh database and restates it.
ALTER TABLE api_tokens ADD COLUMN session_id_hash text REFERENCES sessions(id_hash) ON DELETE CASCADE;
CREATE INDEX api_tokens_session ON api_tokens (session_id_hash) WHERE session_id_hash IS NOT NULL;
