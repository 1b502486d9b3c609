//! A small connection pool beside the log's own, for tables that are kept next to
//! the event log but are not events: credentials (`auth`) and delivery bookkeeping
//! (`outbox`). Same database and URL as the log; their schema is part of the log's
//! migrations, and is run again here, idempotently, so that a pool opened on its own
//! (tests, tools) finds its tables.
//!
//! This module opens pools and runs one statement on either engine
//! (`execute!`, `fetch_all!`, `fetch_optional!`); the queries belong to their
//! modules.

use std::str::FromStr;

use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::location::Location;
use crate::{OpenOptions, StoreError};

/// A pool on one of the two engines.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// What a side pool is for and which schema it needs.
pub(crate) struct SideTables {
    /// For error messages: `opening the credential store`.
    pub(crate) opening: &'static str,
    /// For error messages: `creating the credential tables`.
    pub(crate) creating: &'static str,
    /// The tables, on SQLite.
    pub(crate) sqlite_schema: &'static str,
    /// The tables, on PostgreSQL.
    pub(crate) postgres_schema: &'static str,
    /// Run first on a private in-memory SQLite database, which has no log of its own.
    pub(crate) memory_prelude: Option<&'static str>,
}

/// Opens a side pool on the database at `url` and makes sure its tables exist.
pub(crate) async fn open(
    url: &str,
    options: &OpenOptions,
    tables: &SideTables,
) -> Result<Pool, StoreError> {
    let pool = match Location::parse(url)? {
        Location::SqliteFile(path) => {
            let connect = SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(options.busy_timeout)
                .foreign_keys(true)
                .create_if_missing(true);
            let pool = crate::pool_options::<sqlx::Sqlite>()
                .max_connections(2)
                .connect_with(connect)
                .await
                .map_err(StoreError::database(tables.opening))?;
            Pool::Sqlite(pool)
        }
        Location::SqliteMemory => {
            let connect = SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(StoreError::database(tables.opening))?
                .foreign_keys(true);
            // One connection that never expires: the in-memory database lives with it.
            let pool = crate::pool_options::<sqlx::Sqlite>()
                .max_connections(1)
                .min_connections(1)
                .connect_with(connect)
                .await
                .map_err(StoreError::database(tables.opening))?;
            if let Some(prelude) = tables.memory_prelude {
                sqlx::raw_sql(prelude)
                    .execute(&pool)
                    .await
                    .map_err(StoreError::database(tables.opening))?;
            }
            Pool::Sqlite(pool)
        }
        Location::Postgres(url) => {
            let pool = crate::pool_options::<sqlx::Postgres>()
                .max_connections(4)
                .acquire_timeout(options.connect_timeout)
                .connect(&url)
                .await
                .map_err(StoreError::database(tables.opening))?;
            Pool::Postgres(pool)
        }
    };
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
    Ok(pool)
}

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL. Our SQL has no `?` in
/// literals.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs a statement on either engine of `$side.pool`; evaluates to the number of
/// rows affected.
macro_rules! execute {
    ($side:expr, $operation:literal, $sql:expr $(, $arg:expr)* $(,)?) => {
        match &$side.pool {
            $crate::side::Pool::Sqlite(pool) => sqlx::query($sql)$(.bind($arg))*.execute(pool).await
                .map(|done| done.rows_affected()),
            $crate::side::Pool::Postgres(pool) => sqlx::query(&$crate::side::numbered($sql))$(.bind($arg))*
                .execute(pool).await.map(|done| done.rows_affected()),
        }
        .map_err($crate::StoreError::database($operation))
    };
}

/// Fetches every row of type `$row` on either engine of `$side.pool`.
macro_rules! fetch_all {
    ($side:expr, $operation:literal, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match &$side.pool {
            $crate::side::Pool::Sqlite(pool) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.fetch_all(pool).await,
            $crate::side::Pool::Postgres(pool) => sqlx::query_as::<_, $row>(&$crate::side::numbered($sql))$(.bind($arg))*
                .fetch_all(pool).await,
        }
        .map_err($crate::StoreError::database($operation))
    };
}

/// Fetches at most one row of type `$row` on either engine of `$side.pool`.
macro_rules! fetch_optional {
    ($side:expr, $operation:literal, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match &$side.pool {
            $crate::side::Pool::Sqlite(pool) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.fetch_optional(pool).await,
            $crate::side::Pool::Postgres(pool) => sqlx::query_as::<_, $row>(&$crate::side::numbered($sql))$(.bind($arg))*
                .fetch_optional(pool).await,
        }
        .map_err($crate::StoreError::database($operation))
    };
}

pub(crate) use {execute, fetch_all, fetch_optional};
