//! E-mail delivery against the local SMTP sink (`common::smtp`) on 127.0.0.1:0: once,
//! retried on a 4xx, the idempotency key in the headers, login, STARTTLS required.

mod common;

use std::sync::Arc;

use common::smtp::Sink;

use lockstep_comms::notify::NotificationConfig;
use lockstep_delivery::email::{IDEMPOTENCY_HEADER, message_id};
use lockstep_delivery::{PassReport, Worker, WorkerOptions};
use lockstep_store::outbox::DeliveryLog;
use lockstep_store::program::Program;
use lockstep_store::{NewOutboxMessage, OpenOptions};

fn t(raw: &str) -> jiff::Timestamp {
    raw.parse().expect("timestamp")
}

fn config_with_timeout(port: u16, timeout: u32, smtp_extra: &str) -> Arc<NotificationConfig> {
    let text = format!(
        "channels:\n  mail: {{kind: email, timeoutSeconds: {timeout}, smtp: {{host: 127.0.0.1, port: {port}, \
         from: \"Lockstep <lockstep@example.com>\"{smtp_extra}}}}}\n\
         retry: {{maxAttempts: 3, baseMillis: 1000, maxMillis: 4000}}\n"
    );
    Arc::new(NotificationConfig::parse(&text).unwrap_or_else(|e| panic!("{e}")))
}

fn config(port: u16, smtp_extra: &str) -> Arc<NotificationConfig> {
    config_with_timeout(port, 2, smtp_extra)
}

struct Setup {
    _dir: tempfile::TempDir,
    log: DeliveryLog,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("lockstep.db").display());
    Program::open(&url, OpenOptions::default())
        .await
        .expect("program");
    let log = DeliveryLog::open(&url, &OpenOptions::default())
        .await
        .expect("delivery log");
    Setup { _dir: dir, log }
}

async fn enqueue(log: &DeliveryLog, key: &str, email: Option<&str>) {
    let mut recipient = serde_json::json!({
        "handle": "sarah", "name": "Sarah Chen", "timeZone": "America/Los_Angeles"
    });
    if let Some(email) = email {
        recipient["email"] = email.into();
    }
    let payload = serde_json::json!({
        "message": {
            "kind": "daily-update", "release": "q1-2025", "date": "2025-02-05",
            "subject": "[Frontend] Feb 5", "body": "✅ search shipped\n", "sources": [3, 7]
        },
        "recipient": recipient,
    });
    log.enqueue(
        1,
        &[NewOutboxMessage {
            channel: "mail".to_owned(),
            idempotency_key: key.to_owned(),
            payload: payload.to_string(),
        }],
    )
    .await
    .expect("enqueue");
}

fn worker(log: &DeliveryLog, config: Arc<NotificationConfig>) -> Worker {
    Worker::new(log.clone(), config, WorkerOptions::default()).expect("worker")
}

const KEY: &str = "daily-update:q1-2025:2025-02-05:sarah";

#[tokio::test]
async fn mails_once_with_the_idempotency_key_in_the_headers_and_logs_in() {
    let sink = Sink::start().await;
    let setup = setup().await;
    enqueue(&setup.log, KEY, Some("sarah@example.com")).await;
    let worker = worker(
        &setup.log,
        config(
            sink.port,
            ", starttls: false, username: lockstep, password: hunter2",
        ),
    );
    let report = worker
        .deliver_once(t("2025-02-05T17:00:00Z"))
        .await
        .expect("pass");
    assert_eq!(
        report,
        PassReport {
            delivered: 1,
            ..PassReport::default()
        }
    );
    // Delivered is final: a second pass sends nothing.
    let again = worker
        .deliver_once(t("2025-02-05T17:05:00Z"))
        .await
        .expect("pass");
    assert_eq!(again, PassReport::default());

    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.from, "<lockstep@example.com>");
    assert_eq!(mail.to, ["<sarah@example.com>"]);
    assert!(
        mail.data
            .contains(&format!("Message-ID: {}\n", message_id(KEY))),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains(&format!("{IDEMPOTENCY_HEADER}: {KEY}\n")),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("Subject: [Frontend] Feb 5\n"));
    assert!(mail.data.contains("Built from events 3, 7"));
    assert!(mail.data.contains("X-Lockstep-Sources: 3, 7\n"));
    // AUTH PLAIN is base64 of "\0lockstep\0hunter2".
    assert_eq!(sink.logins(), ["AGxvY2tzdGVwAGh1bnRlcjI="]);
}

#[tokio::test]
async fn a_4xx_is_retried_with_backoff_and_delivered_once_the_sink_recovers() {
    let sink = Sink::start().await;
    let setup = setup().await;
    enqueue(&setup.log, KEY, Some("sarah@example.com")).await;
    let worker = worker(&setup.log, config(sink.port, ", starttls: false"));
    sink.fail(true);
    let first = worker
        .deliver_once(t("2025-02-05T17:00:00Z"))
        .await
        .expect("pass");
    assert_eq!(
        first,
        PassReport {
            retried: 1,
            ..PassReport::default()
        }
    );
    assert!(sink.mails().is_empty());
    sink.fail(false);
    // Still backing off (the first backoff is 0.5–1 s).
    let early = worker
        .deliver_once(t("2025-02-05T17:00:00.4Z"))
        .await
        .expect("pass");
    assert_eq!(early, PassReport::default());
    let later = worker
        .deliver_once(t("2025-02-05T17:00:02Z"))
        .await
        .expect("pass");
    assert_eq!(later.delivered, 1);
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].data.contains(&message_id(KEY)));
    let counts = setup.log.counts().await.expect("counts");
    assert_eq!(counts.dead, 0);
}

#[tokio::test]
async fn a_recipient_without_an_address_is_a_dead_letter_at_once() {
    let sink = Sink::start().await;
    let setup = setup().await;
    enqueue(&setup.log, KEY, None).await;
    let worker = worker(&setup.log, config(sink.port, ", starttls: false"));
    let report = worker
        .deliver_once(t("2025-02-05T17:00:00Z"))
        .await
        .expect("pass");
    assert_eq!(
        report,
        PassReport {
            dead: 1,
            ..PassReport::default()
        }
    );
    let dead = setup.log.dead_letters(10).await.expect("dead letters");
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no e-mail address")),
        "{dead:?}"
    );
}

#[tokio::test]
async fn starttls_is_required_unless_turned_off_so_a_plaintext_server_gets_nothing() {
    let sink = Sink::start().await;
    let setup = setup().await;
    enqueue(&setup.log, KEY, Some("sarah@example.com")).await;
    // `starttls` defaults to on; the sink does not offer it.
    let worker = worker(&setup.log, config(sink.port, ""));
    let report = worker
        .deliver_once(t("2025-02-05T17:00:00Z"))
        .await
        .expect("pass");
    assert_eq!(
        report,
        PassReport {
            retried: 1,
            ..PassReport::default()
        }
    );
    assert!(sink.mails().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_is_retried() {
    let sink = Sink::start().await;
    let setup = setup().await;
    enqueue(&setup.log, KEY, Some("sarah@example.com")).await;
    let worker = worker(
        &setup.log,
        config_with_timeout(sink.port, 1, ", starttls: false"),
    );
    sink.hang(true);
    let started = std::time::Instant::now();
    let report = worker
        .deliver_once(t("2025-02-05T17:00:00Z"))
        .await
        .expect("pass");
    assert_eq!(
        report,
        PassReport {
            retried: 1,
            ..PassReport::default()
        }
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    sink.hang(false);
    let later = worker
        .deliver_once(t("2025-02-05T17:00:02Z"))
        .await
        .expect("pass");
    assert_eq!(later.delivered, 1);
    assert_eq!(sink.mails().len(), 1);
}
