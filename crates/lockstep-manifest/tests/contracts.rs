//! `kind: Interface`: an interface parses, applies once, round-trips through export (also
//! after an approved proposal published a version), and every bad reference, word or
//! version is located where it is written, with the closest name.

use lockstep_core::contract::{
    Compatibility, Consumer, InterfaceType, ProposalDecision, Version, VersionStatus,
};
mod common;

use common::{name, now};
use lockstep_core::{Command, State, decide};
use lockstep_manifest::export;

const PROGRAM: &str = "\
apiVersion: lockstep.dev/v1
kind: Team
metadata: {name: api}
spec:
  timeZone: America/New_York
  members: [{handle: mike, roles: [tech-lead]}]
---
apiVersion: lockstep.dev/v1
kind: Team
metadata: {name: mobile}
spec:
  timeZone: America/Los_Angeles
  members: [{handle: tom, roles: [tech-lead]}]
---
apiVersion: lockstep.dev/v1
kind: Component
metadata: {name: analytics-api}
spec: {team: api}
---
apiVersion: lockstep.dev/v1
kind: Component
metadata: {name: dashboard-ui}
spec: {team: mobile}
";

/// An `Interface` document; `spec` lines are indented by the caller's text. The
/// document starts on line 24 of the file, its name is on line 27 and its spec
/// lines from 29.
fn interface(spec: &str) -> String {
    format!(
        "{PROGRAM}---\napiVersion: lockstep.dev/v1\nkind: Interface\nmetadata: {{name: analytics-api}}\nspec:\n{spec}"
    )
}

const GOOD: &str = "  title: Analytics API
  producer: api
  component: analytics-api
  type: openapi
  consumers:
    - {component: dashboard-ui}
    - {team: mobile}
  versions:
    - {version: 1.0.0, compatibility: none, status: published, changelog: First version}
    - {version: 1.1.0, compatibility: backward, status: published, changelog: Date range filter}
    - {version: 2.0.0, compatibility: breaking}
";

fn apply(state: &mut State, text: &str) -> Result<usize, String> {
    common::apply_file(state, "interfaces.yaml", text)
}

fn errors(text: &str) -> String {
    common::errors_of("interfaces.yaml", text)
}

#[test]
fn an_interface_applies_once_and_its_export_reapplies_with_no_change() {
    let mut state = State::new();
    let text = interface(GOOD);
    assert!(apply(&mut state, &text).expect("applies") > 0);
    let spec = &state.contracts().interfaces["analytics-api"].spec;
    assert_eq!(spec.kind, InterfaceType::Openapi);
    assert_eq!(spec.producer.as_str(), "api");
    assert_eq!(
        spec.consumers,
        [
            Consumer::Component(name("dashboard-ui")),
            Consumer::Team(name("mobile"))
        ]
    );
    assert_eq!(spec.versions.len(), 3);
    assert_eq!(spec.versions[2].status, VersionStatus::Draft, "the default");
    assert_eq!(spec.versions[2].compatibility, Compatibility::Breaking);
    assert_eq!(
        apply(&mut state, &text),
        Ok(0),
        "second apply changes nothing"
    );
    let yaml = export(&state, Some("Interface")).expect("export");
    assert!(yaml.contains("kind: Interface"), "{yaml}");
    assert!(yaml.contains("type: openapi"), "{yaml}");
    assert!(yaml.contains("status: draft"), "{yaml}");
    assert_eq!(
        apply(&mut state, &yaml),
        Ok(0),
        "export round-trips:\n{yaml}"
    );
}

#[test]
fn after_an_approved_proposal_both_the_old_manifest_and_the_export_reapply_with_no_change() {
    let mut state = State::new();
    let text = interface(GOOD);
    apply(&mut state, &text).expect("applies");
    for command in [
        Command::ProposeInterfaceChange {
            interface: name("analytics-api"),
            version: Version::parse("2.0.0").expect("version"),
            compatibility: Compatibility::Breaking,
            summary: "Cohorts; range required".into(),
            by: "mike".into(),
        },
        Command::DecideInterfaceChange {
            interface: name("analytics-api"),
            version: Version::parse("2.0.0").expect("version"),
            decision: ProposalDecision::Approve,
            rationale: "consumers ready".into(),
            by: "tom".into(),
        },
    ] {
        for event in decide(&state, command, now()).expect("decided") {
            state.apply(state.position() + 1, &event);
        }
    }
    let yaml = export(&state, Some("Interface")).expect("export");
    assert!(
        yaml.contains("changelog: Cohorts; range required"),
        "{yaml}"
    );
    assert_eq!(
        apply(&mut state, &yaml),
        Ok(0),
        "export round-trips:\n{yaml}"
    );
    // The manifest in git still says 2.0.0 is a draft with no changelog: it may not
    // take the published version back.
    let message = apply(&mut state, &text).expect_err("refused");
    assert!(
        message.contains("2.0.0 is published: it cannot go back to draft"),
        "{message}"
    );
    // Leaving the published version out keeps it.
    let without =
        interface(GOOD.trim_end_matches("    - {version: 2.0.0, compatibility: breaking}\n"));
    assert_eq!(apply(&mut state, &without), Ok(0));
}

#[test]
fn unknown_producer_component_and_consumers_are_located_with_the_closest_name_if_any() {
    let message = errors(&interface(
        "  producer: apii\n  component: analytics\n  type: openapi\n  consumers:\n    - {component: dashbord-ui}\n    - {team: mobil}\n",
    ));
    assert!(
        message.contains("interfaces.yaml:29:13: unknown team `apii` (did you mean `api`?)"),
        "{message}"
    );
    assert!(
        message.contains("interfaces.yaml:30:14: unknown component `analytics`"),
        "{message}"
    );
    assert!(
        message.contains(
            "interfaces.yaml:33:19: unknown component `dashbord-ui` (did you mean `dashboard-ui`?)"
        ),
        "{message}"
    );
    assert!(
        message.contains("interfaces.yaml:34:14: unknown team `mobil` (did you mean `mobile`?)"),
        "{message}"
    );
}

#[test]
fn a_bad_type_version_compatibility_or_status_is_located() {
    let message = errors(&interface(
        "  producer: api\n  type: openpi\n  versions:\n    - {version: 1.0, compatibility: none}\n    - {version: 1.1.0, compatibility: backwards, status: publishd}\n",
    ));
    assert!(
        message.contains(
            "interfaces.yaml:30:9: unknown interface type `openpi` (did you mean `openapi`?); use one of openapi, asyncapi, grpc, graphql, data"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "interfaces.yaml:32:17: version `1.0` is not a semantic version: write MAJOR.MINOR.PATCH, like 2.1.0"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "interfaces.yaml:33:39: unknown compatibility `backwards` (did you mean `backward`?)"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "interfaces.yaml:33:58: unknown version status `publishd` (did you mean `published`?)"
        ),
        "{message}"
    );
}

#[test]
fn a_version_that_breaks_its_compatibility_rule_is_located_at_its_compatibility() {
    let message = errors(&interface(
        "  producer: api\n  type: openapi\n  versions:\n    - {version: 1.0.0, compatibility: none}\n    - {version: 1.1.0, compatibility: breaking}\n    - {version: 1.0.5, compatibility: backward}\n",
    ));
    assert!(
        message.contains(
            "interfaces.yaml:33:39: 1.1.0 is breaking but keeps the major version of 1.0.0: a breaking change is a new major version (2.0.0 or later)"
        ),
        "{message}"
    );
    assert!(
        message.contains(
            "interfaces.yaml:34:17: 1.0.5 comes after 1.1.0: list versions once each, oldest first"
        ),
        "{message}"
    );
}

#[test]
fn a_consumer_names_a_team_or_a_component_and_unknown_fields_are_located() {
    let message = errors(&interface(
        "  producer: api\n  type: openapi\n  consumers:\n    - {team: mobile, component: dashboard-ui}\n",
    ));
    assert!(
        message.contains("interfaces.yaml:32:14: a consumer is a team or a component, not both"),
        "{message}"
    );
    let message = errors(&interface(&format!("{GOOD}  owner: mike\n")));
    assert!(message.contains("interfaces.yaml:40:3:"), "{message}");
    assert!(message.contains("owner"), "{message}");
    let message = errors(&interface("  producer: api\n"));
    assert!(message.starts_with("interfaces.yaml:"), "{message}");
    assert!(message.contains("type"), "{message}");
}

#[test]
fn a_component_of_another_team_is_refused_at_the_interface() {
    let message = errors(&interface(
        "  producer: api\n  component: dashboard-ui\n  type: openapi\n",
    ));
    assert!(
        message.contains(
            "spec.component: component `dashboard-ui` belongs to team `mobile`, not to the producer `api`"
        ),
        "{message}"
    );
    assert!(message.starts_with("interfaces.yaml:27:18:"), "{message}");
}

#[test]
fn a_misspelt_kind_suggests_interface() {
    let message = errors(&interface(GOOD).replace("kind: Interface", "kind: Interfase"));
    assert!(
        message.contains("unknown kind `Interfase` (did you mean `Interface`?)"),
        "{message}"
    );
}
