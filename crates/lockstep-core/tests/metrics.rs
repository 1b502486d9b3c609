//! Release metrics and retrospectives: given a log of dated events, then the figures
//! and the review's facts.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use lockstep_core::metrics::{Ledger, Metrics, Retrospective};
use lockstep_core::{Event, EventMeta, Name, State};
use serde_json::{Value, json};

fn at(raw: &str) -> Timestamp {
    raw.parse().expect("valid timestamp")
}

/// The seed's release: the API slips from Feb 5 to Feb 10 past the frontend's need-by
/// date (Feb 8, 3 days' buffer), a surprise dependency appears, the release ships two
/// days late and a critical bug follows it to production.
fn log() -> Vec<(&'static str, &'static str, Value)> {
    let item = |team: &str, component: &str| json!({ "title": format!("{team} work"), "team": team, "component": component });
    vec![
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "ReleasePlanned", "release": "q1",
            "spec": {"targetDate": "2025-03-01"}}),
        ),
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "ItemAdded", "item": "api", "release": "q1",
            "spec": item("api", "analytics-api")}),
        ),
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "ItemAdded", "item": "fe", "release": "q1",
            "spec": item("frontend", "dashboard-ui")}),
        ),
        // Declared with the items: code complete is unknown, not "Jan 6".
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "ItemAdded", "item": "docs", "release": "q1",
            "spec": item("frontend", "dashboard-ui")}),
        ),
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "ItemStatusChanged", "item": "docs",
            "from": "planning", "to": "testing"}),
        ),
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "DependencyAdded", "dependency":
            {"blocker": "api", "blocked": "fe", "needBy": "2025-02-08", "bufferDays": 3, "late": false}}),
        ),
        // A first ETA is a plan, not a delay.
        (
            "2025-01-07T09:00:00Z",
            "mike",
            json!({"type": "ItemEtaChanged", "item": "api",
            "from": null, "to": "2025-02-05"}),
        ),
        (
            "2025-02-01T16:00:00Z",
            "mike",
            json!({"type": "ItemEtaChanged", "item": "api",
            "from": "2025-02-05", "to": "2025-02-10"}),
        ),
        (
            "2025-02-02T10:00:00Z",
            "mike",
            json!({"type": "ItemUpdatePosted", "item": "api",
            "update": {"date": "2025-02-02", "text": "schema change"}}),
        ),
        (
            "2025-02-03T10:00:00Z",
            "rm",
            json!({"type": "ItemAdded", "item": "db", "release": "q1",
            "spec": item("backend", "data-pipeline")}),
        ),
        (
            "2025-02-03T10:00:00Z",
            "rm",
            json!({"type": "DependencyAdded", "dependency":
            {"blocker": "db", "blocked": "fe", "bufferDays": 0, "late": true}}),
        ),
        (
            "2025-01-08T09:00:00Z",
            "rm",
            json!({"type": "RiskIdentified", "risk": "api-slip", "release": "q1",
            "spec": {"title": "API slips", "probability": "medium", "impact": "high",
                "owner": "mike", "mitigation": "ship dark behind a flag"}}),
        ),
        (
            "2025-02-01T16:30:00Z",
            "mike",
            json!({"type": "RiskStatusChanged", "risk": "api-slip",
            "from": "open", "to": "occurred"}),
        ),
        (
            "2025-02-10T12:00:00Z",
            "mike",
            json!({"type": "ItemStatusChanged", "item": "api",
            "from": "in-development", "to": "testing"}),
        ),
        (
            "2025-02-20T12:00:00Z",
            "sarah",
            json!({"type": "ItemStatusChanged", "item": "fe",
            "from": "in-development", "to": "staging"}),
        ),
        (
            "2025-02-20T16:00:00Z",
            "rm",
            json!({"type": "CoordinationRecorded", "release": "q1", "entry": {
            "number": 1, "activity": "meeting", "minutes": 30, "people": 6,
            "on": "2025-02-20", "note": "go/no-go call", "by": "rm",
            "at": "2025-02-20T16:00:00Z"}}),
        ),
        // A first ETA is no slip, but 33 hours before the target it is a last-minute
        // change to the plan.
        (
            "2025-02-28T15:00:00Z",
            "rm",
            json!({"type": "ItemEtaChanged", "item": "fe",
            "from": null, "to": "2025-02-27"}),
        ),
        (
            "2025-03-03T12:00:00Z",
            "rm",
            json!({"type": "ReleaseStateChanged", "release": "q1",
            "from": "in-progress", "to": "released"}),
        ),
        (
            "2025-03-05T08:00:00Z",
            "github",
            json!({"type": "SignalRecorded", "signal": {
            "component": "analytics-api", "source": "github", "delivery": "d1",
            "observed_at": "2025-03-05T08:00:00Z",
            "reading": {"kind": "issue", "number": 42, "title": "charts empty", "open": true,
                "severity": "critical"}}}),
        ),
        // Eight days later: no longer this release's incident.
        (
            "2025-03-11T13:00:00Z",
            "github",
            json!({"type": "SignalRecorded", "signal": {
            "component": "analytics-api", "source": "github", "delivery": "d2",
            "observed_at": "2025-03-11T13:00:00Z",
            "reading": {"kind": "issue", "number": 43, "title": "slow export", "open": true,
                "severity": "high"}}}),
        ),
    ]
}

fn replay() -> (Ledger, State) {
    let mut ledger = Ledger::new();
    let mut state = State::new();
    for (position, (when, actor, event)) in log().into_iter().enumerate() {
        let event: Event = serde_json::from_value(event.clone())
            .unwrap_or_else(|e| panic!("event {position} does not parse: {e}: {event}"));
        let meta = EventMeta {
            actor: actor.to_owned(),
            at: at(when),
            reason: None,
        };
        let position = position as i64 + 1;
        state.apply(position, &event);
        ledger.fold(position, &meta, &event);
        // Folding the same event again changes nothing.
        ledger.fold(position, &meta, &event);
    }
    (ledger, state)
}

fn metrics(from: &str, to: &str) -> Metrics {
    let (ledger, state) = replay();
    let zones = BTreeMap::from([("UTC".to_owned(), TimeZone::UTC)]);
    ledger.metrics(&state, &zones, at(from), at(to))
}

#[test]
fn a_late_release_counts_its_slip_lead_times_surprises_and_incidents() {
    let report = metrics("2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z");
    assert_eq!(report.releases_shipped, 1);
    assert_eq!(report.on_time, 0);
    let release = &report.releases[0];
    assert_eq!(release.release.as_str(), "q1");
    assert_eq!(release.slip_days, 2);
    // api: Feb 10 12:00 → Mar 3 12:00 is 21 days; fe: Feb 20 → Mar 3 is 11; docs has
    // no known code-complete moment and db never got there.
    let lead = release.lead_time_days.expect("two items measured");
    assert_eq!(lead.count, 2);
    assert_eq!((lead.median, lead.p85, lead.max), (11.0, 21.0, 21.0));
    assert_eq!(release.incidents, 1, "only the issue within 7 days counts");
    assert_eq!(release.surprise_dependencies, 1);
    assert_eq!(report.incidents, 1);
    assert_eq!(report.hotfixes, 0);
    assert!((report.releases_per_month - 30.4375 / 90.0).abs() < 1e-9);
    assert_eq!(report.deployment_success_rate, None, "no run was started");
    // 180 person-minutes recorded; in Lockstep, one minute per sitting: rm 6 (Jan 6, Jan
    // 8, Feb 3, Feb 20, Feb 28, Mar 3), mike 5 (his Feb 1 actions are 30 min apart),
    // sarah 1. The signals are no one's time.
    assert_eq!(release.coordination_minutes, 192);
    assert_eq!(release.late_changes, 1);
    assert_eq!(report.coordination.within_target, 0);
    assert_eq!(report.coordination.late_changes, 1);
    assert_eq!(report.coordination.minutes.map(|m| m.median), Some(192.0));
    let preparation = report.preparation_days.expect("planned and shipped");
    assert!((preparation.median - (56.0 + 3.0 / 24.0)).abs() < 1e-9);
}

#[test]
fn a_period_before_the_release_shipped_has_nothing_to_show() {
    let report = metrics("2025-01-01T00:00:00Z", "2025-03-03T00:00:00Z");
    assert_eq!(report.releases_shipped, 0);
    assert!(report.releases.is_empty());
    assert_eq!(report.lead_time_days, None);
}

fn facts(retro: &Retrospective, question: &str) -> Vec<String> {
    retro
        .sections
        .iter()
        .flat_map(|s| &s.questions)
        .find(|q| q.question == question)
        .unwrap_or_else(|| panic!("no question {question}"))
        .facts
        .clone()
}

#[test]
fn the_retrospective_answers_the_seed_questions_from_the_record() {
    let (ledger, state) = replay();
    let q1 = Name::parse("q1").expect("valid");
    let zones = BTreeMap::from([("UTC".to_owned(), TimeZone::UTC)]);
    let retro = ledger
        .retrospective(&state, &zones, &q1)
        .expect("q1 exists");
    let titles: Vec<&str> = retro.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Timeline", "Dependencies", "Integration", "Process"]
    );
    assert_eq!(
        facts(&retro, "Did we hit our dates?"),
        ["Released 2025-03-03, 2 d after the target 2025-03-01."]
    );
    assert_eq!(
        facts(&retro, "What caused delays?"),
        [
            "api ETA 2025-02-05 → 2025-02-10 (+5 d), reported by mike on 2025-02-01.",
            "Risk api-slip occurred: API slips (owner mike; mitigation: ship dark behind a flag)."
        ]
    );
    assert_eq!(
        facts(&retro, "Were buffers adequate?"),
        [
            "api for fe (need-by 2025-02-08): ready 2025-02-10, 2 d late, past the whole buffer of 3 d."
        ]
    );
    assert_eq!(
        facts(&retro, "Did any surprise dependencies emerge?"),
        ["fe turned out to depend on db (2025-02-03)."]
    );
    assert_eq!(
        facts(&retro, "What escaped to production?"),
        ["analytics-api #42 charts empty (critical), opened 2025-03-05."]
    );
    let communication = facts(&retro, "Was communication sufficient?");
    assert_eq!(
        communication[0],
        "1 status update posted on its items; 1 later ETA reported."
    );
    assert_eq!(communication[1], "No update from: backend, frontend.");
    assert_eq!(
        facts(&retro, "Did communication cadence work?"),
        [
            "192 person-minutes of coordination: 180 recorded (1 meeting), about 12 in Lockstep by 3 people (aim: 15 per deployment).",
            "1 plan change in the 48 h before the deployment:",
            "item fe: eta none → 2025-02-27 by rm, Feb 28 15:00 UTC."
        ]
    );
    let coordination = ledger.coordination(&state, &zones, &q1).expect("q1 exists");
    let people: Vec<(&str, u64)> = coordination
        .in_tool
        .iter()
        .map(|p| (p.actor.as_str(), p.minutes))
        .collect();
    assert_eq!(people, [("rm", 6), ("mike", 5), ("sarah", 1)]);
    assert!(facts(&retro, "What would we do differently?").is_empty());
    let markdown = retro.to_markdown();
    assert!(markdown.starts_with("# Retrospective: q1\n"), "{markdown}");
    assert!(
        markdown.contains("\n**What would we do differently?**\n\n- _for the team to answer_\n")
    );
    assert!(
        ledger
            .retrospective(&state, &zones, &Name::parse("nope").expect("valid"))
            .is_none()
    );
}

#[test]
fn a_change_requests_and_an_interface_changes_review_count_for_the_releases_they_touched() {
    let source = json!([{"name": "slip.yaml", "text": "kind: Release"}]);
    let log = [
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "ReleasePlanned", "release": "q1", "spec": {"targetDate": "2025-03-01"}}),
        ),
        (
            "2025-01-06T09:00:00Z",
            "rm",
            json!({"type": "ReleasePlanned", "release": "q2", "spec": {"targetDate": "2025-06-01"}}),
        ),
        // Touches both releases.
        (
            "2025-02-03T10:00:00Z",
            "alex",
            json!({"type": "ChangeProposed", "change": "cr-1", "title": "Slip both",
            "sources": source, "releases": ["q1", "q2"], "by": "alex",
            "at": "2025-02-03T10:00:00Z"}),
        ),
        (
            "2025-02-04T10:00:00Z",
            "rm",
            json!({"type": "ChangeRejected", "change": "cr-1",
            "decision": {"by": "rm", "at": "2025-02-04T10:00:00Z", "rationale": "no"}}),
        ),
        // Proposed before requests kept their releases: no release's.
        (
            "2025-02-05T10:00:00Z",
            "bob",
            json!({"type": "ChangeProposed", "change": "cr-2", "title": "Old",
            "sources": source, "by": "bob", "at": "2025-02-05T10:00:00Z"}),
        ),
        (
            "2025-02-05T11:00:00Z",
            "bob",
            json!({"type": "ChangeWithdrawn", "change": "cr-2", "by": "bob",
            "at": "2025-02-05T11:00:00Z"}),
        ),
    ];
    // An interface change whose impact touched q2 only, reviewed by rm.
    let interface_change = |number: u32, by: &str, when: &str| {
        use lockstep_core::contract::{
            Compatibility, DecisionRecord, Impact, Proposal, ProposalDecision, ReleaseImpact,
            Version,
        };
        let version = Version::parse("2.0.0").expect("valid");
        let proposed = Event::InterfaceChangeProposed {
            interface: Name::parse("orders-api").expect("valid"),
            proposal: Proposal {
                number,
                version: version.clone(),
                compatibility: Compatibility::Breaking,
                summary: "drop v1 fields".into(),
                by: by.into(),
                at: at(when),
                impact: Impact {
                    releases: vec![ReleaseImpact {
                        release: Name::parse("q2").expect("valid"),
                        state: lockstep_core::ReleaseState::Planned,
                        target_date: jiff::civil::date(2025, 6, 1),
                        items: Vec::new(),
                    }],
                    ..Impact::default()
                },
                decision: None,
            },
        };
        let decided = Event::InterfaceChangeDecided {
            interface: Name::parse("orders-api").expect("valid"),
            number,
            version,
            record: DecisionRecord {
                decision: ProposalDecision::Reject,
                rationale: "not yet".into(),
                by: "rm".into(),
                at: at("2025-02-06T16:00:00Z"),
            },
        };
        [
            (when.to_owned(), by.to_owned(), proposed),
            ("2025-02-06T16:00:00Z".to_owned(), "rm".to_owned(), decided),
        ]
    };
    let mut ledger = Ledger::new();
    let mut state = State::new();
    let log = log
        .into_iter()
        .map(|(when, actor, event)| {
            let event: Event =
                serde_json::from_value(event.clone()).unwrap_or_else(|e| panic!("{e}: {event}"));
            (when.to_owned(), actor.to_owned(), event)
        })
        .chain(interface_change(1, "priya", "2025-02-06T09:00:00Z"));
    for (position, (when, actor, event)) in log.enumerate() {
        let meta = EventMeta {
            actor,
            at: at(&when),
            reason: None,
        };
        state.apply(position as i64 + 1, &event);
        ledger.fold(position as i64 + 1, &meta, &event);
    }
    assert_eq!(
        state.change_requests()[&Name::parse("cr-1").expect("valid")].releases,
        [
            Name::parse("q1").expect("valid"),
            Name::parse("q2").expect("valid")
        ]
    );
    let zones = BTreeMap::from([("UTC".to_owned(), TimeZone::UTC)]);
    for (release, expected) in [
        ("q1", vec![("rm", 2), ("alex", 1)]),
        // The interface change touched q2: priya's proposal and rm's review count there.
        ("q2", vec![("rm", 3), ("alex", 1), ("priya", 1)]),
    ] {
        let release = Name::parse(release).expect("valid");
        let coordination = ledger
            .coordination(&state, &zones, &release)
            .expect("exists");
        let people: Vec<(&str, u64)> = coordination
            .in_tool
            .iter()
            .map(|p| (p.actor.as_str(), p.minutes))
            .collect();
        // The planning apply and each rejection are sittings of rm's; alex's proposal
        // one; bob's request touched nothing on record.
        assert_eq!(people, expected, "{release}");
    }
}
