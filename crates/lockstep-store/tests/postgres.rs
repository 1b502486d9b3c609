//! The behaviour suite on PostgreSQL, one fresh database per test, plus connection errors.
//!
//! Needs a server at `LOCKSTEP_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) whose user may create databases; without one
//! these tests fail, unless `LOCKSTEP_SKIP_POSTGRES=1`, when they say so and pass.

#[macro_use]
mod common;

use std::time::Duration;

use lockstep_store::{OpenOptions, Store, StoreError};

behaviour_suite!(common::postgres_db);

#[tokio::test]
async fn reports_unreachable_server_with_url_and_no_password() {
    let url = "postgres://alice:s3cret@127.0.0.1:1/lockstep";
    let options = OpenOptions {
        connect_timeout: Duration::from_millis(500),
        ..OpenOptions::default()
    };
    let opened = Store::open(url, options).await;
    let Err(error @ StoreError::Connect { .. }) = opened else {
        panic!("expected Connect, got {opened:?}");
    };
    let message = error.to_string();
    assert_eq!(
        message,
        "cannot connect to postgresql at postgres://alice:***@127.0.0.1:1/lockstep"
    );
}

#[tokio::test]
async fn accepts_the_postgresql_scheme() {
    let Some(db) = common::postgres_db().await else {
        return;
    };
    let url = db.url.replacen("postgres://", "postgresql://", 1);
    let store = Store::open(&url, OpenOptions::default())
        .await
        .expect("open");
    assert_eq!(store.engine(), lockstep_store::Engine::Postgres);
    store.close().await;
}
