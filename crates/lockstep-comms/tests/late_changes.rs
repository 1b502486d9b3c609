//! Late-change notices through the outbox policy: a person changing a release's plan in
//! the 48 hours before its deployment tells its manager and the kind's subscribers, once
//! per commit, with every change, who and why; the same change earlier, or by a webhook,
//! tells nobody.

mod common;

use common::{Program, at, name, triple, who};
use lockstep_comms::MessageKind;
use lockstep_comms::notify::NotificationConfig;
use lockstep_comms::policy::{Delivery, Envelope};
use lockstep_core::{Command, decide};

/// Rita manages q1-2025 (the example says so) and takes late changes by mail; sam
/// (support) follows them on the hook.
const SUBSCRIPTIONS: &str = "\
channels:
  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}
  mail: {kind: email, smtp: {host: 127.0.0.1, port: 25, starttls: false, from: lockstep@example.com}}
subscriptions:
  - {member: rita, channel: mail, kinds: [late-change]}
  - {member: sam, channel: hook, kinds: [late-change]}
";

/// Mike moves the API item's ETA at `now` as `actor`, saying why; the late-change
/// messages written.
fn slip(program: &Program, now: &str, actor: &str) -> Vec<(Envelope, Delivery)> {
    let config = NotificationConfig::parse(SUBSCRIPTIONS).unwrap_or_else(|e| panic!("{e}"));
    let command = Command::SetEta {
        item: name("api-analytics-endpoints"),
        eta: Some(jiff::civil::date(2025, 2, 27)),
    };
    let events = decide(&program.state, command, at(now)).unwrap_or_else(|e| panic!("{e}"));
    common::run_policy(
        &config,
        &program.state,
        &events,
        actor,
        now,
        Some("schema migration rerun"),
    )
    .into_iter()
    .filter(|(_, d)| d.message.kind == MessageKind::LateChange)
    .collect()
}

#[test]
fn a_change_two_days_before_the_deployment_tells_the_manager_and_subscribers_with_why() {
    let program = Program::seed();
    // The release deploys March 1 from 9:00 in New York (14:00 UTC): 47 hours before.
    let written = slip(&program, "2025-02-27T15:00:00Z", "mike");
    assert_eq!(
        who(&written),
        [
            triple("hook", "sam", "late-change"),
            triple("mail", "rita", "late-change"),
        ]
    );
    let message = &written[0].1.message;
    insta::assert_snapshot!(
        "api_slips_before_the_deployment",
        format!("Subject: {}\n\n{}", message.subject, message.body)
    );
    assert_eq!(
        message.subject,
        "[Late change] Q1 2025 Platform Release: 1 change 47 h before the deployment"
    );
    assert!(
        message
            .body
            .contains("- item api-analytics-endpoints: eta 2025-02-05 → 2025-02-27")
            && message.body.contains("schema migration rerun")
            && message.body.contains("deploys Mar 1 14:00 UTC"),
        "{}",
        message.body
    );
}

#[test]
fn the_morning_of_the_deployment_is_late_and_the_same_change_earlier_or_by_a_webhook_is_not() {
    let program = Program::seed();
    assert_eq!(slip(&program, "2025-03-01T10:00:00Z", "mike").len(), 2);
    assert!(slip(&program, "2025-02-20T15:00:00Z", "mike").is_empty());
    assert!(slip(&program, "2025-02-27T15:00:00Z", "webhook:github").is_empty());
}
