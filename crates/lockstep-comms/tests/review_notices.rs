//! What the review workflows tell whom, through the outbox policy: a change request
//! proposed reaches the release managers and unfiltered subscribers; approved, the
//! requester, the leads of the teams its impact names, the release managers and the
//! subscribers of what it touched, with the changes, moved targets and new risks;
//! rejected or withdrawn, the requester and the release managers with the rationale. An
//! interface change reaches the consumer and producer teams' leads and the subscribers
//! of what it touches. Nobody twice; quiet hours and digests hold them. The messages
//! themselves are reviewed snapshots.

mod common;

use common::{Program, at, name, triple, who};
use lockstep_comms::notify::NotificationConfig;
use lockstep_comms::policy::{Delivery, Envelope};
use lockstep_comms::{MessageKind, Templates};
use lockstep_core::change::ChangeSource;
use lockstep_core::contract::{Compatibility, ProposalDecision, Version};
use lockstep_core::{Command, Event, State, decide};

/// Rita (release manager, by role) takes everything on the hook; sarah (frontend lead)
/// and mike (API lead) take both kinds, mike in quiet hours around the clock; alex
/// (backend lead) takes change requests for q1-2025 as a digest; sam (support) takes
/// change requests about the frontend; priya (mobile lead) takes only daily updates;
/// uma follows interface changes of another release, sid those touching mobile.
const SUBSCRIPTIONS: &str = "\
channels:
  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}
  mail: {kind: email, smtp: {host: 127.0.0.1, port: 25, starttls: false, from: lockstep@example.com}}
subscriptions:
  - {role: release-manager, channel: hook}
  - {member: sarah, channel: hook, kinds: [change-request, interface-change]}
  - {member: mike, channel: hook, kinds: [change-request, interface-change], quietHours: {start: \"00:00\", end: \"23:59\"}}
  - {member: alex, channel: mail, releases: [q1-2025], kinds: [change-request], cadence: digest, digestAt: \"09:00\"}
  - {member: sam, channel: mail, teams: [frontend], kinds: [change-request]}
  - {member: priya, channel: hook, kinds: [daily-update]}
  - {member: uma, channel: mail, releases: [q2-2025], kinds: [interface-change]}
  - {member: sid, channel: mail, teams: [mobile], kinds: [interface-change]}
";

fn config() -> NotificationConfig {
    NotificationConfig::parse(SUBSCRIPTIONS).unwrap_or_else(|e| panic!("{e}"))
}

/// The envelopes the outbox policy writes for `events` decided against `before`, with
/// their deliveries.
fn policy(before: &State, events: &[Event], actor: &str, now: &str) -> Vec<(Envelope, Delivery)> {
    policy_with_reason(before, events, actor, now, None)
}

fn policy_with_reason(
    before: &State,
    events: &[Event],
    actor: &str,
    now: &str,
    reason: Option<&str>,
) -> Vec<(Envelope, Delivery)> {
    common::run_policy(&config(), before, events, actor, now, reason)
}

/// Commits `events` into `program` after running the policy on them.
fn commit_events(
    program: &mut Program,
    events: Vec<Event>,
    actor: &str,
    now: &str,
    reason: Option<&str>,
) -> Vec<(Envelope, Delivery)> {
    let written = policy_with_reason(&program.state, &events, actor, now, reason);
    for event in &events {
        let position = program.state.position() + 1;
        program.state.apply(position, event);
    }
    written
}

fn commit(
    program: &mut Program,
    now: &str,
    actor: &str,
    command: Command,
) -> Vec<(Envelope, Delivery)> {
    let events = decide(&program.state, command, at(now)).unwrap_or_else(|e| panic!("{e}"));
    commit_events(program, events, actor, now, None)
}

fn to<'a>(envelopes: &'a [(Envelope, Delivery)], handle: &str) -> &'a (Envelope, Delivery) {
    envelopes
        .iter()
        .find(|(_, d)| {
            d.recipient
                .as_ref()
                .is_some_and(|r| r.handle.as_str() == handle)
        })
        .unwrap_or_else(|| panic!("a message to {handle} in {:?}", who(envelopes)))
}

/// What a snapshot shows of a message.
fn show(delivery: &Delivery) -> String {
    format!(
        "Subject: {}\n\n{}",
        delivery.message.subject, delivery.message.body
    )
}

/// Every recipient gets one message per channel, and every key is unique per channel;
/// every message is the same one, about no single release.
fn assert_once_each(written: &[(Envelope, Delivery)]) {
    let mut people = who(written);
    people.dedup();
    assert_eq!(people.len(), written.len(), "somebody twice: {people:?}");
    let mut keys: Vec<(&str, &str)> = written
        .iter()
        .map(|(e, _)| (e.channel.as_str(), e.idempotency_key.as_str()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), written.len(), "a key twice");
    for (_, delivery) in written {
        assert_eq!(delivery.message.release, None);
        assert_eq!(delivery.message.body, written[0].1.message.body);
    }
}

fn example(file: &str) -> ChangeSource {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
    ChangeSource {
        name: file.rsplit('/').next().unwrap_or(file).to_owned(),
        text: std::fs::read_to_string(format!("{path}{file}")).expect("readable example"),
    }
}

/// Seed 004's slip (the API's ETA from Feb 5 to Feb 10) with the release moved a week
/// later, as one edited copy of the example's release manifest.
fn slip_sources() -> Vec<ChangeSource> {
    let mut release = example("q1-2025/release.yaml");
    for (from, to) in [
        ("targetDate: 2025-03-01", "targetDate: 2025-03-08"),
        ("eta: 2025-02-05", "eta: 2025-02-10"),
    ] {
        assert_eq!(release.text.matches(from).count(), 1, "{from}");
        release.text = release.text.replace(from, to);
    }
    release.name = "q1-slip.yaml".to_owned();
    vec![release]
}

/// Mike proposes the slip on Feb 4 at 16:00 UTC.
fn propose(program: &mut Program, by: &str) -> Vec<(Envelope, Delivery)> {
    commit(
        program,
        "2025-02-04T16:00:00Z",
        by,
        Command::ProposeChange {
            title: "API slips to Feb 10, release to Mar 8".to_owned(),
            sources: slip_sources(),
            releases: Vec::new(),
            by: by.to_owned(),
        },
    )
}

#[test]
fn a_proposed_change_reaches_the_release_managers_and_unfiltered_subscribers() {
    let mut program = Program::seed();
    let written = propose(&mut program, "mike");
    // Which releases and teams a proposal touches is not known without planning its
    // manifests: alex (q1-2025 only) and sam (frontend only) wait for the approval.
    assert_eq!(
        who(&written),
        [
            triple("hook", "mike", "change-request"),
            triple("hook", "rita", "change-request"),
            triple("hook", "sarah", "change-request"),
        ]
    );
    assert_once_each(&written);
    let (envelope, delivery) = to(&written, "rita");
    assert_eq!(
        envelope.idempotency_key,
        "change-request:cr-1:change:cr-1@1:rita"
    );
    assert_eq!(delivery.caused_by, ["change:cr-1@1"]);
    assert_eq!(delivery.not_before, None);
    // Mike keeps quiet hours around the clock: held until they end (New York).
    let (_, mike) = to(&written, "mike");
    assert_eq!(
        mike.not_before.map(|t| t.to_string()).as_deref(),
        Some("2025-02-05T04:59:00Z")
    );
    insta::assert_snapshot!(show(delivery));
}

#[test]
fn an_approved_change_tells_the_requester_the_teams_leads_managers_and_subscribers_of_what_it_touched()
 {
    let mut program = Program::seed();
    propose(&mut program, "mike");
    let request = program
        .state
        .change_requests()
        .get(&name("cr-1"))
        .expect("cr-1")
        .clone();
    let now = "2025-02-05T15:00:00Z";
    // The approval and the events its manifests apply, in one batch, as the edge commits
    // them.
    let events = lockstep_manifest::change::approve(
        &program.state,
        &request,
        "rita",
        Some("agreed in the weekly sync".to_owned()),
        at(now),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(events.len() > 1, "the approval applies events: {events:?}");
    let (written, others): (Vec<_>, Vec<_>) =
        commit_events(&mut program, events, "rita", now, None)
            .into_iter()
            .partition(|(_, d)| d.message.kind == MessageKind::ChangeRequest);
    // What the change applies causes its own notices, as if applied directly: the
    // slipped API now endangers the dashboard and the mobile view: one dependency alert
    // naming both waiting teams and an escalation (rita takes everything, so she hears
    // both teams' alerts in one message, and is the only contact on the escalation path
    // who takes escalations).
    assert_eq!(
        who(&others),
        [
            triple("hook", "rita", "dependency-alert"),
            triple("hook", "rita", "escalation"),
        ]
    );
    // Mike requested it and leads the API; sarah leads the frontend, which waits on the
    // API; rita manages releases; alex follows q1-2025 and sam the frontend. Priya leads
    // mobile, which also waits, but takes only daily updates: she has no channel for it.
    assert_eq!(
        who(&written),
        [
            triple("hook", "mike", "change-request"),
            triple("hook", "rita", "change-request"),
            triple("hook", "sarah", "change-request"),
            triple("mail", "alex", "change-request"),
            triple("mail", "sam", "change-request"),
        ]
    );
    assert_once_each(&written);
    let (envelope, alex) = to(&written, "alex");
    assert_eq!(
        envelope.idempotency_key,
        "change-request:cr-1:change:cr-1@2:alex"
    );
    assert!(alex.digest, "alex takes change requests as a digest");
    assert_eq!(
        alex.not_before.map(|t| t.to_string()).as_deref(),
        Some("2025-02-06T09:00:00Z"),
        "15:00 UTC is past 09:00 in London (alex's backend team): the next morning's"
    );
    let body = &alex.message.body;
    assert!(body.contains("March 1, 2025 → March 8, 2025"), "{body}");
    assert!(body.contains("agreed in the weekly sync"), "{body}");
    insta::assert_snapshot!(show(alex));
}

#[test]
fn the_same_approval_writes_the_same_keys_so_writing_it_again_is_a_no_op() {
    let mut program = Program::seed();
    propose(&mut program, "mike");
    let request = program
        .state
        .change_requests()
        .get(&name("cr-1"))
        .expect("cr-1")
        .clone();
    let now = "2025-02-05T15:00:00Z";
    let events =
        lockstep_manifest::change::approve(&program.state, &request, "rita", None, at(now))
            .unwrap_or_else(|e| panic!("{e}"));
    let keys = |written: &[(Envelope, Delivery)]| -> Vec<(String, String)> {
        written
            .iter()
            .map(|(e, _)| (e.channel.clone(), e.idempotency_key.clone()))
            .collect()
    };
    let first = policy(&program.state, &events, "rita", now);
    let again = policy(&program.state, &events, "rita", now);
    assert!(!first.is_empty());
    assert_eq!(keys(&first), keys(&again));
}

#[test]
fn a_rejected_change_tells_the_requester_and_the_release_managers_why() {
    let mut program = Program::seed();
    propose(&mut program, "mike");
    let written = commit(
        &mut program,
        "2025-02-05T15:00:00Z",
        "rita",
        Command::DecideChange {
            change: name("cr-1"),
            approve: false,
            by: "rita".to_owned(),
            rationale: Some("support needs the original date".to_owned()),
        },
    );
    assert_eq!(
        who(&written),
        [
            triple("hook", "mike", "change-request"),
            triple("hook", "rita", "change-request"),
        ]
    );
    assert_once_each(&written);
    insta::assert_snapshot!(show(&to(&written, "mike").1));
}

#[test]
fn a_withdrawn_change_tells_the_requester_and_the_release_managers() {
    let mut program = Program::seed();
    propose(&mut program, "mike");
    let events = decide(
        &program.state,
        Command::WithdrawChange {
            change: name("cr-1"),
            by: "mike".to_owned(),
        },
        at("2025-02-05T15:00:00Z"),
    )
    .expect("decide");
    let written = commit_events(
        &mut program,
        events,
        "mike",
        "2025-02-05T15:00:00Z",
        Some("the API made it after all"),
    );
    assert_eq!(
        who(&written),
        [
            triple("hook", "mike", "change-request"),
            triple("hook", "rita", "change-request"),
        ]
    );
    let (_, rita) = to(&written, "rita");
    assert_eq!(
        rita.message.subject,
        "[Change request] cr-1 withdrawn: API slips to Feb 10, release to Mar 8"
    );
    assert!(
        rita.message.body.contains("the API made it after all"),
        "{}",
        rita.message.body
    );
}

#[test]
fn a_requester_who_is_not_a_member_is_not_addressed() {
    let mut program = Program::seed();
    propose(&mut program, "ci-bot");
    let written = commit(
        &mut program,
        "2025-02-05T15:00:00Z",
        "rita",
        Command::DecideChange {
            change: name("cr-1"),
            approve: false,
            by: "rita".to_owned(),
            rationale: Some("not through a bot".to_owned()),
        },
    );
    assert_eq!(who(&written), [triple("hook", "rita", "change-request")]);
    assert!(
        to(&written, "rita").1.message.body.contains("ci-bot"),
        "the requester is named as given"
    );
}

fn propose_interface(program: &mut Program) -> Vec<(Envelope, Delivery)> {
    commit(
        program,
        "2025-02-06T14:00:00Z",
        "mike",
        Command::ProposeInterfaceChange {
            interface: name("analytics-api"),
            version: Version::parse("2.0.0").expect("version"),
            compatibility: Compatibility::Breaking,
            summary: "Export endpoint; `range` becomes required".to_owned(),
            by: "mike".to_owned(),
        },
    )
}

/// The producer's lead (mike), the consumers' (sarah for the dashboard; priya for
/// mobile, who takes no such message), the release manager, and sid, who follows
/// mobile; uma follows another release.
fn interface_audience() -> Vec<(String, String, String)> {
    vec![
        triple("hook", "mike", "interface-change"),
        triple("hook", "rita", "interface-change"),
        triple("hook", "sarah", "interface-change"),
        triple("mail", "sid", "interface-change"),
    ]
}

#[test]
fn a_proposed_interface_change_reaches_the_consumer_and_producer_leads_and_subscribers() {
    let mut program = Program::seed();
    let written = propose_interface(&mut program);
    assert_eq!(who(&written), interface_audience());
    assert_once_each(&written);
    let (envelope, sarah) = to(&written, "sarah");
    // The interface's stream holds its definition (1) and now the proposal (2).
    assert_eq!(
        envelope.idempotency_key,
        "interface-change:analytics-api:interface:analytics-api@2:sarah"
    );
    assert_eq!(sarah.caused_by, ["interface:analytics-api@2"]);
    insta::assert_snapshot!(show(sarah));
}

#[test]
fn an_approved_interface_change_is_one_message_with_the_decision_and_the_changelog_entry() {
    let mut program = Program::seed();
    propose_interface(&mut program);
    let written = commit(
        &mut program,
        "2025-02-07T14:00:00Z",
        "rita",
        Command::DecideInterfaceChange {
            interface: name("analytics-api"),
            version: Version::parse("2.0.0").expect("version"),
            decision: ProposalDecision::Approve,
            rationale: "Dashboard and mobile move in Q2".to_owned(),
            by: "rita".to_owned(),
        },
    );
    // The decision and the publication are one commit and one message each.
    assert_eq!(who(&written), interface_audience());
    assert_once_each(&written);
    let sarah = &to(&written, "sarah").1;
    assert_eq!(sarah.caused_by.len(), 1);
    insta::assert_snapshot!(show(sarah));
}

#[test]
fn a_rejected_interface_change_says_why_and_publishes_nothing() {
    let mut program = Program::seed();
    propose_interface(&mut program);
    let written = commit(
        &mut program,
        "2025-02-07T14:00:00Z",
        "rita",
        Command::DecideInterfaceChange {
            interface: name("analytics-api"),
            version: Version::parse("2.0.0").expect("version"),
            decision: ProposalDecision::Reject,
            rationale: "mobile cannot move before Q2".to_owned(),
            by: "rita".to_owned(),
        },
    );
    assert_eq!(who(&written), interface_audience());
    let message = &to(&written, "rita").1.message;
    assert_eq!(
        message.subject,
        "[Interface change] Analytics API 2.0.0 (breaking) rejected"
    );
    assert!(
        message
            .body
            .contains("Nothing is published: consumers stay on 1.1.0.")
            && message.body.contains("mobile cannot move before Q2"),
        "{}",
        message.body
    );
}

/// Versions are published by approvals today; a publication on its own (say, by a
/// future import) still tells the same people, with its changelog entry.
#[test]
fn a_version_published_without_a_decision_in_its_commit_is_announced() {
    let mut program = Program::seed();
    let entry = lockstep_core::contract::InterfaceVersion {
        version: Version::parse("1.2.0").expect("version"),
        compatibility: Compatibility::Backward,
        changelog: Some("Weekly aggregates".to_owned()),
        status: lockstep_core::contract::VersionStatus::Published,
    };
    let written = commit_events(
        &mut program,
        vec![Event::InterfaceVersionPublished {
            interface: name("analytics-api"),
            entry,
        }],
        "mike",
        "2025-02-07T14:00:00Z",
        None,
    );
    assert_eq!(who(&written), interface_audience());
    let message = &to(&written, "sarah").1.message;
    assert_eq!(
        message.subject,
        "[Interface change] Analytics API 1.2.0 (backward) published"
    );
    assert!(
        message
            .body
            .contains("was published by Mike (@mike) on February 7, 2025 at 14:00 UTC")
            && message
                .body
                .contains("**Changelog entry:** Weekly aggregates"),
        "{}",
        message.body
    );
}

#[test]
fn review_kinds_are_subscribable_and_not_composed_for_a_release() {
    assert_eq!(
        MessageKind::parse("change-request").ok(),
        Some(MessageKind::ChangeRequest)
    );
    assert_eq!(
        MessageKind::parse("interface-change").ok(),
        Some(MessageKind::InterfaceChange)
    );
    let program = Program::seed();
    let provenance = lockstep_comms::Provenance::new(&program.history);
    let risk = lockstep_core::risk::assess(&program.state);
    let error = lockstep_comms::compose(
        lockstep_comms::Compose {
            state: &program.state,
            history: &program.history,
            provenance: &provenance,
            risk: &risk,
            templates: &Templates::embedded(),
        },
        &common::request(MessageKind::ChangeRequest, jiff::civil::date(2025, 2, 5)),
    )
    .expect_err("not for a release");
    assert!(error.to_string().contains("change-request"), "{error}");
}
