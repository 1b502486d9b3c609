//! `StoreError`: everything that can go wrong in the store, named for what happened.
//!
//! Engine errors are classified here once (busy, read-only, corrupt, serialization failure)
//! so that callers match on variants instead of on SQLSTATEs or SQLite result codes. A raw
//! `sqlx::Error` is only ever a `#[source]`, behind a message saying what the store was doing.
//! This module does not map errors to HTTP or exit codes: that is the server's and the
//! binary's job (`is_conflict` is the one hint it gives them).

use std::path::PathBuf;
use std::time::Duration;

use crate::envelope::ExpectedVersion;

/// An error from the event store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An expectation did not hold: another writer appended to `stream` first. Nothing was
    /// written. Callers reload and retry the command, or report 409.
    #[error("stream {stream} is at version {actual}, expected {expected}")]
    Conflict {
        /// The stream whose expectation failed.
        stream: String,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// The version the stream actually had.
        actual: i64,
    },
    /// `append` was called without events.
    #[error("an append needs at least one event")]
    NoEvents,
    /// An expectation named a negative version.
    #[error("expected version {version} for stream {stream} is negative")]
    NegativeExpectedVersion {
        /// The stream of the bad expectation.
        stream: String,
        /// The negative version.
        version: i64,
    },
    /// An event's timestamp cannot be stored (the log keeps nanoseconds in an i64, which
    /// covers the years 1677 to 2262).
    #[error("timestamp {timestamp} is outside the storable range (1677 to 2262)")]
    TimestampOutOfRange {
        /// The rejected timestamp.
        timestamp: jiff::Timestamp,
    },
    /// Two outbox messages share a channel and idempotency key.
    #[error("outbox message {idempotency_key} on channel {channel} was already enqueued")]
    DuplicateOutboxMessage {
        /// The channel of the duplicate.
        channel: String,
        /// The duplicate key.
        idempotency_key: String,
    },
    /// A snapshot claimed to describe a position the log has not reached.
    #[error("snapshot position {position} is beyond the head of the log ({head})")]
    SnapshotBeyondHead {
        /// The snapshot's position.
        position: i64,
        /// The last position in the log.
        head: i64,
    },
    /// The URL names no engine this store supports.
    #[error(
        "unsupported database url {url}: use sqlite://PATH, sqlite::memory:, postgres://... or postgresql://..."
    )]
    UnsupportedUrl {
        /// The URL, password redacted.
        url: String,
    },
    /// The SQLite file does not exist and the store may not create it.
    #[error("database file {path} does not exist")]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The directory the SQLite file would be created in does not exist.
    #[error("cannot create database {path}: directory {} does not exist", directory.display())]
    NoDirectory {
        /// The file to create.
        path: PathBuf,
        /// Its missing directory.
        directory: PathBuf,
    },
    /// The file exists but is not a SQLite database, or is damaged.
    #[error("{location} is not a SQLite database or is corrupt")]
    Corrupt {
        /// The file.
        location: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// A SQLite database with tables of its own but no Lockstep schema.
    #[error("{location} is a SQLite database but not a lockstep one (it has other tables)")]
    NotLockstep {
        /// The file.
        location: String,
    },
    /// The database, its file or its directory cannot be written.
    #[error(
        "database {location} is read-only: {detail} (open it read-only, or fix the permissions)"
    )]
    ReadOnly {
        /// The file or directory.
        location: String,
        /// Which part is not writable.
        detail: String,
    },
    /// The store was opened with `read_only` and asked to write.
    #[error("the store was opened read-only and cannot write")]
    OpenedReadOnly,
    /// Another process holds a lock on the database for longer than the busy timeout.
    #[error("database {location} is locked by another process (gave up after {busy_timeout:?})")]
    Locked {
        /// The file.
        location: String,
        /// How long the store waited.
        busy_timeout: Duration,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// SQLite could not open the file (a directory, a missing parent directory, ...).
    #[error("cannot open database {location}")]
    CannotOpen {
        /// The file.
        location: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },
    /// PostgreSQL could not be reached or refused the connection.
    #[error("cannot connect to postgresql at {url}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What the driver said.
        #[source]
        source: sqlx::Error,
    },
    /// The database was written by a newer Lockstep.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade lockstep"
    )]
    SchemaTooNew {
        /// The version recorded in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A read-only store found a schema that needs migrating, which it may not do.
    #[error(
        "database schema version {found} is older than this build's ({supported}); open it read-write once to migrate"
    )]
    SchemaTooOld {
        /// The version recorded in the database.
        found: i64,
        /// The version this build needs.
        supported: i64,
    },
    /// A stored row cannot be decoded.
    #[error("stored row at position {position} is invalid: {detail}")]
    InvalidRow {
        /// The row's position (or outbox id).
        position: i64,
        /// What is wrong with it.
        detail: String,
    },
    /// Any other database error, with what the store was doing.
    #[error("database error while {operation}")]
    Database {
        /// What the store was doing, as a gerund phrase ("appending events").
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

impl StoreError {
    /// True when the error is a lost append race (a stale expected version): the one error
    /// a caller should turn into HTTP 409 or a retry after reloading.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    pub(crate) fn database(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { operation, source }
    }
}
