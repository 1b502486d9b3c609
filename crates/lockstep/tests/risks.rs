//! The risk register from the command line, on the database and against a server:
//! `get risks` ordered by exposure, `describe risk`, `-o yaml` that re-applies, and
//! `risk status … --reason` recorded with who and why.

mod common;

use common::{Workspace, example, serve};

#[test]
fn get_risks_lists_the_register_by_exposure_and_its_yaml_reapplies() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let table = ws.ok(&["get", "risks", "--release", "q1-2025"]);
    let names: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    // Exposure 6 (two of them, by name), then 3.
    assert_eq!(
        names,
        [
            "analytics-api-slip",
            "staging-capacity",
            "pipeline-migration"
        ],
        "{table}"
    );
    assert!(table.contains("6 (medium × high)  mike"), "{table}");
    let described: serde_json::Value =
        serde_json::from_str(&ws.ok(&["describe", "risk", "analytics-api-slip", "-o", "json"]))
            .expect("json");
    assert_eq!(described["exposure"], 6);
    assert_eq!(described["spec"]["featureFlag"], "analytics-endpoints-v2");
    let error = ws.fails(&["describe", "risk", "staging-capcity"]);
    assert!(
        error.contains("unknown risk `staging-capcity` (did you mean `staging-capacity`?)"),
        "{error}"
    );
    let error = ws.fails(&["get", "risks", "--team", "api"]);
    assert!(error.contains("filters only"), "{error}");
    // The export re-applies with no change, status included.
    ws.ok(&[
        "risk",
        "status",
        "staging-capacity",
        "occurred",
        "--reason",
        "frontend and mobile both waited two days",
    ]);
    let yaml = ws.ok(&["get", "risks", "-o", "yaml"]);
    assert!(yaml.contains("status: occurred"), "{yaml}");
    let path = ws.write("risks.yaml", &yaml);
    assert_eq!(
        ws.ok(&["apply", "-f", path.to_str().expect("utf-8 path")])
            .trim(),
        "no changes"
    );
}

#[test]
fn risk_status_records_who_and_why_and_refuses_what_it_cannot_mean() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let out = ws.ok(&[
        "risk",
        "status",
        "analytics-api-slip",
        "mitigated",
        "--reason",
        "flag created, off in production",
    ]);
    assert_eq!(out.trim(), "risk analytics-api-slip: open → mitigated");
    let history = ws.ok(&["history", "--limit", "1", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&history).expect("json");
    assert_eq!(value["items"][0]["actor"], "tester");
    assert_eq!(
        value["items"][0]["reason"],
        "flag created, off in production"
    );
    assert_eq!(value["items"][0]["stream"], "release:q1-2025");
    let error = ws.fails(&[
        "risk",
        "status",
        "analytics-api-slip",
        "done",
        "--reason",
        "x",
    ]);
    assert!(error.contains("unknown risk status `done`"), "{error}");
    let error = ws.fails(&[
        "risk",
        "status",
        "analytics-api-slip",
        "closed",
        "--reason",
        " ",
    ]);
    assert!(error.contains("--reason must say why"), "{error}");
    let missing = ws.run(&["risk", "status", "analytics-api-slip", "closed"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--reason"));
    let error = ws.fails(&[
        "risk",
        "status",
        "analytics-api-slp",
        "closed",
        "--reason",
        "x",
    ]);
    assert!(
        error.contains("did you mean `analytics-api-slip`"),
        "{error}"
    );
}

#[test]
fn against_a_server_the_register_reads_the_same_and_the_owner_moves_a_risk() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.ok(&["user", "add", "mike", "--member", "mike"]);
    ws.ok(&["user", "add", "emma", "--member", "emma"]);
    let (mike, emma) = (ws.token("mike"), ws.token("emma"));
    let server = serve(&ws, &[]);
    let url = server.url();
    let remote = |token: &str, args: &[&str]| ws.remote(&url, token, args);
    let listed = remote(&mike, &["get", "risks"]);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        ws.ok(&["get", "risks"]),
        "the server's listing is the database's"
    );
    // Emma (backend) may not move the API lead's risk; Mike may.
    let refused = remote(
        &emma,
        &[
            "risk",
            "status",
            "analytics-api-slip",
            "closed",
            "--reason",
            "not mine",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("only risks their team (backend) owns"),
        "{refused:?}"
    );
    let moved = remote(
        &mike,
        &[
            "risk",
            "status",
            "analytics-api-slip",
            "occurred",
            "--reason",
            "API slipped to Feb 10",
        ],
    );
    assert!(moved.status.success(), "{moved:?}");
    assert!(
        String::from_utf8_lossy(&moved.stdout).contains("risk analytics-api-slip: open → occurred")
    );
    let history = ws.ok(&["history", "--limit", "1", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&history).expect("json");
    assert_eq!(value["items"][0]["actor"], "mike");
    assert_eq!(value["items"][0]["reason"], "API slipped to Feb 10");
}
