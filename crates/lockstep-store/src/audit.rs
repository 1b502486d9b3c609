//! The audit log of refused attempts: every command the CLI or the server refused (a
//! domain rule said no, or authorization denied it), with who, when, what, on what
//! and why.
//!
//! Accepted changes are already audited by the event log (actor, time, reason on every
//! event); a refusal changed nothing, so it is not an event and lives in a table beside
//! the log (`audit_refusals`, schema version 6). The store keeps plain text: the edges
//! say what the command and its target were in words. Recording a refusal never blocks
//! the answer to the caller; it does not deduplicate, because two refused attempts are
//! two attempts.

use crate::auth::AuthStore;
use crate::envelope::{nanos_to_timestamp, timestamp_to_nanos};
use crate::side::{self, Pool, SideTables, execute, fetch_all};
use crate::{OpenOptions, StoreError};

const SQLITE_SCHEMA: &str = include_str!("../migrations/sqlite/0006_audit.sql");
const POSTGRES_SCHEMA: &str = include_str!("../migrations/postgres/0006_audit.sql");

/// A refused attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// When it was refused.
    pub at: jiff::Timestamp,
    /// Who tried.
    pub actor: String,
    /// Where it came from: `cli` or `http`.
    pub source: String,
    /// What was attempted, in words (`move step analytics-api of the q1-2025 run to done`).
    pub command: String,
    /// What it was about (`run:q1-2025`).
    pub target: String,
    /// The release it concerns, for filtering.
    pub release: Option<String>,
    /// `domain` (a business rule refused it) or `denied` (authorization did).
    pub kind: String,
    /// The refusal, as the caller saw it.
    pub error: String,
}

/// A refusal as stored, with its id (ascending in time of recording).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefusal {
    /// Row id.
    pub id: i64,
    /// The refusal.
    pub refusal: Refusal,
}

/// The audit table of one database.
#[derive(Debug, Clone)]
pub struct AuditLog {
    pool: Pool,
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
);

fn tables() -> SideTables {
    SideTables {
        opening: "opening the audit log",
        creating: "creating the audit table",
        sqlite_schema: SQLITE_SCHEMA,
        postgres_schema: POSTGRES_SCHEMA,
        memory_prelude: None,
    }
}

impl AuditLog {
    /// Opens the audit table in the database at `url` (the log's URL), creating it if
    /// needed.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<AuditLog, StoreError> {
        let pool = side::open(url, options, &tables()).await?;
        Ok(AuditLog { pool })
    }

    /// The audit table on the credential store's pool (the server has one already).
    pub async fn beside(auth: &AuthStore) -> Result<AuditLog, StoreError> {
        let pool = auth.pool().clone();
        let tables = tables();
        match &pool {
            Pool::Sqlite(pool) => sqlx::raw_sql(tables.sqlite_schema)
                .execute(pool)
                .await
                .map(drop),
            Pool::Postgres(pool) => sqlx::raw_sql(tables.postgres_schema)
                .execute(pool)
                .await
                .map(drop),
        }
        .map_err(StoreError::database(tables.creating))?;
        Ok(AuditLog { pool })
    }

    /// Records a refusal.
    pub async fn record(&self, refusal: &Refusal) -> Result<(), StoreError> {
        let at = timestamp_to_nanos(refusal.at)?;
        execute!(
            self,
            "recording a refused attempt",
            "INSERT INTO audit_refusals (at, actor, source, command, target, release, kind, error) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            at,
            refusal.actor.as_str(),
            refusal.source.as_str(),
            refusal.command.as_str(),
            refusal.target.as_str(),
            refusal.release.as_deref(),
            refusal.kind.as_str(),
            refusal.error.as_str()
        )?;
        Ok(())
    }

    /// The most recent `limit` refusals, of one release when `release` is given,
    /// oldest first.
    pub async fn list(
        &self,
        release: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StoredRefusal>, StoreError> {
        let rows = match release {
            Some(release) => fetch_all!(
                self,
                "reading refused attempts",
                Row,
                "SELECT id, at, actor, source, command, target, release, kind, error \
                 FROM audit_refusals WHERE release = ? ORDER BY id DESC LIMIT ?",
                release,
                limit
            )?,
            None => fetch_all!(
                self,
                "reading refused attempts",
                Row,
                "SELECT id, at, actor, source, command, target, release, kind, error \
                 FROM audit_refusals ORDER BY id DESC LIMIT ?",
                limit
            )?,
        };
        let mut refusals = rows
            .into_iter()
            .map(
                |(id, at, actor, source, command, target, release, kind, error)| {
                    Ok(StoredRefusal {
                        id,
                        refusal: Refusal {
                            at: nanos_to_timestamp(id, at)?,
                            actor,
                            source,
                            command,
                            target,
                            release,
                            kind,
                            error,
                        },
                    })
                },
            )
            .collect::<Result<Vec<_>, StoreError>>()?;
        refusals.reverse();
        Ok(refusals)
    }
}
