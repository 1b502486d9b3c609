//! Checklists and go/no-go sign-offs through the real binary on the seed example
//! with the example checklist templates: ticking by owner role, the meeting's
//! request, approvals, a blocking rejection and its withdrawal, no self-approval on
//! the expedited path, and bad input refused with exit 2 and nothing written.

mod common;

use common::{Workspace, example};

fn examples_checklists() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/checklists").to_owned()
}

fn seeded() -> Workspace {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example(), "-f", &examples_checklists()]);
    ws
}

fn json(ws: &Workspace, args: &[&str]) -> serde_json::Value {
    let output = ws.run(&[args, &["-o", "json"]].concat());
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} prints JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn criterion(verdict: &serde_json::Value, id: &str) -> serde_json::Value {
    verdict["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("criterion {id} in {verdict:#}"))
        .clone()
}

#[test]
fn the_seed_release_gets_the_standard_checklist_ticked_by_owner_roles() {
    let ws = seeded();
    let text = ws.ok(&["checklist", "q1-2025"]);
    assert!(
        text.starts_with("q1-2025: checklist standard (standard path), "),
        "{text}"
    );
    assert!(
        text.contains(
            "[ ] design-qa — Design QA completed for UI changes (ux-designer, due 2025-02-22 -7d)"
        ),
        "{text}"
    );
    assert!(text.contains("Release day:\n"), "{text}");

    // sam is the support liaison, not the UX designer: refused, nothing written.
    let before = ws.n_events();
    let error = ws.fails(&["checklist", "check", "q1-2025", "design-qa", "--as", "sam"]);
    assert!(error.contains("owned by role ux-designer"), "{error}");
    let error = ws.fails(&["checklist", "check", "q1-2025", "desing-qa", "--as", "uma"]);
    assert!(error.contains("did you mean `design-qa`?"), "{error}");
    let error = ws.fails(&["checklist", "check", "q1-2025", "ci-green", "--as", "rita"]);
    assert!(error.contains("checks itself from signals"), "{error}");
    assert_eq!(ws.n_events(), before);

    ws.ok(&[
        "checklist",
        "check",
        "q1-2025",
        "design-qa",
        "--as",
        "uma",
        "--note",
        "Figma QA passed",
    ]);
    let checklist = json(&ws, &["checklist", "q1-2025"]);
    let design = checklist["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "design-qa")
        .expect("design-qa")
        .clone();
    assert_eq!(design["state"], "done");
    assert_eq!(design["checkedBy"], "uma");
    assert_eq!(design["note"], "Figma QA passed");
    // Ticking again changes nothing.
    assert_eq!(
        ws.ok(&["checklist", "check", "q1-2025", "design-qa", "--as", "uma"]),
        "no changes\n"
    );
}

#[test]
fn a_rejection_blocks_go_until_withdrawn_and_approvals_complete_the_meeting() {
    let ws = seeded();
    let error = ws.fails(&["signoff", "q1-2025", "--approve", "--as", "sid"]);
    assert!(error.contains("has not been requested"), "{error}");
    ws.ok(&["signoff", "q1-2025", "--request", "--as", "rita"]);
    let error = ws.fails(&["signoff", "q1-2025", "--approve", "--as", "mike"]);
    assert!(error.contains("`mike` is not a named approver"), "{error}");

    ws.ok(&[
        "signoff",
        "q1-2025",
        "--reject",
        "--reason",
        "support runbook missing",
        "--as",
        "sam",
    ]);
    let output = ws.run(&["gonogo", "q1-2025", "-o", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let signoffs = criterion(&verdict, "sign-offs");
    assert_eq!(signoffs["status"], "failed");
    assert!(
        signoffs["missing"].to_string().contains("sam rejected at")
            && signoffs["missing"]
                .to_string()
                .contains("support runbook missing"),
        "{signoffs:#}"
    );
    let text = String::from_utf8(ws.run(&["gonogo", "q1-2025"]).stdout).expect("utf-8");
    assert!(text.contains("go/no-go requested by rita"), "{text}");
    assert!(text.contains("support runbook missing"), "{text}");

    ws.ok(&["signoff", "q1-2025", "--withdraw", "--as", "sam"]);
    for person in ["sid", "sam", "uma"] {
        ws.ok(&["signoff", "q1-2025", "--approve", "--as", person]);
    }
    let verdict = json(&ws, &["gonogo", "q1-2025"]);
    assert_eq!(
        criterion(&verdict, "sign-offs")["status"],
        "met",
        "{verdict:#}"
    );
    assert_eq!(verdict["path"], "standard");
    assert_eq!(verdict["signoffs"]["rulesFrom"], "template");
}

#[test]
fn the_expedited_path_needs_named_approvers_and_refuses_self_approval() {
    let ws = seeded();
    ws.write(
        "hotfix.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {name: hotfix-2025-02}\nspec:\n  kind: hotfix\n  targetDate: 2025-02-12\n  manager: rita\n",
    );
    ws.ok(&["apply", "-f", "hotfix.yaml"]);
    let checklist = json(&ws, &["checklist", "hotfix-2025-02"]);
    assert_eq!(checklist["template"], "expedited");
    assert_eq!(checklist["expedited"], true);
    assert_eq!(checklist["total"], 11);

    // mike asks for go/no-go, so of the named approvers (sid, mike, alex; two
    // needed) only sid and alex can approve.
    ws.ok(&["signoff", "hotfix-2025-02", "--request", "--as", "mike"]);
    let error = ws.fails(&["signoff", "hotfix-2025-02", "--approve", "--as", "mike"]);
    assert!(error.contains("no self-approval"), "{error}");
    ws.ok(&["signoff", "hotfix-2025-02", "--approve", "--as", "sid"]);
    let verdict = json(&ws, &["gonogo", "hotfix-2025-02"]);
    assert_eq!(verdict["path"], "expedited");
    assert_eq!(
        criterion(&verdict, "sign-offs")["missing"],
        serde_json::json!(["2 of sid, mike, alex: 1 more needed (eligible: alex, sid)"])
    );
    ws.ok(&["signoff", "hotfix-2025-02", "--approve", "--as", "alex"]);
    let verdict = json(&ws, &["gonogo", "hotfix-2025-02"]);
    assert_eq!(criterion(&verdict, "sign-offs")["status"], "met");
    let text = String::from_utf8(ws.run(&["gonogo", "hotfix-2025-02"]).stdout).expect("utf-8");
    assert!(text.contains("path: expedited"), "{text}");
    assert!(text.contains("go/no-go requested by mike at "), "{text}");
    assert!(text.contains(" (expedited path)\n"), "{text}");
    let history = ws.ok(&["history", "--limit", "10"]);
    assert!(
        history.contains("release hotfix-2025-02: go/no-go requested by mike (expedited path)"),
        "{history}"
    );
}

#[test]
fn release_rules_that_would_deadlock_are_refused_with_their_location() {
    let ws = seeded();
    ws.write(
        "rules.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {name: q2}\nspec:\n  targetDate: 2025-06-01\n  approvals:\n    - {role: security, quorum: 2}\n",
    );
    let error = ws.fails(&["apply", "-f", "rules.yaml"]);
    assert!(
        error.contains(
            "rules.yaml:3:18: approvals[0]: 2 approvals from role security can never be met"
        ),
        "{error}"
    );
    let templates = ws.ok(&["checklist", "templates"]);
    assert!(
        templates.contains("hotfix       expedited — 11 items, expedited path"),
        "{templates}"
    );
}

#[test]
fn rollback_procedures_tested_checks_itself_from_rollback_drills_in_ci() {
    let ws = seeded();
    let item = |ws: &Workspace| {
        json(ws, &["checklist", "q1-2025"])["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"] == "rollback-tested")
            .expect("rollback-tested")
            .clone()
    };
    let before = item(&ws);
    assert_eq!(before["check"], "rollback-rehearsed");
    assert_eq!(before["state"], "open", "{before:#}");
    // It checks itself: nobody ticks it by hand.
    let ticked = ws.fails(&[
        "checklist",
        "check",
        "q1-2025",
        "rollback-tested",
        "--as",
        "rita",
    ]);
    assert!(ticked.contains("rollback-tested"), "{ticked}");
    let drill = |component: &str, conclusion: &str| {
        ws.ok(&[
            "signal",
            "record",
            "ci",
            component,
            "--workflow",
            "Rollback drill",
            "--conclusion",
            conclusion,
        ]);
    };
    for component in [
        "data-pipeline",
        "analytics-api",
        "dashboard-ui",
        "mobile-app",
    ] {
        drill(component, "success");
    }
    assert_eq!(item(&ws)["state"], "done");
    drill("analytics-api", "failure");
    let failed = item(&ws);
    assert_eq!(failed["state"], "failed");
    assert!(
        failed["evidence"]
            .to_string()
            .contains("analytics-api: Rollback drill failure"),
        "{failed:#}"
    );
}
