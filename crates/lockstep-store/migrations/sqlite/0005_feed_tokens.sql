-- Calendar feed tokens (SQLite). Calendar apps cannot send headers, so a feed URL carries
-- a secret of its own: one per user, stored as its SHA-256 (shown once, when made), and
-- replaced when rotated, so the old URL stops working. Schema version 4, applied when the
-- log is opened; src/auth.rs runs it again when it opens its own pool, so every statement
-- is idempotent.
CREATE TABLE IF NOT EXISTS feed_tokens (
    user_name  TEXT    PRIMARY KEY REFERENCES auth_users (name) ON DELETE CASCADE,
    token_hash TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;
