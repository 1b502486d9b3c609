//! Go/no-go: given a release and signals, then a verdict whose every criterion
//! carries its evidence and what is missing.

use lockstep_core::readiness::{CriterionStatus, Verdict, evaluate};
use lockstep_core::{
    CiConclusion, Command, ComponentSpec, EnvironmentSpec, ItemSpec, ItemStatus, Name, ReleaseSpec,
    Signal, SignalReading, State, TeamSpec, Tier, decide,
};

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("test names are valid")
}

fn at(raw: &str) -> jiff::Timestamp {
    raw.parse().expect("valid timestamp")
}

/// A release `q1` with one item of component `analytics-api`.
struct Given {
    state: State,
    n_deliveries: usize,
}

impl Given {
    fn new() -> Given {
        let mut given = Given {
            state: State::new(),
            n_deliveries: 0,
        };
        given.run(Command::DefineTeam {
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
        });
        given.run(Command::DefineComponent {
            component: name("analytics-api"),
            spec: ComponentSpec {
                title: None,
                team: name("api"),
                repository: None,
                labels: Default::default(),
                depends_on: Vec::new(),
            },
        });
        given.run(Command::DefineEnvironment {
            environment: name("staging"),
            spec: EnvironmentSpec {
                deploy_windows: Vec::new(),
                title: None,
                tier: Tier::Staging,
                labels: Default::default(),
            },
        });
        given.run(Command::DefineRelease {
            release: name("q1"),
            spec: ReleaseSpec {
                title: None,
                kind: Default::default(),
                version: None,
                target_date: "2025-03-01".parse().expect("date"),
                feature_freeze: None,
                code_freeze: None,
                manager: None,
                milestones: vec![],
                deployment: None,
                labels: Default::default(),
            },
        });
        given.run(Command::DefineItem {
            item: name("endpoints"),
            release: name("q1"),
            spec: ItemSpec {
                title: "Endpoints".into(),
                team: name("api"),
                component: Some(name("analytics-api")),
                acceptance_criteria: vec![],
                labels: vec![],
                due: None,
                estimate: None,
                uses: Default::default(),
                pinned_start: None,
            },
        });
        given
    }

    fn run(&mut self, command: Command) -> &mut Given {
        // After every signal the tests record: a signal may not be dated in the future.
        for event in decide(&self.state, command, at("2025-02-10T00:00:00Z")).expect("fixture") {
            let position = self.state.position() + 1;
            self.state.apply(position, &event);
        }
        self
    }

    fn signal(&mut self, environment: Option<&str>, reading: SignalReading) -> &mut Given {
        self.n_deliveries += 1;
        let signal = Signal {
            component: name("analytics-api"),
            environment: environment.map(name),
            source: "test".into(),
            delivery: format!("d{}", self.n_deliveries),
            observed_at: at("2025-02-01T00:00:00Z"),
            reading,
        };
        self.run(Command::RecordSignal { signal })
    }

    /// Every signal and status a go needs.
    fn all_good(&mut self) -> &mut Given {
        self.run(Command::MoveItem {
            item: name("endpoints"),
            to: ItemStatus::ReadyForRelease,
        })
        .signal(None, ci(CiConclusion::Success))
        .signal(
            None,
            SignalReading::Bugs {
                critical: 0,
                high: 0,
                medium: 3,
                low: 0,
            },
        )
        .signal(
            None,
            SignalReading::SecurityScan {
                critical: 0,
                high: 1,
            },
        )
        .signal(
            Some("staging"),
            SignalReading::SmokeTest {
                passed: true,
                failed: 0,
            },
        )
    }
}

fn ci(conclusion: CiConclusion) -> SignalReading {
    SignalReading::Ci {
        workflow: "CI".into(),
        conclusion,
        branch: None,
        commit: None,
    }
}

fn check(given: &Given) -> Verdict {
    evaluate(&given.state, &name("q1")).expect("release exists")
}

fn status(verdict: &Verdict, id: &str) -> CriterionStatus {
    verdict
        .criteria
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.status)
        .expect("criterion listed")
}

#[test]
fn without_signals_every_signal_criterion_is_missing() {
    let verdict = check(&Given::new());
    assert!(!verdict.is_go());
    for id in [
        "ci-green",
        "no-blocking-bugs",
        "security-scan-clean",
        "staging-smoke-tests",
        "items-ready",
    ] {
        assert_eq!(status(&verdict, id), CriterionStatus::Missing, "{id}");
    }
    assert_eq!(
        status(&verdict, "integration-scenarios-passed"),
        CriterionStatus::Met
    );
}

#[test]
fn every_criterion_met_is_go() {
    let mut given = Given::new();
    given.all_good();
    let verdict = check(&given);
    assert!(verdict.is_go(), "{:?}", verdict.reasons());
    assert_eq!(verdict.components, vec![name("analytics-api")]);
}

#[test]
fn a_high_bug_is_no_go_with_the_count() {
    let mut given = Given::new();
    given.all_good().signal(
        None,
        SignalReading::Bugs {
            critical: 0,
            high: 2,
            medium: 0,
            low: 0,
        },
    );
    let verdict = check(&given);
    assert_eq!(
        verdict.reasons(),
        vec!["no-blocking-bugs: analytics-api: 0 critical and 2 high open bugs"]
    );
}

#[test]
fn a_failed_ci_run_is_no_go_and_a_later_pass_is_go_again() {
    let mut given = Given::new();
    given.all_good();
    let mut failing = Signal {
        component: name("analytics-api"),
        environment: None,
        source: "test".into(),
        delivery: "late-fail".into(),
        observed_at: at("2025-02-02T00:00:00Z"),
        reading: ci(CiConclusion::Failure),
    };
    given.run(Command::RecordSignal {
        signal: failing.clone(),
    });
    assert_eq!(
        check(&given).reasons(),
        vec!["ci-green: analytics-api: CI CI failure"]
    );
    failing.delivery = "later-pass".into();
    failing.observed_at = at("2025-02-03T00:00:00Z");
    failing.reading = ci(CiConclusion::Success);
    given.run(Command::RecordSignal { signal: failing });
    assert!(check(&given).is_go());
}

#[test]
fn a_smoke_test_outside_staging_does_not_count() {
    let mut given = Given::new();
    given.run(Command::DefineEnvironment {
        environment: name("dev"),
        spec: EnvironmentSpec {
            deploy_windows: Vec::new(),
            title: None,
            tier: Tier::Development,
            labels: Default::default(),
        },
    });
    given.signal(
        Some("dev"),
        SignalReading::SmokeTest {
            passed: true,
            failed: 0,
        },
    );
    assert_eq!(
        status(&check(&given), "staging-smoke-tests"),
        CriterionStatus::Missing
    );
}

#[test]
fn an_unknown_release_is_not_found_with_a_suggestion() {
    let error = evaluate(&Given::new().state, &name("q2")).expect_err("unknown");
    assert_eq!(
        error.to_string(),
        "unknown release `q2` (did you mean `q1`?)"
    );
}
