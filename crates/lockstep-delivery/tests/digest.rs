//! Digests merged per person: a digest subscriber's daily update, weekly agenda and a
//! pre-release announcement (three sources: two scheduled, one written by a commit) arrive as one message at their digest time, in their own time zone, after
//! their quiet hours; an immediate subscriber is not held. Real parts: a SQLite log in a
//! temp dir and a local HTTP receiver on 127.0.0.1.

mod common;

use std::sync::Arc;

use common::Receiver;
use lockstep_comms::notify::NotificationConfig;
use lockstep_comms::{Compose, Provenance, Templates};
use lockstep_core::{EventMeta, State, decide_all};
use lockstep_delivery::{Worker, WorkerOptions, outbox_policy, schedule};
use lockstep_manifest::{Limits, Source, parse, plan};
use lockstep_store::OpenOptions;
use lockstep_store::outbox::DeliveryLog;
use lockstep_store::program::Program;

fn t(raw: &str) -> jiff::Timestamp {
    raw.parse().expect("timestamp")
}

fn meta(at: jiff::Timestamp) -> EventMeta {
    EventMeta {
        actor: "test".to_owned(),
        at,
        reason: None,
    }
}

fn seed_sources() -> Vec<Source> {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025");
    let mut sources: Vec<Source> = std::fs::read_dir(examples)
        .expect("examples")
        .map(|entry| {
            let path = entry.expect("entry").path();
            Source {
                name: path.display().to_string(),
                text: std::fs::read_to_string(&path).expect("read"),
            }
        })
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    sources
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("a CloudEvent")
}

#[tokio::test]
async fn a_digest_subscriber_gets_one_merged_message_after_quiet_hours_in_their_zone() {
    let receiver = Receiver::start().await;
    // Sarah's team is in New York, but she works from Berlin: digest at 07:00 Berlin,
    // quiet until 08:00 Berlin. Rita wants her daily update at once.
    let config = Arc::new(
        NotificationConfig::parse(&format!(
            "channels:\n  hook: {{kind: webhook, url: \"{}\", secret: s3cret, timeoutSeconds: 2}}\n\
             subscriptions:\n\
             \x20 - {{member: sarah, channel: hook, kinds: [daily-update, weekly-agenda, pre-release-announcement], \
             cadence: digest, digestAt: \"07:00\", timeZone: Europe/Berlin, quietHours: {{start: \"22:00\", end: \"08:00\"}}}}\n\
             \x20 - {{member: rita, channel: hook, kinds: [daily-update]}}\n",
            receiver.url
        ))
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("lockstep.db").display());
    let program = Program::open(&url, OpenOptions::default())
        .await
        .expect("program")
        .with_outbox_policy(outbox_policy(
            Arc::clone(&config),
            Arc::new(Templates::embedded()),
        ));
    let log = DeliveryLog::open(&url, &OpenOptions::default())
        .await
        .expect("delivery log");
    let worker =
        Worker::new(log.clone(), Arc::clone(&config), WorkerOptions::default()).expect("worker");

    let mut state = State::new();
    let manifest = parse(&seed_sources(), Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let commands = plan(&manifest, &state).unwrap_or_else(|e| panic!("{e}"));
    // The seed starts the release (it is in progress): its pre-release announcement is
    // written Friday at 17:00 UTC, 18:00 in Berlin, and held for Sarah's digest.
    let seeded_at = t("2025-02-07T17:00:00Z");
    let events = decide_all(
        &state,
        commands.into_iter().map(|c| c.command).collect(),
        seeded_at,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    program
        .commit(&mut state, events, &meta(seeded_at), &[])
        .await
        .expect("commit seed");

    // Friday 18:00 UTC (19:00 in Berlin): the day is scheduled.
    let friday = t("2025-02-07T18:00:00Z");
    let history = program.history(0, i64::MAX).await.expect("history");
    let provenance = Provenance::new(&history);
    let risk = lockstep_core::risk::assess(&state);
    let templates = Templates::embedded();
    let input = Compose {
        state: &state,
        history: &history,
        provenance: &provenance,
        risk: &risk,
        templates: &templates,
    };
    schedule(
        &log,
        &config,
        input,
        jiff::civil::date(2025, 2, 7),
        jiff::civil::Weekday::Friday,
        friday,
    )
    .await
    .expect("schedule");

    // At once: Rita's update goes, Sarah's three messages wait.
    let report = worker.deliver_once(friday).await.expect("pass");
    let keys: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| r.header("idempotency-key").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        (report.delivered, report.postponed),
        (1, 3),
        "{report:?} {keys:?}"
    );
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(
        json(&receiver.requests()[0].body)["data"]["recipient"]["handle"],
        "rita"
    );
    // 06:00 UTC Saturday is 07:00 in Berlin, her digest time, but still quiet: nothing.
    let digest_time = t("2025-02-08T06:00:00Z");
    let report = worker.deliver_once(digest_time).await.expect("pass");
    assert_eq!(report.delivered, 0, "{report:?}");
    // 07:00 UTC is 08:00 in Berlin: one message with all three.
    let after_quiet = t("2025-02-08T07:00:00Z");
    let report = worker.deliver_once(after_quiet).await.expect("pass");
    assert_eq!(report.delivered, 3, "three parts, {report:?}");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "one digest request");
    let digest = &requests[1];
    assert_eq!(
        digest.header("idempotency-key"),
        Some(format!("digest:hook:sarah:{}", after_quiet.as_second()).as_str())
    );
    let event = json(&digest.body);
    assert_eq!(event["type"], "dev.lockstep.message.digest");
    let message = &event["data"]["message"];
    assert_eq!(message["kind"], "digest");
    let subject = message["subject"].as_str().expect("subject");
    assert!(
        subject.contains("Sarah") && subject.contains("3 message(s)"),
        "{subject}"
    );
    let body = message["body"].as_str().expect("body");
    for heading in [
        "## Q1 2025 Platform Release Daily Updates - Feb 7",
        "## Q1 2025 Platform Release - Scheduled for March 1, 2025",
        "## Q1 2025 Platform Release - Weekly Release Sync, Feb 1 – Feb 7",
    ] {
        assert!(body.contains(heading), "{heading} missing from:\n{body}");
    }
    assert!(
        !message["sources"].as_array().expect("sources").is_empty(),
        "a digest is traceable"
    );
    assert_eq!(event["data"]["causedBy"].as_array().map(Vec::len), Some(1));
    // Nothing is left, and a later pass sends nothing again.
    let report = worker
        .deliver_once(t("2025-02-08T09:00:00Z"))
        .await
        .expect("pass");
    assert_eq!(report.delivered + report.postponed, 0, "{report:?}");
    assert_eq!(receiver.requests().len(), 2);
    assert_eq!(receiver.duplicates(), 0);
}
