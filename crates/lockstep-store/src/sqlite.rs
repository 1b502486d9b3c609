//! The log on SQLite: one file in WAL mode, one writer connection, a small read pool.
//!
//! Durability: `synchronous=FULL` in WAL mode syncs the WAL on every commit, so an append
//! that returned `Ok` survives power loss (NORMAL would only survive a process crash).
//! Writes go through a pool of exactly one connection, which serializes them in-process;
//! other processes are waited for up to `busy_timeout` (SQLite's busy handler is the retry),
//! then [`StoreError::Locked`]. Readers never block the writer under WAL.
//!
//! This module does not share a file between unrelated applications: a SQLite file with
//! foreign tables and no Lockstep schema is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Sqlite, SqliteConnection, Transaction};

use crate::envelope::{
    self, AppendOutcome, Expectation, NewEvent, NewOutboxMessage, OutboxCancellation,
    OutboxMessage, StoredEvent,
};
use crate::error::StoreError;
use crate::migrate::{self, SCHEMA_VERSION, SCHEMA_VERSION_KEY};
use crate::{OpenOptions, SNAPSHOTS_KEPT};

/// A Lockstep log in a SQLite database. Use it through [`crate::Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection; `None` when opened read-only.
    writer: Option<SqlitePool>,
    readers: SqlitePool,
    location: Arc<str>,
    busy_timeout: Duration,
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

/// The whole single-event append in one statement, so one round trip to SQLite's worker
/// thread and one implicit transaction: it computes the next position and stream version
/// and checks the expectation (?7, NULL for Any) in the same statement. No row returned
/// means the expectation failed and nothing was written.
const APPEND_ONE: &str = "INSERT INTO events (position, stream, stream_version, kind, payload, actor, reason, recorded_at) \
     SELECT (SELECT COALESCE(MAX(position), 0) + 1 FROM events), ?1, current.version + 1, ?2, ?3, ?4, ?5, ?6 \
     FROM (SELECT COALESCE(MAX(stream_version), 0) AS version FROM events WHERE stream = ?1) AS current \
     WHERE ?7 IS NULL OR current.version = ?7 \
     RETURNING position";

const STREAM_VERSION: &str =
    "SELECT COALESCE(MAX(stream_version), 0) FROM events WHERE stream = ?1";

/// Rows per multi-row INSERT: 8 parameters each stays far below SQLite's 32766 limit, and
/// one statement per 500 rows makes bulk appends cheap in round trips.
const INSERT_CHUNK_ROWS: usize = 500;

impl SqliteStore {
    pub(crate) async fn open_file(path: &Path, options: &OpenOptions) -> Result<Self, StoreError> {
        preflight(path, options)?;
        let location: Arc<str> = path.display().to_string().into();
        let base = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full)
            .disable_statement_logging();
        // Measured on a 1M-event log (see `bench::startup`): the default page cache (2 MiB)
        // thrashes once the (stream, stream_version) index outgrows it, so the writer gets
        // 64 MiB, and checkpoints every ~40 MiB of WAL instead of every 4 MiB, which rewrites
        // hot index pages less often (fill 31 s -> 25 s). Readers map the file instead of
        // copying pages and take rows from SQLite's worker thread 1024 at a time instead of
        // 50 (full read 4.5 s -> 2.4 s).
        let writer_options = base
            .clone()
            .pragma("cache_size", "-65536")
            .pragma("wal_autocheckpoint", "10000")
            .create_if_missing(!options.must_exist && !options.read_only)
            .journal_mode(SqliteJournalMode::Wal);
        let base = base
            .pragma("cache_size", "-16384")
            .pragma("mmap_size", "268435456")
            .row_buffer_size(1024);
        let classify = |source| classify(&location, options.busy_timeout, "opening", source);

        if options.read_only {
            let readers = read_pool(options)
                .connect_with(base.read_only(true))
                .await
                .map_err(classify)?;
            let store = SqliteStore {
                writer: None,
                readers,
                location: location.clone(),
                busy_timeout: options.busy_timeout,
            };
            let mut conn = store.readers.acquire().await.map_err(classify)?;
            let found = store.schema_version(&mut conn).await?;
            drop(conn);
            check_readable_version(found)?;
            return Ok(store);
        }

        let writer = writer_pool()
            .connect_with(writer_options)
            .await
            .map_err(classify)?;
        let readers = read_pool(options).connect_lazy_with(base);
        let store = SqliteStore {
            writer: Some(writer.clone()),
            readers,
            location: location.clone(),
            busy_timeout: options.busy_timeout,
        };
        store.migrate(&writer).await?;
        Ok(store)
    }

    pub(crate) async fn open_memory(options: &OpenOptions) -> Result<Self, StoreError> {
        let location: Arc<str> = ":memory:".into();
        // sqlx names each in-memory database uniquely; it lives as long as a connection to
        // it does, so the single writer connection never expires and also serves reads.
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(StoreError::database("opening"))?
            .foreign_keys(true)
            .disable_statement_logging();
        let writer = writer_pool()
            .connect_with(connect)
            .await
            .map_err(|source| classify(&location, options.busy_timeout, "opening", source))?;
        let store = SqliteStore {
            writer: if options.read_only {
                None
            } else {
                Some(writer.clone())
            },
            readers: writer.clone(),
            location,
            busy_timeout: options.busy_timeout,
        };
        store.migrate(&writer).await?;
        Ok(store)
    }

    fn classify(&self, operation: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |source| classify(&self.location, self.busy_timeout, operation, source)
    }

    fn writer(&self) -> Result<&SqlitePool, StoreError> {
        self.writer.as_ref().ok_or(StoreError::OpenedReadOnly)
    }

    async fn schema_version(&self, conn: &mut SqliteConnection) -> Result<i64, StoreError> {
        let classify = self.classify("reading the schema version");
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(&classify)?;
        if !tables.iter().any(|(name,)| name == "lockstep_meta") {
            if tables.is_empty() {
                return Ok(0);
            }
            return Err(StoreError::NotLockstep {
                location: self.location.to_string(),
            });
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT value FROM lockstep_meta WHERE key = ?1")
                .bind(SCHEMA_VERSION_KEY)
                .fetch_optional(&mut *conn)
                .await
                .map_err(&classify)?;
        Ok(version.unwrap_or(0))
    }

    /// Applies pending migrations under the write lock. Checking first without the lock keeps
    /// the common case (up to date) free of writes, so opening never waits for a writer.
    async fn migrate(&self, writer: &SqlitePool) -> Result<(), StoreError> {
        let classify = self.classify("migrating the schema");
        let mut conn = writer.acquire().await.map_err(&classify)?;
        let found = self.schema_version(&mut conn).await?;
        drop(conn);
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&classify)?;
        // Another process may have migrated while we waited for the lock.
        let found = self.schema_version(&mut tx).await?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for migration in migrate::SQLITE.iter().filter(|m| m.version > found) {
            sqlx::raw_sql(migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(&classify)?;
        }
        sqlx::query(
            "INSERT INTO lockstep_meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(SCHEMA_VERSION_KEY)
        .bind(SCHEMA_VERSION)
        .execute(&mut *tx)
        .await
        .map_err(&classify)?;
        tx.commit().await.map_err(&classify)?;
        tracing::info!(location = %self.location, from = found, to = SCHEMA_VERSION, "migrated the event store schema");
        Ok(())
    }

    pub(crate) async fn append(
        &self,
        expectations: &[Expectation],
        events: &[NewEvent],
        outbox: &[NewOutboxMessage],
        cancel: Option<&OutboxCancellation>,
    ) -> Result<(AppendOutcome, u64), StoreError> {
        let writer = self.writer()?;
        let recorded_at = envelope::validate_append(expectations, events)?;
        let alone = outbox.is_empty() && cancel.is_none();
        match (events, expectations) {
            ([event], []) if alone => self
                .append_one(writer, event, recorded_at[0], None)
                .await
                .map(|outcome| (outcome, 0)),
            ([event], [expectation]) if alone && expectation.stream == event.stream => self
                .append_one(writer, event, recorded_at[0], Some(expectation))
                .await
                .map(|outcome| (outcome, 0)),
            _ => {
                self.append_many(writer, expectations, events, &recorded_at, outbox, cancel)
                    .await
            }
        }
    }

    async fn append_one(
        &self,
        writer: &SqlitePool,
        event: &NewEvent,
        recorded_at: i64,
        expectation: Option<&Expectation>,
    ) -> Result<AppendOutcome, StoreError> {
        let classify = self.classify("appending an event");
        let required = expectation.and_then(|expectation| expectation.expected.required());
        // fetch_all, not fetch_optional: stepping the statement to the end is what commits
        // its implicit transaction.
        let positions: Vec<i64> = sqlx::query_scalar(APPEND_ONE)
            .bind(&event.stream)
            .bind(&event.kind)
            .bind(&event.payload)
            .bind(&event.actor)
            .bind(event.reason.as_deref())
            .bind(recorded_at)
            .bind(required)
            .fetch_all(writer)
            .await
            .map_err(&classify)?;
        match (positions.first(), expectation) {
            (Some(&position), _) => Ok(AppendOutcome {
                first_position: position,
                last_position: position,
            }),
            (None, Some(expectation)) => {
                let actual = self.stream_version_on(writer, &event.stream).await?;
                Err(StoreError::Conflict {
                    stream: event.stream.clone(),
                    expected: expectation.expected,
                    actual,
                })
            }
            (None, None) => Err(StoreError::InvalidRow {
                position: 0,
                detail: "an unconditional insert returned no position".to_owned(),
            }),
        }
    }

    async fn append_many(
        &self,
        writer: &SqlitePool,
        expectations: &[Expectation],
        events: &[NewEvent],
        recorded_at: &[i64],
        outbox: &[NewOutboxMessage],
        cancel: Option<&OutboxCancellation>,
    ) -> Result<(AppendOutcome, u64), StoreError> {
        if let Some(duplicate) = envelope::duplicate_in_batch(outbox) {
            return Err(StoreError::DuplicateOutboxMessage {
                channel: duplicate.channel.clone(),
                idempotency_key: duplicate.idempotency_key.clone(),
            });
        }
        let classify = self.classify("appending events");
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        // writes can fail with SQLITE_BUSY without the busy handler ever being called.
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&classify)?;

        let streams = envelope::touched_streams(expectations, events);
        let mut versions: HashMap<&str, i64> = streams.iter().map(|stream| (*stream, 0)).collect();
        if let [stream] = streams[..] {
            let version: i64 = sqlx::query_scalar(STREAM_VERSION)
                .bind(stream)
                .fetch_one(&mut *tx)
                .await
                .map_err(&classify)?;
            versions.insert(stream, version);
        } else {
            // One round trip for any number of streams: the names go in as a JSON array.
            let names = serde_json::to_string(&streams).expect("a list of strings serializes");
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT stream, MAX(stream_version) FROM events \
                 WHERE stream IN (SELECT value FROM json_each(?1)) GROUP BY stream",
            )
            .bind(names)
            .fetch_all(&mut *tx)
            .await
            .map_err(&classify)?;
            for (stream, version) in rows {
                if let Some(current) = versions.get_mut(stream.as_str()) {
                    *current = version;
                }
            }
        }
        envelope::check_expectations(expectations, |stream| {
            versions.get(stream).copied().unwrap_or(0)
        })?;

        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(&classify)?;
        let mut position = head;
        for (chunk_idx, chunk) in events.chunks(INSERT_CHUNK_ROWS).enumerate() {
            let chunk_start = chunk_idx * INSERT_CHUNK_ROWS;
            let sql = insert_events_sql(chunk.len());
            let mut query = sqlx::query(sql.as_str());
            for (event, &recorded_at) in chunk.iter().zip(&recorded_at[chunk_start..]) {
                position += 1;
                let version = versions.entry(event.stream.as_str()).or_insert(0);
                *version += 1;
                query = query
                    .bind(position)
                    .bind(&event.stream)
                    .bind(*version)
                    .bind(&event.kind)
                    .bind(&event.payload)
                    .bind(&event.actor)
                    .bind(event.reason.as_deref())
                    .bind(recorded_at);
            }
            query.execute(&mut *tx).await.map_err(&classify)?;
        }
        insert_outbox(&mut tx, position, outbox, &classify).await?;
        let mut n_cancelled = 0;
        if let Some(cancel) = cancel {
            let at = envelope::timestamp_to_nanos(cancel.at)?;
            for prefix in &cancel.key_prefixes {
                n_cancelled += sqlx::query(crate::outbox::CANCEL_PENDING)
                    .bind(at)
                    .bind(&cancel.reason)
                    .bind(crate::outbox::like_prefix(prefix))
                    .execute(&mut *tx)
                    .await
                    .map_err(&classify)?
                    .rows_affected();
            }
        }
        tx.commit().await.map_err(&classify)?;
        Ok((
            AppendOutcome {
                first_position: head + 1,
                last_position: position,
            },
            n_cancelled,
        ))
    }

    async fn stream_version_on(&self, pool: &SqlitePool, stream: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(STREAM_VERSION)
            .bind(stream)
            .fetch_one(pool)
            .await
            .map_err(self.classify("reading a stream version"))
    }

    pub(crate) async fn read_from(
        &self,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| {
            format!("{SELECT_EVENTS} WHERE position > ?1 ORDER BY position LIMIT ?2")
        });
        let rows: Vec<EventRow> = sqlx::query_as(sql.as_str())
            .bind(after_position)
            .bind(limit)
            .fetch_all(&self.readers)
            .await
            .map_err(self.classify("reading events"))?;
        rows.into_iter().map(decode_event).collect()
    }

    pub(crate) async fn read_stream(&self, stream: &str) -> Result<Vec<StoredEvent>, StoreError> {
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL
            .get_or_init(|| format!("{SELECT_EVENTS} WHERE stream = ?1 ORDER BY stream_version"));
        let rows: Vec<EventRow> = sqlx::query_as(sql.as_str())
            .bind(stream)
            .fetch_all(&self.readers)
            .await
            .map_err(self.classify("reading a stream"))?;
        rows.into_iter().map(decode_event).collect()
    }

    pub(crate) async fn stream_version(&self, stream: &str) -> Result<i64, StoreError> {
        self.stream_version_on(&self.readers, stream).await
    }

    pub(crate) async fn head(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&self.readers)
            .await
            .map_err(self.classify("reading the head position"))
    }

    pub(crate) async fn save_snapshot(
        &self,
        position: i64,
        format: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let writer = self.writer()?;
        let classify = self.classify("saving a snapshot");
        let mut tx = writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&classify)?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(&classify)?;
        if position > head || position < 0 {
            return Err(StoreError::SnapshotBeyondHead { position, head });
        }
        sqlx::query(
            "INSERT INTO snapshots (format, position, data) VALUES (?1, ?2, ?3) \
             ON CONFLICT (format, position) DO UPDATE SET data = excluded.data",
        )
        .bind(format)
        .bind(position)
        .bind(data)
        .execute(&mut *tx)
        .await
        .map_err(&classify)?;
        sqlx::query(
            "DELETE FROM snapshots WHERE format = ?1 AND position NOT IN \
             (SELECT position FROM snapshots WHERE format = ?1 ORDER BY position DESC LIMIT ?2)",
        )
        .bind(format)
        .bind(SNAPSHOTS_KEPT)
        .execute(&mut *tx)
        .await
        .map_err(&classify)?;
        tx.commit().await.map_err(&classify)
    }

    pub(crate) async fn latest_snapshot(
        &self,
        format: &str,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        sqlx::query_as(
            "SELECT position, data FROM snapshots WHERE format = ?1 ORDER BY position DESC LIMIT 1",
        )
        .bind(format)
        .fetch_optional(&self.readers)
        .await
        .map_err(self.classify("reading a snapshot"))
    }

    pub(crate) async fn pending_outbox(
        &self,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
            "SELECT id, position, channel, idempotency_key, payload FROM outbox o \
             WHERE delivered_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox_delivery d \
             WHERE d.outbox_id = o.id AND (d.dead_at IS NOT NULL OR d.cancelled_at IS NOT NULL)) \
             ORDER BY id LIMIT ?1",
        )
        .bind(limit)
        .fetch_all(&self.readers)
        .await
        .map_err(self.classify("reading the outbox"))?;
        Ok(rows.into_iter().map(outbox_message).collect())
    }

    pub(crate) async fn mark_delivered(
        &self,
        id: i64,
        delivered_at: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE outbox SET delivered_at = ?1 WHERE id = ?2 AND delivered_at IS NULL",
        )
        .bind(delivered_at)
        .bind(id)
        .execute(self.writer()?)
        .await
        .map_err(self.classify("marking an outbox message delivered"))?;
        Ok(result.rows_affected() == 1)
    }

    pub(crate) async fn close(self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.readers.close().await;
    }
}

fn writer_pool() -> SqlitePoolOptions {
    // One connection, never recycled: it is the in-process write lock, and for an in-memory
    // database it is what keeps the database alive. No ping before each use: that would be
    // an extra round trip on every append.
    crate::pool_options()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
}

fn read_pool(options: &OpenOptions) -> SqlitePoolOptions {
    crate::pool_options()
        .max_connections(options.max_connections.max(1))
        .test_before_acquire(false)
}

/// Catches what SQLite would report late or confusingly: a missing file the store may not
/// create, and permissions. Root ignores permission bits, so checking them here (rather than
/// waiting for SQLITE_READONLY) also gives the same answer under root, in containers and CI.
fn preflight(path: &Path, options: &OpenOptions) -> Result<(), StoreError> {
    match std::fs::metadata(path) {
        Ok(metadata) => {
            if !options.read_only && metadata.is_file() && metadata.permissions().readonly() {
                return Err(StoreError::ReadOnly {
                    location: path.display().to_string(),
                    detail: "the file is not writable".to_owned(),
                });
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if options.read_only || options.must_exist {
                return Err(StoreError::NotFound {
                    path: path.to_path_buf(),
                });
            }
        }
        // Anything else (permission to stat, ...) is left for SQLite to report.
        Err(_) => {}
    }
    if !options.read_only {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if std::fs::metadata(path).is_err() && !directory.is_dir() {
            return Err(StoreError::NoDirectory {
                path: path.to_path_buf(),
                directory,
            });
        }
        if let Ok(metadata) = std::fs::metadata(&directory)
            && metadata.permissions().readonly()
        {
            return Err(StoreError::ReadOnly {
                location: path.display().to_string(),
                detail: format!(
                    "directory {} is not writable (SQLite keeps its -wal and -shm files there)",
                    directory.display()
                ),
            });
        }
    }
    Ok(())
}

fn check_readable_version(found: i64) -> Result<(), StoreError> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < SCHEMA_VERSION {
        return Err(StoreError::SchemaTooOld {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Turns SQLite's result codes into the errors callers can act on.
fn classify(
    location: &str,
    busy_timeout: Duration,
    operation: &'static str,
    source: sqlx::Error,
) -> StoreError {
    let (code, message) = match &source {
        sqlx::Error::Database(error) => (
            error.code().and_then(|code| code.parse::<i32>().ok()),
            error.message().to_owned(),
        ),
        _ => (None, String::new()),
    };
    // Extended result codes carry the primary code in their low byte.
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const READONLY: i32 = 8;
    const CORRUPT: i32 = 11;
    const CANTOPEN: i32 = 14;
    const NOTADB: i32 = 26;
    let location = location.to_owned();
    match code.map(|code| code & 0xff) {
        Some(BUSY | LOCKED) => StoreError::Locked {
            location,
            busy_timeout,
            source,
        },
        Some(READONLY) => StoreError::ReadOnly {
            location,
            detail: message,
        },
        Some(CORRUPT | NOTADB) => StoreError::Corrupt { location, source },
        Some(CANTOPEN) => StoreError::CannotOpen { location, source },
        _ => StoreError::Database { operation, source },
    }
}

fn insert_events_sql(n_rows: usize) -> String {
    const HEAD: &str = "INSERT INTO events (position, stream, stream_version, kind, payload, actor, reason, recorded_at) VALUES ";
    const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?)";
    let mut sql = String::with_capacity(HEAD.len() + n_rows * (ROW.len() + 1));
    sql.push_str(HEAD);
    for row_idx in 0..n_rows {
        if row_idx > 0 {
            sql.push(',');
        }
        sql.push_str(ROW);
    }
    sql
}

async fn insert_outbox(
    tx: &mut Transaction<'static, Sqlite>,
    position: i64,
    outbox: &[NewOutboxMessage],
    classify: &impl Fn(sqlx::Error) -> StoreError,
) -> Result<(), StoreError> {
    for message in outbox {
        let inserted = sqlx::query(
            "INSERT INTO outbox (position, channel, idempotency_key, payload) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(position)
        .bind(&message.channel)
        .bind(&message.idempotency_key)
        .bind(&message.payload)
        .execute(&mut **tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                return Err(StoreError::DuplicateOutboxMessage {
                    channel: message.channel.clone(),
                    idempotency_key: message.idempotency_key.clone(),
                });
            }
            Err(error) => return Err(classify(error)),
        }
    }
    Ok(())
}

pub(crate) fn decode_event(row: EventRow) -> Result<StoredEvent, StoreError> {
    let (position, stream, stream_version, kind, payload, actor, reason, recorded_at) = row;
    Ok(StoredEvent {
        position,
        stream,
        stream_version,
        kind,
        payload,
        actor,
        reason,
        recorded_at: envelope::nanos_to_timestamp(position, recorded_at)?,
    })
}

pub(crate) fn outbox_message(row: (i64, i64, String, String, String)) -> OutboxMessage {
    let (id, position, channel, idempotency_key, payload) = row;
    OutboxMessage {
        id,
        position,
        channel,
        idempotency_key,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No pool of the store runs sqlx's reaper (see `crate::pool_options`).
    #[tokio::test]
    async fn pools_never_reap_connections() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_file(&dir.path().join("log.db"), &OpenOptions::default())
            .await
            .expect("opens");
        let pools = [store.writer.as_ref().expect("writable"), &store.readers];
        for pool in pools {
            assert_eq!(pool.options().get_idle_timeout(), None);
            assert_eq!(pool.options().get_max_lifetime(), None);
        }
    }
}
