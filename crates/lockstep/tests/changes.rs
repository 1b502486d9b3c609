//! `lockstep change …` end to end: propose an edited release as a change request, read
//! its impact, and approve it as someone else, on the database and against a server.

mod common;

use common::{Workspace, example, serve};

/// The example's release with its target moved a week, as a file in `ws`.
fn slipped_release(ws: &Workspace) -> String {
    let release =
        std::fs::read_to_string(format!("{}/release.yaml", example())).expect("example release");
    assert!(
        release.contains("targetDate: 2025-03-01"),
        "the example changed"
    );
    let path = ws.write(
        "slip.yaml",
        &release.replace("targetDate: 2025-03-01", "targetDate: 2025-03-08"),
    );
    path.to_str().expect("utf-8 path").to_owned()
}

#[test]
fn a_change_is_proposed_with_its_impact_and_applied_only_when_someone_else_approves() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let slip = slipped_release(&ws);
    let proposed = ws.ok(&[
        "--actor",
        "mike",
        "change",
        "propose",
        "-f",
        &slip,
        "--title",
        "Slip Q1 a week",
    ]);
    assert!(proposed.contains("## cr-1: Slip Q1 a week"), "{proposed}");
    assert!(
        proposed.contains("target 2025-03-01 → 2025-03-08"),
        "{proposed}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ws.ok(&["change", "show", "cr-1", "-o", "json"])).expect("json");
    assert_eq!(shown["releases"], serde_json::json!(["q1-2025"]));
    let n_events = ws.n_events();
    let list = ws.ok(&["change", "list"]);
    assert!(
        list.contains("cr-1") && list.contains("open") && list.contains("mike"),
        "{list}"
    );

    let refused = ws.fails(&["--actor", "mike", "change", "approve", "cr-1"]);
    assert!(refused.contains("four eyes"), "{refused}");
    assert_eq!(ws.n_events(), n_events, "a refusal records nothing");

    let approved = ws.ok(&[
        "--actor",
        "rita",
        "change",
        "approve",
        "cr-1",
        "--note",
        "agreed in the sync",
    ]);
    assert!(
        approved.contains("Approved and applied by rita")
            && approved.contains("agreed in the sync"),
        "{approved}"
    );
    let release = ws.ok(&["get", "releases", "-o", "yaml"]);
    assert!(release.contains("targetDate: \"2025-03-08\""), "{release}");
    let again = ws.fails(&[
        "--actor", "sam", "change", "reject", "cr-1", "--reason", "late",
    ]);
    assert!(again.contains("already approved"), "{again}");
}

#[test]
fn change_requests_go_through_a_server_with_the_callers_identity() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.ok(&["user", "add", "rita", "--member", "release-office/rita"]);
    ws.ok(&["user", "add", "mike", "--member", "mike"]);
    let (rita, mike) = (ws.token("rita"), ws.token("mike"));
    let server = serve(&ws, &[]);
    let url = server.url();
    let remote = |token: &str, args: &[&str]| ws.remote(&url, token, args);
    let slip = slipped_release(&ws);
    let proposed = remote(
        &mike,
        &["change", "propose", "-f", &slip, "--title", "Slip"],
    );
    assert!(proposed.status.success(), "{proposed:?}");
    let stdout = String::from_utf8_lossy(&proposed.stdout);
    assert!(
        stdout.contains("proposed by mike"),
        "the server's caller, not --actor: {stdout}"
    );
    let own = remote(&mike, &["change", "approve", "cr-1"]);
    assert!(!own.status.success(), "a team member does not decide");
    let approved = remote(&rita, &["-o", "json", "change", "approve", "cr-1"]);
    assert!(approved.status.success(), "{approved:?}");
    let view: serde_json::Value = serde_json::from_slice(&approved.stdout).expect("json view");
    assert_eq!(view["status"], "approved");
    let list = remote(&rita, &["change", "list", "--status", "approved"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("cr-1"),
        "{list:?}"
    );
}

#[test]
fn the_example_slip_shows_the_seed_chain_before_anything_changes() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let slip = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/changes/api-slip.yaml"
    );
    let before = ws.ok(&["get", "items", "-o", "json"]);
    let shown = ws.ok(&[
        "change",
        "propose",
        "-f",
        slip,
        "--title",
        "API slips to Feb 10",
    ]);
    for expected in [
        "item api-analytics-endpoints: eta 2025-02-05 → 2025-02-10",
        "q1-2025: **becomes at risk**",
        "frontend-dashboard becomes at risk: API: Analytics endpoints ETA Feb 10 > need-by Feb 8 − 3 d buffer",
        "api, frontend, mobile",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in\n{shown}");
    }
    assert_eq!(
        ws.ok(&["get", "items", "-o", "json"]),
        before,
        "nothing applied yet"
    );
}

/// With a notification file, proposing and approving write their messages in the
/// commit, on the database path too; a subscription manifest may name the new kinds.
#[test]
fn proposing_and_approving_write_change_request_messages_to_the_outbox() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.write(
        "notifications.yaml",
        "channels:\n  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}\n\
         subscriptions:\n  - {role: release-manager, channel: hook, kinds: [change-request]}\n",
    );
    let subscription = ws.write(
        "mike-reviews.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Subscription\nmetadata: {name: mike-reviews}\n\
         spec: {member: mike, channel: hook, kinds: [change-request, interface-change]}\n",
    );
    ws.ok(&["apply", "-f", subscription.to_str().expect("utf-8 path")]);
    let pending = |ws: &Workspace| -> i64 {
        let counts: serde_json::Value =
            serde_json::from_str(&ws.ok(&["outbox", "status", "-o", "json"])).expect("json");
        counts["pending"].as_i64().expect("a count")
    };
    assert_eq!(pending(&ws), 0);
    let slip = slipped_release(&ws);
    ws.ok(&[
        "--actor",
        "mike",
        "change",
        "propose",
        "-f",
        &slip,
        "--title",
        "Slip Q1 a week",
    ]);
    assert_eq!(pending(&ws), 2, "the proposal, to rita and to mike");
    ws.ok(&["--actor", "rita", "change", "approve", "cr-1"]);
    assert_eq!(pending(&ws), 4, "the approval, to mike and to rita");
}
