//! Cross-team contracts: given a program, when an interface is declared, verified,
//! deployed against, proposed or reviewed, then events or an error; can-i-deploy,
//! impact and the readiness criterion derived from the state; who may do what.

mod common;

use common::{ProgramBuilder, name, now};
use jiff::civil::{Date, date, time};
use lockstep_core::access::{Principal, authorize};
use lockstep_core::contract::{
    Compatibility, ComponentVersion, Consumer, InterfaceSpec, InterfaceType, InterfaceVersion,
    ProposalDecision, ProposalStatus, VerificationReport, VerificationResult, Version,
    VersionStatus, can_i_deploy, impact,
};
use lockstep_core::readiness::CriterionStatus;
use lockstep_core::{
    Command, DeploymentPlan, DeploymentStep, DomainError, EnvironmentSpec, Event, ItemSpec, Name,
    ReleaseSpec, Role, Tier, decide,
};

fn v(raw: &str) -> Version {
    Version::parse(raw).expect("test versions are valid")
}

fn cv(raw: &str) -> ComponentVersion {
    ComponentVersion::parse(raw).expect("test component versions are valid")
}

impl ProgramBuilder {
    fn environment(self, environment: &str) -> Self {
        self.run(Command::DefineEnvironment {
            environment: name(environment),
            spec: EnvironmentSpec {
                title: None,
                tier: Tier::Production,
                deploy_windows: vec![],
                labels: Default::default(),
            },
        })
    }

    fn release(self, release: &str, target: Date, steps: &[&str]) -> Self {
        let deployment = (!steps.is_empty()).then(|| DeploymentPlan {
            environment: name("production"),
            time_zone: "America/New_York".into(),
            steps: steps
                .iter()
                .enumerate()
                .map(|(index, component)| DeploymentStep {
                    component: name(component),
                    at: time(9 + i8::try_from(index).expect("few steps"), 0, 0, 0),
                    title: None,
                    minutes: 30,
                    version: None,
                })
                .collect(),
            verification: vec![],
            rollback_triggers: vec![],
        });
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
                deployment,
                labels: Default::default(),
            },
        })
    }

    fn item(self, item: &str, release: &str, team: &str, component: &str) -> Self {
        self.run(Command::DefineItem {
            item: name(item),
            release: name(release),
            spec: ItemSpec {
                title: item.into(),
                team: name(team),
                component: Some(name(component)),
                acceptance_criteria: vec![],
                labels: vec![],
                due: None,
                estimate: None,
                uses: Default::default(),
                pinned_start: None,
            },
        })
    }

    fn deployed(self, component: &str, version: &str) -> Self {
        self.run(Command::RecordDeployment {
            component: name(component),
            environment: name("production"),
            version: cv(version),
            deployed_at: None,
            by: "ci".into(),
        })
    }

    /// Seed 000's interfaces: the API team's analytics API, consumed by the dashboard
    /// (frontend) and the whole mobile team; q1 ships the endpoints and the charts.
    fn seed() -> Self {
        ProgramBuilder::new()
            .team("api", &[("mike", Role::TechLead), ("lisa", Role::Member)])
            .team("frontend", &[("sarah", Role::TechLead)])
            .team("mobile", &[("tom", Role::TechLead)])
            .team("backend", &[("alex", Role::TechLead)])
            .team("release-office", &[("rita", Role::ReleaseManager)])
            .component("analytics-api", "api")
            .component("dashboard-ui", "frontend")
            .component("mobile-app", "mobile")
            .component("data-pipeline", "backend")
            .environment("production")
            .release(
                "q1",
                date(2025, 3, 1),
                &["analytics-api", "dashboard-ui", "data-pipeline"],
            )
            .release("q4", date(2024, 12, 1), &[])
            .item("api-endpoints", "q1", "api", "analytics-api")
            .item("dashboard-charts", "q1", "frontend", "dashboard-ui")
            .item("pipeline", "q1", "backend", "data-pipeline")
    }

    fn with_analytics_api(self) -> Self {
        self.run(define("analytics-api", analytics_api()))
    }
}

fn version(raw: &str, compatibility: Compatibility, status: VersionStatus) -> InterfaceVersion {
    InterfaceVersion {
        version: v(raw),
        compatibility,
        changelog: Some(format!("changes of {raw}")),
        status,
    }
}

fn analytics_api() -> InterfaceSpec {
    InterfaceSpec {
        title: Some("Analytics API".into()),
        producer: name("api"),
        component: Some(name("analytics-api")),
        consumers: vec![
            Consumer::Component(name("dashboard-ui")),
            Consumer::Team(name("mobile")),
        ],
        kind: InterfaceType::Openapi,
        versions: vec![
            version("1.0.0", Compatibility::None, VersionStatus::Published),
            version("1.1.0", Compatibility::Backward, VersionStatus::Published),
        ],
        labels: Default::default(),
    }
}

fn define(interface: &str, spec: InterfaceSpec) -> Command {
    Command::DefineInterface {
        interface: name(interface),
        spec,
    }
}

fn verified(
    consumer: &str,
    consumer_version: &str,
    against: &str,
    provider_version: Option<&str>,
    result: VerificationResult,
) -> Command {
    Command::RecordVerification {
        interface: name("analytics-api"),
        verification: VerificationReport {
            version: v(against),
            consumer: name(consumer),
            consumer_version: cv(consumer_version),
            provider_version: provider_version.map(cv),
            result,
            link: Some("https://ci.example.com/run/1".into()),
            by: "ci".into(),
        },
    }
}

fn propose(version: &str, compatibility: Compatibility, by: &str) -> Command {
    Command::ProposeInterfaceChange {
        interface: name("analytics-api"),
        version: v(version),
        compatibility,
        summary: "Cohort breakdown endpoint; `range` becomes required".into(),
        by: by.into(),
    }
}

fn review(version: &str, decision: ProposalDecision, by: &str) -> Command {
    Command::DecideInterfaceChange {
        interface: name("analytics-api"),
        version: v(version),
        decision,
        rationale: "Mobile can pin 1.x until their March release".into(),
        by: by.into(),
    }
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
fn semantic_versions_parse_order_and_refuse_what_they_cannot_order() {
    assert!(v("1.0.0-alpha") < v("1.0.0-alpha.1"));
    assert!(v("1.0.0-alpha.1") < v("1.0.0-beta"));
    assert!(v("1.0.0-beta.2") < v("1.0.0-beta.11"));
    assert!(v("1.0.0-rc.1") < v("1.0.0"));
    assert!(v("1.9.0") < v("1.10.0"));
    assert_eq!(v("2.0.0-rc.1").to_string(), "2.0.0-rc.1");
    for bad in [
        "1.0",
        "1.0.0.0",
        "01.0.0",
        "1.0.0+build",
        "1.x.0",
        "",
        "1.0.0-",
        "v1.0.0",
        "1.0.0-rc.01",
    ] {
        assert!(Version::parse(bad).is_err(), "{bad} should be refused");
    }
    assert!(v("2.0.0").breaks_from(&v("1.4.2")));
    assert!(!v("1.5.0").breaks_from(&v("1.4.2")));
    assert!(v("0.3.0").breaks_from(&v("0.2.9")));
    assert!(ComponentVersion::parse("1.4 beta").is_err());
    assert!(ComponentVersion::parse("").is_err());
}

#[test]
fn an_interface_is_its_own_stream_and_the_same_declaration_again_decides_nothing() {
    let given = ProgramBuilder::seed();
    let events = check(&given, define("analytics-api", analytics_api())).expect("accepted");
    assert!(
        matches!(&events[..], [Event::InterfaceDefined { interface, .. }] if interface.as_str() == "analytics-api"),
        "{events:?}"
    );
    let given = given.with_analytics_api();
    assert_eq!(given.state.stream_version("interface:analytics-api"), 1);
    assert_eq!(
        check(&given, define("analytics-api", analytics_api())),
        Ok(vec![])
    );
}

#[test]
fn an_interface_names_existing_teams_and_components_and_its_component_is_the_producers() {
    let given = ProgramBuilder::seed();
    let mut unknown_team = analytics_api();
    unknown_team.producer = name("apii");
    assert!(
        matches!(
            check(&given, define("x", unknown_team)),
            Err(DomainError::NotFound { kind: "team", suggestion: Some(s), .. }) if s == "api"
        ),
        "an unknown producer is refused with the closest team"
    );
    let mut foreign = analytics_api();
    foreign.component = Some(name("dashboard-ui"));
    let error = check(&given, define("x", foreign)).expect_err("not the producer's");
    assert!(
        error.to_string().contains("belongs to team `frontend`"),
        "{error}"
    );
    let mut unknown_consumer = analytics_api();
    unknown_consumer.consumers = vec![Consumer::Component(name("dashbord-ui"))];
    assert!(matches!(
        check(&given, define("x", unknown_consumer)),
        Err(DomainError::NotFound { kind: "component", suggestion: Some(s), .. }) if s == "dashboard-ui"
    ));
    let mut twice = analytics_api();
    twice.consumers.push(Consumer::Team(name("mobile")));
    assert!(matches!(
        check(&given, define("x", twice)),
        Err(DomainError::Duplicate {
            kind: "consumer",
            ..
        })
    ));
    let mut itself = analytics_api();
    itself.consumers = vec![Consumer::Component(name("analytics-api"))];
    assert!(check(&given, define("x", itself)).is_err());
}

#[test]
fn versions_are_ordered_and_their_compatibility_matches_their_number() {
    let given = ProgramBuilder::seed();
    let mut unordered = analytics_api();
    unordered.versions.reverse();
    let error = check(&given, define("x", unordered)).expect_err("unordered");
    assert!(error.to_string().contains("oldest first"), "{error}");

    let mut breaking_minor = analytics_api();
    breaking_minor.versions[1].compatibility = Compatibility::Breaking;
    let error = check(&given, define("x", breaking_minor)).expect_err("breaking minor");
    assert_eq!(
        error.to_string(),
        "spec.versions[1]: 1.1.0 is breaking but keeps the major version of 1.0.0: a breaking change is a new major version (2.0.0 or later)"
    );

    let mut backward_major = analytics_api();
    backward_major.versions.push(version(
        "2.0.0",
        Compatibility::Backward,
        VersionStatus::Draft,
    ));
    let error = check(&given, define("x", backward_major)).expect_err("backward major");
    assert!(error.to_string().contains("mark it breaking"), "{error}");

    let mut zero = analytics_api();
    zero.versions = vec![
        version("0.1.0", Compatibility::None, VersionStatus::Published),
        version("0.2.0", Compatibility::Breaking, VersionStatus::Published),
    ];
    assert!(
        check(&given, define("x", zero)).is_ok(),
        "0.x breaks on minor"
    );
}

#[test]
fn published_versions_are_history_a_manifest_cannot_erase_or_rewrite() {
    let given = ProgramBuilder::seed().with_analytics_api();
    // Leaving a published version out keeps it: no change at all.
    let mut shorter = analytics_api();
    shorter.versions.truncate(1);
    assert_eq!(check(&given, define("analytics-api", shorter)), Ok(vec![]));
    let mut rewritten = analytics_api();
    rewritten.versions[1].changelog = Some("something else".into());
    let error = check(&given, define("analytics-api", rewritten)).expect_err("rewritten");
    assert!(error.to_string().contains("are history"), "{error}");
    let mut back_to_draft = analytics_api();
    back_to_draft.versions[1].status = VersionStatus::Draft;
    assert!(check(&given, define("analytics-api", back_to_draft)).is_err());
    // Deprecating is how a version leaves.
    let mut deprecated = analytics_api();
    deprecated.versions[0].status = VersionStatus::Deprecated;
    assert!(matches!(
        &check(&given, define("analytics-api", deprecated)).expect("deprecated")[..],
        [Event::InterfaceRedefined { .. }]
    ));
}

#[test]
fn a_verification_names_a_declared_version_a_consumer_and_the_provider_version() {
    let given = ProgramBuilder::seed().with_analytics_api();
    let events = check(
        &given,
        verified(
            "dashboard-ui",
            "3.2.0",
            "1.1.0",
            Some("1.1.4"),
            VerificationResult::Pass,
        ),
    )
    .expect("accepted");
    assert!(
        matches!(&events[..], [Event::ContractVerified { verification, .. }] if verification.at == now() && verification.by == "ci"),
        "{events:?}"
    );
    assert!(matches!(
        check(
            &given,
            verified(
                "dashboard-ui",
                "3.2.0",
                "1.2.0",
                Some("1.1.4"),
                VerificationResult::Pass
            )
        ),
        Err(DomainError::NotFound {
            kind: "interface version",
            ..
        })
    ));
    assert_eq!(
        check(
            &given,
            verified(
                "dashboard-ui",
                "3.2.0",
                "1.1.1",
                Some("1.1.4"),
                VerificationResult::Pass
            )
        )
        .map_err(|e| e.to_string()),
        Err(
            "unknown interface version `analytics-api 1.1.1` (did you mean `analytics-api 1.1.0`?)"
                .to_owned()
        )
    );
    let error = check(
        &given,
        verified(
            "data-pipeline",
            "1.0.0",
            "1.1.0",
            Some("1.1.4"),
            VerificationResult::Pass,
        ),
    )
    .expect_err("not a consumer");
    assert!(
        error
            .to_string()
            .contains("not a consumer of analytics-api"),
        "{error}"
    );
    // The whole mobile team consumes it, so its app does.
    assert!(
        check(
            &given,
            verified(
                "mobile-app",
                "5.0.0",
                "1.1.0",
                Some("1.1.4"),
                VerificationResult::Pass
            )
        )
        .is_ok()
    );
    let error = check(
        &given,
        verified(
            "dashboard-ui",
            "3.2.0",
            "1.1.0",
            None,
            VerificationResult::Pass,
        ),
    )
    .expect_err("no provider version");
    assert!(error.to_string().contains("providerVersion"), "{error}");
}

#[test]
fn an_older_deployment_than_the_one_recorded_decides_nothing_and_none_is_in_the_future() {
    // Recorded at `now()`, 12:00.
    let given = ProgramBuilder::seed().deployed("analytics-api", "1.1.4");
    let deploy = |at: &str| Command::RecordDeployment {
        component: name("analytics-api"),
        environment: name("production"),
        version: cv("1.1.5"),
        deployed_at: Some(at.parse().expect("instant")),
        by: "webhook:github".into(),
    };
    assert_eq!(check(&given, deploy("2025-01-20T11:00:00Z")), Ok(vec![]));
    let later = check(&given, deploy("2031-01-01T00:00:00Z")).expect("decided");
    assert!(
        matches!(later.as_slice(), [Event::ComponentDeployed { at, .. }] if *at == now()),
        "a deployment is never dated after now: {later:?}"
    );
}

#[test]
fn a_deployment_is_a_fact_of_the_environment_and_the_same_version_again_decides_nothing() {
    let given = ProgramBuilder::seed().deployed("analytics-api", "1.1.4");
    assert_eq!(given.state.stream_version("environment:production"), 2);
    assert_eq!(
        given
            .state
            .contracts()
            .deployed_in(&name("production"), &name("analytics-api"))
            .map(|d| d.version.as_str()),
        Some("1.1.4")
    );
    assert_eq!(
        check(
            &given,
            Command::RecordDeployment {
                component: name("analytics-api"),
                environment: name("production"),
                version: cv("1.1.4"),
                deployed_at: None,
                by: "ci".into(),
            }
        ),
        Ok(vec![])
    );
    assert!(matches!(
        check(
            &given,
            Command::RecordDeployment {
                component: name("analytics-api"),
                environment: name("prod"),
                version: cv("1.1.5"),
                deployed_at: None,
                by: "ci".into(),
            }
        ),
        Err(DomainError::NotFound {
            kind: "environment",
            ..
        })
    ));
}

#[test]
fn can_i_deploy_a_consumer_needs_a_passing_test_against_the_deployed_provider() {
    let given = ProgramBuilder::seed().with_analytics_api();
    let ask = |given: &ProgramBuilder| {
        can_i_deploy(
            &given.state,
            &name("dashboard-ui"),
            &cv("3.2.0"),
            &name("production"),
        )
        .expect("known names")
    };
    let answer = ask(&given);
    assert!(!answer.deployable);
    assert_eq!(
        answer.reasons(),
        vec![
            "analytics-api: provider analytics-api is not deployed in production: deploy it first"
        ]
    );
    let given = given.deployed("analytics-api", "1.1.4");
    let answer = ask(&given);
    assert!(!answer.deployable);
    assert_eq!(
        answer.reasons(),
        vec![
            "analytics-api: no contract test recorded for dashboard-ui 3.2.0 against analytics-api 1.1.4 (in production)"
        ]
    );
    // A test against another provider version does not count.
    let given = given.run(verified(
        "dashboard-ui",
        "3.2.0",
        "1.1.0",
        Some("1.1.3"),
        VerificationResult::Pass,
    ));
    assert!(!ask(&given).deployable);
    let given = given.run(verified(
        "dashboard-ui",
        "3.2.0",
        "1.1.0",
        Some("1.1.4"),
        VerificationResult::Pass,
    ));
    let answer = ask(&given);
    assert!(answer.deployable, "{:?}", answer.reasons());
    assert!(answer.checks[0].reason.contains("verified"), "{answer:?}");
    // The latest result counts: a later failure says no.
    let given = given.run(verified(
        "dashboard-ui",
        "3.2.0",
        "1.1.0",
        Some("1.1.4"),
        VerificationResult::Fail,
    ));
    let answer = ask(&given);
    assert!(!answer.deployable);
    assert!(
        answer.reasons()[0].contains("contract test failed"),
        "{:?}",
        answer.reasons()
    );
}

#[test]
fn can_i_deploy_a_provider_needs_every_deployed_consumer_verified_against_it() {
    let given = ProgramBuilder::seed()
        .with_analytics_api()
        .deployed("dashboard-ui", "3.2.0");
    let ask = |given: &ProgramBuilder| {
        can_i_deploy(
            &given.state,
            &name("analytics-api"),
            &cv("1.2.0"),
            &name("production"),
        )
        .expect("known names")
    };
    let answer = ask(&given);
    assert!(!answer.deployable);
    // The mobile app is not deployed there: nothing to break.
    let mobile = answer
        .checks
        .iter()
        .find(|c| {
            c.counterpart
                .as_ref()
                .is_some_and(|n| n.as_str() == "mobile-app")
        })
        .expect("mobile app checked");
    assert!(mobile.ok, "{mobile:?}");
    let given = given.run(verified(
        "dashboard-ui",
        "3.2.0",
        "1.1.0",
        Some("1.2.0"),
        VerificationResult::Pass,
    ));
    assert!(ask(&given).deployable, "{:?}", ask(&given).reasons());
}

#[test]
fn can_i_deploy_a_component_without_interfaces_is_yes_and_unknown_names_are_errors() {
    let given = ProgramBuilder::seed().with_analytics_api();
    let answer = can_i_deploy(
        &given.state,
        &name("data-pipeline"),
        &cv("9.0.0"),
        &name("production"),
    )
    .expect("known");
    assert!(answer.deployable && answer.checks.is_empty());
    assert!(matches!(
        can_i_deploy(&given.state, &name("dashbord-ui"), &cv("1"), &name("production")),
        Err(DomainError::NotFound { kind: "component", suggestion: Some(s), .. }) if s == "dashboard-ui"
    ));
}

#[test]
fn a_proposal_is_reviewed_by_someone_else_and_an_approval_publishes_the_version() {
    let given = ProgramBuilder::seed().with_analytics_api();
    let error = check(&given, propose("1.2.0", Compatibility::Breaking, "mike"))
        .expect_err("breaking minor");
    assert!(error.to_string().contains("2.0.0 or later"), "{error}");
    let error =
        check(&given, propose("1.0.5", Compatibility::Backward, "mike")).expect_err("not newer");
    assert!(
        error.to_string().contains("not newer than 1.1.0"),
        "{error}"
    );

    let given = given.run(propose("2.0.0", Compatibility::Breaking, "mike"));
    let interface = &given.state.contracts().interfaces["analytics-api"];
    assert_eq!(interface.proposals[0].status(), ProposalStatus::Open);
    // The assessment made when it was proposed stays with it.
    assert_eq!(
        interface.proposals[0].impact,
        impact(&given.state, interface)
    );
    assert_eq!(
        interface.proposals[0].impact.releases[0].release.as_str(),
        "q1"
    );
    // Proposing the same again changes nothing; something else for it is refused.
    assert_eq!(
        check(&given, propose("2.0.0", Compatibility::Breaking, "mike")),
        Ok(vec![])
    );
    let error = check(&given, review("2.0.0", ProposalDecision::Approve, "mike"))
        .expect_err("own proposal");
    assert!(error.to_string().contains("four eyes"), "{error}");
    let mut blank = review("2.0.0", ProposalDecision::Approve, "sarah");
    if let Command::DecideInterfaceChange { rationale, .. } = &mut blank {
        *rationale = " ".into();
    }
    assert!(
        check(&given, blank).is_err(),
        "a decision needs its rationale"
    );

    let events =
        check(&given, review("2.0.0", ProposalDecision::Approve, "sarah")).expect("approved");
    assert!(
        matches!(
            &events[..],
            [
                Event::InterfaceChangeDecided { number: 1, .. },
                Event::InterfaceVersionPublished { .. }
            ]
        ),
        "{events:?}"
    );
    let given = given.run(review("2.0.0", ProposalDecision::Approve, "sarah"));
    let interface = &given.state.contracts().interfaces["analytics-api"];
    assert_eq!(interface.proposals[0].status(), ProposalStatus::Approved);
    let latest = interface.spec.latest_published().expect("published");
    assert_eq!(latest.version, v("2.0.0"));
    assert_eq!(
        latest.changelog.as_deref(),
        Some("Cohort breakdown endpoint; `range` becomes required")
    );
    let changelog = interface.changelog_markdown();
    assert!(changelog.starts_with("# Changelog: Analytics API\n\n## 2.0.0 (breaking)\n\nProposed by mike on 2025-01-20; approved by sarah on 2025-01-20: Mobile can pin 1.x"), "{changelog}");
    assert!(changelog.contains("## 1.0.0 (none)"), "{changelog}");
    // Re-applying the manifest written before the approval keeps the published version.
    assert_eq!(
        check(&given, define("analytics-api", analytics_api())),
        Ok(vec![])
    );
    // Reviewing again finds no open proposal.
    assert!(check(&given, review("2.0.0", ProposalDecision::Reject, "tom")).is_err());
}

#[test]
fn a_rejection_is_recorded_with_its_rationale_and_publishes_nothing() {
    let given = ProgramBuilder::seed()
        .with_analytics_api()
        .run(propose("2.0.0", Compatibility::Breaking, "mike"))
        .run(review("2.0.0", ProposalDecision::Reject, "tom"));
    let interface = &given.state.contracts().interfaces["analytics-api"];
    assert_eq!(interface.proposals[0].status(), ProposalStatus::Rejected);
    let record = interface.proposals[0].decision.as_ref().expect("recorded");
    assert_eq!(record.by, "tom");
    assert!(record.rationale.contains("Mobile can pin"));
    assert_eq!(
        interface
            .spec
            .latest_published()
            .map(|v| v.version.to_string()),
        Some("1.1.0".into())
    );
    // It may be proposed again.
    assert!(check(&given, propose("2.0.0", Compatibility::Breaking, "lisa")).is_ok());
}

#[test]
fn impact_names_consumers_open_releases_and_scheduled_deployments() {
    let given = ProgramBuilder::seed().with_analytics_api().item(
        "old-charts",
        "q4",
        "frontend",
        "dashboard-ui",
    );
    let given = given.run(Command::ChangeReleaseState {
        release: name("q4"),
        to: lockstep_core::ReleaseState::Cancelled,
    });
    let interface = &given.state.contracts().interfaces["analytics-api"];
    let impact = impact(&given.state, interface);
    let names = |list: &[Name]| list.iter().map(Name::to_string).collect::<Vec<_>>();
    assert_eq!(names(&impact.teams), ["frontend", "mobile"]);
    assert_eq!(names(&impact.components), ["dashboard-ui", "mobile-app"]);
    assert_eq!(
        impact.releases.len(),
        1,
        "a cancelled release is not touched"
    );
    assert_eq!(impact.releases[0].release.as_str(), "q1");
    assert_eq!(
        names(&impact.releases[0].items),
        ["api-endpoints", "dashboard-charts"]
    );
    let deployments: Vec<String> = impact
        .deployments
        .iter()
        .map(|d| format!("{} {} {} {}", d.release, d.component, d.date, d.at))
        .collect();
    assert_eq!(
        deployments,
        [
            "q1 analytics-api 2025-03-01 09:00:00",
            "q1 dashboard-ui 2025-03-01 10:00:00"
        ]
    );
}

#[test]
fn go_no_go_holds_a_release_to_the_contracts_of_its_components() {
    let given = ProgramBuilder::seed();
    let criteria = |given: &ProgramBuilder| {
        lockstep_core::readiness::evaluate(&given.state, &name("q1"))
            .expect("release")
            .criteria
    };
    assert!(
        criteria(&given)
            .iter()
            .all(|c| c.id != "contracts-verified"),
        "no interface: no criterion"
    );
    let given = given.with_analytics_api();
    let criterion = criteria(&given)
        .into_iter()
        .find(|c| c.id == "contracts-verified")
        .expect("criterion");
    assert_eq!(criterion.status, CriterionStatus::Missing);
    // q1 ships the provider, so every consumer must have verified the latest version.
    assert_eq!(
        criterion.missing,
        [
            "analytics-api 1.1.0: no contract test of dashboard-ui recorded",
            "analytics-api 1.1.0: no contract test of mobile-app recorded"
        ]
    );
    let given = given
        .run(verified(
            "dashboard-ui",
            "3.2.0",
            "1.1.0",
            Some("1.1.4"),
            VerificationResult::Pass,
        ))
        .run(verified(
            "mobile-app",
            "5.0.0",
            "1.1.0",
            Some("1.1.4"),
            VerificationResult::Fail,
        ));
    let criterion = criteria(&given)
        .into_iter()
        .find(|c| c.id == "contracts-verified")
        .expect("criterion");
    assert_eq!(criterion.status, CriterionStatus::Failed);
    let given = given.run(verified(
        "mobile-app",
        "5.0.1",
        "1.1.0",
        Some("1.1.4"),
        VerificationResult::Pass,
    ));
    let criterion = criteria(&given)
        .into_iter()
        .find(|c| c.id == "contracts-verified")
        .expect("criterion");
    assert_eq!(criterion.status, CriterionStatus::Met, "{criterion:?}");
}

#[test]
fn producers_declare_and_propose_consumers_review_and_teams_record_their_own_facts() {
    let given = ProgramBuilder::seed().with_analytics_api();
    let allowed = |who: &str, command: &Command| {
        authorize(&given.state, &principal(Some(who)), command).is_ok()
    };
    assert!(allowed("mike", &define("analytics-api", analytics_api())));
    assert!(!allowed("sarah", &define("analytics-api", analytics_api())));
    assert!(allowed("rita", &define("analytics-api", analytics_api())));
    assert!(allowed(
        "lisa",
        &propose("2.0.0", Compatibility::Breaking, "lisa")
    ));
    assert!(!allowed(
        "tom",
        &propose("2.0.0", Compatibility::Breaking, "tom")
    ));
    assert!(allowed(
        "sarah",
        &review("2.0.0", ProposalDecision::Approve, "sarah")
    ));
    assert!(allowed(
        "tom",
        &review("2.0.0", ProposalDecision::Approve, "tom")
    ));
    assert!(!allowed(
        "alex",
        &review("2.0.0", ProposalDecision::Approve, "alex")
    ));
    let dashboard = verified(
        "dashboard-ui",
        "3.2.0",
        "1.1.0",
        Some("1.1.4"),
        VerificationResult::Pass,
    );
    assert!(allowed("sarah", &dashboard));
    assert!(allowed("mike", &dashboard));
    assert!(!allowed("tom", &dashboard));
    let deploy = Command::RecordDeployment {
        component: name("dashboard-ui"),
        environment: name("production"),
        version: cv("3.2.0"),
        deployed_at: None,
        by: "sarah".into(),
    };
    assert!(allowed("sarah", &deploy));
    assert!(!allowed("mike", &deploy));
    assert!(authorize(&given.state, &principal(None), &deploy).is_err());
}

#[test]
fn texts_are_bounded_like_every_command() {
    let given = ProgramBuilder::seed().with_analytics_api();
    let mut long = propose("2.0.0", Compatibility::Breaking, "mike");
    if let Command::ProposeInterfaceChange { summary, .. } = &mut long {
        *summary = "x".repeat(2_001);
    }
    let error = check(&given, long).expect_err("too long");
    assert!(
        error.to_string().starts_with("summary: 2001 characters"),
        "{error}"
    );
}

mod version_properties {
    //! The hand-written semantic-version parser: what it prints it parses back, and its
    //! order is the numeric order of the three numbers, a pre-release just before.
    use lockstep_core::contract::Version;
    use proptest::prelude::*;

    fn version() -> impl Strategy<Value = (u64, u64, u64, Option<String>)> {
        (
            0u64..1_000,
            0u64..1_000,
            0u64..1_000,
            proptest::option::of(
                ("(alpha|beta|rc)", proptest::option::of(0u32..1_000)).prop_map(
                    |(word, number)| match number {
                        Some(number) => format!("{word}.{number}"),
                        None => word,
                    },
                ),
            ),
        )
    }

    fn text((major, minor, patch, pre): &(u64, u64, u64, Option<String>)) -> String {
        match pre {
            Some(pre) => format!("{major}.{minor}.{patch}-{pre}"),
            None => format!("{major}.{minor}.{patch}"),
        }
    }

    proptest! {
        #[test]
        fn printing_and_parsing_round_trip(parts in version()) {
            let raw = text(&parts);
            let parsed = Version::parse(&raw).expect("a generated version parses");
            prop_assert_eq!(parsed.to_string(), raw);
        }

        #[test]
        fn the_order_follows_the_numbers_and_puts_pre_releases_first(a in version(), b in version()) {
            let (va, vb) = (
                Version::parse(&text(&a)).expect("parses"),
                Version::parse(&text(&b)).expect("parses"),
            );
            let numbers = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2));
            if numbers != std::cmp::Ordering::Equal {
                prop_assert_eq!(va.cmp(&vb), numbers);
            } else if a.3.is_none() && b.3.is_some() {
                prop_assert!(va > vb);
            } else if a.3.is_some() && b.3.is_none() {
                prop_assert!(va < vb);
            }
            prop_assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse());
            prop_assert_eq!(va == vb, text(&a) == text(&b));
            prop_assert_eq!(va.cmp(&vb) == std::cmp::Ordering::Equal, va == vb);
        }

        #[test]
        fn arbitrary_text_never_panics(raw in "\\PC{0,40}") {
            let _ = Version::parse(&raw);
            let _ = lockstep_core::contract::ComponentVersion::parse(&raw);
        }
    }
}
