-- API tokens with a life cycle (SQLite): a public id to list and revoke them by, an
-- optional expiry, and a revocation mark kept (not deleted) so that `token list` can say
-- when and that a token was revoked. Schema version 4.
--
-- A new table rather than ALTERs of auth_tokens: src/auth.rs runs its schema again on
-- every open, and only CREATE ... IF NOT EXISTS and an idempotent copy can be run twice.
-- Tokens issued before version 4 move here (their id is the first 12 hex digits of their
-- digest) and auth_tokens stays empty, kept only because version 2 creates it.
CREATE TABLE IF NOT EXISTS auth_api_tokens (
    id         TEXT    NOT NULL UNIQUE,
    token_hash TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES auth_users (name) ON DELETE CASCADE,
    label      TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE INDEX IF NOT EXISTS auth_api_tokens_user ON auth_api_tokens (user_name);

INSERT INTO auth_api_tokens (id, token_hash, user_name, label, created_at)
    SELECT substr(token_hash, 1, 12), token_hash, user_name, label, created_at FROM auth_tokens WHERE true
    ON CONFLICT DO NOTHING;
DELETE FROM auth_tokens;
