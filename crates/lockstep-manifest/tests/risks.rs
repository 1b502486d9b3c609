//! `kind: Risk`: a risk register entry parses, applies once, round-trips through
//! export, and every bad reference or level is located with the closest name.

mod common;

use lockstep_core::{RiskLevel, RiskStatus, State};
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
kind: Release
metadata: {name: q1}
spec:
  targetDate: 2025-03-01
  items:
    - {name: endpoints, title: Endpoints, team: api}
---
apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: q2}
spec:
  targetDate: 2025-06-01
  items:
    - {name: later, title: Later, team: api}
";

/// A `Risk` document; `spec` lines are indented by the caller's text.
fn risk(spec: &str) -> String {
    format!(
        "{PROGRAM}---\napiVersion: lockstep.dev/v1\nkind: Risk\nmetadata: {{name: api-slip}}\nspec:\n{spec}"
    )
}

const GOOD: &str = "  release: q1
  title: API slips
  probability: medium
  impact: high
  owner: mike
  mitigation: ship behind a flag
  featureFlag: analytics-v2
  items: [endpoints]
  trigger: ETA past Feb 5
  reviewBy: 2025-02-03
";

fn apply(state: &mut State, text: &str) -> Result<usize, String> {
    common::apply_file(state, "risks.yaml", text)
}

fn errors(text: &str) -> String {
    common::errors_of("risks.yaml", text)
}

#[test]
fn a_risk_applies_once_and_its_export_reapplies_with_no_change() {
    let mut state = State::new();
    let text = risk(GOOD);
    assert!(apply(&mut state, &text).expect("applies") > 0);
    let risk = &state.risks()["api-slip"];
    assert_eq!(risk.release.as_str(), "q1");
    assert_eq!(
        (risk.spec.probability, risk.spec.impact),
        (RiskLevel::Medium, RiskLevel::High)
    );
    assert_eq!(risk.spec.feature_flag.as_deref(), Some("analytics-v2"));
    assert_eq!(risk.status, RiskStatus::Open);
    assert_eq!(
        apply(&mut state, &text),
        Ok(0),
        "second apply changes nothing"
    );
    let yaml = export(&state, Some("Risk")).expect("export");
    assert!(yaml.contains("kind: Risk"), "{yaml}");
    assert!(yaml.contains("status: open"), "{yaml}");
    assert_eq!(
        apply(&mut state, &yaml),
        Ok(0),
        "export round-trips:\n{yaml}"
    );
}

#[test]
fn a_written_status_is_applied_after_the_declaration() {
    let mut state = State::new();
    apply(&mut state, &risk(&format!("{GOOD}  status: mitigated\n"))).expect("applies");
    assert_eq!(state.risks()["api-slip"].status, RiskStatus::Mitigated);
}

#[test]
fn unknown_release_owner_and_item_are_located_with_the_closest_name() {
    let message = errors(&risk(
        "  release: q11\n  title: t\n  probability: low\n  impact: low\n  owner: mik\n  items: [endpoint]\n",
    ));
    // The risk document starts on line 24 of the file; its spec on line 27.
    assert!(
        message.contains("risks.yaml:28:12: unknown release `q11` (did you mean `q1`?)"),
        "{message}"
    );
    assert!(
        message.contains("risks.yaml:32:10: unknown member `mik` (did you mean `mike`?)"),
        "{message}"
    );
    assert!(
        message.contains("risks.yaml:33:11: unknown item `endpoint` (did you mean `endpoints`?)"),
        "{message}"
    );
}

#[test]
fn a_bad_level_or_status_is_located_with_the_closest_word() {
    let message = errors(&risk(
        "  release: q1\n  title: t\n  probability: hgh\n  impact: medum\n  owner: mike\n  status: closd\n",
    ));
    assert!(
        message.contains(
            "risks.yaml:30:16: unknown probability `hgh` (did you mean `high`?); use one of low, medium, high"
        ),
        "{message}"
    );
    assert!(
        message.contains("risks.yaml:31:11: unknown impact `medum` (did you mean `medium`?)"),
        "{message}"
    );
    assert!(
        message.contains("risks.yaml:33:11: unknown status `closd` (did you mean `closed`?)"),
        "{message}"
    );
}

#[test]
fn an_item_of_another_release_is_located() {
    let message = errors(&risk(
        "  release: q1\n  title: t\n  probability: low\n  impact: low\n  owner: mike\n  items: [endpoints, later]\n",
    ));
    assert!(
        message.contains(
            "risks.yaml:33:22: item `later` is in release `q2`, not `q1`: a risk concerns items of its own release"
        ),
        "{message}"
    );
}

#[test]
fn a_missing_title_and_an_unknown_field_are_located() {
    let message = errors(&risk(
        "  release: q1\n  probability: low\n  impact: low\n  owner: mike\n",
    ));
    assert!(message.starts_with("risks.yaml:"), "{message}");
    assert!(message.contains("title"), "{message}");
    let message = errors(&risk(&format!("{GOOD}  severity: high\n")));
    assert!(message.contains("risks.yaml:38:3:"), "{message}");
    assert!(message.contains("severity"), "{message}");
}

#[test]
fn a_title_too_long_is_refused_at_the_risks_name() {
    let long = "x".repeat(lockstep_core::limits::MAX_TITLE_CHARS + 1);
    let message = errors(&risk(&format!(
        "  release: q1\n  title: {long}\n  probability: low\n  impact: low\n  owner: mike\n"
    )));
    assert!(
        message.starts_with("risks.yaml:26:18: spec.title:"),
        "{message}"
    );
    assert!(message.contains("too long"), "{message}");
}
