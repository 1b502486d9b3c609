//! Measurements of the store for `lockstep bench`: durable append throughput against plain
//! SQLite, and the pieces of start-up (bulk fill, open, snapshot load, tail replay, full read).
//!
//! Each function does real I/O on the URL it is given and returns plain numbers; it prints
//! nothing and judges nothing (the caller compares against targets). It does not clean up
//! the files it writes: pass a temporary location.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::location::Location;
use crate::{Expectation, ExpectedVersion, NewEvent, OpenOptions, Store, StoreError};

/// Streams the benchmarks spread their events over, like commands on different releases.
const N_STREAMS: usize = 64;

/// A payload of a typical size for a domain event (about 200 bytes).
const PAYLOAD: &str = r#"{"type":"DependencyAdded","release":"r-2024-10","from":"payments-api","to":"ledger-db","kind":"blocks","note":"schema change must land first","links":["https://example.invalid/pr/4211"]}"#;

/// Durable appends through the store against a plain SQLite insert loop, same run.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendThroughput {
    /// Events appended by each side.
    pub n_events: u64,
    /// Events per append (and per plain transaction).
    pub batch: u64,
    /// Events per second through `Store::append`, each append with an exact expected
    /// version on its stream.
    pub events_per_sec_store: f64,
    /// Events per second inserting the same rows into a table of the same shape (same
    /// columns, primary key and unique index), one transaction per batch, same durability
    /// settings (WAL, synchronous=FULL).
    pub events_per_sec_plain_sqlite: f64,
    /// `events_per_sec_store / events_per_sec_plain_sqlite`.
    pub ratio: f64,
}

/// Measures durable append throughput on the SQLite file at `sqlite_url` (which should not
/// exist yet). The plain baseline writes to a second file beside it, named `<file>-plain`.
/// The two sides alternate append by append.
pub async fn append_throughput(
    sqlite_url: &str,
    n_events: u64,
    batch: u64,
) -> Result<AppendThroughput, StoreError> {
    let path = match Location::parse(sqlite_url)? {
        Location::SqliteFile(path) => path,
        _ => {
            return Err(StoreError::UnsupportedUrl {
                url: format!("{sqlite_url} (the append benchmark needs a sqlite:// file)"),
            });
        }
    };
    let batch = batch.max(1);
    let store = Store::open(sqlite_url, OpenOptions::default()).await?;
    let mut plain = PlainSqlite::open(plain_path(&path)).await?;

    // The two sides alternate append by append, so that the machine's I/O weather (fsync
    // latency on a shared disk varies several-fold from second to second) hits both alike.
    let mut versions = vec![0_i64; N_STREAMS];
    let mut store_time = Duration::ZERO;
    let mut plain_time = Duration::ZERO;
    let mut event_idx = 0_u64;
    while event_idx < n_events {
        let n_batch = batch.min(n_events - event_idx);
        let store_first = (event_idx / batch).is_multiple_of(2);
        for side in [store_first, !store_first] {
            let started = Instant::now();
            if side {
                store_appends(&store, &mut versions, event_idx, n_batch, batch).await?;
                store_time += started.elapsed();
            } else {
                plain.insert(event_idx, n_batch, batch).await?;
                plain_time += started.elapsed();
            }
        }
        event_idx += n_batch;
    }
    plain.close().await;
    store.close().await;

    let events_per_sec_store = n_events as f64 / store_time.as_secs_f64();
    let events_per_sec_plain_sqlite = n_events as f64 / plain_time.as_secs_f64();
    Ok(AppendThroughput {
        n_events,
        batch,
        events_per_sec_store,
        events_per_sec_plain_sqlite,
        ratio: events_per_sec_store / events_per_sec_plain_sqlite,
    })
}

async fn store_appends(
    store: &Store,
    versions: &mut [i64],
    first_event: u64,
    n_events: u64,
    batch: u64,
) -> Result<(), StoreError> {
    let mut event_idx = first_event;
    let end = first_event + n_events;
    while event_idx < end {
        let n_batch = batch.min(end - event_idx);
        // One stream per append, as a command on one release would write.
        let stream_idx = (event_idx as usize / batch as usize) % N_STREAMS;
        let stream = format!("release/{stream_idx}");
        let events: Vec<NewEvent> = (0..n_batch)
            .map(|offset| bench_event(stream.clone(), event_idx + offset))
            .collect();
        let expectation = [Expectation {
            stream,
            expected: ExpectedVersion::Exact(versions[stream_idx]),
        }];
        store.append(&expectation, &events, &[]).await?;
        versions[stream_idx] += n_batch as i64;
        event_idx += n_batch;
    }
    Ok(())
}

fn bench_event(stream: String, event_idx: u64) -> NewEvent {
    NewEvent {
        stream,
        kind: "DependencyAdded".to_owned(),
        payload: PAYLOAD.to_owned(),
        actor: "bench".to_owned(),
        reason: None,
        recorded_at: jiff::Timestamp::from_second(1_700_000_000 + event_idx as i64)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    }
}

fn plain_path(path: &std::path::Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-plain");
    PathBuf::from(name)
}

/// The baseline: a bare table, one INSERT per row, through a one-connection sqlx pool
/// (measured faster than a bare `SqliteConnection` here, so the baseline is not handicapped).
struct PlainSqlite {
    connection: sqlx::SqlitePool,
    streams: Vec<String>,
    versions: Vec<i64>,
}

impl PlainSqlite {
    async fn open(path: PathBuf) -> Result<Self, StoreError> {
        let database = StoreError::database("running the plain sqlite baseline");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
            .disable_statement_logging();
        let connection = crate::pool_options::<sqlx::Sqlite>()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(database)?;
        sqlx::raw_sql(
            "DROP TABLE IF EXISTS plain_events;
             CREATE TABLE plain_events (
                 position INTEGER PRIMARY KEY, stream TEXT NOT NULL, stream_version INTEGER NOT NULL,
                 kind TEXT NOT NULL, payload TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT,
                 recorded_at INTEGER NOT NULL, UNIQUE (stream, stream_version)) STRICT;",
        )
        .execute(&connection)
        .await
        .map_err(StoreError::database("running the plain sqlite baseline"))?;
        Ok(PlainSqlite {
            connection,
            streams: (0..N_STREAMS).map(|idx| format!("release/{idx}")).collect(),
            versions: vec![0; N_STREAMS],
        })
    }

    async fn insert(
        &mut self,
        first_event: u64,
        n_events: u64,
        batch: u64,
    ) -> Result<(), StoreError> {
        let database = || StoreError::database("running the plain sqlite baseline");
        let end = first_event + n_events;
        let mut event_idx = first_event;
        while event_idx < end {
            let n_batch = batch.min(end - event_idx);
            let stream_idx = (event_idx as usize / batch as usize) % N_STREAMS;
            let event = bench_event(String::new(), event_idx);
            let recorded_at = event.recorded_at.as_second() * 1_000_000_000;
            // A pooled connection runs one statement (autocommit) or one transaction; both
            // go back to the pool clean.
            let mut connection = self.connection.acquire().await.map_err(database())?;
            if n_batch == 1 {
                self.versions[stream_idx] += 1;
                let row = (event_idx as i64 + 1, stream_idx, self.versions[stream_idx]);
                plain_insert(&self.streams, &event, recorded_at, row)
                    .execute(&mut *connection)
                    .await
                    .map_err(database())?;
            } else {
                let mut tx = sqlx::Connection::begin(&mut *connection)
                    .await
                    .map_err(database())?;
                for offset in 0..n_batch {
                    self.versions[stream_idx] += 1;
                    let position = (event_idx + offset) as i64 + 1;
                    let row = (position, stream_idx, self.versions[stream_idx]);
                    plain_insert(&self.streams, &event, recorded_at, row)
                        .execute(&mut *tx)
                        .await
                        .map_err(database())?;
                }
                tx.commit().await.map_err(database())?;
            }
            event_idx += n_batch;
        }
        Ok(())
    }

    async fn close(self) {
        self.connection.close().await;
    }
}

fn plain_insert<'q>(
    streams: &'q [String],
    event: &'q NewEvent,
    recorded_at: i64,
    (position, stream_idx, stream_version): (i64, usize, i64),
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    sqlx::query(
        "INSERT INTO plain_events (position, stream, stream_version, kind, payload, actor, reason, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(position)
    .bind(&streams[stream_idx])
    .bind(stream_version)
    .bind(&event.kind)
    .bind(&event.payload)
    .bind(&event.actor)
    .bind(event.reason.as_deref())
    .bind(recorded_at)
}

/// Knobs for [`startup_with`].
#[derive(Debug, Clone)]
pub struct StartupParams {
    /// Events in the log.
    pub n_events: u64,
    /// Events per append while filling.
    pub fill_batch: u64,
    /// Streams the events are spread over.
    pub n_streams: u64,
    /// Events after the snapshot, replayed at start-up.
    pub tail_events: u64,
    /// Size of the synthetic snapshot.
    pub snapshot_bytes: usize,
}

impl StartupParams {
    /// Defaults for `n_events`: 10,000 events per append, 1,000 streams, a 1,000-event tail
    /// and a 4 MiB snapshot.
    pub fn new(n_events: u64) -> Self {
        StartupParams {
            n_events,
            fill_batch: 10_000,
            n_streams: 1_000,
            tail_events: 1_000,
            snapshot_bytes: 4 << 20,
        }
    }
}

/// Timings of a start-up: fill once, then open, load the snapshot and replay the tail.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupReport {
    /// Events in the log.
    pub n_events: u64,
    /// Time to append them all in bulk.
    pub fill_secs: f64,
    /// Opening the store (connect, schema check).
    pub open_secs: f64,
    /// Reading the newest snapshot.
    pub snapshot_load_secs: f64,
    /// Events after the snapshot.
    pub tail_replay_events: u64,
    /// Reading them.
    pub tail_replay_secs: f64,
    /// open + snapshot load + tail replay: the store's share of start-up.
    pub startup_secs: f64,
    /// Reading every event from position 0 with `for_each_from`.
    pub read_all_secs: f64,
}

/// [`startup_with`] with [`StartupParams::new`].
pub async fn startup(url: &str, n_events: u64) -> Result<StartupReport, StoreError> {
    startup_with(url, &StartupParams::new(n_events)).await
}

/// Fills the (empty) store at `url`, saves a snapshot `tail_events` before the head, then
/// measures a fresh open, the snapshot load, the tail replay and a full read.
pub async fn startup_with(url: &str, params: &StartupParams) -> Result<StartupReport, StoreError> {
    let fill_started = Instant::now();
    let store = Store::open(url, OpenOptions::default()).await?;
    let fill_batch = params.fill_batch.max(1);
    let n_streams = params.n_streams.max(1);
    let mut event_idx = 0_u64;
    while event_idx < params.n_events {
        let n_batch = fill_batch.min(params.n_events - event_idx);
        let events: Vec<NewEvent> = (event_idx..event_idx + n_batch)
            .map(|idx| bench_event(format!("release/{}", idx % n_streams), idx))
            .collect();
        store.append(&[], &events, &[]).await?;
        event_idx += n_batch;
    }
    let fill_secs = fill_started.elapsed().as_secs_f64();
    let head = store.head().await?;
    let snapshot_position = (head - params.tail_events as i64).max(0);
    let snapshot: Vec<u8> = (0..params.snapshot_bytes).map(|idx| idx as u8).collect();
    store
        .save_snapshot(snapshot_position, "bench-v1", &snapshot)
        .await?;
    store.close().await;

    let open_started = Instant::now();
    let store = Store::open(url, OpenOptions::default()).await?;
    let open_secs = open_started.elapsed().as_secs_f64();

    let snapshot_started = Instant::now();
    let (position, data) = store.latest_snapshot("bench-v1").await?.unwrap_or_default();
    let snapshot_load_secs = snapshot_started.elapsed().as_secs_f64();

    let tail_started = Instant::now();
    let mut payload_bytes = data.len();
    let tail_replay_events = store
        .for_each_from(position, |event| {
            payload_bytes += event.payload.len();
            ControlFlow::Continue(())
        })
        .await?;
    let tail_replay_secs = tail_started.elapsed().as_secs_f64();

    let read_all_started = Instant::now();
    store
        .for_each_from(0, |event| {
            payload_bytes += event.payload.len();
            ControlFlow::Continue(())
        })
        .await?;
    let read_all_secs = read_all_started.elapsed().as_secs_f64();
    std::hint::black_box(payload_bytes);
    store.close().await;

    Ok(StartupReport {
        n_events: params.n_events,
        fill_secs,
        open_secs,
        snapshot_load_secs,
        tail_replay_events,
        tail_replay_secs,
        startup_secs: open_secs + snapshot_load_secs + tail_replay_secs,
        read_all_secs,
    })
}
