-- Delivery bookkeeping of the outbox (SQLite): attempts, the next attempt (a retry after
-- backoff, a worker's lease, or a message's not-before time), the last error, and the
-- terminal states dead (retries exhausted) and cancelled (an acknowledged escalation).
-- Schema version 3, applied when the log is opened (and idempotently again by
-- src/outbox.rs); the outbox row's delivered_at stays the one mark of success. Instants are nanoseconds since the epoch.
CREATE TABLE IF NOT EXISTS outbox_delivery (
    outbox_id       INTEGER PRIMARY KEY,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    dead_at         INTEGER,
    cancelled_at    INTEGER,
    cancel_reason   TEXT
) STRICT;

CREATE INDEX IF NOT EXISTS outbox_delivery_dead ON outbox_delivery (outbox_id)
    WHERE dead_at IS NOT NULL;
