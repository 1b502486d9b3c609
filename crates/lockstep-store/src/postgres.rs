//! The log on PostgreSQL, shared by several `lockstep serve` replicas.
//!
//! Global positions must be gapless and in commit order, or a replica following the log by
//! position could read 11, miss 10 (committed a moment later) and never come back for it.
//! A sequence gives neither property. So every append first increments the single row of
//! `lockstep_head` inside its transaction: the row lock serializes appenders until commit,
//! the new positions are exactly the ones after the previous commit, and a rollback undoes
//! the increment. An advisory transaction lock plus `MAX(position) + 1` would serialize just
//! as well, but the counter row also works on PostgreSQL-compatible databases without
//! advisory locks and makes `head()` a single-row read. The cost is that appends do not run
//! in parallel, which the write rate of a release-coordination tool easily allows.
//!
//! Transactions run at READ COMMITTED, so once an appender holds the head row, its next
//! statement sees every earlier append and the version check cannot race. Serialization
//! failures and deadlocks (possible under a stricter server default or on compatible
//! databases) are retried a few times; a version conflict never is.
//!
//! This module does not LISTEN/NOTIFY or deliver the outbox; followers poll `read_from`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{ConnectOptions, Postgres, Transaction};

use crate::envelope::{
    self, AppendOutcome, Expectation, NewEvent, NewOutboxMessage, OutboxCancellation,
    OutboxMessage, StoredEvent,
};
use crate::error::StoreError;
use crate::location::redact_url;
use crate::migrate::{self, SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use crate::sqlite::{decode_event, outbox_message};
use crate::{OpenOptions, SNAPSHOTS_KEPT};

/// A Lockstep log in a PostgreSQL database. Use it through [`crate::Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    read_only: bool,
    url: Arc<str>,
}

type EventRow = (
    i64,
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
);

const SELECT_EVENTS: &str = "SELECT position, stream, stream_version, kind, payload, actor, reason, recorded_at FROM events";

/// "lockstep" in ASCII: the advisory lock that keeps two replicas from migrating at once.
const MIGRATION_LOCK_KEY: i64 = 0x6c6f_636b_7374_6570;

/// Attempts after a serialization failure or deadlock, before giving up.
const MAX_APPEND_ATTEMPTS: u32 = 5;

impl PgStore {
    pub(crate) async fn open(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let redacted: Arc<str> = redact_url(url).into();
        let connect_error = |source| StoreError::Connect {
            url: redacted.to_string(),
            source,
        };
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(connect_error)?
            .disable_statement_logging();
        if options.read_only {
            connect = connect.options([("default_transaction_read_only", "on")]);
        }
        let pool = crate::pool_options::<sqlx::Postgres>()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await
            .map_err(connect_error)?;
        let store = PgStore {
            pool,
            read_only: options.read_only,
            url: redacted,
        };
        if options.read_only {
            let found = store.schema_version(&mut *store.begin().await?).await?;
            if found != SCHEMA_VERSION {
                return Err(if found > SCHEMA_VERSION {
                    StoreError::SchemaTooNew {
                        found,
                        supported: SCHEMA_VERSION,
                    }
                } else {
                    StoreError::SchemaTooOld {
                        found,
                        supported: SCHEMA_VERSION,
                    }
                });
            }
        } else {
            store.migrate().await?;
        }
        tracing::debug!(url = %store.url, "opened the postgresql event store");
        Ok(store)
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool
            .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
            .await
            .map_err(StoreError::database("starting a transaction"))
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::OpenedReadOnly);
        }
        Ok(())
    }

    async fn schema_version(&self, conn: &mut sqlx::PgConnection) -> Result<i64, StoreError> {
        let classify = StoreError::database("reading the schema version");
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('lockstep_meta') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await
            .map_err(classify)?;
        if !exists {
            return Ok(0);
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT value FROM lockstep_meta WHERE key = $1")
                .bind(SCHEMA_VERSION_KEY)
                .fetch_optional(&mut *conn)
                .await
                .map_err(StoreError::database("reading the schema version"))?;
        Ok(version.unwrap_or(0))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let classify = StoreError::database("migrating the schema");
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        let found = self.schema_version(&mut tx).await?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let classify = StoreError::database;
        for migration in migrate::POSTGRES.iter().filter(|m| m.version > found) {
            sqlx::raw_sql(migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(classify("migrating the schema"))?;
        }
        sqlx::query(
            "INSERT INTO lockstep_meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(SCHEMA_VERSION_KEY)
        .bind(SCHEMA_VERSION)
        .execute(&mut *tx)
        .await
        .map_err(classify("migrating the schema"))?;
        tx.commit()
            .await
            .map_err(classify("migrating the schema"))?;
        tracing::info!(url = %self.url, from = found, to = SCHEMA_VERSION, "migrated the event store schema");
        Ok(())
    }

    pub(crate) async fn append(
        &self,
        expectations: &[Expectation],
        events: &[NewEvent],
        outbox: &[NewOutboxMessage],
        cancel: Option<&OutboxCancellation>,
    ) -> Result<(AppendOutcome, u64), StoreError> {
        self.writable()?;
        let recorded_at = envelope::validate_append(expectations, events)?;
        if let Some(duplicate) = envelope::duplicate_in_batch(outbox) {
            return Err(StoreError::DuplicateOutboxMessage {
                channel: duplicate.channel.clone(),
                idempotency_key: duplicate.idempotency_key.clone(),
            });
        }
        let mut attempt = 1;
        loop {
            match self
                .try_append(expectations, events, &recorded_at, outbox, cancel)
                .await
            {
                Err(error) if attempt < MAX_APPEND_ATTEMPTS && is_retryable(&error) => {
                    tracing::debug!(attempt, %error, "retrying an append after a serialization failure");
                    tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn try_append(
        &self,
        expectations: &[Expectation],
        events: &[NewEvent],
        recorded_at: &[i64],
        outbox: &[NewOutboxMessage],
        cancel: Option<&OutboxCancellation>,
    ) -> Result<(AppendOutcome, u64), StoreError> {
        let classify = StoreError::database;
        let n_events = i64::try_from(events.len()).expect("an append of more than i64::MAX events");
        let mut tx = self.begin().await?;
        let head: i64 = sqlx::query_scalar(
            "UPDATE lockstep_head SET position = position + $1 RETURNING position - $1",
        )
        .bind(n_events)
        .fetch_one(&mut *tx)
        .await
        .map_err(classify("appending events"))?;

        let streams = envelope::touched_streams(expectations, events);
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT stream, MAX(stream_version) FROM events WHERE stream = ANY($1) GROUP BY stream",
        )
        .bind(&streams)
        .fetch_all(&mut *tx)
        .await
        .map_err(classify("appending events"))?;
        let mut versions: HashMap<&str, i64> = streams.iter().map(|stream| (*stream, 0)).collect();
        for (stream, version) in &rows {
            versions.insert(stream.as_str(), *version);
        }
        envelope::check_expectations(expectations, |stream| {
            versions.get(stream).copied().unwrap_or(0)
        })?;

        let mut positions = Vec::with_capacity(events.len());
        let mut stream_versions = Vec::with_capacity(events.len());
        for (event_idx, event) in events.iter().enumerate() {
            let version = versions.entry(event.stream.as_str()).or_insert(0);
            *version += 1;
            stream_versions.push(*version);
            positions.push(head + 1 + event_idx as i64);
        }
        // One statement for any number of events: arrays, one per column.
        sqlx::query(
            "INSERT INTO events (position, stream, stream_version, kind, payload, actor, reason, recorded_at) \
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[])",
        )
        .bind(&positions)
        .bind(events.iter().map(|event| event.stream.as_str()).collect::<Vec<_>>())
        .bind(&stream_versions)
        .bind(events.iter().map(|event| event.kind.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.payload.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.actor.as_str()).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.reason.as_deref()).collect::<Vec<_>>())
        .bind(recorded_at)
        .execute(&mut *tx)
        .await
        .map_err(classify("appending events"))?;

        let last_position = head + n_events;
        for message in outbox {
            let inserted = sqlx::query(
                "INSERT INTO outbox (position, channel, idempotency_key, payload) VALUES ($1, $2, $3, $4)",
            )
            .bind(last_position)
            .bind(&message.channel)
            .bind(&message.idempotency_key)
            .bind(&message.payload)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                    return Err(StoreError::DuplicateOutboxMessage {
                        channel: message.channel.clone(),
                        idempotency_key: message.idempotency_key.clone(),
                    });
                }
                Err(error) => return Err(classify("appending events")(error)),
            }
        }
        let mut n_cancelled = 0;
        if let Some(cancel) = cancel {
            let at = envelope::timestamp_to_nanos(cancel.at)?;
            let sql = crate::side::numbered(crate::outbox::CANCEL_PENDING);
            for prefix in &cancel.key_prefixes {
                n_cancelled += sqlx::query(&sql)
                    .bind(at)
                    .bind(&cancel.reason)
                    .bind(crate::outbox::like_prefix(prefix))
                    .execute(&mut *tx)
                    .await
                    .map_err(classify("cancelling outbox messages"))?
                    .rows_affected();
            }
        }
        tx.commit().await.map_err(classify("appending events"))?;
        Ok((
            AppendOutcome {
                first_position: head + 1,
                last_position,
            },
            n_cancelled,
        ))
    }

    pub(crate) async fn read_from(
        &self,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!(
            "{SELECT_EVENTS} WHERE position > $1 ORDER BY position LIMIT $2"
        ))
        .bind(after_position)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::database("reading events"))?;
        rows.into_iter().map(decode_event).collect()
    }

    pub(crate) async fn read_stream(&self, stream: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!(
            "{SELECT_EVENTS} WHERE stream = $1 ORDER BY stream_version"
        ))
        .bind(stream)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::database("reading a stream"))?;
        rows.into_iter().map(decode_event).collect()
    }

    pub(crate) async fn stream_version(&self, stream: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COALESCE(MAX(stream_version), 0)::int8 FROM events WHERE stream = $1",
        )
        .bind(stream)
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::database("reading a stream version"))
    }

    pub(crate) async fn head(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT position FROM lockstep_head")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::database("reading the head position"))
    }

    pub(crate) async fn save_snapshot(
        &self,
        position: i64,
        format: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        self.writable()?;
        let classify = StoreError::database;
        let mut tx = self.begin().await?;
        let head: i64 = sqlx::query_scalar("SELECT position FROM lockstep_head")
            .fetch_one(&mut *tx)
            .await
            .map_err(classify("saving a snapshot"))?;
        if position > head || position < 0 {
            return Err(StoreError::SnapshotBeyondHead { position, head });
        }
        sqlx::query(
            "INSERT INTO snapshots (format, position, data) VALUES ($1, $2, $3) \
             ON CONFLICT (format, position) DO UPDATE SET data = excluded.data",
        )
        .bind(format)
        .bind(position)
        .bind(data)
        .execute(&mut *tx)
        .await
        .map_err(classify("saving a snapshot"))?;
        sqlx::query(
            "DELETE FROM snapshots WHERE format = $1 AND position NOT IN \
             (SELECT position FROM snapshots WHERE format = $1 ORDER BY position DESC LIMIT $2)",
        )
        .bind(format)
        .bind(SNAPSHOTS_KEPT)
        .execute(&mut *tx)
        .await
        .map_err(classify("saving a snapshot"))?;
        tx.commit().await.map_err(classify("saving a snapshot"))
    }

    pub(crate) async fn latest_snapshot(
        &self,
        format: &str,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        sqlx::query_as(
            "SELECT position, data FROM snapshots WHERE format = $1 ORDER BY position DESC LIMIT 1",
        )
        .bind(format)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::database("reading a snapshot"))
    }

    pub(crate) async fn pending_outbox(
        &self,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
            "SELECT id, position, channel, idempotency_key, payload FROM outbox o \
             WHERE delivered_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_delivery d \
             WHERE d.outbox_id = o.id AND (d.dead_at IS NOT NULL OR d.cancelled_at IS NOT NULL)) \
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::database("reading the outbox"))?;
        Ok(rows.into_iter().map(outbox_message).collect())
    }

    pub(crate) async fn mark_delivered(
        &self,
        id: i64,
        delivered_at: i64,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let result = sqlx::query(
            "UPDATE outbox SET delivered_at = $1 WHERE id = $2 AND delivered_at IS NULL",
        )
        .bind(delivered_at)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(StoreError::database("marking an outbox message delivered"))?;
        Ok(result.rows_affected() == 1)
    }

    pub(crate) async fn close(self) {
        self.pool.close().await;
    }
}

/// Serialization failures (40001) and deadlocks (40P01) mean "try again"; nothing else does.
fn is_retryable(error: &StoreError) -> bool {
    match error {
        StoreError::Database {
            source: sqlx::Error::Database(error),
            ..
        } => matches!(error.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}
