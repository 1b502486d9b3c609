//! The behaviour suite on a temporary SQLite file, plus the failure modes only a file has:
//! corrupt, read-only, locked, missing, foreign.
//!
//! These tests need nothing but a writable temp directory. They do not cover PostgreSQL
//! (see `tests/postgres.rs`).

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{event, sqlite_db};
use lockstep_store::{OpenOptions, Store, StoreError};
use sqlx::Connection;

behaviour_suite!(common::sqlite_db);

fn short_busy_timeout() -> OpenOptions {
    OpenOptions {
        busy_timeout: Duration::from_millis(200),
        ..OpenOptions::default()
    }
}

#[tokio::test]
async fn works_in_memory() {
    let store = Store::open("sqlite::memory:", OpenOptions::default())
        .await
        .expect("in-memory store");
    store
        .append(&[], &[event("s"), event("s")], &[])
        .await
        .expect("append");
    assert_eq!(store.head().await.expect("head"), 2);
    assert_eq!(store.read_from(0, 10).await.expect("read").len(), 2);
    store.close().await;
}

#[tokio::test]
async fn rejects_unsupported_url_naming_the_supported_ones() {
    let opened = Store::open("mysql://root:hunter2@db/lockstep", OpenOptions::default()).await;
    let Err(error @ StoreError::UnsupportedUrl { .. }) = opened else {
        panic!("expected UnsupportedUrl, got {opened:?}");
    };
    let message = error.to_string();
    assert!(
        message.contains("sqlite://PATH") && message.contains("postgres://"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "password leaked: {message}");
}

#[tokio::test]
async fn reports_a_file_that_is_not_a_database_as_corrupt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are my notes, not a database\n".repeat(100)).expect("write");
    let opened = Store::open(
        &format!("sqlite://{}", path.display()),
        OpenOptions::default(),
    )
    .await;
    let Err(error @ StoreError::Corrupt { .. }) = opened else {
        panic!("expected Corrupt, got {opened:?}");
    };
    assert_eq!(
        error.to_string(),
        format!("{} is not a SQLite database or is corrupt", path.display())
    );
}

#[tokio::test]
async fn refuses_to_write_a_read_only_file_but_reads_it() {
    let db = sqlite_db().await.expect("sqlite");
    let store = db.open().await;
    store.append(&[], &[event("s")], &[]).await.expect("append");
    store.close().await;
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");

    let opened = Store::open(&db.url, OpenOptions::default()).await;
    let Err(error @ StoreError::ReadOnly { .. }) = opened else {
        panic!("expected ReadOnly, got {opened:?}");
    };
    assert!(
        error.to_string().contains("the file is not writable"),
        "{error}"
    );

    let reader = db
        .open_with(OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        })
        .await;
    assert_eq!(reader.head().await.expect("head"), 1);
    reader.close().await;
}

#[tokio::test]
async fn refuses_to_create_a_database_in_a_read_only_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let locked_dir = dir.path().join("ro");
    std::fs::create_dir(&locked_dir).expect("mkdir");
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let url = format!("sqlite://{}", locked_dir.join("lockstep.db").display());
    let opened = Store::open(&url, OpenOptions::default()).await;
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o755))
        .expect("chmod back");
    let Err(error @ StoreError::ReadOnly { .. }) = opened else {
        panic!("expected ReadOnly, got {opened:?}");
    };
    assert!(error.to_string().contains("is not writable"), "{error}");
}

#[tokio::test]
async fn does_not_create_a_missing_file_when_it_must_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing.db");
    let url = format!("sqlite://{}", path.display());
    for options in [
        OpenOptions {
            must_exist: true,
            ..OpenOptions::default()
        },
        OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        },
    ] {
        let opened = Store::open(&url, options).await;
        assert!(
            matches!(opened, Err(StoreError::NotFound { .. })),
            "{opened:?}"
        );
    }
    assert!(!path.exists());
}

#[tokio::test]
async fn a_file_in_a_missing_directory_is_refused_naming_the_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no-such-dir").join("log.db");
    let opened = Store::open(
        &format!("sqlite://{}", path.display()),
        OpenOptions::default(),
    )
    .await;
    let Err(error @ StoreError::NoDirectory { .. }) = opened else {
        panic!("{opened:?}");
    };
    assert!(
        error.to_string().ends_with("no-such-dir does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn refuses_a_sqlite_file_of_another_application() {
    let db = sqlite_db().await.expect("sqlite");
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut conn = sqlx::ConnectOptions::connect(&options)
        .await
        .expect("connect");
    sqlx::raw_sql("CREATE TABLE contacts (name TEXT)")
        .execute(&mut conn)
        .await
        .expect("create");
    conn.close().await.expect("close");
    let opened = Store::open(&db.url, OpenOptions::default()).await;
    assert!(
        matches!(opened, Err(StoreError::NotLockstep { .. })),
        "{opened:?}"
    );
}

#[tokio::test]
async fn reports_locked_when_another_connection_holds_the_write_lock() {
    let db = sqlite_db().await.expect("sqlite");
    let store = db.open_with(short_busy_timeout()).await;
    let mut other = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connect");
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("lock");

    for events in [vec![event("s")], vec![event("s"), event("t")]] {
        let appended = store.append(&[], &events, &[]).await;
        let Err(error @ StoreError::Locked { .. }) = appended else {
            panic!("expected Locked, got {appended:?}");
        };
        assert!(
            error.to_string().contains("locked by another process"),
            "{error}"
        );
    }
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("unlock");
    store
        .append(&[], &[event("s")], &[])
        .await
        .expect("append after unlock");
    store.close().await;
    other.close().await.expect("close");
}

#[tokio::test]
async fn reports_locked_when_opening_an_exclusively_locked_file() {
    let db = sqlite_db().await.expect("sqlite");
    db.open().await.close().await;
    let mut other = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connect");
    sqlx::raw_sql(
        "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; \
         INSERT INTO lockstep_meta (key, value) VALUES ('held', 1);",
    )
    .execute(&mut other)
    .await
    .expect("exclusive lock");
    let opened = Store::open(&db.url, short_busy_timeout()).await;
    assert!(
        matches!(opened, Err(StoreError::Locked { .. })),
        "{opened:?}"
    );
    other.close().await.expect("close");
}
