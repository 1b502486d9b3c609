//! Two people start the same run step at once: both read the same state, both are
//! allowed by the rules, and optimistic concurrency on the run's stream lets exactly
//! one append win. The loser, deciding again on what the winner wrote, gets a clear
//! refusal. On a real SQLite file and a fresh PostgreSQL database, with two separate
//! connection pools, as two CLI processes or two server replicas would have.

#[allow(unused_macros)]
mod common;

use std::collections::BTreeMap;

use common::TestDb;
use lockstep_core::run::{RunOptions, StepStatus};
use lockstep_core::{
    Command, ComponentSpec, DeploymentPlan, DeploymentStep, DomainError, EnvironmentSpec, Event,
    EventMeta, Name, ReleaseSpec, State, TeamSpec, Tier, decide,
};
use lockstep_store::program::Program;

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("test names are valid")
}

fn meta(actor: &str) -> EventMeta {
    EventMeta {
        actor: actor.to_owned(),
        at: jiff::Timestamp::from_second(1_740_819_600).expect("instant"),
        reason: None,
    }
}

/// One team, one component, a release whose plan deploys it, and a started run.
fn fixture() -> Vec<Command> {
    vec![
        Command::DefineEnvironment {
            environment: name("production"),
            spec: EnvironmentSpec {
                deploy_windows: Vec::new(),
                title: None,
                tier: Tier::Production,
                labels: Default::default(),
            },
        },
        Command::DefineTeam {
            team: name("backend"),
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
            component: name("data-pipeline"),
            spec: ComponentSpec {
                title: None,
                team: name("backend"),
                repository: None,
                labels: Default::default(),
                depends_on: Vec::new(),
            },
        },
        Command::DefineRelease {
            release: name("q1"),
            spec: ReleaseSpec {
                title: None,
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
                    steps: vec![DeploymentStep {
                        component: name("data-pipeline"),
                        at: jiff::civil::time(9, 0, 0, 0),
                        title: None,
                        minutes: 30,
                        version: None,
                    }],
                    verification: vec![],
                    rollback_triggers: vec![],
                }),
                labels: Default::default(),
            },
        },
    ]
}

async fn setup(db: &TestDb) {
    let program = Program::new(db.open().await);
    let mut state = program.load().await.expect("load");
    let now = meta("rita").at;
    for command in fixture() {
        let events = decide(&state, command, now).expect("fixture decides");
        program
            .commit(&mut state, events, &meta("rita"), &[])
            .await
            .expect("fixture commits");
    }
    let zones = BTreeMap::from([("UTC".to_owned(), jiff::tz::TimeZone::UTC)]);
    let runbook =
        lockstep_core::runbook::generate(&state, &name("q1"), &zones, now).expect("runbook");
    let start = Command::StartRun {
        release: name("q1"),
        runbook: Box::new(runbook),
        by: "rita".into(),
        options: RunOptions {
            auto_rollback: false,
            break_glass: Some("no readiness signals in this test".into()),
        },
    };
    let events = decide(&state, start, now).expect("run starts");
    program
        .commit(&mut state, events, &meta("rita"), &[])
        .await
        .expect("run committed");
}

fn start_step(by: &str) -> Command {
    Command::ChangeRunStep {
        release: name("q1"),
        step: name("data-pipeline"),
        to: StepStatus::Running,
        by: by.to_owned(),
        note: None,
        break_glass: None,
        freezes: Vec::new(),
    }
}

async fn two_writers_starting_one_step_let_exactly_one_win(db: &TestDb) {
    setup(db).await;
    // Two writers with their own pools, both at the same version of the run stream.
    let alex = Program::new(db.open().await);
    let emma = Program::new(db.open().await);
    let mut alex_state: State = alex.load().await.expect("load");
    let mut emma_state: State = emma.load().await.expect("load");
    let now = meta("x").at;
    let alex_events = decide(&alex_state, start_step("alex"), now).expect("allowed");
    let emma_events = decide(&emma_state, start_step("emma"), now).expect("allowed");
    let (alex_meta, emma_meta) = (meta("alex"), meta("emma"));
    let (alex_result, emma_result) = tokio::join!(
        alex.commit(&mut alex_state, alex_events, &alex_meta, &[]),
        emma.commit(&mut emma_state, emma_events, &emma_meta, &[]),
    );
    let (winner, loser_program, mut loser_state, loser_result) = match (&alex_result, &emma_result)
    {
        (Ok(_), Err(_)) => ("alex", &emma, emma_state, emma_result),
        (Err(_), Ok(_)) => ("emma", &alex, alex_state, alex_result),
        other => panic!("exactly one writer must win: {other:?}"),
    };
    let Err(error) = loser_result else {
        unreachable!("matched above")
    };
    assert!(error.is_conflict(), "the loser gets a conflict: {error}");

    // The loser catches up and decides again: a clear refusal naming the winner.
    loser_program
        .catch_up(&mut loser_state, |_| {})
        .await
        .expect("catch up");
    let loser = if winner == "alex" { "emma" } else { "alex" };
    let again = decide(&loser_state, start_step(loser), now);
    let Err(DomainError::Invalid { reason, .. }) = &again else {
        panic!("the second start is refused: {again:?}");
    };
    assert!(
        reason.contains(&format!("already running ({winner} at")),
        "{reason}"
    );

    // The log holds one start of the step, by the winner.
    let fresh = Program::new(db.open().await);
    let history = fresh.history(0, 100).await.expect("history");
    let starts: Vec<&str> = history
        .iter()
        .filter_map(|r| match &r.event {
            Event::RunStepChanged { by, .. } => Some(by.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [winner]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_writers_starting_one_step_let_exactly_one_win() {
    let Some(db) = common::sqlite_db().await else {
        return;
    };
    two_writers_starting_one_step_let_exactly_one_win(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_writers_starting_one_step_let_exactly_one_win() {
    let Some(db) = common::postgres_db().await else {
        return;
    };
    two_writers_starting_one_step_let_exactly_one_win(&db).await;
}
