//! Coordination records: given a release, when someone records or retracts the time a
//! meeting or an e-mail thread took, then events or an error, and who may do it.

mod common;

use common::{ProgramBuilder, name, now};
use jiff::civil::date;
use lockstep_core::access::{Principal, authorize};
use lockstep_core::coordination::Activity;
use lockstep_core::{Command, DomainError, Event, ReleaseSpec, Role, decide};

fn program() -> ProgramBuilder {
    ProgramBuilder::new()
        .team("api", &[("mike", Role::TechLead), ("lisa", Role::Member)])
        .team("release-office", &[("rita", Role::ReleaseManager)])
        .team("stakeholders", &[("sid", Role::Security)])
        .run(Command::DefineRelease {
            release: name("q1"),
            spec: ReleaseSpec {
                title: None,
                kind: Default::default(),
                version: None,
                target_date: date(2025, 3, 1),
                feature_freeze: None,
                code_freeze: None,
                manager: None,
                milestones: vec![],
                deployment: None,
                labels: Default::default(),
            },
        })
}

fn record(minutes: u32, people: u32, by: &str) -> Command {
    Command::RecordCoordination {
        release: name("q1"),
        activity: Activity::Meeting,
        minutes,
        people,
        on: None,
        note: Some("dependency sync".into()),
        by: by.into(),
    }
}

fn retract(number: u32, by: &str) -> Command {
    Command::RetractCoordination {
        release: name("q1"),
        number,
        by: by.into(),
    }
}

fn principal(member: Option<&str>) -> Principal {
    Principal {
        user: member.unwrap_or("viewer").to_owned(),
        admin: false,
        member: member.map(name),
    }
}

#[test]
fn a_record_is_numbered_dated_today_and_counts_minutes_times_people() {
    let given = program()
        .run(record(30, 6, "mike"))
        .run(record(10, 2, "lisa"));
    let entries = given.state.coordination_of(&name("q1"));
    assert_eq!(entries.len(), 2);
    let first = &entries[0];
    assert_eq!((first.number, first.minutes, first.people), (1, 30, 6));
    assert_eq!(first.on, date(2025, 1, 20), "today, UTC");
    assert_eq!(first.person_minutes(), 180);
    assert_eq!(entries[1].number, 2);
}

#[test]
fn a_retracted_record_stays_counts_nothing_and_retracting_again_decides_nothing() {
    let given = program()
        .run(record(450, 6, "mike"))
        .run(retract(1, "mike"));
    let entry = &given.state.coordination_of(&name("q1"))[0];
    assert_eq!(
        entry.retracted.as_ref().map(|r| r.by.as_str()),
        Some("mike")
    );
    assert_eq!(entry.person_minutes(), 0);
    let again = decide(&given.state, retract(1, "mike"), now()).expect("decided");
    assert!(again.is_empty(), "{again:?}");
    // The next record is numbered after the retracted one.
    let next = decide(&given.state, record(5, 1, "mike"), now()).expect("decided");
    assert!(matches!(&next[..], [Event::CoordinationRecorded { entry, .. }] if entry.number == 2));
}

#[test]
fn impossible_records_are_refused_with_the_field() {
    let given = program();
    let refused = |command: Command| match decide(&given.state, command, now()) {
        Err(DomainError::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refused(record(0, 1, "mike")), "minutes");
    assert_eq!(refused(record(24 * 60 + 1, 1, "mike")), "minutes");
    assert_eq!(refused(record(30, 0, "mike")), "people");
    let tomorrow = Command::RecordCoordination {
        release: name("q1"),
        activity: Activity::Email,
        minutes: 30,
        people: 2,
        on: Some(date(2025, 1, 21)),
        note: None,
        by: "mike".into(),
    };
    assert_eq!(refused(tomorrow), "on");
    let ancient = Command::RecordCoordination {
        release: name("q1"),
        activity: Activity::Meeting,
        minutes: 30,
        people: 2,
        on: Some(date(1900, 1, 1)),
        note: None,
        by: "mike".into(),
    };
    assert!(matches!(
        lockstep_core::limits::check(&ancient),
        Err(DomainError::Invalid { field, .. }) if field == "on"
    ));
    let unknown = Command::RecordCoordination {
        release: name("q9"),
        activity: Activity::Call,
        minutes: 30,
        people: 2,
        on: None,
        note: None,
        by: "mike".into(),
    };
    assert!(matches!(
        decide(&given.state, unknown, now()),
        Err(DomainError::NotFound {
            kind: "release",
            ..
        })
    ));
    assert!(matches!(
        decide(&given.state, retract(7, "mike"), now()),
        Err(DomainError::NotFound {
            kind: "coordination record",
            ..
        })
    ));
}

#[test]
fn anyone_but_a_viewer_records_and_only_the_recorder_or_a_release_manager_retracts() {
    let given = program().run(record(30, 6, "mike"));
    for who in ["mike", "lisa", "rita", "sid"] {
        assert!(
            authorize(&given.state, &principal(Some(who)), &record(5, 1, who)).is_ok(),
            "{who}"
        );
    }
    assert!(authorize(&given.state, &principal(None), &record(5, 1, "viewer")).is_err());
    // Recording as someone else is refused.
    assert!(
        authorize(
            &given.state,
            &principal(Some("lisa")),
            &record(5, 1, "mike")
        )
        .is_err()
    );
    assert!(authorize(&given.state, &principal(Some("mike")), &retract(1, "mike")).is_ok());
    assert!(authorize(&given.state, &principal(Some("rita")), &retract(1, "rita")).is_ok());
    for who in ["lisa", "sid"] {
        let denied = authorize(&given.state, &principal(Some(who)), &retract(1, who))
            .expect_err("not theirs");
        assert!(denied.reason.contains("mike"), "{denied}");
    }
}

fn rate(score: u8, comment: Option<&str>, by: &str) -> Command {
    Command::RateCoordination {
        release: name("q1"),
        score,
        comment: comment.map(str::to_owned),
        by: by.into(),
    }
}

#[test]
fn a_later_rating_replaces_the_persons_own_and_the_same_again_decides_nothing() {
    let given = program()
        .run(rate(2, Some("late API news"), "mike"))
        .run(rate(5, None, "rita"))
        .run(rate(4, Some("better after the sync"), "mike"));
    let ratings = given.state.ratings_of(&name("q1"));
    let scores: Vec<(&str, u8)> = ratings.iter().map(|r| (r.by.as_str(), r.score)).collect();
    assert_eq!(scores, [("mike", 4), ("rita", 5)]);
    let again = decide(
        &given.state,
        rate(4, Some("better after the sync"), "mike"),
        now(),
    )
    .expect("decided");
    assert!(again.is_empty(), "{again:?}");
    for score in [0, 6] {
        assert!(matches!(
            decide(&given.state, rate(score, None, "mike"), now()),
            Err(DomainError::Invalid { field, .. }) if field == "score"
        ));
    }
    assert!(authorize(&given.state, &principal(Some("sid")), &rate(3, None, "sid")).is_ok());
    assert!(authorize(&given.state, &principal(None), &rate(3, None, "viewer")).is_err());
    assert!(
        authorize(
            &given.state,
            &principal(Some("lisa")),
            &rate(3, None, "mike")
        )
        .is_err()
    );
}
