//! The store's behaviour suite, written once and run on both engines by `tests/sqlite.rs`
//! and `tests/postgres.rs` through `behaviour_suite!`.
//!
//! Each test gets a fresh database: a temporary SQLite file, or a PostgreSQL database
//! created for it and dropped afterwards (best effort, also when the test panics). No mocks.
//! Engine-specific failure modes (corrupt files, unreachable servers) live in the engine's
//! own test file, not here.

#![allow(dead_code)]

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lockstep_store::{
    Engine, Expectation, ExpectedVersion, NewEvent, NewOutboxMessage, OpenOptions, SCHEMA_VERSION,
    Store, StoreError, redact_url,
};
use sqlx::Connection;

/// Generates one `#[tokio::test]` per behaviour, each opening a fresh database with `$make`.
macro_rules! behaviour_suite {
    ($make:path) => {
        behaviour_suite!(@tests $make;
            appends_and_reads_back_an_event,
            assigns_stream_versions_per_stream,
            rejects_stale_expectation_and_writes_nothing,
            rejects_no_stream_when_stream_exists,
            checks_expectations_on_streams_it_does_not_write,
            concurrent_appends_to_different_streams_both_succeed,
            concurrent_appends_to_one_stream_let_exactly_one_win,
            global_positions_are_gapless,
            read_from_pages_through_the_log,
            for_each_from_visits_every_event_and_can_stop,
            latest_snapshot_wins_and_old_ones_are_pruned,
            rejects_snapshot_beyond_head,
            writes_outbox_in_the_same_transaction,
            writes_no_outbox_when_append_conflicts,
            rejects_duplicate_outbox_key,
            refuses_schema_newer_than_supported,
            rejects_empty_append,
            read_only_store_refuses_writes,
            keeps_data_across_reopen,
            api_tokens_expire_are_revoked_and_move_from_version_2,
            feed_tokens_rotate_and_only_the_current_one_is_known,
            automation_accounts_are_marked_with_the_user_and_cleared_by_saving_it_again,
        );
    };
    (@tests $make:path; $($name:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = $make().await else { return };
                common::$name(&db).await;
            }
        )*
    };
}

/// A fresh database for one test.
pub struct TestDb {
    pub url: String,
    pub engine: Engine,
    _dir: Option<tempfile::TempDir>,
    _postgres: Option<PostgresDatabase>,
}

impl TestDb {
    pub async fn open(&self) -> Store {
        self.open_with(OpenOptions::default()).await
    }

    pub async fn open_with(&self, options: OpenOptions) -> Store {
        match Store::open(&self.url, options).await {
            Ok(store) => store,
            Err(error) => panic!(
                "cannot open test store {}: {error:?}",
                redact_url(&self.url)
            ),
        }
    }

    /// Runs SQL behind the store's back, to set up states the API cannot produce.
    pub async fn execute_raw(&self, sql: &str) {
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("raw sqlite connection");
                sqlx::raw_sql(sql)
                    .execute(&mut conn)
                    .await
                    .expect("raw sql");
                conn.close().await.expect("close raw connection");
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("raw postgres connection");
                sqlx::raw_sql(sql)
                    .execute(&mut conn)
                    .await
                    .expect("raw sql");
                conn.close().await.expect("close raw connection");
            }
        }
    }
}

pub async fn sqlite_db() -> Option<TestDb> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("lockstep.db").display());
    Some(TestDb {
        url,
        engine: Engine::Sqlite,
        _dir: Some(dir),
        _postgres: None,
    })
}

pub fn postgres_admin_url() -> String {
    std::env::var("LOCKSTEP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh PostgreSQL database, or `None` (after saying so) when the server is unreachable
/// and `LOCKSTEP_SKIP_POSTGRES=1`. Unreachable without that variable is a test failure.
pub async fn postgres_db() -> Option<TestDb> {
    let admin_url = postgres_admin_url();
    let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
        Ok(admin) => admin,
        Err(error) => {
            if std::env::var("LOCKSTEP_SKIP_POSTGRES").as_deref() == Ok("1") {
                eprintln!(
                    "skipped: postgresql not reachable at {} (LOCKSTEP_SKIP_POSTGRES=1)",
                    redact_url(&admin_url)
                );
                return None;
            }
            panic!(
                "postgresql not reachable at {}: {error}; start it, point LOCKSTEP_TEST_POSTGRES_URL \
                 at one, or set LOCKSTEP_SKIP_POSTGRES=1 to skip these tests",
                redact_url(&admin_url)
            );
        }
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "lockstep_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let _ = admin.close().await;
    Some(TestDb {
        url: with_database(&admin_url, &name),
        engine: Engine::Postgres,
        _dir: None,
        _postgres: Some(PostgresDatabase { admin_url, name }),
    })
}

/// `url` pointing at database `name` instead, keeping any query string.
pub fn with_database(url: &str, name: &str) -> String {
    let authority_start = url.find("://").map_or(0, |idx| idx + 3);
    let (base, query) = match url.find('?') {
        Some(idx) => (&url[..idx], &url[idx..]),
        None => (url, ""),
    };
    let base = match base[authority_start..].find('/') {
        Some(idx) => &base[..authority_start + idx],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Drops its database when the test ends, pass or fail.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // A fresh thread and runtime: Drop may run inside the test's runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for dropping the test database");
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::raw_sql(&sql).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropped.join();
    }
}

/// Builds test events: `EventBuilder::new("release/r1").kind("ReleaseCreated").build()`.
#[derive(Clone)]
pub struct EventBuilder {
    event: NewEvent,
}

impl EventBuilder {
    pub fn new(stream: &str) -> Self {
        EventBuilder {
            event: NewEvent {
                stream: stream.to_owned(),
                kind: "ReleaseCreated".to_owned(),
                payload: r#"{"name": "r1",  "teams": ["payments"]}"#.to_owned(),
                actor: "alice".to_owned(),
                reason: None,
                recorded_at: "2024-10-01T12:34:56.123456789Z"
                    .parse()
                    .expect("valid timestamp"),
            },
        }
    }

    pub fn kind(mut self, kind: &str) -> Self {
        self.event.kind = kind.to_owned();
        self
    }

    pub fn payload(mut self, payload: &str) -> Self {
        self.event.payload = payload.to_owned();
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.event.reason = Some(reason.to_owned());
        self
    }

    pub fn build(self) -> NewEvent {
        self.event
    }
}

pub fn event(stream: &str) -> NewEvent {
    EventBuilder::new(stream).build()
}

pub fn expect(stream: &str, expected: ExpectedVersion) -> Expectation {
    Expectation {
        stream: stream.to_owned(),
        expected,
    }
}

pub fn message(key: &str) -> NewOutboxMessage {
    NewOutboxMessage {
        channel: "slack".to_owned(),
        idempotency_key: key.to_owned(),
        payload: r#"{"text":"release r1 is go"}"#.to_owned(),
    }
}

async fn append_ok(store: &Store, expectations: &[Expectation], events: &[NewEvent]) {
    if let Err(error) = store.append(expectations, events, &[]).await {
        panic!("append failed: {error:?}");
    }
}

// ---- behaviours ----

pub async fn appends_and_reads_back_an_event(db: &TestDb) {
    let store = db.open().await;
    let new = EventBuilder::new("release/r1")
        .payload(r#"{"b": 1,   "a": [true, null]}"#)
        .reason("kick-off")
        .build();
    let outcome = store
        .append(&[], std::slice::from_ref(&new), &[])
        .await
        .expect("append");
    assert_eq!((outcome.first_position, outcome.last_position), (1, 1));

    let read = store.read_from(0, 10).await.expect("read_from");
    assert_eq!(read.len(), 1);
    let stored = &read[0];
    assert_eq!(stored.position, 1);
    assert_eq!(stored.stream_version, 1);
    assert_eq!(stored.stream, new.stream);
    assert_eq!(stored.kind, new.kind);
    assert_eq!(
        stored.payload, new.payload,
        "payload must round-trip byte for byte"
    );
    assert_eq!(stored.actor, new.actor);
    assert_eq!(stored.reason, new.reason);
    assert_eq!(
        stored.recorded_at, new.recorded_at,
        "nanoseconds must survive"
    );
    assert_eq!(
        store.read_stream("release/r1").await.expect("read_stream"),
        read
    );
    assert_eq!(store.head().await.expect("head"), 1);
    assert_eq!(store.engine(), db.engine);
    store.close().await;
}

pub async fn assigns_stream_versions_per_stream(db: &TestDb) {
    let store = db.open().await;
    append_ok(&store, &[], &[event("a"), event("b"), event("a")]).await;
    append_ok(
        &store,
        &[expect("a", ExpectedVersion::Exact(2))],
        &[event("a")],
    )
    .await;
    append_ok(&store, &[], &[event("b")]).await;

    assert_eq!(store.stream_version("a").await.expect("version"), 3);
    assert_eq!(store.stream_version("b").await.expect("version"), 2);
    assert_eq!(store.stream_version("never").await.expect("version"), 0);
    let a: Vec<(i64, i64)> = store
        .read_stream("a")
        .await
        .expect("read a")
        .iter()
        .map(|event| (event.position, event.stream_version))
        .collect();
    assert_eq!(a, [(1, 1), (3, 2), (4, 3)]);
    store.close().await;
}

pub async fn rejects_stale_expectation_and_writes_nothing(db: &TestDb) {
    let store = db.open().await;
    append_ok(&store, &[], &[event("a"), event("a")]).await;

    let stale = store
        .append(
            &[expect("a", ExpectedVersion::Exact(1))],
            &[event("a"), event("b")],
            &[],
        )
        .await;
    match stale {
        Err(
            ref error @ StoreError::Conflict {
                ref stream,
                expected,
                actual,
            },
        ) => {
            assert!(error.is_conflict());
            assert_eq!(stream, "a");
            assert_eq!(expected, ExpectedVersion::Exact(1));
            assert_eq!(actual, 2);
            assert_eq!(
                error.to_string(),
                "stream a is at version 2, expected version 1"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The single-event path must behave the same.
    let stale_one = store
        .append(
            &[expect("a", ExpectedVersion::Exact(5))],
            &[event("a")],
            &[],
        )
        .await;
    assert!(
        matches!(stale_one, Err(StoreError::Conflict { actual: 2, .. })),
        "{stale_one:?}"
    );

    assert_eq!(store.head().await.expect("head"), 2);
    assert_eq!(store.stream_version("b").await.expect("version"), 0);
    store.close().await;
}

pub async fn rejects_no_stream_when_stream_exists(db: &TestDb) {
    let store = db.open().await;
    append_ok(
        &store,
        &[expect("a", ExpectedVersion::NoStream)],
        &[event("a")],
    )
    .await;
    let again = store
        .append(
            &[expect("a", ExpectedVersion::NoStream)],
            &[event("a")],
            &[],
        )
        .await;
    assert!(
        matches!(
            again,
            Err(StoreError::Conflict {
                expected: ExpectedVersion::NoStream,
                actual: 1,
                ..
            })
        ),
        "{again:?}"
    );
    // Exact(0) means the same as NoStream.
    let exact_zero = store
        .append(
            &[expect("a", ExpectedVersion::Exact(0))],
            &[event("a"), event("a")],
            &[],
        )
        .await;
    assert!(
        matches!(exact_zero, Err(StoreError::Conflict { .. })),
        "{exact_zero:?}"
    );
    assert_eq!(store.head().await.expect("head"), 1);
    store.close().await;
}

pub async fn checks_expectations_on_streams_it_does_not_write(db: &TestDb) {
    let store = db.open().await;
    append_ok(&store, &[], &[event("release/r1")]).await;
    // A team command that read release r1 at version 1 writes only to the team stream.
    append_ok(
        &store,
        &[
            expect("release/r1", ExpectedVersion::Exact(1)),
            expect("team/t", ExpectedVersion::NoStream),
        ],
        &[event("team/t")],
    )
    .await;
    append_ok(&store, &[], &[event("release/r1")]).await;
    let stale = store
        .append(
            &[expect("release/r1", ExpectedVersion::Exact(1))],
            &[event("team/t")],
            &[],
        )
        .await;
    assert!(
        matches!(&stale, Err(StoreError::Conflict { stream, actual: 2, .. }) if stream == "release/r1"),
        "{stale:?}"
    );
    assert_eq!(store.stream_version("team/t").await.expect("version"), 1);
    store.close().await;
}

pub async fn concurrent_appends_to_different_streams_both_succeed(db: &TestDb) {
    let store = db.open().await;
    let n_tasks = 8;
    let n_appends_per_task = 10;
    let barrier = Arc::new(tokio::sync::Barrier::new(n_tasks));
    let mut tasks = Vec::new();
    for task_idx in 0..n_tasks {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let stream = format!("release/{task_idx}");
            barrier.wait().await;
            for version in 0..n_appends_per_task {
                store
                    .append(
                        &[expect(&stream, ExpectedVersion::Exact(version))],
                        &[event(&stream)],
                        &[],
                    )
                    .await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await
            .expect("task")
            .expect("every append on its own stream succeeds");
    }
    let total = (n_tasks as i64) * n_appends_per_task;
    assert_eq!(store.head().await.expect("head"), total);
    let positions: Vec<i64> = store
        .read_from(0, 1000)
        .await
        .expect("read")
        .iter()
        .map(|event| event.position)
        .collect();
    assert_eq!(positions, (1..=total).collect::<Vec<_>>());
    store.close().await;
}

pub async fn concurrent_appends_to_one_stream_let_exactly_one_win(db: &TestDb) {
    let store = db.open().await;
    append_ok(&store, &[], &[event("release/r1")]).await;
    for round in 0..5_i64 {
        let version = store.stream_version("release/r1").await.expect("version");
        assert_eq!(version, 1 + round);
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for task_idx in 0..2 {
            let store = store.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                // Half the rounds go through the multi-event path.
                let events = if (round + task_idx) % 2 == 0 {
                    vec![event("release/r1")]
                } else {
                    vec![event("release/r1"), event("other")]
                };
                barrier.wait().await;
                store
                    .append(
                        &[expect("release/r1", ExpectedVersion::Exact(version))],
                        &events,
                        &[],
                    )
                    .await
            }));
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task"));
        }
        let n_won = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        let n_conflicted = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Err(error) if error.is_conflict()))
            .count();
        assert_eq!((n_won, n_conflicted), (1, 1), "{outcomes:?}");
    }
    store.close().await;
}

pub async fn global_positions_are_gapless(db: &TestDb) {
    let store = db.open().await;
    let mut expected_next = 1;
    for batch in 1..=5_i64 {
        let events: Vec<NewEvent> = (0..batch)
            .map(|idx| event(&format!("s{}", idx % 2)))
            .collect();
        let outcome = store.append(&[], &events, &[]).await.expect("append");
        assert_eq!(outcome.first_position, expected_next);
        assert_eq!(outcome.last_position, expected_next + batch - 1);
        expected_next += batch;
        // A failed append in between must not burn positions.
        let failed = store
            .append(
                &[expect("s0", ExpectedVersion::NoStream)],
                &[event("s0")],
                &[],
            )
            .await;
        assert!(failed.is_err());
    }
    let positions: Vec<i64> = store
        .read_from(0, 100)
        .await
        .expect("read")
        .iter()
        .map(|event| event.position)
        .collect();
    assert_eq!(positions, (1..expected_next).collect::<Vec<_>>());
    assert_eq!(store.head().await.expect("head"), expected_next - 1);
    store.close().await;
}

pub async fn read_from_pages_through_the_log(db: &TestDb) {
    let store = db.open().await;
    let events: Vec<NewEvent> = (0..25).map(|idx| event(&format!("s{}", idx % 3))).collect();
    append_ok(&store, &[], &events).await;
    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let page = store.read_from(after, 10).await.expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().expect("non-empty page").position;
        pages.push(page.len());
    }
    assert_eq!(pages, [10, 10, 5]);
    assert!(store.read_from(25, 10).await.expect("past head").is_empty());
    assert!(store.read_from(0, 0).await.expect("zero limit").is_empty());
    assert_eq!(
        store.read_from(20, 100).await.expect("tail")[0].position,
        21
    );
    store.close().await;
}

pub async fn for_each_from_visits_every_event_and_can_stop(db: &TestDb) {
    let store = db.open().await;
    let events: Vec<NewEvent> = (0..30).map(|idx| event(&format!("s{}", idx % 4))).collect();
    append_ok(&store, &[], &events).await;
    let mut seen = Vec::new();
    let n_visited = store
        .for_each_from(10, |event| {
            seen.push(event.position);
            ControlFlow::Continue(())
        })
        .await
        .expect("for_each_from");
    assert_eq!(n_visited, 20);
    assert_eq!(seen, (11..=30).collect::<Vec<_>>());
    let n_visited = store
        .for_each_from(0, |event| {
            if event.position == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .expect("for_each_from");
    assert_eq!(n_visited, 3);
    store.close().await;
}

pub async fn latest_snapshot_wins_and_old_ones_are_pruned(db: &TestDb) {
    let store = db.open().await;
    assert_eq!(
        store.latest_snapshot("state-v1").await.expect("none yet"),
        None
    );
    let events: Vec<NewEvent> = (0..10).map(|_| event("s")).collect();
    append_ok(&store, &[], &events).await;
    for position in 1..=6 {
        let data = format!("state@{position}").into_bytes();
        store
            .save_snapshot(position, "state-v1", &data)
            .await
            .expect("save");
    }
    store
        .save_snapshot(2, "state-v2", b"other format")
        .await
        .expect("save v2");
    assert_eq!(
        store.latest_snapshot("state-v1").await.expect("latest"),
        Some((6, b"state@6".to_vec()))
    );
    assert_eq!(
        store.latest_snapshot("state-v2").await.expect("latest v2"),
        Some((2, b"other format".to_vec()))
    );
    // Saving an older position again does not shadow the newest one.
    store
        .save_snapshot(3, "state-v1", b"late")
        .await
        .expect("save");
    assert_eq!(
        store
            .latest_snapshot("state-v1")
            .await
            .expect("latest")
            .map(|(p, _)| p),
        Some(6)
    );

    let count_sql = "SELECT COUNT(*) FROM snapshots WHERE format = 'state-v1'";
    let kept = db.count(count_sql).await;
    assert_eq!(kept, lockstep_store::SNAPSHOTS_KEPT);
    store.close().await;
}

pub async fn rejects_snapshot_beyond_head(db: &TestDb) {
    let store = db.open().await;
    append_ok(&store, &[], &[event("s")]).await;
    let beyond = store.save_snapshot(2, "state-v1", b"x").await;
    assert!(
        matches!(
            beyond,
            Err(StoreError::SnapshotBeyondHead {
                position: 2,
                head: 1
            })
        ),
        "{beyond:?}"
    );
    store.close().await;
}

pub async fn writes_outbox_in_the_same_transaction(db: &TestDb) {
    let store = db.open().await;
    let outcome = store
        .append(
            &[],
            &[event("release/r1"), event("release/r1")],
            &[message("k1"), message("k2")],
        )
        .await
        .expect("append with outbox");
    let pending = store.pending_outbox(10).await.expect("pending");
    let keys: Vec<&str> = pending.iter().map(|m| m.idempotency_key.as_str()).collect();
    assert_eq!(keys, ["k1", "k2"]);
    assert!(pending.iter().all(|m| m.position == outcome.last_position));
    assert_eq!(pending[0].payload, message("k1").payload);

    let delivered_at = jiff::Timestamp::from_second(1_800_000_000).expect("timestamp");
    assert!(
        store
            .mark_delivered(pending[0].id, delivered_at)
            .await
            .expect("mark")
    );
    assert!(
        !store
            .mark_delivered(pending[0].id, delivered_at)
            .await
            .expect("mark again")
    );
    let still_pending = store.pending_outbox(10).await.expect("pending");
    assert_eq!(still_pending.len(), 1);
    assert_eq!(still_pending[0].idempotency_key, "k2");
    store.close().await;
}

pub async fn writes_no_outbox_when_append_conflicts(db: &TestDb) {
    let store = db.open().await;
    append_ok(&store, &[], &[event("release/r1")]).await;
    let stale = store
        .append(
            &[expect("release/r1", ExpectedVersion::NoStream)],
            &[event("release/r1")],
            &[message("k1")],
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    assert!(store.pending_outbox(10).await.expect("pending").is_empty());
    assert_eq!(store.head().await.expect("head"), 1);
    store.close().await;
}

pub async fn rejects_duplicate_outbox_key(db: &TestDb) {
    let store = db.open().await;
    store
        .append(&[], &[event("s")], &[message("k1")])
        .await
        .expect("first");
    let duplicate = store.append(&[], &[event("s")], &[message("k1")]).await;
    assert!(
        matches!(&duplicate, Err(StoreError::DuplicateOutboxMessage { idempotency_key, .. }) if idempotency_key == "k1"),
        "{duplicate:?}"
    );
    let in_batch = store
        .append(&[], &[event("s")], &[message("k2"), message("k2")])
        .await;
    assert!(
        matches!(in_batch, Err(StoreError::DuplicateOutboxMessage { .. })),
        "{in_batch:?}"
    );
    assert_eq!(
        store.head().await.expect("head"),
        1,
        "a rejected append writes no events"
    );
    store.close().await;
}

pub async fn refuses_schema_newer_than_supported(db: &TestDb) {
    db.open().await.close().await;
    let newer = SCHEMA_VERSION + 1;
    db.execute_raw(&format!(
        "UPDATE lockstep_meta SET value = {newer} WHERE key = 'schema_version'"
    ))
    .await;
    let opened = Store::open(&db.url, OpenOptions::default()).await;
    match opened {
        Err(error @ StoreError::SchemaTooNew { .. }) => {
            assert!(
                matches!(error, StoreError::SchemaTooNew { found, supported } if found == newer && supported == SCHEMA_VERSION)
            );
            assert!(error.to_string().contains("upgrade lockstep"), "{error}");
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

pub async fn rejects_empty_append(db: &TestDb) {
    let store = db.open().await;
    let empty = store.append(&[], &[], &[]).await;
    assert!(matches!(empty, Err(StoreError::NoEvents)), "{empty:?}");
    let negative = store
        .append(
            &[expect("s", ExpectedVersion::Exact(-1))],
            &[event("s")],
            &[],
        )
        .await;
    assert!(
        matches!(negative, Err(StoreError::NegativeExpectedVersion { .. })),
        "{negative:?}"
    );
    store.close().await;
}

pub async fn read_only_store_refuses_writes(db: &TestDb) {
    let writer = db.open().await;
    append_ok(&writer, &[], &[event("s")]).await;
    let reader = db
        .open_with(OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        })
        .await;
    assert_eq!(reader.read_from(0, 10).await.expect("read").len(), 1);
    let refused = reader.append(&[], &[event("s")], &[]).await;
    assert!(
        matches!(refused, Err(StoreError::OpenedReadOnly)),
        "{refused:?}"
    );
    reader.close().await;
    writer.close().await;
}

pub async fn keeps_data_across_reopen(db: &TestDb) {
    let store = db.open().await;
    append_ok(&store, &[], &[event("a"), event("b")]).await;
    store
        .save_snapshot(2, "state-v1", b"two")
        .await
        .expect("snapshot");
    store.close().await;
    let store = db.open().await;
    assert_eq!(store.head().await.expect("head"), 2);
    assert_eq!(store.stream_version("a").await.expect("version"), 1);
    assert_eq!(
        store.latest_snapshot("state-v1").await.expect("snapshot"),
        Some((2, b"two".to_vec()))
    );
    append_ok(
        &store,
        &[expect("a", ExpectedVersion::Exact(1))],
        &[event("a")],
    )
    .await;
    assert_eq!(store.head().await.expect("head"), 3);
    store.close().await;
}

impl TestDb {
    /// A single COUNT(*) behind the store's back.
    pub async fn count(&self, sql: &str) -> i64 {
        match self.engine {
            Engine::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("count")
            }
            Engine::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut conn)
                    .await
                    .expect("count")
            }
        }
    }
}

pub async fn api_tokens_expire_are_revoked_and_move_from_version_2(db: &TestDb) {
    use lockstep_store::auth::{AuthStore, NewToken, UserRecord};
    let store = db.open().await;
    let auth = AuthStore::open(&db.url, &OpenOptions::default())
        .await
        .expect("credential store");
    let user = UserRecord {
        name: "mike".to_owned(),
        password_hash: None,
        member: Some("mike".to_owned()),
        admin: false,
    };
    auth.save_user(&user, false, 100).await.expect("user");
    auth.add_token(&NewToken {
        id: "aaaaaaaaaaaa",
        token_hash: "aaaaaaaaaaaa-digest",
        user_name: "mike",
        label: Some("ci"),
        created_at: 100,
        expires_at: Some(200),
    })
    .await
    .expect("token");
    assert_eq!(
        auth.user_by_token("aaaaaaaaaaaa-digest", 199)
            .await
            .expect("check"),
        Some(user.clone())
    );
    assert_eq!(
        auth.user_by_token("aaaaaaaaaaaa-digest", 200)
            .await
            .expect("check"),
        None,
        "refused from its expiry on"
    );
    let (record, _) = auth
        .token("aaaaaaaaaaaa-digest")
        .await
        .expect("read")
        .expect("an expired token is still known");
    assert_eq!(record.expires_at, Some(200));

    // A token written by a version-2 build (no id, no expiry) moves over when the
    // credential tables are opened again, and keeps working.
    db.execute_raw(
        "INSERT INTO auth_tokens (token_hash, user_name, label, created_at) \
         VALUES ('0123456789abcdef-old', 'mike', 'old', 50)",
    )
    .await;
    let auth = AuthStore::open(&db.url, &OpenOptions::default())
        .await
        .expect("reopened credential store");
    assert_eq!(db.count("SELECT COUNT(*) FROM auth_tokens").await, 0);
    let moved = auth
        .token_by_id("0123456789ab")
        .await
        .expect("read")
        .expect("moved with the digest's prefix as id");
    assert_eq!(moved.label.as_deref(), Some("old"));
    assert_eq!(
        auth.user_by_token("0123456789abcdef-old", 10_000)
            .await
            .expect("check"),
        Some(user)
    );

    assert!(
        auth.revoke_token("0123456789ab", 300)
            .await
            .expect("revoke")
    );
    assert!(
        !auth
            .revoke_token("0123456789ab", 400)
            .await
            .expect("revoke"),
        "revoking twice keeps the first instant"
    );
    assert_eq!(
        auth.user_by_token("0123456789abcdef-old", 301)
            .await
            .expect("check"),
        None
    );
    let listed = auth.tokens_of("mike").await.expect("list");
    let ids: Vec<&str> = listed.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["0123456789ab", "aaaaaaaaaaaa"], "oldest first");
    assert_eq!(listed[0].revoked_at, Some(300));
    store.close().await;
}

pub async fn feed_tokens_rotate_and_only_the_current_one_is_known(db: &TestDb) {
    drop(db.open().await); // Migrates the log, credential tables included.
    let auth = lockstep_store::auth::AuthStore::open(&db.url, &OpenOptions::default())
        .await
        .expect("credential store");
    let mike = lockstep_store::auth::UserRecord {
        name: "mike".to_owned(),
        password_hash: None,
        member: Some("mike".to_owned()),
        admin: false,
    };
    auth.save_user(&mike, false, 1).await.expect("user");
    auth.set_feed_token("mike", "digest-1", 2)
        .await
        .expect("token");
    let found = auth.user_by_feed_token("digest-1").await.expect("lookup");
    assert_eq!(found.map(|u| u.name).as_deref(), Some("mike"));
    // Rotating replaces: the old digest names nobody.
    auth.set_feed_token("mike", "digest-2", 3)
        .await
        .expect("rotate");
    assert_eq!(
        auth.user_by_feed_token("digest-1").await.expect("lookup"),
        None
    );
    assert_eq!(
        auth.user_by_feed_token("digest-2")
            .await
            .expect("lookup")
            .map(|u| u.name)
            .as_deref(),
        Some("mike")
    );
    // A token for nobody is refused by the foreign key, not stored.
    auth.set_feed_token("ghost", "digest-3", 4)
        .await
        .expect_err("no such user");
    assert_eq!(
        auth.user_by_feed_token("digest-3").await.expect("lookup"),
        None
    );
}

pub async fn automation_accounts_are_marked_with_the_user_and_cleared_by_saving_it_again(
    db: &TestDb,
) {
    drop(db.open().await); // Migrates the log, credential tables included.
    let auth = lockstep_store::auth::AuthStore::open(&db.url, &OpenOptions::default())
        .await
        .expect("credential store");
    let user = |name: &str| lockstep_store::auth::UserRecord {
        name: name.to_owned(),
        password_hash: Some("hash".to_owned()),
        member: None,
        admin: true,
    };
    auth.save_user(&user("ci"), true, 1).await.expect("ci");
    auth.save_user(&user("rita"), false, 1).await.expect("rita");
    // Saving twice keeps one mark.
    auth.save_user(&user("ci"), true, 2)
        .await
        .expect("ci again");
    let marked = auth.automation_accounts().await.expect("list");
    assert_eq!(marked.into_iter().collect::<Vec<_>>(), ["ci"]);
    assert!(
        auth.user("ci")
            .await
            .expect("read")
            .is_some_and(|u| u.admin)
    );
    // Saved again without the mark, the account is a person again.
    auth.save_user(&user("ci"), false, 3)
        .await
        .expect("ci as a person");
    assert!(auth.automation_accounts().await.expect("list").is_empty());
}
