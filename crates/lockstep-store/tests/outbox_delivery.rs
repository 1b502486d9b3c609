//! The outbox delivery bookkeeping (`lockstep_store::outbox::DeliveryLog`) on both
//! engines: a temporary SQLite file and a fresh PostgreSQL database per test.

#[allow(unused_macros)]
mod common;

use common::{TestDb, event, expect};
use lockstep_store::outbox::DeliveryLog;
use lockstep_store::{ExpectedVersion, NewOutboxMessage, OpenOptions, OutboxCancellation, Store};

macro_rules! delivery_suite {
    ($engine:ident, $make:path; $($name:ident,)*) => {
        mod $engine {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $make().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

macro_rules! both_engines {
    ($($name:ident,)*) => {
        delivery_suite!(sqlite, crate::common::sqlite_db; $($name,)*);
        delivery_suite!(postgres, crate::common::postgres_db; $($name,)*);
    };
}

both_engines!(
    claims_each_due_message_once_until_its_lease_expires,
    delivered_messages_are_never_claimed_again,
    failures_back_off_then_die_and_replay_revives,
    cancelling_by_key_prefix_stops_only_matching_undelivered_messages,
    postponed_messages_wait_for_their_time,
    pending_outbox_leaves_out_dead_and_cancelled_messages,
    an_append_cancels_pending_messages_with_it_or_not_at_all,
);

fn t(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_738_000_000 + seconds).expect("valid instant")
}

async fn setup(db: &TestDb, keys: &[&str]) -> (Store, DeliveryLog) {
    let store = db.open().await;
    let outbox: Vec<NewOutboxMessage> = keys
        .iter()
        .map(|key| NewOutboxMessage {
            channel: "chat".to_owned(),
            idempotency_key: (*key).to_owned(),
            payload: format!("{{\"key\":\"{key}\"}}"),
        })
        .collect();
    store
        .append(&[], &[event("release:r1")], &outbox)
        .await
        .expect("append");
    let log = DeliveryLog::open(&db.url, &OpenOptions::default())
        .await
        .expect("delivery log");
    (store, log)
}

async fn claimed_keys(log: &DeliveryLog, now: i64, lease: i64) -> Vec<String> {
    log.claim_due(t(now), t(now + lease), 100)
        .await
        .expect("claim")
        .into_iter()
        .map(|m| m.idempotency_key)
        .collect()
}

async fn claims_each_due_message_once_until_its_lease_expires(db: &TestDb) {
    let (_store, log) = setup(db, &["a", "b"]).await;
    assert_eq!(claimed_keys(&log, 0, 30).await, ["a", "b"]);
    // Leased: a second worker sees nothing.
    assert!(claimed_keys(&log, 10, 30).await.is_empty());
    // The first worker died: after the lease the messages are due again.
    assert_eq!(claimed_keys(&log, 31, 30).await, ["a", "b"]);
}

async fn delivered_messages_are_never_claimed_again(db: &TestDb) {
    let (_store, log) = setup(db, &["a", "b"]).await;
    let claimed = log.claim_due(t(0), t(30), 100).await.expect("claim");
    let marked = log
        .mark_delivered(&[claimed[0].id], t(1))
        .await
        .expect("mark");
    assert_eq!(marked, 1);
    assert_eq!(
        log.mark_delivered(&[claimed[0].id], t(2))
            .await
            .expect("mark"),
        0
    );
    assert_eq!(claimed_keys(&log, 100, 30).await, ["b"]);
    let counts = log.counts().await.expect("counts");
    assert_eq!((counts.delivered, counts.pending), (1, 1));
}

async fn failures_back_off_then_die_and_replay_revives(db: &TestDb) {
    let (_store, log) = setup(db, &["a"]).await;
    let id = log.claim_due(t(0), t(30), 10).await.expect("claim")[0].id;
    log.record_failure(id, "http 503", t(1), Some(t(60)))
        .await
        .expect("failure");
    assert!(claimed_keys(&log, 59, 30).await.is_empty(), "backing off");
    let again = log.claim_due(t(60), t(90), 10).await.expect("claim");
    assert_eq!(again[0].attempts, 1);
    log.record_failure(id, "http 500", t(61), None)
        .await
        .expect("dead");
    assert!(claimed_keys(&log, 10_000, 30).await.is_empty(), "dead");
    let dead = log.dead_letters(10).await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].last_error.as_deref(), Some("http 500"));
    assert_eq!(dead[0].dead_at, t(61));
    assert!(log.replay(id).await.expect("replay"));
    assert!(!log.replay(id).await.expect("replay twice"));
    let revived = log.claim_due(t(62), t(90), 10).await.expect("claim");
    assert_eq!(revived.len(), 1);
    assert_eq!(revived[0].attempts, 0);
    assert!(log.dead_letters(10).await.expect("dead letters").is_empty());
}

async fn cancelling_by_key_prefix_stops_only_matching_undelivered_messages(db: &TestDb) {
    let (_store, log) = setup(
        db,
        &[
            "escalation:x:1",
            "escalation:x:2",
            "escalation:xy:1",
            "other",
        ],
    )
    .await;
    let first = log.claim_due(t(0), t(1), 1).await.expect("claim")[0].id;
    log.mark_delivered(&[first], t(0)).await.expect("mark");
    let cancelled = log
        .cancel_pending("escalation:x:", t(5), "acknowledged by sarah")
        .await
        .expect("cancel");
    assert_eq!(cancelled, 1, "only the undelivered escalation:x: message");
    assert_eq!(
        claimed_keys(&log, 10, 30).await,
        ["escalation:xy:1", "other"]
    );
    assert_eq!(log.counts().await.expect("counts").cancelled, 1);
}

async fn postponed_messages_wait_for_their_time(db: &TestDb) {
    let (_store, log) = setup(db, &["later"]).await;
    let id = log.claim_due(t(0), t(1), 1).await.expect("claim")[0].id;
    log.postpone(id, t(3600)).await.expect("postpone");
    assert!(claimed_keys(&log, 3599, 30).await.is_empty());
    let due = log.claim_due(t(3600), t(3630), 1).await.expect("claim");
    assert_eq!(due[0].attempts, 0, "postponing is not a failed attempt");
}

async fn pending_outbox_leaves_out_dead_and_cancelled_messages(db: &TestDb) {
    let (store, log) = setup(db, &["dead", "cancelled:1", "waiting"]).await;
    let dead = log.claim_due(t(0), t(30), 1).await.expect("claim")[0].id;
    log.record_failure(dead, "http 500", t(1), None)
        .await
        .expect("dead");
    log.cancel_pending("cancelled:", t(2), "acknowledged")
        .await
        .expect("cancel");
    let pending: Vec<String> = store
        .pending_outbox(10)
        .await
        .expect("pending")
        .into_iter()
        .map(|message| message.idempotency_key)
        .collect();
    assert_eq!(pending, ["waiting"]);
}

/// An acknowledgement's event and the cancellation of its pending notices are one
/// transaction: an append that loses its race cancels nothing.
async fn an_append_cancels_pending_messages_with_it_or_not_at_all(db: &TestDb) {
    let (store, log) = setup(
        db,
        &[
            "escalation:x:c1:owner",
            "escalation:x:c1:backup",
            "escalation:x:c2:owner",
            "other",
        ],
    )
    .await;
    let first = log.claim_due(t(0), t(1), 1).await.expect("claim")[0].id;
    log.mark_delivered(&[first], t(0)).await.expect("mark");
    assert_eq!(
        log.keys_with_prefix("escalation:x:").await.expect("keys"),
        [
            "escalation:x:c1:backup",
            "escalation:x:c1:owner",
            "escalation:x:c2:owner"
        ],
        "delivered ones too: they name escalations"
    );
    let cancel = OutboxCancellation {
        key_prefixes: vec!["escalation:x:c1:".to_owned()],
        at: t(5),
        reason: "acknowledged by sarah".to_owned(),
    };
    let stale = store
        .append_cancelling(
            &[expect("release:r1", ExpectedVersion::Exact(0))],
            &[event("release:r1")],
            &[],
            Some(&cancel),
        )
        .await;
    assert!(stale.is_err_and(|e| e.is_conflict()));
    assert_eq!(log.counts().await.expect("counts").cancelled, 0);
    let (_, n_cancelled) = store
        .append_cancelling(
            &[expect("release:r1", ExpectedVersion::Exact(1))],
            &[event("release:r1")],
            &[],
            Some(&cancel),
        )
        .await
        .expect("append");
    assert_eq!(n_cancelled, 1, "the undelivered notice of c1 only");
    assert_eq!(
        claimed_keys(&log, 10, 30).await,
        ["escalation:x:c2:owner", "other"]
    );
    assert_eq!(
        log.keys_with_prefix("escalation:x:").await.expect("keys"),
        ["escalation:x:c1:owner", "escalation:x:c2:owner"]
    );
    let (_, again) = store
        .append_cancelling(&[], &[event("release:r1")], &[], Some(&cancel))
        .await
        .expect("append");
    assert_eq!(again, 0, "cancelling twice cancels nothing more");
}
