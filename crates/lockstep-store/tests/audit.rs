//! The audit log of refused attempts (`lockstep_store::audit::AuditLog`) on both
//! engines: a temporary SQLite file and a fresh PostgreSQL database per test.

#[allow(unused_macros)]
mod common;

use common::TestDb;
use lockstep_store::OpenOptions;
use lockstep_store::audit::{AuditLog, Refusal};
use lockstep_store::auth::AuthStore;

macro_rules! audit_suite {
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
        audit_suite!(sqlite, crate::common::sqlite_db; $($name,)*);
        audit_suite!(postgres, crate::common::postgres_db; $($name,)*);
    };
}

both_engines!(
    records_refusals_and_lists_them_oldest_first_by_release,
    the_log_migration_creates_the_table_the_server_pool_uses,
);

fn refusal(second: i64, release: Option<&str>, error: &str) -> Refusal {
    Refusal {
        at: jiff::Timestamp::from_second(1_740_000_000 + second).expect("valid instant"),
        actor: "mallory".to_owned(),
        source: "cli".to_owned(),
        command: "move step analytics-api of the q1 run to done".to_owned(),
        target: "run:q1".to_owned(),
        release: release.map(str::to_owned),
        kind: "domain".to_owned(),
        error: error.to_owned(),
    }
}

async fn records_refusals_and_lists_them_oldest_first_by_release(db: &TestDb) {
    let _store = db.open().await;
    let audit = AuditLog::open(&db.url, &OpenOptions::default())
        .await
        .expect("open audit");
    audit
        .record(&refusal(1, Some("q1"), "first"))
        .await
        .expect("record");
    audit
        .record(&refusal(2, Some("q2"), "other release"))
        .await
        .expect("record");
    audit
        .record(&refusal(3, Some("q1"), "second"))
        .await
        .expect("record");
    audit
        .record(&refusal(4, None, "no release"))
        .await
        .expect("record");

    let q1 = audit.list(Some("q1"), 100).await.expect("list");
    let errors: Vec<&str> = q1.iter().map(|r| r.refusal.error.as_str()).collect();
    assert_eq!(errors, ["first", "second"]);
    assert_eq!(q1[0].refusal, refusal(1, Some("q1"), "first"));

    let latest_two = audit.list(None, 2).await.expect("list");
    let errors: Vec<&str> = latest_two
        .iter()
        .map(|r| r.refusal.error.as_str())
        .collect();
    assert_eq!(errors, ["second", "no release"]);
}

async fn the_log_migration_creates_the_table_the_server_pool_uses(db: &TestDb) {
    let _store = db.open().await;
    let auth = AuthStore::open(&db.url, &OpenOptions::default())
        .await
        .expect("open auth");
    let beside = AuditLog::beside(&auth).await.expect("audit beside auth");
    beside
        .record(&refusal(1, Some("q1"), "via server"))
        .await
        .expect("record");
    let own = AuditLog::open(&db.url, &OpenOptions::default())
        .await
        .expect("open audit");
    let listed = own.list(Some("q1"), 10).await.expect("list");
    assert_eq!(listed.len(), 1, "both pools see one table");
}
