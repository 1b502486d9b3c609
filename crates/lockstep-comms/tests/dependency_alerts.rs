//! Dependency alerts through the outbox policy: when a blocker's slip puts a waiting
//! team's items at risk, that team's leads and the subscribers of its release and team
//! hear it with the chain, once per team; when the risk clears, they hear that too; a
//! change that leaves the risk as it was tells nobody. The blocking team is not alerted
//! (its owner gets the escalation).

mod common;

use common::{Program, at, name, triple, who};
use lockstep_comms::MessageKind;
use lockstep_comms::notify::NotificationConfig;
use lockstep_comms::policy::{Delivery, Envelope};
use lockstep_core::{Command, decide};

/// Sarah (frontend lead), priya (mobile lead) and mike (API lead) take dependency alerts
/// on the hook, filtered to the API team or another release, so that what reaches sarah
/// and priya is what they get as leads; sam (support) takes the frontend's by mail, as a
/// digest; uma follows another release.
const SUBSCRIPTIONS: &str = "\
channels:
  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}
  mail: {kind: email, smtp: {host: 127.0.0.1, port: 25, starttls: false, from: lockstep@example.com}}
subscriptions:
  - {member: sarah, channel: hook, teams: [api], kinds: [dependency-alert]}
  - {member: priya, channel: hook, releases: [q2-2025], kinds: [dependency-alert]}
  - {member: mike, channel: hook, teams: [api], kinds: [dependency-alert]}
  - {member: sam, channel: mail, teams: [frontend], kinds: [dependency-alert], cadence: digest, digestAt: \"09:00\"}
  - {member: uma, channel: mail, releases: [q2-2025], kinds: [dependency-alert]}
";

/// Moves the API item's ETA to `eta` (2025-MM-DD) at `now`, as mike; the alerts written.
fn slip(program: &mut Program, eta: (i16, i8, i8), now: &str) -> Vec<(Envelope, Delivery)> {
    slip_with(SUBSCRIPTIONS, program, eta, now)
}

/// [`slip`] with the notification file `subscriptions`.
fn slip_with(
    subscriptions: &str,
    program: &mut Program,
    eta: (i16, i8, i8),
    now: &str,
) -> Vec<(Envelope, Delivery)> {
    let config = NotificationConfig::parse(subscriptions).unwrap_or_else(|e| panic!("{e}"));
    let command = Command::SetEta {
        item: name("api-analytics-endpoints"),
        eta: Some(jiff::civil::date(eta.0, eta.1, eta.2)),
    };
    let events = decide(&program.state, command.clone(), at(now)).unwrap_or_else(|e| panic!("{e}"));
    let written = common::run_policy(&config, &program.state, &events, "mike", now, None);
    program.run(now, "mike", command);
    written
        .into_iter()
        .filter(|(_, d)| d.message.kind == MessageKind::DependencyAlert)
        .collect()
}

fn to<'a>(written: &'a [(Envelope, Delivery)], handle: &str) -> &'a Delivery {
    written
        .iter()
        .map(|(_, d)| d)
        .find(|d| {
            d.recipient
                .as_ref()
                .is_some_and(|r| r.handle.as_str() == handle)
        })
        .unwrap_or_else(|| panic!("a message to {handle} in {:?}", who(written)))
}

fn show(delivery: &Delivery) -> String {
    format!(
        "Subject: {}\n\n{}",
        delivery.message.subject, delivery.message.body
    )
}

#[test]
fn a_slip_alerts_each_waiting_team_once_with_the_chain_and_its_clearing_too() {
    let mut program = Program::seed();
    let written = slip(&mut program, (2025, 2, 10), "2025-02-04T16:00:00Z");
    assert_eq!(
        who(&written),
        [
            triple("hook", "priya", "dependency-alert"),
            triple("hook", "sarah", "dependency-alert"),
            triple("mail", "sam", "dependency-alert"),
        ],
        "the waiting teams' leads and the frontend's follower; not the API's lead"
    );
    let sarah = to(&written, "sarah");
    assert_eq!(sarah.message.team, Some(name("frontend")));
    assert_eq!(sarah.message.release, Some(name("q1-2025")));
    assert!(sarah.message.body.contains(
        "API: Analytics endpoints ETA Feb 10 > need-by Feb 8 − 3 d buffer → Frontend: New dashboard UI at risk"
    ));
    assert_eq!(to(&written, "priya").message.team, Some(name("mobile")));
    assert!(to(&written, "sam").digest, "sam reads his in the digest");
    insta::assert_snapshot!("frontend_at_risk", show(sarah));

    // Later still: the frontend was already at risk, so nobody is told again.
    let again = slip(&mut program, (2025, 2, 11), "2025-02-05T16:00:00Z");
    assert_eq!(who(&again), []);

    // Back inside the buffer: the risk clears, and the same people hear it.
    let cleared = slip(&mut program, (2025, 2, 5), "2025-02-06T16:00:00Z");
    assert_eq!(who(&cleared), who(&written));
    insta::assert_snapshot!("frontend_cleared", show(to(&cleared, "sarah")));
}

#[test]
fn a_role_subscription_for_the_own_team_tells_each_lead_of_their_own_team_only() {
    let leads = |own_team: bool| {
        let subscriptions = format!(
            "\
channels:
  hook: {{kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}}
subscriptions:
  - {{role: tech-lead, channel: hook, ownTeam: {own_team}, kinds: [dependency-alert]}}
"
        );
        let mut program = Program::seed();
        let written = slip_with(
            &subscriptions,
            &mut program,
            (2025, 2, 10),
            "2025-02-04T16:00:00Z",
        );
        who(&written)
            .into_iter()
            .map(|(_, handle, _)| handle)
            .collect::<Vec<_>>()
    };
    // The frontend's and the mobile team's leads wait on the API: they hear it.
    assert_eq!(leads(true), ["priya", "sarah"]);
    // Without the filter, every tech lead hears every waiting team's alert.
    let everyone = leads(false);
    assert!(
        everyone.len() > 2 && everyone.contains(&"mike".to_owned()),
        "{everyone:?}"
    );
}

#[test]
fn whoever_follows_every_waiting_team_hears_them_in_one_message() {
    let subscriptions = "\
channels:
  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}
subscriptions:
  - {member: rita, channel: hook, kinds: [dependency-alert]}
  - {member: sam, channel: hook, teams: [frontend], kinds: [dependency-alert]}
";
    let mut program = Program::seed();
    let written = slip_with(
        subscriptions,
        &mut program,
        (2025, 2, 10),
        "2025-02-04T16:00:00Z",
    );
    // Rita, with no team filter, gets one message for both waiting teams; sam, who
    // follows the frontend, its own; the teams' leads have no channel here.
    assert_eq!(
        who(&written),
        [
            triple("hook", "rita", "dependency-alert"),
            triple("hook", "sam", "dependency-alert"),
        ]
    );
    let rita = to(&written, "rita");
    assert_eq!(rita.message.team, None);
    assert_eq!(rita.message.release, Some(name("q1-2025")));
    assert_eq!(
        rita.message.subject,
        "[Dependency alerts] 2 teams of q1-2025: frontend, mobile"
    );
    let frontend = rita.message.body.find("Frontend: New dashboard UI at risk");
    let mobile = rita.message.body.find("Mobile: ");
    assert!(
        frontend.is_some() && mobile.is_some() && frontend < mobile,
        "both teams' chains, in team order: {}",
        rita.message.body
    );
    let sam = to(&written, "sam");
    assert_eq!(sam.message.team, Some(name("frontend")));
    assert!(
        !sam.message.body.contains("Mobile: "),
        "{}",
        sam.message.body
    );
    let keys: Vec<&str> = written
        .iter()
        .map(|(envelope, _)| envelope.idempotency_key.as_str())
        .collect();
    assert!(
        keys.iter()
            .any(|k| k.starts_with("dependency-alert:q1-2025:frontend+mobile:")),
        "{keys:?}"
    );

    // The clearing reaches her the same way.
    let cleared = slip_with(
        subscriptions,
        &mut program,
        (2025, 2, 5),
        "2025-02-06T16:00:00Z",
    );
    assert_eq!(who(&cleared), who(&written));
    assert!(
        to(&cleared, "rita")
            .message
            .subject
            .starts_with("[Dependency alerts] 2 teams")
    );
}
