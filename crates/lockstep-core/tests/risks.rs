//! The risk register: given a program, when a risk is declared or moved, then events
//! or an error; who may do it; how exposure orders what the dashboard shows.

mod common;

use common::{ProgramBuilder, name, now};
use jiff::civil::{Date, date};
use lockstep_core::access::{Principal, authorize};
use lockstep_core::{
    Command, DomainError, Event, ItemSpec, ReleaseSpec, ReleaseState, RiskLevel, RiskSpec,
    RiskStatus, Role, decide, decide_all,
};

impl ProgramBuilder {
    fn release(self, release: &str, target: Date) -> Self {
        self.run(Command::DefineRelease {
            release: name(release),
            spec: ReleaseSpec {
                title: None,
                kind: Default::default(),
                version: None,
                target_date: target,
                feature_freeze: None,
                code_freeze: None,
                manager: None,
                milestones: vec![],
                deployment: None,
                labels: Default::default(),
            },
        })
    }

    fn item(self, item: &str, release: &str, team: &str) -> Self {
        self.run(Command::DefineItem {
            item: name(item),
            release: name(release),
            spec: ItemSpec {
                title: item.into(),
                team: name(team),
                component: None,
                acceptance_criteria: vec![],
                labels: vec![],
                due: None,
                estimate: None,
                uses: Default::default(),
                pinned_start: None,
            },
        })
    }

    /// Seed 000's teams: the API lead owns the analytics endpoints of q1; q2 is next.
    fn seed() -> Self {
        ProgramBuilder::new()
            .team("api", &[("mike", Role::TechLead), ("lisa", Role::Member)])
            .team("backend", &[("alex", Role::TechLead)])
            .team("release-office", &[("rita", Role::ReleaseManager)])
            .team("stakeholders", &[("sid", Role::Security)])
            .release("q1", date(2025, 3, 1))
            .release("q2", date(2025, 6, 1))
            .item("endpoints", "q1", "api")
            .item("pipeline", "q1", "backend")
            .item("later", "q2", "api")
    }
}

fn risk_spec(title: &str, probability: RiskLevel, impact: RiskLevel, owner: &str) -> RiskSpec {
    RiskSpec {
        title: title.into(),
        probability,
        impact,
        owner: name(owner),
        mitigation: Some("ship behind the flag, dark-launch the endpoints".into()),
        feature_flag: Some("analytics-v2".into()),
        items: vec![name("endpoints")],
        trigger: Some("endpoints ETA moves past Feb 5".into()),
        review_by: Some(date(2025, 1, 27)),
        labels: Default::default(),
    }
}

fn define(risk: &str, release: &str, spec: RiskSpec) -> Command {
    Command::DefineRisk {
        risk: name(risk),
        release: name(release),
        spec,
    }
}

fn api_slip() -> RiskSpec {
    risk_spec(
        "Analytics API slips",
        RiskLevel::Medium,
        RiskLevel::High,
        "mike",
    )
}

/// Routes every rule test through one place.
fn check(given: &ProgramBuilder, when: Command) -> Result<Vec<Event>, DomainError> {
    decide(&given.state, when, now())
}

fn principal(member: Option<&str>) -> Principal {
    Principal {
        user: member.unwrap_or("viewer").to_owned(),
        admin: false,
        member: member.map(name),
    }
}

#[test]
fn a_new_risk_is_identified_open_and_the_same_declaration_again_decides_nothing() {
    let given = ProgramBuilder::seed();
    let events = check(&given, define("api-slip", "q1", api_slip())).expect("accepted");
    assert!(
        matches!(&events[..], [Event::RiskIdentified { risk, release, .. }] if risk.as_str() == "api-slip" && release.as_str() == "q1"),
        "{events:?}"
    );
    assert!(events[0].describe().contains("exposure 6"), "{events:?}");
    let given = given.run(define("api-slip", "q1", api_slip()));
    let risk = &given.state.risks()["api-slip"];
    assert_eq!(risk.status, RiskStatus::Open);
    assert_eq!(risk.spec.exposure(), 6);
    assert_eq!(
        given.state.stream_version("release:q1"),
        // q1's stream held its plan and its two items before.
        3 + 1
    );
    assert_eq!(
        check(&given, define("api-slip", "q1", api_slip())),
        Ok(vec![])
    );
}

#[test]
fn redefining_a_risk_keeps_its_status() {
    let given = ProgramBuilder::seed()
        .run(define("api-slip", "q1", api_slip()))
        .run(Command::ChangeRiskStatus {
            risk: name("api-slip"),
            to: RiskStatus::Mitigated,
        });
    let mut changed = api_slip();
    changed.probability = RiskLevel::Low;
    let given = given.run(define("api-slip", "q1", changed));
    let risk = &given.state.risks()["api-slip"];
    assert_eq!(risk.status, RiskStatus::Mitigated);
    assert_eq!(risk.spec.exposure(), 3);
}

#[test]
fn a_risk_names_an_existing_owner_and_items_of_its_own_release() {
    let given = ProgramBuilder::seed();
    let mut unknown_owner = api_slip();
    unknown_owner.owner = name("mikey");
    assert!(
        matches!(
            check(&given, define("r", "q1", unknown_owner)),
            Err(DomainError::NotFound { kind: "member", suggestion: Some(s), .. }) if s == "mike"
        ),
        "an unknown owner is refused with the closest handle"
    );
    let mut other_release = api_slip();
    other_release.items = vec![name("later")];
    let error = check(&given, define("r", "q1", other_release)).expect_err("other release");
    assert!(
        error
            .to_string()
            .contains("item `later` is in release `q2`"),
        "{error}"
    );
    let mut unknown_item = api_slip();
    unknown_item.items = vec![name("endpoint")];
    assert!(matches!(
        check(&given, define("r", "q1", unknown_item)),
        Err(DomainError::NotFound { kind: "item", .. })
    ));
    let mut twice = api_slip();
    twice.items = vec![name("endpoints"), name("endpoints")];
    assert!(matches!(
        check(&given, define("r", "q1", twice)),
        Err(DomainError::Duplicate { .. })
    ));
    assert!(matches!(
        check(&given, define("r", "q3", api_slip())),
        Err(DomainError::NotFound {
            kind: "release",
            ..
        })
    ));
    let mut untitled = api_slip();
    untitled.title = "  ".into();
    assert!(check(&given, define("r", "q1", untitled)).is_err());
}

#[test]
fn a_risk_stays_in_its_release() {
    let given = ProgramBuilder::seed().run(define("api-slip", "q1", api_slip()));
    let mut spec = api_slip();
    spec.items = vec![];
    let error = check(&given, define("api-slip", "q2", spec)).expect_err("moved");
    assert!(
        error.to_string().contains("belongs to release `q1`"),
        "{error}"
    );
}

#[test]
fn risk_texts_and_review_dates_are_bounded_like_other_free_text() {
    let given = ProgramBuilder::seed();
    let mut long = api_slip();
    long.mitigation = Some("x".repeat(lockstep_core::limits::MAX_SENTENCE_CHARS + 1));
    assert!(matches!(
        check(&given, define("r", "q1", long)),
        Err(DomainError::Invalid { field, .. }) if field == "spec.mitigation"
    ));
    let mut bell = api_slip();
    bell.title = "API\u{7} slips".into();
    assert!(check(&given, define("r", "q1", bell)).is_err());
    let mut far = api_slip();
    far.review_by = Some(date(9999, 1, 1));
    assert!(matches!(
        check(&given, define("r", "q1", far)),
        Err(DomainError::Invalid { field, .. }) if field == "spec.reviewBy"
    ));
}

#[test]
fn a_status_change_records_before_and_after_and_repeating_it_decides_nothing() {
    let given = ProgramBuilder::seed().run(define("api-slip", "q1", api_slip()));
    let to_occurred = Command::ChangeRiskStatus {
        risk: name("api-slip"),
        to: RiskStatus::Occurred,
    };
    let events = check(&given, to_occurred.clone()).expect("moved");
    assert_eq!(
        events,
        vec![Event::RiskStatusChanged {
            risk: name("api-slip"),
            from: RiskStatus::Open,
            to: RiskStatus::Occurred,
        }]
    );
    assert_eq!(events[0].describe(), "risk api-slip: open → occurred");
    assert_eq!(
        given.state.stream_of(&events[0]),
        "release:q1",
        "a risk's events are on its release's stream"
    );
    let given = given.run(to_occurred.clone());
    assert_eq!(check(&given, to_occurred), Ok(vec![]));
    assert!(matches!(
        check(
            &given,
            Command::ChangeRiskStatus {
                risk: name("api-slp"),
                to: RiskStatus::Closed,
            }
        ),
        Err(DomainError::NotFound { kind: "risk", suggestion: Some(s), .. }) if s == "api-slip"
    ));
}

#[test]
fn risks_of_a_shipped_release_can_still_be_closed_but_not_declared() {
    let given = ProgramBuilder::seed()
        .run(define("api-slip", "q1", api_slip()))
        .run(Command::ChangeReleaseState {
            release: name("q1"),
            to: ReleaseState::Cancelled,
        });
    assert!(
        check(
            &given,
            Command::ChangeRiskStatus {
                risk: name("api-slip"),
                to: RiskStatus::Closed,
            }
        )
        .is_ok()
    );
    let mut spec = api_slip();
    spec.title = "changed".into();
    assert!(matches!(
        check(&given, define("api-slip", "q1", spec)),
        Err(DomainError::ReleaseClosed { .. })
    ));
}

#[test]
fn live_risks_are_ordered_by_exposure_then_name() {
    let low = risk_spec("Docs late", RiskLevel::Low, RiskLevel::Low, "lisa");
    let staging = risk_spec(
        "Staging capacity",
        RiskLevel::High,
        RiskLevel::Medium,
        "alex",
    );
    let given = ProgramBuilder::seed()
        .run(define("docs", "q1", low))
        .run(define("api-slip", "q1", api_slip()))
        .run(define("staging", "q1", staging.clone()))
        .run(define("closed-one", "q1", staging))
        .run(Command::ChangeRiskStatus {
            risk: name("closed-one"),
            to: RiskStatus::Closed,
        });
    let order: Vec<&str> = given
        .state
        .live_risks_of(&name("q1"))
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(order, ["api-slip", "staging", "docs"]);
    let risk = &given.state.risks()["api-slip"];
    assert!(risk.review_overdue(date(2025, 1, 28)));
    assert!(!risk.review_overdue(date(2025, 1, 27)));
}

#[test]
fn the_owners_team_and_release_managers_move_a_risk_and_viewers_and_others_do_not() {
    let given = ProgramBuilder::seed().run(define("api-slip", "q1", api_slip()));
    let close = Command::ChangeRiskStatus {
        risk: name("api-slip"),
        to: RiskStatus::Closed,
    };
    for allowed in ["mike", "lisa", "rita"] {
        assert!(
            authorize(&given.state, &principal(Some(allowed)), &close).is_ok(),
            "{allowed}"
        );
    }
    for refused in [Some("alex"), Some("sid"), None] {
        assert!(
            authorize(&given.state, &principal(refused), &close).is_err(),
            "{refused:?}"
        );
    }
    // A team member registers risks their team owns, and cannot hand one to another team.
    let mine = define("new", "q1", api_slip());
    assert!(authorize(&given.state, &principal(Some("lisa")), &mine).is_ok());
    assert!(authorize(&given.state, &principal(Some("alex")), &mine).is_err());
    let mut handed_over = api_slip();
    handed_over.owner = name("alex");
    let handed_over = define("api-slip", "q1", handed_over);
    assert!(authorize(&given.state, &principal(Some("alex")), &handed_over).is_err());
    assert!(authorize(&given.state, &principal(Some("mike")), &handed_over).is_err());
}

#[test]
fn a_risk_in_the_same_batch_as_its_items_is_accepted() {
    let given = ProgramBuilder::seed();
    let mut spec = api_slip();
    spec.items = vec![name("fresh")];
    let item = Command::DefineItem {
        item: name("fresh"),
        release: name("q1"),
        spec: ItemSpec {
            title: "fresh".into(),
            team: name("api"),
            component: None,
            acceptance_criteria: vec![],
            labels: vec![],
            due: None,
            estimate: None,
            uses: Default::default(),
            pinned_start: None,
        },
    };
    let events =
        decide_all(&given.state, vec![item, define("r", "q1", spec)], now()).expect("accepted");
    assert_eq!(events.len(), 2);
}
