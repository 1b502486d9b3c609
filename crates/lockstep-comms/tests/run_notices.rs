//! What a deployment run tells whom, through the outbox policy: a failed step and a
//! tripped trigger reach the release manager and the step's runbook contacts at once
//! (past quiet hours and digests), a rollback reaches every team that must undo a step,
//! and the run's end — completed, rolled back, aborted — is reported, a completed run
//! waiting for quiet hours like an announcement. The messages themselves are reviewed
//! snapshots.

mod common;

use std::collections::BTreeMap;

use common::{Program, at, name, triple, who};
use jiff::tz::TimeZone;
use lockstep_comms::notify::NotificationConfig;
use lockstep_comms::policy::{Delivery, Envelope};
use lockstep_core::run::{RunOptions, StepStatus};
use lockstep_core::{Command, ReleaseState, Signal, SignalReading, decide};

/// Everyone on one channel, except lisa, who reads mail: rita (by role) keeps quiet
/// hours around the clock, mike takes incidents as a digest, sarah follows only her
/// frontend team's incidents, priya takes only daily updates, sam takes run ends as a
/// digest.
const SUBSCRIPTIONS: &str = "\
channels:
  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}
  mail: {kind: email, smtp: {host: 127.0.0.1, port: 25, starttls: false, from: lockstep@example.com}}
subscriptions:
  - {role: release-manager, channel: hook, quietHours: {start: \"00:00\", end: \"23:59\"}}
  - {member: mike, channel: hook, kinds: [deployment-incident, rollback-started], cadence: digest}
  - {member: lisa, channel: mail, kinds: [deployment-incident, rollback-started]}
  - {member: sarah, channel: hook, teams: [frontend], kinds: [deployment-incident]}
  - {member: priya, channel: hook, kinds: [daily-update]}
  - {member: sam, channel: mail, kinds: [deployment-status], cadence: digest, digestAt: \"09:00\"}
";

fn config() -> NotificationConfig {
    NotificationConfig::parse(SUBSCRIPTIONS).unwrap_or_else(|e| panic!("{e}"))
}

/// Commits `command` at `now` as `actor` with the outbox policy: the envelopes it writes,
/// with their deliveries.
fn commit(
    program: &mut Program,
    now: &str,
    actor: &str,
    command: Command,
) -> Vec<(Envelope, Delivery)> {
    let before = program.state.clone();
    let events = decide(&before, command, at(now)).unwrap_or_else(|e| panic!("{e}"));
    let envelopes = policy(&before, &events, actor, now);
    for event in &events {
        let position = program.state.position() + 1;
        program.state.apply(position, event);
    }
    envelopes
}

fn policy(
    before: &lockstep_core::State,
    events: &[lockstep_core::Event],
    actor: &str,
    now: &str,
) -> Vec<(Envelope, Delivery)> {
    common::run_policy(&config(), before, events, actor, now, None)
}

fn message<'a>(envelopes: &'a [(Envelope, Delivery)], kind: &str) -> &'a Delivery {
    &envelopes
        .iter()
        .find(|(_, d)| d.message.kind.as_str() == kind)
        .unwrap_or_else(|| panic!("a {kind} message in {:?}", who(envelopes)))
        .1
}

/// What a snapshot shows of a message.
fn show(delivery: &Delivery) -> String {
    format!(
        "Subject: {}\n\n{}",
        delivery.message.subject, delivery.message.body
    )
}

fn zones(program: &Program) -> BTreeMap<String, TimeZone> {
    let mut zones = BTreeMap::new();
    let names = program
        .state
        .teams()
        .values()
        .map(|t| t.spec.time_zone.clone())
        .chain(
            program
                .state
                .releases()
                .values()
                .filter_map(|r| r.spec.deployment.as_ref().map(|d| d.time_zone.clone())),
        );
    for zone in names {
        let tz = TimeZone::get(&zone).expect("the example's zones are known");
        zones.insert(zone, tz);
    }
    zones
}

/// The seed example on its release day, run 1 started at 9:00 New York time by rita
/// (overriding the no-go verdict: the example records no readiness signals).
fn release_day(auto_rollback: bool) -> Program {
    let mut program = Program::seed();
    let now = "2025-03-01T14:00:00Z";
    let runbook = lockstep_core::runbook::generate(
        &program.state,
        &name("q1-2025"),
        &zones(&program),
        at(now),
    )
    .expect("the example has a runbook");
    let written = commit(
        &mut program,
        now,
        "rita",
        Command::StartRun {
            release: name("q1-2025"),
            runbook: Box::new(runbook),
            by: "rita".to_owned(),
            options: RunOptions {
                auto_rollback,
                break_glass: Some("release-day rehearsal".to_owned()),
            },
        },
    );
    assert_eq!(who(&written), [], "starting a run is not an incident");
    program
}

fn step(
    program: &mut Program,
    now: &str,
    by: &str,
    component: &str,
    to: StepStatus,
) -> Vec<(Envelope, Delivery)> {
    step_with_note(program, now, by, component, to, None)
}

fn step_with_note(
    program: &mut Program,
    now: &str,
    by: &str,
    component: &str,
    to: StepStatus,
    note: Option<&str>,
) -> Vec<(Envelope, Delivery)> {
    commit(
        program,
        now,
        by,
        Command::ChangeRunStep {
            release: name("q1-2025"),
            step: name(component),
            to,
            by: by.to_owned(),
            note: note.map(str::to_owned),
            break_glass: None,
            freezes: Vec::new(),
        },
    )
}

/// Deploys the backend, then starts the API.
fn backend_done_api_running(program: &mut Program) {
    for (now, to) in [
        ("2025-03-01T14:01:00Z", StepStatus::Running),
        ("2025-03-01T14:10:00Z", StepStatus::Verifying),
        ("2025-03-01T14:20:00Z", StepStatus::Done),
    ] {
        assert_eq!(who(&step(program, now, "alex", "data-pipeline", to)), []);
    }
    let started = step(
        program,
        "2025-03-01T14:30:00Z",
        "mike",
        "analytics-api",
        StepStatus::Running,
    );
    assert_eq!(who(&started), []);
}

#[test]
fn a_failed_step_tells_the_release_manager_and_the_steps_contacts_at_once() {
    let mut program = release_day(false);
    backend_done_api_running(&mut program);
    let failed = step_with_note(
        &mut program,
        "2025-03-01T14:41:00Z",
        "mike",
        "analytics-api",
        StepStatus::Failed,
        Some("migration timed out"),
    );
    // Rita manages the release, mike and lisa are the API step's contacts; sarah follows
    // only the frontend, priya takes only daily updates.
    assert_eq!(
        who(&failed),
        [
            triple("hook", "mike", "deployment-incident"),
            triple("hook", "rita", "deployment-incident"),
            triple("mail", "lisa", "deployment-incident"),
        ]
    );
    for (envelope, delivery) in &failed {
        assert_eq!(
            delivery.not_before, None,
            "rita's quiet hours do not hold an incident"
        );
        assert!(!delivery.digest, "mike's digest does not hold an incident");
        let handle = delivery
            .recipient
            .as_ref()
            .expect("addressed")
            .handle
            .to_string();
        assert_eq!(
            envelope.idempotency_key,
            format!("deployment-incident:q1-2025:run:q1-2025@7:{handle}")
        );
        assert_eq!(delivery.caused_by, ["run:q1-2025@7"]);
    }
    insta::assert_snapshot!(show(message(&failed, "deployment-incident")));
}

#[test]
fn the_same_commit_writes_the_same_keys_so_writing_it_again_is_a_no_op() {
    let mut program = release_day(false);
    backend_done_api_running(&mut program);
    let now = "2025-03-01T14:41:00Z";
    let events = decide(
        &program.state,
        Command::ChangeRunStep {
            release: name("q1-2025"),
            step: name("analytics-api"),
            to: StepStatus::Failed,
            by: "mike".to_owned(),
            note: None,
            break_glass: None,
            freezes: Vec::new(),
        },
        at(now),
    )
    .expect("decide");
    let first = policy(&program.state, &events, "mike", now);
    let again = policy(&program.state, &events, "mike", now);
    assert!(!first.is_empty());
    let keys = |written: &[(Envelope, Delivery)]| -> Vec<(String, String)> {
        written
            .iter()
            .map(|(e, _)| (e.channel.clone(), e.idempotency_key.clone()))
            .collect()
    };
    assert_eq!(keys(&first), keys(&again));
}

#[test]
fn a_tripped_trigger_of_an_auto_rollback_run_announces_the_incident_and_the_rollback() {
    let mut program = release_day(true);
    backend_done_api_running(&mut program);
    let written = commit(
        &mut program,
        "2025-03-01T14:45:00Z",
        "github",
        Command::RecordSignal {
            signal: Signal {
                component: name("analytics-api"),
                environment: Some(name("production")),
                source: "github".to_owned(),
                delivery: "bugs-1".to_owned(),
                observed_at: at("2025-03-01T14:44:00Z"),
                reading: SignalReading::Bugs {
                    critical: 1,
                    high: 0,
                    medium: 0,
                    low: 0,
                },
            },
        },
    );
    // The incident goes to the API's contacts; the rollback to every team that must
    // undo a step (the backend's alex and emma have no subscription of their own).
    assert_eq!(
        who(&written),
        [
            triple("hook", "mike", "deployment-incident"),
            triple("hook", "mike", "rollback-started"),
            triple("hook", "rita", "deployment-incident"),
            triple("hook", "rita", "rollback-started"),
            triple("mail", "lisa", "deployment-incident"),
            triple("mail", "lisa", "rollback-started"),
        ]
    );
    assert!(
        written
            .iter()
            .all(|(_, d)| d.not_before.is_none() && !d.digest)
    );
    insta::assert_snapshot!(
        "tripped_trigger_incident",
        show(message(&written, "deployment-incident"))
    );
    insta::assert_snapshot!(
        "automatic_rollback_started",
        show(message(&written, "rollback-started"))
    );
}

#[test]
fn a_rolled_back_run_reports_its_end_at_once() {
    let mut program = release_day(false);
    backend_done_api_running(&mut program);
    step(
        &mut program,
        "2025-03-01T14:41:00Z",
        "mike",
        "analytics-api",
        StepStatus::Failed,
    );
    let started = commit(
        &mut program,
        "2025-03-01T14:50:00Z",
        "rita",
        Command::StartRollback {
            release: name("q1-2025"),
            by: "rita".to_owned(),
            reason: Some("the migration cannot finish today".to_owned()),
        },
    );
    assert_eq!(
        who(&started),
        [
            triple("hook", "mike", "rollback-started"),
            triple("hook", "rita", "rollback-started"),
            triple("mail", "lisa", "rollback-started"),
        ]
    );
    for component in ["analytics-api", "data-pipeline"] {
        for to in [StepStatus::Running, StepStatus::Verifying] {
            assert_eq!(
                who(&step(
                    &mut program,
                    "2025-03-01T15:00:00Z",
                    "alex",
                    component,
                    to
                )),
                []
            );
        }
        let done = step(
            &mut program,
            "2025-03-01T15:10:00Z",
            "alex",
            component,
            StepStatus::Done,
        );
        if component == "analytics-api" {
            assert_eq!(who(&done), [], "one rollback step is still to go");
            continue;
        }
        // Sam takes run ends as a digest, but a rollback is not news to hold.
        assert_eq!(
            who(&done),
            [
                triple("hook", "rita", "deployment-status"),
                triple("mail", "sam", "deployment-status"),
            ]
        );
        assert!(
            done.iter()
                .all(|(_, d)| d.not_before.is_none() && !d.digest)
        );
        insta::assert_snapshot!(show(message(&done, "deployment-status")));
    }
}

#[test]
fn a_completed_run_waits_for_quiet_hours_and_digests_like_an_announcement() {
    let mut program = release_day(false);
    backend_done_api_running(&mut program);
    let mut last = Vec::new();
    for (component, by) in [
        ("analytics-api", "mike"),
        ("dashboard-ui", "sarah"),
        ("mobile-app", "priya"),
    ] {
        for to in [StepStatus::Running, StepStatus::Verifying, StepStatus::Done] {
            if component == "analytics-api" && to == StepStatus::Running {
                continue;
            }
            last = step(&mut program, "2025-03-01T15:30:00Z", by, component, to);
        }
    }
    assert_eq!(
        who(&last),
        [
            triple("hook", "rita", "deployment-status"),
            triple("mail", "sam", "deployment-status"),
        ]
    );
    let rita = &last[0].1;
    // Rita's quiet hours (00:00–23:59 New York) end at 23:59 that day.
    assert_eq!(
        rita.not_before.map(|t| t.to_string()).as_deref(),
        Some("2025-03-02T04:59:00Z")
    );
    let sam = &last[1].1;
    assert!(sam.digest, "sam takes run ends as a digest");
    assert_eq!(
        sam.not_before.map(|t| t.to_string()).as_deref(),
        Some("2025-03-02T14:00:00Z"),
        "the next 09:00 in New York"
    );
    insta::assert_snapshot!(show(message(&last, "deployment-status")));
}

#[test]
fn cancelling_the_release_mid_run_reports_the_run_aborted() {
    let mut program = release_day(false);
    backend_done_api_running(&mut program);
    let cancelled = commit(
        &mut program,
        "2025-03-01T14:35:00Z",
        "rita",
        Command::ChangeReleaseState {
            release: name("q1-2025"),
            to: ReleaseState::Cancelled,
        },
    );
    assert_eq!(
        who(&cancelled),
        [
            triple("hook", "rita", "deployment-status"),
            triple("mail", "sam", "deployment-status"),
        ]
    );
    let delivery = message(&cancelled, "deployment-status");
    assert_eq!(delivery.not_before, None, "an aborted run is not held");
    assert!(
        delivery.message.subject.ends_with("run 1 aborted"),
        "{}",
        delivery.message.subject
    );
    insta::assert_snapshot!(show(delivery));
}
