-- Credentials and request bookkeeping of the HTTP server (PostgreSQL). These are secrets and
-- caches, not facts of the release program, so they live here and never in the event log.
-- Schema version 2, applied when the log is opened; src/auth.rs runs it again when it opens
-- its own pool, so every statement is idempotent.

-- `password_hash` is a PHC string (argon2id); NULL for users who only use API tokens.
-- `member` links the user to a team member handle of the program; roles follow from it.
CREATE TABLE IF NOT EXISTS auth_users (
    name          TEXT    PRIMARY KEY,
    password_hash TEXT,
    member        TEXT,
    admin         BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL
);

-- API tokens are stored as the SHA-256 of the token: the token itself is shown once.
CREATE TABLE IF NOT EXISTS auth_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES auth_users (name) ON DELETE CASCADE,
    label      TEXT,
    created_at BIGINT  NOT NULL
);

-- Browser sessions, keyed by the SHA-256 of the cookie value; `csrf` guards their writes.
CREATE TABLE IF NOT EXISTS auth_sessions (
    session_hash TEXT    PRIMARY KEY,
    user_name    TEXT    NOT NULL REFERENCES auth_users (name) ON DELETE CASCADE,
    csrf         TEXT    NOT NULL,
    expires_at   BIGINT  NOT NULL
);

-- Responses to POSTs that carried an Idempotency-Key, replayed on retry.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal    TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status       BIGINT  NOT NULL,
    body         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (principal, key)
);
