-- Automation accounts (SQLite): the users that are not people, such as the CI job that
-- applies the manifests kept in git. They may do what their roles allow, but their actions
-- are not a person's time, so the coordination time in Lockstep leaves them out. Schema
-- version 7, applied when the log is opened; src/auth.rs runs it again when it opens its
-- own pool, so every statement is idempotent. A table beside auth_users rather than a
-- column: ALTER TABLE ... ADD COLUMN cannot be run twice.
CREATE TABLE IF NOT EXISTS auth_automation (
    user_name TEXT PRIMARY KEY REFERENCES auth_users (name) ON DELETE CASCADE
) STRICT;
