//! Delivery bookkeeping of the outbox: which messages are due, leases so that two workers
//! do not send the same message at once, attempts and backoff, dead letters, replay, and
//! cancellation (an acknowledged escalation).
//!
//! The outbox rows themselves are written by `append`, in the event transaction; this
//! module only reads them and keeps its own table, `outbox_delivery`, created
//! idempotently (like the credential tables) so that it never contends with the log's
//! migrations. Success is still `outbox.delivered_at`. It does not decide backoff delays
//! or retry limits — the worker passes instants in — and it does not parse payloads.
//!
//! At least once: a claimed message carries a lease (its next attempt time); a worker
//! killed mid-delivery simply lets the lease expire and the message becomes due again.

use crate::envelope::{nanos_to_timestamp, timestamp_to_nanos};
use crate::side::{self, Pool, SideTables, execute, fetch_all, numbered};
use crate::{OpenOptions, StoreError};

const SQLITE_SCHEMA: &str = include_str!("../migrations/sqlite/0003_outbox_delivery.sql");
const POSTGRES_SCHEMA: &str = include_str!("../migrations/postgres/0003_outbox_delivery.sql");

/// An outbox message handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMessage {
    /// The outbox id.
    pub id: i64,
    /// The last event position of the append that enqueued it.
    pub position: i64,
    /// Where it goes.
    pub channel: String,
    /// The receiver's deduplication key.
    pub idempotency_key: String,
    /// JSON text.
    pub payload: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// A message whose retries are exhausted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The outbox id, for `replay`.
    pub id: i64,
    /// Where it was going.
    pub channel: String,
    /// Its key.
    pub idempotency_key: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was given up.
    pub dead_at: jiff::Timestamp,
    /// JSON text.
    pub payload: String,
}

/// Counts of outbox messages by delivery state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Delivered.
    pub delivered: i64,
    /// Waiting (due now, backing off, leased or not before a later time).
    pub pending: i64,
    /// Given up.
    pub dead: i64,
    /// Cancelled (acknowledged escalations).
    pub cancelled: i64,
}

/// The delivery bookkeeping of one database's outbox.
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    pool: Pool,
}

/// The condition of a message that may be attempted at `?` (now).
const DUE: &str = "o.delivered_at IS NULL AND d.dead_at IS NULL AND d.cancelled_at IS NULL \
                   AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)";

type ClaimRow = (i64, i64, String, String, String, i64);

/// Cancels the undelivered, live messages whose key is `LIKE` the third parameter; the
/// first two are the time (nanoseconds) and the reason. `?` placeholders (numbered for
/// PostgreSQL by the caller).
pub(crate) const CANCEL_PENDING: &str = "INSERT INTO outbox_delivery (outbox_id, attempts, cancelled_at, cancel_reason) \
     SELECT o.id, 0, ?, ? FROM outbox o WHERE o.delivered_at IS NULL \
     AND o.idempotency_key LIKE ? ESCAPE '\\' \
     ON CONFLICT (outbox_id) DO UPDATE SET cancelled_at = excluded.cancelled_at, \
     cancel_reason = excluded.cancel_reason \
     WHERE outbox_delivery.dead_at IS NULL AND outbox_delivery.cancelled_at IS NULL";

/// A `LIKE` pattern matching every string that starts with `prefix`.
pub(crate) fn like_prefix(prefix: &str) -> String {
    format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

impl DeliveryLog {
    /// Opens the bookkeeping of the outbox in the database at `url` (the log's URL, after
    /// the log itself was opened and migrated), creating its table if needed.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<DeliveryLog, StoreError> {
        let tables = SideTables {
            opening: "opening the outbox delivery log",
            creating: "creating the outbox delivery table",
            sqlite_schema: SQLITE_SCHEMA,
            postgres_schema: POSTGRES_SCHEMA,
            // A private in-memory database has no outbox of the log's to follow; this
            // keeps the API usable (and empty) rather than failing.
            memory_prelude: Some(
                "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, \
                 position INTEGER NOT NULL, channel TEXT NOT NULL, \
                 idempotency_key TEXT NOT NULL, payload TEXT NOT NULL, delivered_at INTEGER)",
            ),
        };
        let pool = side::open(url, options, &tables).await?;
        Ok(DeliveryLog { pool })
    }

    /// Claims up to `limit` messages due at `now`, oldest first, each leased until
    /// `lease_until`: another worker does not see them until then. A message whose lease
    /// expires (its worker died) becomes due again.
    pub async fn claim_due(
        &self,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let now = timestamp_to_nanos(now)?;
        let lease = timestamp_to_nanos(lease_until)?;
        let candidates = fetch_all!(
            self,
            "reading due outbox messages",
            ClaimRow,
            &format!(
                "SELECT o.id, o.position, o.channel, o.idempotency_key, o.payload, \
                 COALESCE(d.attempts, 0) FROM outbox o \
                 LEFT JOIN outbox_delivery d ON d.outbox_id = o.id \
                 WHERE {DUE} ORDER BY o.id LIMIT ?"
            ),
            now,
            limit
        )?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for (id, position, channel, idempotency_key, payload, attempts) in candidates {
            // The conditional upsert is the claim: of two workers, one sees 1 row affected.
            let won = execute!(
                self,
                "claiming an outbox message",
                "INSERT INTO outbox_delivery (outbox_id, attempts, next_attempt_at) \
                 VALUES (?, 0, ?) ON CONFLICT (outbox_id) DO UPDATE \
                 SET next_attempt_at = excluded.next_attempt_at \
                 WHERE outbox_delivery.dead_at IS NULL AND outbox_delivery.cancelled_at IS NULL \
                 AND (outbox_delivery.next_attempt_at IS NULL OR outbox_delivery.next_attempt_at <= ?)",
                id,
                lease,
                now
            )?;
            if won == 1 {
                claimed.push(ClaimedMessage {
                    id,
                    position,
                    channel,
                    idempotency_key,
                    payload,
                    attempts,
                });
            }
        }
        Ok(claimed)
    }

    /// Marks messages delivered at `at` (after the receiver's 2xx). Returns how many were
    /// still undelivered.
    pub async fn mark_delivered(
        &self,
        ids: &[i64],
        at: jiff::Timestamp,
    ) -> Result<u64, StoreError> {
        let at = timestamp_to_nanos(at)?;
        let mut n = 0;
        // Small chunks: one statement per chunk, within every engine's parameter limit.
        for chunk in ids.chunks(200) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "UPDATE outbox SET delivered_at = ? WHERE delivered_at IS NULL AND id IN ({marks})"
            );
            n += match &self.pool {
                Pool::Sqlite(pool) => {
                    let mut query = sqlx::query(&sql).bind(at);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    query.execute(pool).await.map(|d| d.rows_affected())
                }
                Pool::Postgres(pool) => {
                    let sql = numbered(&sql);
                    let mut query = sqlx::query(&sql).bind(at);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    query.execute(pool).await.map(|d| d.rows_affected())
                }
            }
            .map_err(StoreError::database("marking outbox messages delivered"))?;
        }
        Ok(n)
    }

    /// Records a failed attempt: the message is tried again at `retry_at`, or, when
    /// `retry_at` is `None`, it is dead (a dead letter) as of `now`.
    pub async fn record_failure(
        &self,
        id: i64,
        error: &str,
        now: jiff::Timestamp,
        retry_at: Option<jiff::Timestamp>,
    ) -> Result<(), StoreError> {
        let now = timestamp_to_nanos(now)?;
        let retry = retry_at.map(timestamp_to_nanos).transpose()?;
        let dead = retry.is_none().then_some(now);
        execute!(
            self,
            "recording a failed delivery",
            "INSERT INTO outbox_delivery (outbox_id, attempts, next_attempt_at, last_error, dead_at) \
             VALUES (?, 1, ?, ?, ?) ON CONFLICT (outbox_id) DO UPDATE \
             SET attempts = outbox_delivery.attempts + 1, next_attempt_at = excluded.next_attempt_at, \
             last_error = excluded.last_error, dead_at = excluded.dead_at",
            id,
            retry,
            error,
            dead
        )?;
        Ok(())
    }

    /// Enqueues messages that no single event caused (scheduled daily updates, weekly
    /// agendas) at log position `position`. A (channel, key) already in the outbox is
    /// skipped, so enqueueing the same schedule twice sends once. All or nothing: one
    /// transaction (which is also what makes a large schedule fast on SQLite). Returns how
    /// many were new.
    pub async fn enqueue(
        &self,
        position: i64,
        messages: &[crate::NewOutboxMessage],
    ) -> Result<u64, StoreError> {
        const INSERT: &str = "INSERT INTO outbox (position, channel, idempotency_key, payload) \
                              VALUES (?, ?, ?, ?) ON CONFLICT (channel, idempotency_key) DO NOTHING";
        let error = |source| StoreError::Database {
            operation: "enqueueing outbox messages",
            source,
        };
        let mut n = 0;
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin().await.map_err(error)?;
                for message in messages {
                    n += sqlx::query(INSERT)
                        .bind(position)
                        .bind(&message.channel)
                        .bind(&message.idempotency_key)
                        .bind(&message.payload)
                        .execute(&mut *tx)
                        .await
                        .map_err(error)?
                        .rows_affected();
                }
                tx.commit().await.map_err(error)?;
            }
            Pool::Postgres(pool) => {
                let sql = numbered(INSERT);
                let mut tx = pool.begin().await.map_err(error)?;
                for message in messages {
                    n += sqlx::query(&sql)
                        .bind(position)
                        .bind(&message.channel)
                        .bind(&message.idempotency_key)
                        .bind(&message.payload)
                        .execute(&mut *tx)
                        .await
                        .map_err(error)?
                        .rows_affected();
                }
                tx.commit().await.map_err(error)?;
            }
        }
        Ok(n)
    }

    /// Postpones a message to `until` without counting an attempt (a not-before time).
    pub async fn postpone(&self, id: i64, until: jiff::Timestamp) -> Result<(), StoreError> {
        let until = timestamp_to_nanos(until)?;
        execute!(
            self,
            "postponing an outbox message",
            "INSERT INTO outbox_delivery (outbox_id, attempts, next_attempt_at) VALUES (?, 0, ?) \
             ON CONFLICT (outbox_id) DO UPDATE SET next_attempt_at = excluded.next_attempt_at",
            id,
            until
        )?;
        Ok(())
    }

    /// Dead letters, oldest first.
    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>, StoreError> {
        type Row = (i64, String, String, i64, Option<String>, i64, String);
        let rows = fetch_all!(
            self,
            "reading dead letters",
            Row,
            "SELECT o.id, o.channel, o.idempotency_key, d.attempts, d.last_error, d.dead_at, o.payload \
             FROM outbox o JOIN outbox_delivery d ON d.outbox_id = o.id \
             WHERE d.dead_at IS NOT NULL AND o.delivered_at IS NULL ORDER BY o.id LIMIT ?",
            limit
        )?;
        rows.into_iter()
            .map(
                |(id, channel, idempotency_key, attempts, last_error, dead_at, payload)| {
                    Ok(DeadLetter {
                        id,
                        channel,
                        idempotency_key,
                        attempts,
                        last_error,
                        dead_at: nanos_to_timestamp(id, dead_at)?,
                        payload,
                    })
                },
            )
            .collect()
    }

    /// Makes a dead letter due again with a fresh retry budget. Returns false when `id`
    /// is not a dead letter.
    pub async fn replay(&self, id: i64) -> Result<bool, StoreError> {
        let n = execute!(
            self,
            "replaying a dead letter",
            "UPDATE outbox_delivery SET dead_at = NULL, attempts = 0, next_attempt_at = NULL \
             WHERE outbox_id = ? AND dead_at IS NOT NULL",
            id
        )?;
        Ok(n == 1)
    }

    /// Cancels every undelivered message whose key starts with `key_prefix` (e.g. the
    /// pending notices of an acknowledged escalation). Returns how many were cancelled.
    /// An acknowledgement cancels through `Program::commit_cancelling` instead, in the
    /// transaction of the event that records it.
    pub async fn cancel_pending(
        &self,
        key_prefix: &str,
        at: jiff::Timestamp,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let at = timestamp_to_nanos(at)?;
        execute!(
            self,
            "cancelling outbox messages",
            CANCEL_PENDING,
            at,
            reason,
            like_prefix(key_prefix)
        )
    }

    /// The distinct keys starting with `key_prefix` of the messages not cancelled
    /// (delivered, pending or dead), in key order: which escalations of an item were
    /// written, for its acknowledgement to name.
    pub async fn keys_with_prefix(&self, key_prefix: &str) -> Result<Vec<String>, StoreError> {
        let rows = fetch_all!(
            self,
            "reading outbox keys",
            (String,),
            "SELECT DISTINCT o.idempotency_key FROM outbox o \
             LEFT JOIN outbox_delivery d ON d.outbox_id = o.id \
             WHERE d.cancelled_at IS NULL AND o.idempotency_key LIKE ? ESCAPE '\\' \
             ORDER BY o.idempotency_key",
            like_prefix(key_prefix)
        )?;
        Ok(rows.into_iter().map(|(key,)| key).collect())
    }

    /// How many messages are in each delivery state.
    pub async fn counts(&self) -> Result<OutboxCounts, StoreError> {
        type Row = (i64, i64, i64, i64);
        let rows = fetch_all!(
            self,
            "counting outbox messages",
            Row,
            "SELECT \
             COALESCE(SUM(CASE WHEN o.delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN o.delivered_at IS NULL AND d.dead_at IS NULL AND d.cancelled_at IS NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN o.delivered_at IS NULL AND d.dead_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN o.delivered_at IS NULL AND d.cancelled_at IS NOT NULL THEN 1 ELSE 0 END), 0) \
             FROM outbox o LEFT JOIN outbox_delivery d ON d.outbox_id = o.id"
        )?;
        let (delivered, pending, dead, cancelled) = rows.first().copied().unwrap_or_default();
        Ok(OutboxCounts {
            delivered,
            pending,
            dead,
            cancelled,
        })
    }
}
