//! Runbooks and deployment runs: given a program with a release-day plan, when run
//! commands and signals, then events, state or an error.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use lockstep_core::contract::ComponentVersion;
use lockstep_core::run::{RunOptions, RunStatus, StepStatus};
use lockstep_core::runbook::{Runbook, generate};
use lockstep_core::{
    BlackoutSpec, Command, ComponentSpec, Contacts, DeploymentPlan, DeploymentStep, DomainError,
    EnvironmentSpec, Event, ItemSpec, Member, Name, ReleaseSpec, ReleaseState, Role,
    RollbackTrigger, Signal, SignalReading, State, TeamSpec, Tier, decide,
};

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("test names are valid")
}

fn version(raw: &str) -> ComponentVersion {
    ComponentVersion::parse(raw).expect("valid version")
}

fn at(raw: &str) -> Timestamp {
    raw.parse().expect("valid timestamp")
}

fn zones() -> BTreeMap<String, TimeZone> {
    BTreeMap::from([("UTC".to_owned(), TimeZone::UTC)])
}

fn team(handles: [&str; 2]) -> TeamSpec {
    TeamSpec {
        title: None,
        time_zone: "UTC".into(),
        working_hours: Default::default(),
        holidays: vec![],
        members: handles
            .iter()
            .map(|h| Member {
                handle: name(h),
                name: None,
                email: Some(format!("{h}@example.com")),
                roles: vec![Role::TechLead],
            })
            .collect(),
        on_call: Some(Contacts {
            primary: name(handles[0]),
            backup: Some(name(handles[1])),
        }),
        labels: Default::default(),
    }
}

/// Builds the seed's chain backend → api → frontend, with a plan that lists the
/// steps in the wrong order at the same time, so only the dependency graph can order
/// them.
struct ProgramBuilder {
    commands: Vec<Command>,
}

impl ProgramBuilder {
    fn seed() -> ProgramBuilder {
        let mut commands = vec![Command::DefineEnvironment {
            environment: name("production"),
            spec: EnvironmentSpec {
                deploy_windows: Vec::new(),
                title: None,
                tier: Tier::Production,
                labels: Default::default(),
            },
        }];
        for (team_name, handles, component) in [
            ("backend", ["alex", "emma"], "data-pipeline"),
            ("api", ["mike", "lisa"], "analytics-api"),
            ("frontend", ["sarah", "john"], "dashboard-ui"),
        ] {
            commands.push(Command::DefineTeam {
                team: name(team_name),
                spec: team(handles),
            });
            commands.push(Command::DefineComponent {
                component: name(component),
                spec: ComponentSpec {
                    title: None,
                    team: name(team_name),
                    repository: None,
                    labels: Default::default(),
                    depends_on: Vec::new(),
                },
            });
        }
        // The plan names the versions of the frontend and the pipeline, not the API's.
        let step = |component: &str| DeploymentStep {
            component: name(component),
            at: jiff::civil::time(9, 0, 0, 0),
            title: Some(format!("Deploy {component}")),
            minutes: 30,
            version: match component {
                "dashboard-ui" => Some(version("3.2.0")),
                "data-pipeline" => Some(version("2.0.0")),
                _ => None,
            },
        };
        commands.push(Command::DefineRelease {
            release: name("q1"),
            spec: ReleaseSpec {
                title: Some("Q1 2025".into()),
                kind: Default::default(),
                version: None,
                target_date: jiff::civil::date(2025, 3, 1),
                feature_freeze: None,
                code_freeze: None,
                manager: None,
                milestones: vec![],
                deployment: Some(DeploymentPlan {
                    environment: name("production"),
                    time_zone: "UTC".into(),
                    steps: vec![
                        step("dashboard-ui"),
                        step("analytics-api"),
                        step("data-pipeline"),
                    ],
                    verification: vec!["Run smoke tests".into()],
                    rollback_triggers: vec![
                        RollbackTrigger {
                            signal: "error-rate".into(),
                            above: Some(5.0),
                            for_minutes: Some(10),
                            description: Some("Error rate >5% for 10 min".into()),
                        },
                        RollbackTrigger {
                            signal: "p0-bug".into(),
                            above: None,
                            for_minutes: None,
                            description: None,
                        },
                        RollbackTrigger {
                            signal: "integration-failure".into(),
                            above: None,
                            for_minutes: None,
                            description: Some("Integration failure".into()),
                        },
                    ],
                }),
                labels: Default::default(),
            },
        });
        for (item, team_name, component) in [
            ("pipeline", "backend", "data-pipeline"),
            ("endpoints", "api", "analytics-api"),
            ("dashboard", "frontend", "dashboard-ui"),
        ] {
            commands.push(Command::DefineItem {
                item: name(item),
                release: name("q1"),
                spec: ItemSpec {
                    title: item.into(),
                    team: name(team_name),
                    component: Some(name(component)),
                    acceptance_criteria: vec![],
                    labels: vec![],
                    due: None,
                    estimate: None,
                    uses: Default::default(),
                    pinned_start: None,
                },
            });
        }
        for (blocker, blocked) in [("pipeline", "endpoints"), ("endpoints", "dashboard")] {
            commands.push(Command::DefineDependency {
                blocker: name(blocker),
                blocked: name(blocked),
                need_by: None,
                buffer_days: 0,
            });
        }
        commands.push(Command::DefineIntegrationTask {
            task: name("api-backend"),
            release: name("q1"),
            spec: lockstep_core::IntegrationTaskSpec {
                title: "API + Backend".into(),
                phase: lockstep_core::IntegrationPhase::ComponentPairs,
                milestone: None,
                components: vec![name("analytics-api"), name("data-pipeline")],
                owners: vec![],
                due: None,
                environment: None,
                scenarios: vec![lockstep_core::Scenario {
                    title: "Endpoints read pipeline aggregates".into(),
                    result: Default::default(),
                }],
            },
        });
        ProgramBuilder { commands }
    }

    fn blackout(mut self, start: &str, end: &str) -> ProgramBuilder {
        self.commands.push(Command::DefineBlackout {
            blackout: name("quarter-close"),
            spec: BlackoutSpec {
                title: Some("Quarter close".into()),
                time_zone: "UTC".into(),
                start: start.parse().expect("datetime"),
                end: end.parse().expect("datetime"),
                recurrence: None,
                cron: None,
                environments: vec![],
                reason: None,
                labels: Default::default(),
            },
        });
        self
    }

    /// A weekend freeze every week from Saturday 2025-01-04.
    fn weekend_freeze(mut self) -> ProgramBuilder {
        self.commands.push(Command::DefineBlackout {
            blackout: name("weekend-freeze"),
            spec: BlackoutSpec {
                title: Some("Weekend freeze".into()),
                time_zone: "UTC".into(),
                start: "2025-01-04T00:00".parse().expect("datetime"),
                end: "2025-01-06T00:00".parse().expect("datetime"),
                recurrence: Some("FREQ=WEEKLY".parse().expect("rule")),
                cron: None,
                environments: vec![],
                reason: None,
                labels: Default::default(),
            },
        });
        self
    }

    fn build(self) -> State {
        let mut state = State::new();
        let mut position = 0;
        for command in self.commands {
            for event in decide(&state, command, at("2025-01-01T00:00:00Z")).expect("fixture") {
                position += 1;
                state.apply(position, &event);
            }
        }
        state
    }
}

/// Decides `command` at `now` and applies what it decided.
fn check(state: &mut State, command: Command, now: &str) -> Result<Vec<Event>, DomainError> {
    let events = decide(state, command, at(now))?;
    for event in &events {
        let position = state.position() + 1;
        state.apply(position, event);
    }
    Ok(events)
}

fn runbook(state: &State) -> Runbook {
    generate(state, &name("q1"), &zones(), at("2025-03-01T08:55:00Z")).expect("runbook")
}

/// The fixture records no readiness signals, so its release is no-go: most tests start
/// their run with an override.
fn no_go_overridden() -> RunOptions {
    RunOptions {
        auto_rollback: false,
        break_glass: Some("the fixture records no readiness signals".into()),
    }
}

fn start_run(state: &mut State, options: RunOptions) -> Result<Vec<Event>, DomainError> {
    let runbook = runbook(state);
    check(
        state,
        Command::StartRun {
            release: name("q1"),
            runbook: Box::new(runbook),
            by: "rita".into(),
            options,
        },
        "2025-03-01T08:55:00Z",
    )
}

fn step(
    state: &mut State,
    step: &str,
    to: StepStatus,
    now: &str,
) -> Result<Vec<Event>, DomainError> {
    // As the edges do: the blackouts in force now, beside the run's own runbook.
    let freezes = lockstep_core::runbook::freezes_at(state, &name("q1"), &zones(), at(now));
    check(
        state,
        Command::ChangeRunStep {
            release: name("q1"),
            step: name(step),
            to,
            by: "alex".into(),
            note: None,
            break_glass: None,
            freezes,
        },
        now,
    )
}

fn deploy(state: &mut State, component: &str, minute: u32) {
    for (offset, to) in [
        (0, StepStatus::Running),
        (1, StepStatus::Verifying),
        (2, StepStatus::Done),
    ] {
        let now = format!("2025-03-01T09:{:02}:00Z", minute + offset);
        step(state, component, to, &now).expect("step moves");
    }
}

fn error_rate(delivery: &str, observed_at: &str, percent: u32) -> Command {
    Command::RecordSignal {
        signal: Signal {
            component: name("analytics-api"),
            environment: Some(name("production")),
            source: "test".into(),
            delivery: delivery.into(),
            observed_at: at(observed_at),
            reading: SignalReading::ErrorRate {
                basis_points: percent * 100,
            },
        },
    }
}

#[test]
fn runbook_orders_steps_by_dependency_not_by_plan_listing() {
    let state = ProgramBuilder::seed().build();
    let runbook = runbook(&state);
    let order: Vec<&str> = runbook.steps.iter().map(|s| s.component.as_str()).collect();
    assert_eq!(order, ["data-pipeline", "analytics-api", "dashboard-ui"]);
    assert_eq!(runbook.steps[1].after, [name("data-pipeline")]);
    let api = &runbook.steps[1];
    assert_eq!(
        api.primary.as_ref().map(|c| c.handle.as_str()),
        Some("mike")
    );
    assert_eq!(api.backup.as_ref().map(|c| c.handle.as_str()), Some("lisa"));
    assert!(
        api.verification
            .contains(&"Error rate of analytics-api stays at or below 5%".to_owned())
    );
    assert_eq!(
        api.starts_at,
        Some(at("2025-03-01T09:30:00Z")),
        "waits for the pipeline"
    );
    let markdown = runbook.to_markdown();
    assert!(
        markdown.contains("1. Deploy data-pipeline - 9:00 AM"),
        "{markdown}"
    );
    assert!(
        markdown.contains("- Error rate >5% for 10 min"),
        "{markdown}"
    );
    assert!(
        markdown.contains("api: @mike (primary), @lisa (backup)"),
        "{markdown}"
    );
}

#[test]
fn step_cannot_start_before_its_predecessors_are_done() {
    let mut state = ProgramBuilder::seed().build();
    start_run(&mut state, no_go_overridden()).expect("run starts");
    let refused = step(
        &mut state,
        "analytics-api",
        StepStatus::Running,
        "2025-03-01T09:00:00Z",
    );
    assert_eq!(
        refused,
        Err(DomainError::StepNotReady {
            step: name("analytics-api"),
            waiting: vec![name("data-pipeline")],
        })
    );
    deploy(&mut state, "data-pipeline", 0);
    step(
        &mut state,
        "analytics-api",
        StepStatus::Running,
        "2025-03-01T09:05:00Z",
    )
    .expect("ready now");
}

#[test]
fn a_transition_that_skips_a_state_or_repeats_one_is_refused() {
    let mut state = ProgramBuilder::seed().build();
    start_run(&mut state, no_go_overridden()).expect("run starts");
    let skipped = step(
        &mut state,
        "data-pipeline",
        StepStatus::Done,
        "2025-03-01T09:00:00Z",
    );
    assert_eq!(
        skipped,
        Err(DomainError::IllegalStepTransition {
            step: name("data-pipeline"),
            from: StepStatus::Pending,
            to: StepStatus::Done,
        })
    );
    step(
        &mut state,
        "data-pipeline",
        StepStatus::Running,
        "2025-03-01T09:00:00Z",
    )
    .expect("starts");
    let again = step(
        &mut state,
        "data-pipeline",
        StepStatus::Running,
        "2025-03-01T09:00:30Z",
    );
    let Err(DomainError::Invalid { reason, .. }) = again else {
        panic!("a second start is refused, got {again:?}");
    };
    assert!(
        reason.contains("already running (alex at 2025-03-01T09:00:00Z)"),
        "{reason}"
    );
    let second_run = start_run(&mut state, RunOptions::default());
    assert!(
        matches!(second_run, Err(DomainError::Invalid { .. })),
        "{second_run:?}"
    );
}

#[test]
fn error_rate_above_five_percent_for_ten_minutes_trips_and_auto_rolls_back_in_reverse() {
    let mut state = ProgramBuilder::seed().build();
    start_run(
        &mut state,
        RunOptions {
            auto_rollback: true,
            ..no_go_overridden()
        },
    )
    .expect("run starts");
    deploy(&mut state, "data-pipeline", 0);
    deploy(&mut state, "analytics-api", 5);
    // Above, then back under: the window restarts.
    for (delivery, time, percent) in [
        ("e1", "09:10", 7),
        ("e2", "09:15", 2),
        ("e3", "09:16", 6),
        ("e4", "09:21", 8),
    ] {
        let events = check(
            &mut state,
            error_rate(delivery, &format!("2025-03-01T{time}:00Z"), percent),
            "2025-03-01T09:30:00Z",
        )
        .expect("signal recorded");
        assert_eq!(events.len(), 1, "no trip yet at {time}: {events:?}");
    }
    let events = check(
        &mut state,
        error_rate("e5", "2025-03-01T09:26:00Z", 9),
        "2025-03-01T09:30:00Z",
    )
    .expect("signal recorded");
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            "SignalRecorded",
            "RollbackTriggerTripped",
            "RollbackStarted"
        ]
    );
    let run = &state.runs()[&name("q1")];
    assert_eq!(run.tripped[0].trigger, "error-rate");
    assert!(
        run.tripped[0]
            .detail
            .contains("since 2025-03-01T09:16:00Z (10 min)"),
        "{}",
        run.tripped[0].detail
    );
    let rollback = run.rollback.as_ref().expect("rollback started");
    assert!(rollback.automatic);
    let order: Vec<&str> = rollback
        .steps
        .iter()
        .map(|s| s.component.as_str())
        .collect();
    assert_eq!(order, ["analytics-api", "data-pipeline"]);
    assert_eq!(run.status(), RunStatus::RollingBack);
    // The rollback of the pipeline waits for the rollback of the API.
    let early = step(
        &mut state,
        "data-pipeline",
        StepStatus::Running,
        "2025-03-01T09:31:00Z",
    );
    assert!(
        matches!(early, Err(DomainError::StepNotReady { .. })),
        "{early:?}"
    );
    deploy(&mut state, "analytics-api", 31);
    deploy(&mut state, "data-pipeline", 35);
    assert_eq!(state.runs()[&name("q1")].status(), RunStatus::RolledBack);
}

#[test]
fn a_tripped_trigger_only_proposes_a_rollback_without_auto_rollback() {
    let mut state = ProgramBuilder::seed().build();
    start_run(&mut state, no_go_overridden()).expect("run starts");
    deploy(&mut state, "data-pipeline", 0);
    let bug = Command::RecordSignal {
        signal: Signal {
            component: name("data-pipeline"),
            environment: None,
            source: "test".into(),
            delivery: "bugs-1".into(),
            observed_at: at("2025-03-01T09:04:00Z"),
            reading: SignalReading::Bugs {
                critical: 1,
                high: 0,
                medium: 0,
                low: 0,
            },
        },
    };
    let events = check(&mut state, bug, "2025-03-01T09:04:00Z").expect("recorded");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(state.runs()[&name("q1")].rollback_proposed());
    let further = step(
        &mut state,
        "analytics-api",
        StepStatus::Running,
        "2025-03-01T09:05:00Z",
    );
    assert!(
        matches!(further, Err(DomainError::Invalid { .. })),
        "{further:?}"
    );
    let events = check(
        &mut state,
        Command::StartRollback {
            release: name("q1"),
            by: "rita".into(),
            reason: None,
        },
        "2025-03-01T09:06:00Z",
    )
    .expect("rollback starts");
    let Event::RollbackStarted { steps, reason, .. } = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(steps.len(), 1);
    assert!(reason.contains("p0-bug"), "{reason}");
}

#[test]
fn a_run_inside_a_blackout_needs_break_glass_with_a_reason_and_names_who_and_why() {
    let mut state = ProgramBuilder::seed()
        .blackout("2025-03-01T08:00", "2025-03-01T12:00")
        .build();
    let refused = start_run(&mut state, RunOptions::default());
    let Err(DomainError::DeployFrozen { windows, .. }) = &refused else {
        panic!("{refused:?}");
    };
    assert!(windows[0].starts_with("Quarter close until"), "{windows:?}");
    let empty = start_run(
        &mut state,
        RunOptions {
            auto_rollback: false,
            break_glass: Some("  ".into()),
        },
    );
    assert!(
        matches!(empty, Err(DomainError::Invalid { .. })),
        "{empty:?}"
    );
    let events = start_run(
        &mut state,
        RunOptions {
            auto_rollback: false,
            break_glass: Some("security fix for CVE-2025-1".into()),
        },
    )
    .expect("break glass starts the run");
    let Event::BreakGlassUsed { break_glass, .. } = &events[1] else {
        panic!("{events:?}");
    };
    assert_eq!(break_glass.by, "rita");
    assert_eq!(break_glass.reason, "security fix for CVE-2025-1");
    assert_eq!(break_glass.windows, [name("quarter-close")]);
    // The run's override covers its steps.
    step(
        &mut state,
        "data-pipeline",
        StepStatus::Running,
        "2025-03-01T09:00:00Z",
    )
    .expect("covered");
}

#[test]
fn a_freeze_declared_after_the_run_started_stops_its_next_step() {
    let mut state = ProgramBuilder::seed().build();
    start_run(&mut state, no_go_overridden()).expect("the run starts");
    deploy(&mut state, "data-pipeline", 0);
    // An emergency freeze, declared mid-run: not in the runbook the run started with.
    let freeze = ProgramBuilder::seed()
        .blackout("2025-03-01T09:00", "2025-03-01T13:00")
        .commands
        .pop()
        .expect("the blackout's command");
    check(&mut state, freeze, "2025-03-01T09:05:00Z").expect("the freeze is declared");
    let refused = step(
        &mut state,
        "analytics-api",
        StepStatus::Running,
        "2025-03-01T09:10:00Z",
    );
    let Err(DomainError::DeployFrozen { windows, .. }) = &refused else {
        panic!("{refused:?}");
    };
    assert!(windows[0].starts_with("Quarter close until"), "{windows:?}");
    // After it, the run goes on.
    step(
        &mut state,
        "analytics-api",
        StepStatus::Running,
        "2025-03-01T13:00:00Z",
    )
    .expect("the freeze is over");
}

#[test]
fn a_completed_run_watches_its_signals_for_a_day_then_no_longer() {
    let trips = |days_later: u32| {
        let mut state = ProgramBuilder::seed().build();
        start_run(&mut state, no_go_overridden()).expect("the run starts");
        deploy(&mut state, "data-pipeline", 0);
        deploy(&mut state, "analytics-api", 3);
        deploy(&mut state, "dashboard-ui", 6);
        let day = 1 + days_later;
        let mut kinds = Vec::new();
        for (delivery, minute) in [("a", 0), ("b", 11)] {
            let observed = format!("2025-03-{day:02}T10:{minute:02}:00Z");
            let events = check(&mut state, error_rate(delivery, &observed, 9), &observed)
                .expect("signal recorded");
            kinds.extend(events.iter().map(|e| e.kind().to_owned()));
        }
        kinds.contains(&"RollbackTriggerTripped".to_owned())
    };
    assert!(trips(0), "the same day, a bad error rate trips the trigger");
    assert!(
        !trips(2),
        "two days after the last step, a shipped release is not proposed for rollback"
    );
}

#[test]
fn a_run_on_a_no_go_verdict_needs_a_reason_which_names_the_unmet_criteria() {
    let mut state = ProgramBuilder::seed().build();
    let refused = start_run(&mut state, RunOptions::default());
    let Err(error @ DomainError::NoGo { unmet, .. }) = &refused else {
        panic!("{refused:?}");
    };
    assert!(unmet.iter().any(|id| id == "ci-green"), "{unmet:?}");
    assert!(error.to_string().contains("break-glass reason"), "{error}");
    assert!(state.runs().is_empty(), "nothing started");
    let events = start_run(&mut state, no_go_overridden()).expect("overridden");
    let Event::BreakGlassUsed { break_glass, .. } = &events[1] else {
        panic!("{events:?}");
    };
    assert_eq!(break_glass.scope, "go/no-go");
    assert_eq!(
        break_glass.reason,
        "the fixture records no readiness signals"
    );
    assert!(
        break_glass.windows.contains(&name("ci-green")),
        "{break_glass:?}"
    );
    assert_eq!(state.runs()[&name("q1")].break_glass.len(), 1);
}

#[test]
fn a_recurring_blackout_freezes_every_occurrence_not_only_its_first() {
    // The run starts on Saturday 2025-03-01, the ninth weekend of the freeze.
    let mut state = ProgramBuilder::seed().weekend_freeze().build();
    let generated = runbook(&state);
    assert!(
        generated
            .deny_windows
            .iter()
            .any(|w| w.start == at("2025-03-01T00:00:00Z") && w.end == at("2025-03-03T00:00:00Z")),
        "{:?}",
        generated.deny_windows
    );
    let refused = start_run(&mut state, RunOptions::default());
    let Err(DomainError::DeployFrozen { windows, .. }) = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(windows, &["Weekend freeze until 2025-03-03T00:00:00Z"]);
    // The runbook names the freeze around the day in full, and its other weekends by
    // title in one line; a one-off blackout later on is listed by its own title.
    let mut state = ProgramBuilder::seed()
        .weekend_freeze()
        .blackout("2025-03-05T08:00", "2025-03-05T12:00")
        .build();
    let markdown = runbook(&state).to_markdown();
    start_run(&mut state, RunOptions::default()).expect_err("frozen");
    for line in [
        "- Weekend freeze: 2025-03-01T00:00:00Z to 2025-03-03T00:00:00Z (a run inside needs --break-glass with a reason)",
        "- Quarter close: 2025-03-05T08:00:00Z to 2025-03-05T12:00:00Z",
        "- Weekend freeze: 2 occurrences between 2025-03-08T00:00:00Z and 2025-03-17T00:00:00Z, enforced alike",
    ] {
        assert!(markdown.contains(line), "{line}\n{markdown}");
    }
}

#[test]
fn a_failed_integration_scenario_during_a_run_trips_the_integration_failure_trigger() {
    let mut state = ProgramBuilder::seed().build();
    start_run(&mut state, no_go_overridden()).expect("run starts");
    deploy(&mut state, "data-pipeline", 0);
    let failed = Command::RecordScenarioResult {
        task: name("api-backend"),
        scenario: 0,
        result: lockstep_core::ScenarioResult::Failed,
    };
    let events = check(&mut state, failed, "2025-03-01T09:10:00Z").expect("recorded");
    let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds, ["ScenarioResultRecorded", "RollbackTriggerTripped"]);
    let run = &state.runs()[&name("q1")];
    assert_eq!(run.tripped[0].trigger, "integration-failure");
    assert_eq!(run.tripped[0].component, name("analytics-api"));
    assert!(
        run.tripped[0]
            .detail
            .contains("Endpoints read pipeline aggregates")
    );
    assert!(run.rollback_proposed());
}

fn deployed(state: &State, component: &str) -> Option<String> {
    state
        .contracts()
        .deployed_in(&name("production"), &name(component))
        .map(|d| d.version.as_str().to_owned())
}

#[test]
fn a_done_step_runs_its_version_and_a_rolled_back_one_the_version_it_replaced() {
    let mut state = ProgramBuilder::seed().build();
    check(
        &mut state,
        Command::RecordDeployment {
            component: name("dashboard-ui"),
            environment: name("production"),
            version: version("3.1.4"),
            deployed_at: None,
            by: "sarah".into(),
        },
        "2025-02-20T10:00:00Z",
    )
    .expect("recorded");
    let book = runbook(&state);
    let ui = book.step(&name("dashboard-ui")).expect("step");
    assert_eq!(ui.version, Some(version("3.2.0")));
    assert_eq!(ui.replaces, Some(version("3.1.4")));
    assert!(
        book.to_markdown().contains(
            "## Versions\n- data-pipeline 2.0.0\n- dashboard-ui 3.2.0 (replaces 3.1.4)\n"
        ),
        "{}",
        book.to_markdown()
    );

    start_run(&mut state, no_go_overridden()).expect("starts");
    deploy(&mut state, "data-pipeline", 0);
    assert_eq!(deployed(&state, "data-pipeline").as_deref(), Some("2.0.0"));
    // The plan names no API version: its deployment records none.
    deploy(&mut state, "analytics-api", 5);
    assert_eq!(deployed(&state, "analytics-api"), None);
    step(
        &mut state,
        "dashboard-ui",
        StepStatus::Running,
        "2025-03-01T09:10:00Z",
    )
    .expect("runs");
    assert_eq!(
        deployed(&state, "dashboard-ui").as_deref(),
        Some("3.1.4"),
        "a version runs once its step is done, not before"
    );
    step(
        &mut state,
        "dashboard-ui",
        StepStatus::Verifying,
        "2025-03-01T09:11:00Z",
    )
    .expect("ok");
    let done = step(
        &mut state,
        "dashboard-ui",
        StepStatus::Done,
        "2025-03-01T09:12:00Z",
    )
    .expect("done");
    assert!(
        matches!(done.last(), Some(Event::ComponentDeployed { by, .. }) if by == "alex"),
        "{done:?}"
    );
    assert_eq!(deployed(&state, "dashboard-ui").as_deref(), Some("3.2.0"));

    check(
        &mut state,
        Command::StartRollback {
            release: name("q1"),
            by: "rita".into(),
            reason: Some("checkout errors".into()),
        },
        "2025-03-01T09:20:00Z",
    )
    .expect("rollback starts");
    for (minute, to) in [
        (21, StepStatus::Running),
        (22, StepStatus::Verifying),
        (23, StepStatus::Done),
    ] {
        step(
            &mut state,
            "dashboard-ui",
            to,
            &format!("2025-03-01T09:{minute}:00Z"),
        )
        .expect("rollback step moves");
    }
    assert_eq!(
        deployed(&state, "dashboard-ui").as_deref(),
        Some("3.1.4"),
        "the rollback brings back what ran before"
    );
    // Nothing was on record before the pipeline's 2.0.0: once rolled back, the
    // environment no longer runs 2.0.0, and what it runs is not known.
    let mut last = Vec::new();
    for (component, first) in [("analytics-api", 24), ("data-pipeline", 27)] {
        for (minute, to) in [
            (first, StepStatus::Running),
            (first + 1, StepStatus::Verifying),
            (first + 2, StepStatus::Done),
        ] {
            let now = format!("2025-03-01T09:{minute}:00Z");
            last = step(&mut state, component, to, &now).expect("rollback step moves");
        }
    }
    assert_eq!(deployed(&state, "analytics-api"), None);
    assert_eq!(deployed(&state, "data-pipeline"), None);
    let withdrawn = last.last().expect("events");
    assert_eq!(withdrawn.kind(), "ComponentWithdrawn");
    assert_eq!(
        withdrawn.describe(),
        "data-pipeline 2.0.0 rolled back in production; the version it runs now is not on record"
    );
    // A deployment report older than the rollback (a code host redelivering the morning's
    // status) does not bring 2.0.0 back; one from after it does.
    let report = |deployed_at: Option<&str>| Command::RecordDeployment {
        component: name("data-pipeline"),
        environment: name("production"),
        version: version("2.0.0"),
        deployed_at: deployed_at.map(|t| t.parse().expect("instant")),
        by: "webhook:github".into(),
    };
    let late = check(
        &mut state,
        report(Some("2025-03-01T09:05:00Z")),
        "2025-03-01T09:40:00Z",
    )
    .expect("decided");
    assert!(late.is_empty(), "{late:?}");
    assert_eq!(deployed(&state, "data-pipeline"), None);
    check(&mut state, report(None), "2025-03-01T09:45:00Z").expect("recorded");
    assert_eq!(deployed(&state, "data-pipeline").as_deref(), Some("2.0.0"));
}

#[test]
fn a_release_cancelled_mid_run_deploys_nothing_more_but_can_roll_back() {
    let mut state = ProgramBuilder::seed().build();
    start_run(&mut state, no_go_overridden()).expect("starts");
    deploy(&mut state, "data-pipeline", 0);
    check(
        &mut state,
        Command::ChangeReleaseState {
            release: name("q1"),
            to: ReleaseState::Cancelled,
        },
        "2025-03-01T09:05:00Z",
    )
    .expect("a release can be cancelled mid-run");
    let refused = step(
        &mut state,
        "analytics-api",
        StepStatus::Running,
        "2025-03-01T09:06:00Z",
    )
    .expect_err("no further deployment");
    assert!(
        refused.to_string().contains(
            "release `q1` was cancelled during run 1: the deployment stops here; roll back what went out with `lockstep run rollback q1`"
        ),
        "{refused}"
    );
    check(
        &mut state,
        Command::StartRollback {
            release: name("q1"),
            by: "rita".into(),
            reason: Some("release cancelled".into()),
        },
        "2025-03-01T09:07:00Z",
    )
    .expect("what went out can be rolled back");
    step(
        &mut state,
        "data-pipeline",
        StepStatus::Running,
        "2025-03-01T09:08:00Z",
    )
    .expect("rollback steps move");
    let again = start_run(&mut state, no_go_overridden()).expect_err("nothing to deploy");
    assert!(
        again
            .to_string()
            .contains("release `q1` is cancelled: nothing in it can change"),
        "{again}"
    );
}
