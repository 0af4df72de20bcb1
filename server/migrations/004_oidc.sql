-- OpenID Connect sign-in. A person is their provider's (issuer, sub): never their email or name,
-- which providers let people change or reuse.
CREATE TABLE user_identities (
  issuer text NOT NULL,
  subject text NOT NULL,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- Memberships the provider's groups made ('oidc') are the ones a later sign-in may remove;
-- memberships made by hand ('manual') stay whatever the provider says.
ALTER TABLE team_members ADD COLUMN source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'oidc'));

-- Sign-ins in flight between the redirect to the provider and its callback. Keyed by the sha256
-- of the state, which only the browser that started holds (in an HttpOnly cookie); a row is
-- deleted when its callback uses it, so a replayed callback finds nothing.
CREATE TABLE oidc_logins (
  state_hash text PRIMARY KEY,
  code_verifier text NOT NULL,
  nonce text NOT NULL,
  redirect_uri text NOT NULL,
  next text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);
