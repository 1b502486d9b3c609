//! Signals as events: given a program, when a signal, then a recorded signal, no
//! change (a redelivery) or an error (unknown component, out of order).

use lockstep_core::{
    CiConclusion, Command, ComponentSpec, DomainError, EnvironmentSpec, Event, Name, Signal,
    SignalKind, SignalReading, State, TeamSpec, Tier, decide,
};

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("test names are valid")
}

fn at(raw: &str) -> jiff::Timestamp {
    raw.parse().expect("valid timestamp")
}

/// A program with the API team's `analytics-api` component and a staging environment.
fn given() -> State {
    let mut state = State::new();
    let commands = vec![
        Command::DefineTeam {
            team: name("api"),
            spec: TeamSpec {
                title: None,
                time_zone: "UTC".into(),
                working_hours: Default::default(),
                holidays: vec![],
                members: vec![],
                on_call: None,
                labels: Default::default(),
            },
        },
        Command::DefineComponent {
            component: name("analytics-api"),
            spec: ComponentSpec {
                title: None,
                team: name("api"),
                repository: Some("github.com/acme/analytics-api".into()),
                labels: Default::default(),
                depends_on: Vec::new(),
            },
        },
        Command::DefineEnvironment {
            environment: name("staging"),
            spec: EnvironmentSpec {
                deploy_windows: Vec::new(),
                title: None,
                tier: Tier::Staging,
                labels: Default::default(),
            },
        },
    ];
    let mut position = 0;
    for command in commands {
        for event in decide(&state, command, at("2025-01-01T00:00:00Z")).expect("fixture") {
            position += 1;
            state.apply(position, &event);
        }
    }
    state
}

fn ci(delivery: &str, observed_at: &str, conclusion: CiConclusion) -> Signal {
    Signal {
        component: name("analytics-api"),
        environment: None,
        source: "test".into(),
        delivery: delivery.into(),
        observed_at: at(observed_at),
        reading: SignalReading::Ci {
            workflow: "CI".into(),
            conclusion,
            branch: Some("main".into()),
            commit: None,
        },
    }
}

/// Decides `signal` against `state` and applies what it decided.
fn check(state: &mut State, signal: Signal) -> Result<Vec<Event>, DomainError> {
    let events = decide(
        state,
        Command::RecordSignal { signal },
        at("2025-02-01T00:00:00Z"),
    )?;
    for event in &events {
        let position = state.position() + 1;
        state.apply(position, event);
    }
    Ok(events)
}

#[test]
fn records_a_ci_result_as_the_latest_of_its_kind() {
    let mut state = given();
    let events = check(
        &mut state,
        ci("d1", "2025-01-10T10:00:00Z", CiConclusion::Failure),
    )
    .expect("accepted");
    assert!(matches!(&events[..], [Event::SignalRecorded { .. }]));
    let latest = &state.signals()[&(name("analytics-api"), None, SignalKind::Ci, "CI".into())];
    assert_eq!(latest.delivery, "d1");
    assert_eq!(
        events[0].describe(),
        "component analytics-api: ci CI failure on main"
    );
}

#[test]
fn a_redelivered_signal_changes_nothing() {
    let mut state = given();
    check(
        &mut state,
        ci("d1", "2025-01-10T10:00:00Z", CiConclusion::Failure),
    )
    .expect("accepted");
    let again = check(
        &mut state,
        ci("d1", "2025-01-10T10:00:00Z", CiConclusion::Failure),
    )
    .expect("idempotent");
    assert_eq!(again, vec![]);
}

#[test]
fn rejects_a_signal_older_than_the_latest_of_its_kind() {
    let mut state = given();
    check(
        &mut state,
        ci("d2", "2025-01-10T10:00:00Z", CiConclusion::Success),
    )
    .expect("accepted");
    let error = check(
        &mut state,
        ci("d1", "2025-01-10T09:00:00Z", CiConclusion::Failure),
    )
    .expect_err("out of order");
    assert!(matches!(
        error,
        DomainError::SignalOutOfOrder {
            kind: SignalKind::Ci,
            ..
        }
    ));
}

#[test]
fn rejects_a_signal_observed_in_the_future_beyond_clock_skew() {
    // `check` decides at 2025-02-01T00:00:00Z.
    let mut state = given();
    let error = check(
        &mut state,
        ci("d1", "2025-02-01T00:11:00Z", CiConclusion::Failure),
    )
    .expect_err("eleven minutes ahead");
    assert!(
        matches!(&error, DomainError::Invalid { field, .. } if field == "observedAt"),
        "{error}"
    );
    assert!(state.signals().is_empty(), "nothing recorded");
    check(
        &mut state,
        ci("d2", "2025-02-01T00:04:00Z", CiConclusion::Success),
    )
    .expect("four minutes ahead is clock skew");
}

#[test]
fn an_older_sample_of_another_kind_is_in_order() {
    let mut state = given();
    check(
        &mut state,
        ci("d2", "2025-01-10T10:00:00Z", CiConclusion::Success),
    )
    .expect("accepted");
    let mut bugs = ci("b1", "2025-01-10T09:00:00Z", CiConclusion::Success);
    bugs.reading = SignalReading::Bugs {
        critical: 0,
        high: 1,
        medium: 0,
        low: 0,
    };
    check(&mut state, bugs).expect("other kind, other clock");
}

#[test]
fn an_older_run_of_another_workflow_is_in_order() {
    let mut state = given();
    check(
        &mut state,
        ci("d2", "2025-01-10T10:00:00Z", CiConclusion::Success),
    )
    .expect("accepted");
    let mut lint = ci("d1", "2025-01-10T09:00:00Z", CiConclusion::Failure);
    if let SignalReading::Ci { workflow, .. } = &mut lint.reading {
        *workflow = "Lint".into();
    }
    check(&mut state, lint).expect("another workflow, another clock");
    assert_eq!(state.signals_of(&name("analytics-api")).count(), 2);
}

#[test]
fn rejects_a_signal_for_an_unknown_component_with_a_suggestion() {
    let mut state = given();
    let mut signal = ci("d1", "2025-01-10T10:00:00Z", CiConclusion::Success);
    signal.component = name("analytics-apl");
    let error = check(&mut state, signal).expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown component `analytics-apl` (did you mean `analytics-api`?)"
    );
}

#[test]
fn rejects_a_signal_for_an_unknown_environment() {
    let mut state = given();
    let mut signal = ci("d1", "2025-01-10T10:00:00Z", CiConclusion::Success);
    signal.environment = Some(name("stagin"));
    let error = check(&mut state, signal).expect_err("unknown");
    assert!(matches!(
        error,
        DomainError::NotFound {
            kind: "environment",
            ..
        }
    ));
}

#[test]
fn finds_a_component_by_any_spelling_of_its_repository() {
    let state = given();
    for spelling in [
        "github.com/acme/analytics-api",
        "https://github.com/Acme/analytics-api.git",
        "git@github.com:acme/analytics-api",
    ] {
        let found = state
            .component_by_repository(spelling)
            .map(|c| c.name.as_str());
        assert_eq!(found, Some("analytics-api"), "{spelling}");
    }
    assert!(
        state
            .component_by_repository("github.com/acme/other")
            .is_none()
    );
}

#[test]
fn signals_survive_a_snapshot() {
    let mut state = given();
    check(
        &mut state,
        ci("d1", "2025-01-10T10:00:00Z", CiConclusion::Failure),
    )
    .expect("accepted");
    let json = serde_json::to_string(&state).expect("serializes");
    let back: State = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back.signals(), state.signals());
    assert!(back.has_signal_delivery("d1"));
}

#[test]
fn issue_severity_is_read_from_the_labels_trackers_use() {
    use lockstep_core::IssueSeverity;
    for (label, severity) in [
        ("critical", Some(IssueSeverity::Critical)),
        ("P0", Some(IssueSeverity::Critical)),
        ("priority: P1", Some(IssueSeverity::High)),
        ("severity::high", Some(IssueSeverity::High)),
        ("sev3", Some(IssueSeverity::Medium)),
        ("S4", Some(IssueSeverity::Low)),
        ("bug", None),
        ("enhancement", None),
    ] {
        assert_eq!(IssueSeverity::from_label(label), severity, "{label}");
    }
    // The worst label wins; none means untriaged.
    assert_eq!(
        IssueSeverity::from_labels(["bug", "low", "P1"]),
        Some(IssueSeverity::High)
    );
    assert_eq!(IssueSeverity::from_labels(["bug"]), None);
}
