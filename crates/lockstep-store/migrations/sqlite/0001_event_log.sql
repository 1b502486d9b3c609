-- Schema version 1: the event log, snapshots and the outbox (SQLite).
-- Applied by src/migrate.rs inside one BEGIN IMMEDIATE transaction.

CREATE TABLE lockstep_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

-- `position` is the rowid alias, assigned explicitly as MAX(position) + 1 by the single
-- serialized writer, so it is gapless and in commit order. Rows are never updated or deleted.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    stream         TEXT    NOT NULL,
    stream_version INTEGER NOT NULL CHECK (stream_version >= 1),
    kind           TEXT    NOT NULL,
    payload        TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    reason         TEXT,
    -- nanoseconds since the Unix epoch, UTC (exact round trip of jiff::Timestamp)
    recorded_at    INTEGER NOT NULL,
    UNIQUE (stream, stream_version)
) STRICT;

CREATE TABLE snapshots (
    format   TEXT    NOT NULL,
    position INTEGER NOT NULL,
    data     BLOB    NOT NULL,
    PRIMARY KEY (format, position)
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    -- position of the last event of the append that enqueued the message
    position        INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (channel, idempotency_key)
) STRICT;

CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;
