//! The event log, snapshots and outbox of Lockstep, on SQLite (one file, the default) or
//! PostgreSQL (shared by several replicas).
//!
//! [`Store`] appends envelopes ([`NewEvent`]) with optimistic concurrency per stream
//! ([`Expectation`]) and gives each a global, gapless position in commit order, so that
//! replay, catch-up and the live feed can follow one sequence. Outbox messages are written
//! in the same transaction as the events that caused them.
//!
//! What it deliberately does not do: know the domain (payloads are opaque JSON text and
//! `kind` is a string), deliver outbox messages, notify followers, or cache state. sqlx stops
//! here: no sqlx type appears in the public API except as an error's `source`.

#![deny(missing_docs)]

pub mod audit;
pub mod auth;
pub mod bench;
mod envelope;
mod error;
mod location;
mod migrate;
pub mod outbox;
mod postgres;
pub mod program;
mod side;
mod sqlite;

/// Every pool of the store is made here. It never reaps idle or old connections: sqlx 0.8's
/// reaper can read a transiently wrapped idle count and then spin a worker thread at 100%
/// CPU forever (launchbadge/sqlx#3645, fixed upstream after 0.8.6). We saw it as a CLI
/// command that never exited. A handful of connections held for the process's life costs
/// nothing on SQLite and little on PostgreSQL.
pub(crate) fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .idle_timeout(None)
        .max_lifetime(None)
}

use std::ops::ControlFlow;
use std::time::Duration;

pub use envelope::{
    AppendOutcome, Expectation, ExpectedVersion, NewEvent, NewOutboxMessage, OutboxCancellation,
    OutboxMessage, StoredEvent,
};
pub use error::StoreError;
pub use location::redact_url;
pub use migrate::SCHEMA_VERSION;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use location::Location;

/// How many snapshots per format `save_snapshot` keeps; older ones are deleted.
pub const SNAPSHOTS_KEPT: i64 = 3;

/// How many events `for_each_from` reads per query.
const READ_PAGE_SIZE: i64 = 10_000;

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, one file (or memory, in tests).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
        })
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Open for reading only: no migrations, and writes fail with
    /// [`StoreError::OpenedReadOnly`]. Implies `must_exist`.
    pub read_only: bool,
    /// Fail with [`StoreError::NotFound`] instead of creating a missing SQLite file.
    pub must_exist: bool,
    /// How long SQLite waits for another process's lock before giving up with
    /// [`StoreError::Locked`].
    pub busy_timeout: Duration,
    /// How long to wait for a PostgreSQL connection before giving up.
    pub connect_timeout: Duration,
    /// Connections in the read pool (SQLite) or the whole pool (PostgreSQL).
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read_only: false,
            must_exist: false,
            busy_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            max_connections: 8,
        }
    }
}

/// The event store. Cheap to clone: clones share the connection pools.
#[derive(Debug, Clone)]
pub enum Store {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

impl Store {
    /// Opens the store at `url`, creating and migrating the schema as needed.
    ///
    /// `url` is `sqlite://PATH`, `sqlite::memory:` (tests), `postgres://...` or
    /// `postgresql://...`. A database whose schema is newer than this build gives
    /// [`StoreError::SchemaTooNew`].
    pub async fn open(url: &str, options: OpenOptions) -> Result<Store, StoreError> {
        match Location::parse(url)? {
            Location::SqliteFile(path) => SqliteStore::open_file(&path, &options)
                .await
                .map(Store::Sqlite),
            Location::SqliteMemory => SqliteStore::open_memory(&options).await.map(Store::Sqlite),
            Location::Postgres(url) => PgStore::open(&url, &options).await.map(Store::Postgres),
        }
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        match self {
            Store::Sqlite(_) => Engine::Sqlite,
            Store::Postgres(_) => Engine::Postgres,
        }
    }

    /// Appends `events` and enqueues `outbox` in one transaction, after checking every
    /// expectation. Each event gets the next version of its stream and the next global
    /// position. A failed expectation gives [`StoreError::Conflict`] and writes nothing.
    /// When this returns `Ok`, the append is durable.
    pub async fn append(
        &self,
        expectations: &[Expectation],
        events: &[NewEvent],
        outbox: &[NewOutboxMessage],
    ) -> Result<AppendOutcome, StoreError> {
        self.append_cancelling(expectations, events, outbox, None)
            .await
            .map(|(outcome, _)| outcome)
    }

    /// [`Store::append`], also cancelling the undelivered outbox messages `cancel` names,
    /// in the same transaction: either the events are appended and the messages
    /// cancelled, or neither. Returns the outcome and how many messages were cancelled.
    pub async fn append_cancelling(
        &self,
        expectations: &[Expectation],
        events: &[NewEvent],
        outbox: &[NewOutboxMessage],
        cancel: Option<&OutboxCancellation>,
    ) -> Result<(AppendOutcome, u64), StoreError> {
        match self {
            Store::Sqlite(store) => store.append(expectations, events, outbox, cancel).await,
            Store::Postgres(store) => store.append(expectations, events, outbox, cancel).await,
        }
    }

    /// Up to `limit` events with a position greater than `after_position`, in order.
    pub async fn read_from(
        &self,
        after_position: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        match self {
            Store::Sqlite(store) => store.read_from(after_position, limit).await,
            Store::Postgres(store) => store.read_from(after_position, limit).await,
        }
    }

    /// Calls `visit` with every event after `after_position`, in order, reading a page at a
    /// time so that a million events never sit in memory at once. Stops early when `visit`
    /// breaks. Returns the number of events visited.
    ///
    /// Events committed while this runs are visited too: it reads until it reaches the head.
    pub async fn for_each_from(
        &self,
        after_position: i64,
        mut visit: impl FnMut(StoredEvent) -> ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let mut position = after_position;
        let mut n_visited = 0_u64;
        loop {
            let page = self.read_from(position, READ_PAGE_SIZE).await?;
            let page_len = page.len();
            for event in page {
                position = event.position;
                n_visited += 1;
                if visit(event).is_break() {
                    return Ok(n_visited);
                }
            }
            if page_len < READ_PAGE_SIZE as usize {
                return Ok(n_visited);
            }
        }
    }

    /// Every event of `stream`, oldest first.
    pub async fn read_stream(&self, stream: &str) -> Result<Vec<StoredEvent>, StoreError> {
        match self {
            Store::Sqlite(store) => store.read_stream(stream).await,
            Store::Postgres(store) => store.read_stream(stream).await,
        }
    }

    /// The number of events in `stream` (0 when it has none).
    pub async fn stream_version(&self, stream: &str) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(store) => store.stream_version(stream).await,
            Store::Postgres(store) => store.stream_version(stream).await,
        }
    }

    /// The position of the last committed event (0 for an empty log).
    pub async fn head(&self) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(store) => store.head().await,
            Store::Postgres(store) => store.head().await,
        }
    }

    /// Saves `data`, the caller's state as of `position`, under `format` (name the
    /// serialization and its version, e.g. "state-json-v1", so a new build ignores old
    /// snapshots). Keeps the newest [`SNAPSHOTS_KEPT`] snapshots of that format.
    pub async fn save_snapshot(
        &self,
        position: i64,
        format: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.save_snapshot(position, format, data).await,
            Store::Postgres(store) => store.save_snapshot(position, format, data).await,
        }
    }

    /// The newest snapshot of `format`, as (position, data).
    pub async fn latest_snapshot(
        &self,
        format: &str,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        match self {
            Store::Sqlite(store) => store.latest_snapshot(format).await,
            Store::Postgres(store) => store.latest_snapshot(format).await,
        }
    }

    /// Up to `limit` undelivered outbox messages, oldest first, leaving out those the
    /// delivery log gave up on (dead letters) or cancelled.
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxMessage>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        match self {
            Store::Sqlite(store) => store.pending_outbox(limit).await,
            Store::Postgres(store) => store.pending_outbox(limit).await,
        }
    }

    /// Marks outbox message `id` delivered at `delivered_at`. Returns false when it was
    /// already delivered or does not exist.
    pub async fn mark_delivered(
        &self,
        id: i64,
        delivered_at: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        let delivered_at = envelope::timestamp_to_nanos(delivered_at)?;
        match self {
            Store::Sqlite(store) => store.mark_delivered(id, delivered_at).await,
            Store::Postgres(store) => store.mark_delivered(id, delivered_at).await,
        }
    }

    /// Closes the connection pools, waiting for queries in flight. Clones of this store
    /// stop working too.
    pub async fn close(self) {
        match self {
            Store::Sqlite(store) => store.close().await,
            Store::Postgres(store) => store.close().await,
        }
    }
}
