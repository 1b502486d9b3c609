-- Schema version 1: the event log, snapshots and the outbox (PostgreSQL).
-- Applied by src/migrate.rs inside one transaction holding an advisory lock.

CREATE TABLE lockstep_meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- One row holding the last assigned global position. Every append updates it first, in its
-- own transaction: the row lock serializes appenders, which makes positions gapless and in
-- commit order (see src/postgres.rs for why this and not an advisory lock).
CREATE TABLE lockstep_head (
    id       BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    position BIGINT  NOT NULL
);
INSERT INTO lockstep_head (id, position) VALUES (TRUE, 0);

CREATE TABLE events (
    position       BIGINT PRIMARY KEY,
    stream         TEXT   NOT NULL,
    stream_version BIGINT NOT NULL CHECK (stream_version >= 1),
    kind           TEXT   NOT NULL,
    -- JSON text kept byte for byte (jsonb would reorder keys and drop whitespace)
    payload        TEXT   NOT NULL,
    actor          TEXT   NOT NULL,
    reason         TEXT,
    -- nanoseconds since the Unix epoch, UTC (exact round trip of jiff::Timestamp;
    -- timestamptz keeps only microseconds)
    recorded_at    BIGINT NOT NULL,
    UNIQUE (stream, stream_version)
);

CREATE TABLE snapshots (
    format   TEXT   NOT NULL,
    position BIGINT NOT NULL,
    data     BYTEA  NOT NULL,
    PRIMARY KEY (format, position)
);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position        BIGINT NOT NULL,
    channel         TEXT   NOT NULL,
    idempotency_key TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    delivered_at    BIGINT,
    UNIQUE (channel, idempotency_key)
);

CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;
