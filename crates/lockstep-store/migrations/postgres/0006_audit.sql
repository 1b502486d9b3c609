-- Refused attempts (PostgreSQL): every command the CLI or the server refused, by a
-- domain rule or by authorization, with who, when, what, on what and why. A refusal is
-- not a fact of the release program (nothing changed), so it is kept beside the log,
-- never in it. Schema version 4, applied when the log is opened; src/audit.rs runs it
-- again, idempotently, when it opens its own pool. Instants are nanoseconds since the epoch.
CREATE TABLE IF NOT EXISTS audit_refusals (
    id      BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL,
    source  TEXT   NOT NULL,
    command TEXT   NOT NULL,
    target  TEXT   NOT NULL,
    release TEXT,
    kind    TEXT   NOT NULL,
    error   TEXT   NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_refusals_release ON audit_refusals (release, id);
