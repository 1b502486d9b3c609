//! A simulated week of the seed example: the seed applied through `Program::commit` with
//! the outbox policy, then five working days of changes at an injected clock, each day's
//! messages scheduled with `schedule` and delivered to a local HTTP receiver and SMTP
//! sink, then release day with its completion announcement. Every
//! message that arrives must name the events that produced it, and those events must be
//! in the log.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::Receiver;
use common::smtp::Sink;
use lockstep_comms::notify::NotificationConfig;
use lockstep_comms::{Compose, Provenance, Templates};
use lockstep_core::{Command, EventMeta, ItemStatus, Name, State, decide, decide_all};
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

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("name")
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

#[tokio::test]
async fn a_simulated_week_delivers_updates_agenda_and_announcements_all_traceable() {
    let receiver = Receiver::start().await;
    let sink = Sink::start().await;
    let config = Arc::new(
        NotificationConfig::parse(&format!(
            "channels:\n  hook: {{kind: webhook, url: \"{}\", secret: s3cret}}\n\
             \x20 mail: {{kind: email, timeoutSeconds: 2, smtp: {{host: 127.0.0.1, port: {}, starttls: false, from: lockstep@example.com}}}}\n\
             subscriptions:\n\
             \x20 - {{role: release-manager, channel: mail, kinds: [weekly-agenda, pre-release-announcement, completion-announcement]}}\n\
             \x20 - {{member: sarah, channel: hook, teams: [frontend], kinds: [daily-update]}}\n\
             \x20 - {{role: release-manager, channel: hook, kinds: [daily-update, weekly-agenda, pre-release-announcement, completion-announcement]}}\n",
            receiver.url, sink.port
        ))
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let templates = Templates::embedded();
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
    let seeded_at = t("2025-02-02T12:00:00Z");
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

    // One change a day, Monday to Friday, at 15:00 UTC; the day's messages go out at 18:00.
    let week: [(&str, Command); 5] = [
        (
            "2025-02-03",
            Command::MoveItem {
                item: name("frontend-dashboard"),
                to: ItemStatus::Testing,
            },
        ),
        (
            "2025-02-04",
            Command::SetEta {
                item: name("mobile-analytics-view"),
                eta: Some(jiff::civil::date(2025, 2, 14)),
            },
        ),
        (
            "2025-02-05",
            Command::MoveItem {
                item: name("api-analytics-endpoints"),
                to: ItemStatus::ReadyForRelease,
            },
        ),
        (
            "2025-02-06",
            Command::MoveItem {
                item: name("mobile-analytics-view"),
                to: ItemStatus::Testing,
            },
        ),
        (
            "2025-02-07",
            Command::MoveItem {
                item: name("frontend-dashboard"),
                to: ItemStatus::Staging,
            },
        ),
    ];
    let mut changed_on = Vec::new();
    for (day, command) in week {
        let at = t(&format!("{day}T15:00:00Z"));
        let events = decide(&state, command, at).unwrap_or_else(|e| panic!("{day}: {e:?}"));
        program
            .commit(&mut state, events, &meta(at), &[])
            .await
            .expect("commit");
        let history = program.history(0, i64::MAX).await.expect("history");
        let position = history.iter().map(|r| r.position).max().expect("events");
        changed_on.push((day, position));

        let send_at = t(&format!("{day}T18:00:00Z"));
        let provenance = Provenance::new(&history);
        let risk = lockstep_core::risk::assess(&state);
        let input = Compose {
            state: &state,
            history: &history,
            provenance: &provenance,
            risk: &risk,
            templates: &templates,
        };
        let date: jiff::civil::Date = day.parse().expect("date");
        let scheduled = schedule(
            &log,
            &config,
            input,
            date,
            jiff::civil::Weekday::Friday,
            send_at,
        )
        .await
        .expect("schedule");
        assert!(scheduled.iter().all(|s| s.new > 0), "{day}: {scheduled:?}");
        // Scheduling the same day again writes nothing new.
        let again = schedule(
            &log,
            &config,
            input,
            date,
            jiff::civil::Weekday::Friday,
            send_at,
        )
        .await
        .expect("schedule");
        assert!(again.iter().all(|s| s.new == 0), "{day}: {again:?}");
        let report = worker.deliver_once(send_at).await.expect("pass");
        assert_eq!((report.retried, report.dead), (0, 0), "{day}");
    }
    // Release day: everything ships and the release is marked released.
    let release_day = t("2025-03-01T16:00:00Z");
    let mut commands: Vec<Command> = [
        "backend-data-pipeline",
        "api-analytics-endpoints",
        "frontend-dashboard",
        "mobile-analytics-view",
    ]
    .into_iter()
    .map(|item| Command::MoveItem {
        item: name(item),
        to: ItemStatus::Released,
    })
    .collect();
    commands.push(Command::ChangeReleaseState {
        release: name("q1-2025"),
        to: lockstep_core::ReleaseState::Released,
    });
    let events = decide_all(&state, commands, release_day).unwrap_or_else(|e| panic!("{e:?}"));
    program
        .commit(&mut state, events, &meta(release_day), &[])
        .await
        .expect("commit release");
    let report = worker.deliver_once(release_day).await.expect("pass");
    assert_eq!((report.retried, report.dead), (0, 0));

    let history = program.history(0, i64::MAX).await.expect("history");
    let positions: BTreeSet<i64> = history.iter().map(|r| r.position).collect();

    let received: Vec<serde_json::Value> = receiver
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("cloudevent"))
        .collect();
    let of_kind = |kind: &str| -> Vec<&serde_json::Value> {
        received
            .iter()
            .filter(|e| e["data"]["message"]["kind"] == kind)
            .collect()
    };
    assert_eq!(
        of_kind("daily-update").len(),
        10,
        "two subscribers × five days"
    );
    let agendas = of_kind("weekly-agenda");
    assert_eq!(agendas.len(), 1, "Friday only");
    assert_eq!(agendas[0]["data"]["message"]["date"], "2025-02-07");
    assert_eq!(of_kind("pre-release-announcement").len(), 1);
    assert_eq!(of_kind("completion-announcement").len(), 1);
    assert_eq!(receiver.duplicates(), 0);
    // The release manager also gets the agenda and both announcements by e-mail.
    let mails = sink.mails();
    let subjects: Vec<&str> = mails
        .iter()
        .filter_map(|m| m.data.lines().find_map(|l| l.strip_prefix("Subject: ")))
        .collect();
    assert_eq!(mails.len(), 3, "{subjects:?}");
    assert!(mails.iter().all(|m| m.to == ["<rita@example.com>"]));
    assert!(
        mails.iter().all(|m| m.data.contains("X-Lockstep-Sources: ")
            || m.data.contains("X-Lockstep-Caused-By: ")),
        "{subjects:?}"
    );

    // Traceability: every message names events, and every one it names is in the log.
    for event in &received {
        let data = &event["data"];
        let sources: Vec<i64> = data["message"]["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .filter_map(serde_json::Value::as_i64)
            .collect();
        let caused_by = data["causedBy"].as_array().map_or(0, Vec::len);
        assert!(
            !sources.is_empty() || caused_by > 0,
            "untraceable: {}",
            data["message"]["subject"]
        );
        for source in sources {
            assert!(positions.contains(&source), "{source} is not in the log");
        }
    }
    // Each day's change is in that day's updates.
    for (day, position) in changed_on {
        let traced = of_kind("daily-update").iter().any(|e| {
            e["data"]["message"]["date"] == day
                && e["data"]["message"]["sources"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|p| p.as_i64() == Some(position)))
        });
        assert!(
            traced,
            "the change of {day} (event {position}) is in no update"
        );
    }
}
