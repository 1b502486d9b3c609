//! `lockstep user`: accounts made on the database are honoured by a real `serve`, with
//! the roles that follow from the member they act as.

mod common;

use common::{Workspace, example, post, serve};

#[test]
fn a_user_made_on_the_cli_writes_only_what_their_role_allows() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let added = ws.run_with(
        &[
            "user",
            "add",
            "mike",
            "--member",
            "mike",
            "--password-stdin",
        ],
        "correct-horse-battery\n",
    );
    assert!(added.status.success(), "{added:?}");
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        !stdout.contains("correct-horse-battery"),
        "a chosen password is never echoed: {stdout}"
    );
    let token = ws.ok(&["user", "token", "create", "mike", "--label", "ci"]);
    let token = token.trim();
    assert!(token.starts_with("lst_"), "{token}");

    let listed = ws.ok(&["user", "list", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&listed).expect("json list");
    assert_eq!(value["items"][0]["name"], "mike");
    assert_eq!(value["items"][0]["member"], "mike");
    assert_eq!(value["items"][0]["admin"], false);
    assert!(!listed.contains("argon2"), "no hash is printed: {listed}");
    assert!(!listed.contains(token), "no token is printed again");

    let server = serve(&ws, &[]);
    let body = r#"{"status":"ready-for-release","reason":"contract tests green"}"#;
    let (status, answer) = post(
        &server.address,
        "/api/v1/items/api-analytics-endpoints/status",
        Some(token),
        body,
    );
    assert_eq!(status, 200, "mike moves his own team's item: {answer}");
    assert!(answer.contains("ready-for-release"), "{answer}");

    let (status, answer) = post(
        &server.address,
        "/api/v1/items/frontend-dashboard/status",
        Some(token),
        r#"{"status":"testing"}"#,
    );
    assert_eq!(status, 403, "mike may not move frontend's item: {answer}");
    assert!(
        answer.contains("problem") || answer.contains("\"status\":403"),
        "{answer}"
    );

    let (status, _) = post(
        &server.address,
        "/api/v1/items/api-analytics-endpoints/status",
        Some("lst_forged"),
        body,
    );
    assert_eq!(status, 401, "a forged token is refused");
    let (status, _) = post(
        &server.address,
        "/api/v1/items/api-analytics-endpoints/status",
        None,
        body,
    );
    assert_eq!(status, 401, "an anonymous write is refused");
}

#[test]
fn user_verbs_refuse_bad_input_cleanly() {
    let ws = Workspace::new();
    let output = ws.run_with(&["user", "token", "create", "nobody"], "");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nobody"));

    let output = ws.run_with(&["user", "add", "short", "--password-stdin"], "abc\n");
    assert_eq!(output.status.code(), Some(2), "{output:?}");

    let added = ws.ok(&["user", "add", "ops", "--admin"]);
    assert!(
        added.contains("password: "),
        "a generated password is shown once: {added}"
    );
    let table = ws.ok(&["user", "list"]);
    assert!(table.contains("ops") && table.contains("yes"), "{table}");
}

#[test]
fn an_automation_account_applies_the_manifests_and_counts_as_no_ones_time() {
    let ws = Workspace::new();
    ws.ok(&["user", "add", "ci", "--admin", "--automation"]);
    ws.ok(&["user", "add", "ops", "--admin"]);
    let listed = ws.ok(&["user", "list", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&listed).expect("json list");
    let flags: Vec<(&str, bool)> = value["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|user| {
            (
                user["name"].as_str().unwrap_or_default(),
                user["automation"] == true,
            )
        })
        .collect();
    assert_eq!(flags, [("ci", true), ("ops", false)], "{listed}");

    ws.ok(&["--actor", "ci", "apply", "-f", &example()]);
    ws.ok(&[
        "--actor",
        "rita",
        "item",
        "eta",
        "api-analytics-endpoints",
        "2025-02-09",
        "--reason",
        "pipeline migration slipped",
    ]);
    let report = ws.ok(&["coordination", "q1-2025"]);
    assert!(
        report.contains("about 1 in Lockstep by 1 person")
            && report
                .contains("Left out, as no one's time: 1 action by the automation account ci."),
        "{report}"
    );

    // Saved again without the flag, the account is a person, and its past apply counts.
    ws.ok(&["user", "add", "ci", "--admin"]);
    let report = ws.ok(&["coordination", "q1-2025", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("json report");
    assert_eq!(
        report["inTool"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert_eq!(report["automation"], serde_json::json!([]), "{report}");
}
