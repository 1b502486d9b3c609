//! Domain rules: given a program, when a command, then events or an error.

use jiff::civil::{Date, date};
use lockstep_core::{
    Command, ComponentSpec, DomainError, Event, ItemSpec, ItemStatus, Name, ReleaseSpec,
    ReleaseState, State, StatusUpdate, TeamSpec, decide, decide_all,
};

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("test names are valid")
}

fn now() -> jiff::Timestamp {
    "2025-01-20T12:00:00Z".parse().expect("valid timestamp")
}

/// Builds a program through the same commands a user would issue.
struct ProgramBuilder {
    state: State,
    position: i64,
}

impl ProgramBuilder {
    fn new() -> Self {
        ProgramBuilder {
            state: State::new(),
            position: 0,
        }
    }

    fn run(mut self, command: Command) -> Self {
        let events = decide(&self.state, command.clone(), now())
            .unwrap_or_else(|error| panic!("fixture command {command:?} failed: {error}"));
        for event in &events {
            self.position += 1;
            self.state.apply(self.position, event);
        }
        self
    }

    fn team(self, team: &str) -> Self {
        let spec = TeamSpec {
            title: None,
            time_zone: "UTC".into(),
            working_hours: Default::default(),
            holidays: vec![],
            members: vec![],
            on_call: None,
            labels: Default::default(),
        };
        self.run(Command::DefineTeam {
            team: name(team),
            spec,
        })
    }

    fn component(self, component: &str, team: &str) -> Self {
        let spec = ComponentSpec {
            title: None,
            team: name(team),
            repository: None,
            labels: Default::default(),
            depends_on: Vec::new(),
        };
        self.run(Command::DefineComponent {
            component: name(component),
            spec,
        })
    }

    fn release(self, release: &str, target: Date, feature_freeze: Option<Date>) -> Self {
        self.run(Command::DefineRelease {
            release: name(release),
            spec: release_spec(target, feature_freeze, None),
        })
    }

    fn item(self, item: &str, release: &str, team: &str) -> Self {
        self.run(Command::DefineItem {
            item: name(item),
            release: name(release),
            spec: item_spec(item, team),
        })
    }

    fn depends(self, blocked: &str, blocker: &str) -> Self {
        self.run(dependency(blocker, blocked))
    }

    fn release_state(self, release: &str, to: ReleaseState) -> Self {
        self.run(Command::ChangeReleaseState {
            release: name(release),
            to,
        })
    }

    /// The seed's chain: backend → api → frontend, one release.
    fn seed_chain() -> Self {
        ProgramBuilder::new()
            .team("backend")
            .team("api")
            .team("frontend")
            .release("q1", date(2025, 3, 1), Some(date(2025, 2, 15)))
            .item("pipeline", "q1", "backend")
            .item("endpoints", "q1", "api")
            .item("dashboard", "q1", "frontend")
            .depends("endpoints", "pipeline")
            .depends("dashboard", "endpoints")
    }
}

fn release_spec(
    target: Date,
    feature_freeze: Option<Date>,
    code_freeze: Option<Date>,
) -> ReleaseSpec {
    ReleaseSpec {
        title: None,
        kind: Default::default(),
        version: None,
        target_date: target,
        feature_freeze,
        code_freeze,
        manager: None,
        milestones: vec![],
        deployment: None,
        labels: Default::default(),
    }
}

fn item_spec(title: &str, team: &str) -> ItemSpec {
    ItemSpec {
        title: title.into(),
        team: name(team),
        component: None,
        acceptance_criteria: vec![],
        labels: vec![],
        due: None,
        estimate: None,
        uses: Default::default(),
        pinned_start: None,
    }
}

fn dependency(blocker: &str, blocked: &str) -> Command {
    Command::DefineDependency {
        blocker: name(blocker),
        blocked: name(blocked),
        need_by: None,
        buffer_days: 0,
    }
}

/// Routes every rule test through one place.
fn check(given: &ProgramBuilder, when: Command) -> Result<Vec<Event>, DomainError> {
    decide(&given.state, when, now())
}

#[test]
fn rejects_dependency_that_closes_a_cycle_and_names_it() {
    let given = ProgramBuilder::seed_chain();
    let error = check(&given, dependency("dashboard", "pipeline")).expect_err("cycle");
    assert_eq!(
        error,
        DomainError::CycleDetected {
            cycle: vec![
                name("pipeline"),
                name("endpoints"),
                name("dashboard"),
                name("pipeline")
            ]
        }
    );
    assert_eq!(
        error.to_string(),
        "dependency would create a cycle: pipeline → endpoints → dashboard → pipeline"
    );
}

#[test]
fn rejects_self_dependency() {
    let given = ProgramBuilder::seed_chain();
    assert!(matches!(
        check(&given, dependency("pipeline", "pipeline")),
        Err(DomainError::CycleDetected { .. })
    ));
}

#[test]
fn batch_cycle_is_found_once_over_the_whole_graph() {
    let given = ProgramBuilder::seed_chain();
    let errors = decide_all(
        &given.state,
        vec![dependency("dashboard", "pipeline")],
        now(),
    )
    .expect_err("cycle");
    // Reported at the one dependency of the batch that closes it.
    assert!(
        matches!(&errors[..], [(Some(0), DomainError::CycleDetected { cycle })] if cycle.len() == 4),
        "{errors:?}"
    );
}

#[test]
fn a_refused_definition_is_not_reported_again_as_unknown_by_what_names_it() {
    let given = ProgramBuilder::seed_chain();
    // An item on a team that does not exist, then a dependency on that item.
    let errors = decide_all(
        &given.state,
        vec![
            Command::DefineItem {
                item: name("export"),
                release: name("q1"),
                spec: item_spec("Export", "data"),
            },
            dependency("export", "dashboard"),
            dependency("nowhere", "dashboard"),
        ],
        now(),
    )
    .expect_err("refused");
    let messages: Vec<(Option<usize>, String)> = errors
        .iter()
        .map(|(index, error)| (*index, error.to_string()))
        .collect();
    // The item's own error, and the dependency on a name nobody defined; not
    // "unknown item `export`".
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0].0, Some(0));
    assert!(
        messages[0].1.contains("unknown team `data`"),
        "{messages:?}"
    );
    assert_eq!(messages[1].0, Some(2));
    assert!(
        messages[1].1.contains("unknown item `nowhere`"),
        "{messages:?}"
    );
}

#[test]
fn estimates_and_buffers_beyond_ten_years_are_refused_as_typos() {
    let given = ProgramBuilder::seed_chain();
    let mut spec = item_spec("Export", "api");
    spec.estimate = Some(lockstep_core::Estimate {
        optimistic: 5,
        likely: 8,
        pessimistic: u32::MAX,
    });
    let error = check(
        &given,
        Command::DefineItem {
            item: name("export"),
            release: name("q1"),
            spec: spec.clone(),
        },
    )
    .expect_err("refused");
    assert!(error.to_string().contains("about ten years"), "{error}");
    spec.estimate = Some(lockstep_core::Estimate {
        optimistic: 5,
        likely: 8,
        pessimistic: 2_600,
    });
    check(
        &given,
        Command::DefineItem {
            item: name("export"),
            release: name("q1"),
            spec,
        },
    )
    .expect("ten years is allowed");
    let error = check(
        &given,
        Command::DefineDependency {
            blocker: name("pipeline"),
            blocked: name("dashboard"),
            need_by: Some(date(2025, 2, 10)),
            buffer_days: u32::MAX,
        },
    )
    .expect_err("refused");
    assert!(error.to_string().contains("about ten years"), "{error}");
}

#[test]
fn adding_days_past_the_calendar_is_none_not_a_panic() {
    let day = date(2025, 2, 1);
    assert_eq!(lockstep_core::add_days(day, 3), Some(date(2025, 2, 4)));
    assert_eq!(lockstep_core::add_days(day, -1), Some(date(2025, 1, 31)));
    for days in [
        i64::from(u32::MAX),
        -i64::from(u32::MAX),
        i64::MAX,
        i64::MIN,
        3_000_000,
    ] {
        assert_eq!(lockstep_core::add_days(day, days), None, "{days}");
    }
}

#[test]
fn marks_dependencies_added_after_feature_freeze_as_late() {
    let given = ProgramBuilder::seed_chain().item("export", "q1", "api");
    let after_freeze: jiff::Timestamp = "2025-02-16T09:00:00Z".parse().expect("valid");
    let events = decide(
        &given.state,
        dependency("export", "dashboard"),
        after_freeze,
    )
    .expect("allowed");
    assert!(matches!(&events[..], [Event::DependencyAdded { dependency }] if dependency.late));
    let events = check(&given, dependency("export", "dashboard")).expect("allowed");
    assert!(matches!(&events[..], [Event::DependencyAdded { dependency }] if !dependency.late));
    // An item added after the freeze together with its dependency (a program applied
    // for the first time) brings its plan with it: that dependency is no surprise.
    let events = decide_all(
        &given.state,
        vec![
            Command::DefineItem {
                item: name("report"),
                release: name("q1"),
                spec: item_spec("report", "api"),
            },
            dependency("export", "report"),
        ],
        after_freeze,
    )
    .expect("allowed");
    assert!(
        matches!(&events[..], [_, Event::DependencyAdded { dependency }] if !dependency.late),
        "{events:?}"
    );
}

#[test]
fn rejects_freeze_dates_out_of_order() {
    let given = ProgramBuilder::new();
    let spec = release_spec(
        date(2025, 3, 1),
        Some(date(2025, 2, 15)),
        Some(date(2025, 3, 5)),
    );
    let error = check(
        &given,
        Command::DefineRelease {
            release: name("q1"),
            spec,
        },
    )
    .expect_err("out of order");
    assert_eq!(
        error.to_string(),
        "codeFreeze (2025-03-05) must be on or before targetDate (2025-03-01)"
    );
}

#[test]
fn unknown_reference_suggests_the_closest_name() {
    let given = ProgramBuilder::seed_chain();
    let when = Command::DefineItem {
        item: name("x"),
        release: name("q1"),
        spec: item_spec("x", "fronted"),
    };
    let error = check(&given, when).expect_err("unknown team");
    assert_eq!(
        error.to_string(),
        "unknown team `fronted` (did you mean `frontend`?)"
    );
}

#[test]
fn an_item_is_released_only_after_what_it_depends_on_is_ready() {
    let given = ProgramBuilder::seed_chain();
    let error = check(
        &given,
        Command::MoveItem {
            item: name("endpoints"),
            to: ItemStatus::Released,
        },
    )
    .expect_err("the pipeline is in planning");
    assert_eq!(
        error.to_string(),
        "status: item `endpoints` cannot be released before what it depends on is ready: `pipeline` (planning)"
    );
    let given = given.run(Command::MoveItem {
        item: name("pipeline"),
        to: ItemStatus::ReadyForRelease,
    });
    check(
        &given,
        Command::MoveItem {
            item: name("endpoints"),
            to: ItemStatus::Released,
        },
    )
    .expect("its blocker is ready");
}

#[test]
fn released_items_cannot_move_back() {
    let given = ProgramBuilder::seed_chain().run(Command::MoveItem {
        item: name("pipeline"),
        to: ItemStatus::Released,
    });
    let error = check(
        &given,
        Command::MoveItem {
            item: name("pipeline"),
            to: ItemStatus::Planning,
        },
    )
    .expect_err("final");
    assert!(matches!(error, DomainError::IllegalItemTransition { .. }));
}

#[test]
fn items_of_a_cancelled_release_cannot_change() {
    let given = ProgramBuilder::seed_chain().release_state("q1", ReleaseState::Cancelled);
    let error = check(
        &given,
        Command::MoveItem {
            item: name("pipeline"),
            to: ItemStatus::Testing,
        },
    )
    .expect_err("closed");
    assert_eq!(
        error.to_string(),
        "release `q1` is cancelled: nothing in it can change"
    );
    let error = check(
        &given,
        Command::DefineItem {
            item: name("new"),
            release: name("q1"),
            spec: item_spec("n", "api"),
        },
    )
    .expect_err("closed");
    assert!(matches!(error, DomainError::ReleaseClosed { .. }));
}

#[test]
fn release_life_cycle_is_enforced() {
    let given = ProgramBuilder::seed_chain();
    let error = check(
        &given,
        Command::ChangeReleaseState {
            release: name("q1"),
            to: ReleaseState::Released,
        },
    )
    .expect_err("planned cannot jump to released");
    assert!(matches!(
        error,
        DomainError::IllegalReleaseTransition { .. }
    ));
    let given = given.release_state("q1", ReleaseState::InProgress);
    let error = check(
        &given,
        Command::ChangeReleaseState {
            release: name("q1"),
            to: ReleaseState::Released,
        },
    )
    .expect_err("nothing is ready");
    assert!(
        error.to_string().contains(
            "cannot be released while 3 of its items are not ready for release: `dashboard` (planning)"
        ),
        "{error}"
    );
    let mut given = given;
    for item in ["pipeline", "endpoints", "dashboard"] {
        given = given.run(Command::MoveItem {
            item: name(item),
            to: ItemStatus::ReadyForRelease,
        });
    }
    let given = given.release_state("q1", ReleaseState::Released);
    let error = check(
        &given,
        Command::ChangeReleaseState {
            release: name("q1"),
            to: ReleaseState::Planned,
        },
    )
    .expect_err("released is final");
    assert!(matches!(
        error,
        DomainError::IllegalReleaseTransition { .. }
    ));
}

#[test]
fn same_declaration_twice_decides_nothing() {
    let given = ProgramBuilder::seed_chain().component("pipeline-svc", "backend");
    assert_eq!(
        check(&given, dependency("pipeline", "endpoints")),
        Ok(vec![])
    );
    let spec = ComponentSpec {
        title: None,
        team: name("backend"),
        repository: None,
        labels: Default::default(),
        depends_on: Vec::new(),
    };
    assert_eq!(
        check(
            &given,
            Command::DefineComponent {
                component: name("pipeline-svc"),
                spec
            }
        ),
        Ok(vec![])
    );
    let update = StatusUpdate {
        date: date(2025, 1, 28),
        text: "Started, on track".into(),
    };
    let given = given.run(Command::PostUpdate {
        item: name("endpoints"),
        update: update.clone(),
    });
    assert_eq!(
        check(
            &given,
            Command::PostUpdate {
                item: name("endpoints"),
                update
            }
        ),
        Ok(vec![])
    );
}

#[test]
fn eta_change_records_before_and_after() {
    let given = ProgramBuilder::seed_chain().run(Command::SetEta {
        item: name("endpoints"),
        eta: Some(date(2025, 2, 5)),
    });
    let events = check(
        &given,
        Command::SetEta {
            item: name("endpoints"),
            eta: Some(date(2025, 2, 10)),
        },
    )
    .expect("ok");
    assert_eq!(
        events,
        vec![Event::ItemEtaChanged {
            item: name("endpoints"),
            from: Some(date(2025, 2, 5)),
            to: Some(date(2025, 2, 10))
        }]
    );
}

#[test]
fn state_counts_events_per_stream() {
    let given = ProgramBuilder::seed_chain();
    assert_eq!(given.state.stream_version("team:api"), 1);
    // Release planned, three items, two dependencies.
    assert_eq!(given.state.stream_version("release:q1"), 6);
}

#[test]
fn snapshot_round_trips_through_json() {
    let given = ProgramBuilder::seed_chain();
    let json = serde_json::to_string(&given.state).expect("serializable");
    let restored: State = serde_json::from_str(&json).expect("deserializable");
    assert_eq!(restored.dependencies().count(), 2);
    assert_eq!(restored.blocked_by(&name("dashboard")).count(), 1);
    assert_eq!(restored.stream_version("release:q1"), 6);
}

#[test]
fn two_components_cannot_share_a_repository() {
    let define = |component: &str, repository: &str| Command::DefineComponent {
        component: name(component),
        spec: ComponentSpec {
            title: None,
            team: name("backend"),
            repository: Some(repository.into()),
            labels: Default::default(),
            depends_on: Vec::new(),
        },
    };
    let given =
        ProgramBuilder::seed_chain().run(define("pipeline-svc", "github.com/acme/pipeline"));
    // Another spelling of the same repository is the same repository.
    let error = check(
        &given,
        define("copy", "https://github.com/Acme/pipeline.git"),
    )
    .expect_err("shared repository");
    assert!(
        error
            .to_string()
            .contains("is already component `pipeline-svc`'s"),
        "{error}"
    );
    // The component itself may be declared again with it.
    assert_eq!(
        check(&given, define("pipeline-svc", "github.com/acme/pipeline")),
        Ok(vec![])
    );
}

fn acknowledge(escalations: &[&str]) -> Command {
    Command::AcknowledgeEscalation {
        item: name("endpoints"),
        by: "mike".to_owned(),
        escalations: escalations.iter().map(|e| (*e).to_owned()).collect(),
    }
}

#[test]
fn acknowledging_an_escalation_records_it_once_and_only_what_is_new() {
    let given = ProgramBuilder::seed_chain();
    let events = check(&given, acknowledge(&["release:q1@7", "release:q1@7"])).expect("ok");
    assert_eq!(
        events,
        vec![Event::EscalationAcknowledged {
            item: name("endpoints"),
            by: "mike".to_owned(),
            at: now(),
            escalations: vec!["release:q1@7".to_owned()],
        }]
    );
    assert_eq!(
        events[0].describe(),
        "item endpoints: escalation acknowledged by mike"
    );
    let given = given.run(acknowledge(&["release:q1@7"]));
    assert!(
        given
            .state
            .is_acknowledged(&name("endpoints"), "release:q1@7")
    );
    assert_eq!(
        check(&given, acknowledge(&["release:q1@7"])).expect("ok"),
        [],
        "twice is harmless"
    );
    assert_eq!(
        check(&given, acknowledge(&[])).expect("ok"),
        [],
        "nothing escalated"
    );
    let newer = check(&given, acknowledge(&["release:q1@7", "release:q1@9"])).expect("ok");
    assert!(
        matches!(&newer[..], [Event::EscalationAcknowledged { escalations, .. }] if escalations == &["release:q1@9"]),
        "{newer:?}"
    );
}

#[test]
fn acknowledging_an_unknown_item_is_refused() {
    let error = check(
        &ProgramBuilder::seed_chain(),
        Command::AcknowledgeEscalation {
            item: name("endpointz"),
            by: "mike".to_owned(),
            escalations: vec!["release:q1@7".to_owned()],
        },
    )
    .expect_err("unknown item");
    assert!(
        matches!(error, DomainError::NotFound { kind: "item", .. }),
        "{error}"
    );
}
