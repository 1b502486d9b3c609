//! Cross-team contracts from the command line, on the database and against a server:
//! `get interfaces` and its YAML that re-applies, `deployed`, `contract verify`,
//! `can-i-deploy` (exit 0 yes, 1 no, 2 error), `interface propose|approve|reject` with
//! decision records, and `interface changelog`.

mod common;

use common::{Workspace, example, serve};

fn can_i_deploy(ws: &Workspace, args: &[&str]) -> (Option<i32>, String) {
    let output = ws.run(&[&["can-i-deploy"], args].concat());
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn get_interfaces_lists_the_examples_and_their_yaml_reapplies() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let table = ws.ok(&["get", "interfaces"]);
    let names: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(names, ["analytics-api", "analytics-events"], "{table}");
    let first_row = table
        .lines()
        .nth(1)
        .map(|row| row.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(
        first_row.as_deref(),
        Some(
            "analytics-api openapi api (analytics-api) component dashboard-ui, team mobile 1.1.0 3"
        ),
        "{table}"
    );
    let described: serde_json::Value =
        serde_json::from_str(&ws.ok(&["describe", "interface", "analytics-api", "-o", "json"]))
            .expect("json");
    assert_eq!(
        described["consumerComponents"],
        serde_json::json!(["dashboard-ui", "mobile-app"])
    );
    assert_eq!(described["impact"]["releases"][0]["release"], "q1-2025");
    let error = ws.fails(&["describe", "interface", "analytics-apii"]);
    assert!(
        error.contains("unknown interface `analytics-apii` (did you mean `analytics-api`?)"),
        "{error}"
    );
    let yaml = ws.ok(&["get", "interfaces", "-o", "yaml"]);
    assert!(yaml.contains("kind: Interface"), "{yaml}");
    let path = ws.write("interfaces.yaml", &yaml);
    assert_eq!(
        ws.ok(&["apply", "-f", path.to_str().expect("utf-8 path")])
            .trim(),
        "no changes"
    );
}

#[test]
fn can_i_deploy_answers_no_with_reasons_then_yes_once_the_contract_is_verified() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let (code, out) = can_i_deploy(&ws, &["dashboard-ui", "3.2.0", "--to", "production"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("no: dashboard-ui 3.2.0 to production"),
        "{out}"
    );
    assert!(
        out.contains("NO  analytics-api: provider analytics-api is not deployed in production: deploy it first"),
        "{out}"
    );
    assert_eq!(
        ws.ok(&["deployed", "analytics-api", "1.1.4", "--env", "production"])
            .trim(),
        "analytics-api 1.1.4 deployed in production"
    );
    assert_eq!(
        ws.ok(&["deployed", "analytics-api", "1.1.4", "--env", "production"])
            .trim(),
        "no changes"
    );
    // Reported late, an older deployment does not move the version back.
    let late = [
        "deployed",
        "analytics-api",
        "1.1.3",
        "--env",
        "production",
        "--at",
        "2020-01-01T00:00:00Z",
    ];
    assert_eq!(ws.ok(&late).trim(), "no changes");
    let error = ws.fails(&[
        "deployed",
        "analytics-api",
        "1.1.5",
        "--env",
        "production",
        "--at",
        "yesterday",
    ]);
    assert!(error.contains("--at"), "{error}");
    let recorded = ws.ok(&[
        "contract",
        "verify",
        "analytics-api",
        "--version",
        "1.1.0",
        "--consumer",
        "dashboard-ui@3.2.0",
        "--provider-version",
        "1.1.4",
        "--result",
        "pass",
        "--link",
        "https://ci.example.com/runs/7",
    ]);
    assert_eq!(
        recorded.trim(),
        "contract analytics-api 1.1.0: dashboard-ui 3.2.0 verified against provider 1.1.4"
    );
    let (code, out) = can_i_deploy(&ws, &["dashboard-ui", "3.2.0", "--to", "production"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("yes: dashboard-ui 3.2.0 to production"),
        "{out}"
    );
    let (code, out) = can_i_deploy(
        &ws,
        &["dashboard-ui", "3.2.0", "--to", "production", "-o", "json"],
    );
    assert_eq!(code, Some(0), "{out}");
    let answer: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(answer["deployable"], true);
    assert_eq!(answer["checks"][0]["verification"]["by"], "tester");
    // Nothing of the API runs in staging: the mobile app would call nothing there.
    let (code, out) = can_i_deploy(&ws, &["mobile-app", "5.0.0", "--to", "staging"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("provider analytics-api is not deployed in staging"),
        "{out}"
    );
    // Errors are exit 2 with the closest name.
    let (code, out) = can_i_deploy(&ws, &["dashboard-ui", "3.2.0", "--to", "prod"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("unknown environment `prod`"), "{out}");
}

#[test]
fn bad_contract_input_is_refused_with_what_and_where_and_records_nothing() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let before = ws.n_events();
    let verify = |extra: &[&str]| {
        ws.fails(
            &[
                &[
                    "contract",
                    "verify",
                    "analytics-api",
                    "--provider-version",
                    "1.1.4",
                ][..],
                extra,
            ]
            .concat(),
        )
    };
    let error = verify(&[
        "--version",
        "1.1",
        "--consumer",
        "dashboard-ui@3",
        "--result",
        "pass",
    ]);
    assert!(
        error.contains("--version: version `1.1` is not a semantic version"),
        "{error}"
    );
    let error = verify(&[
        "--version",
        "1.1.0",
        "--consumer",
        "dashboard-ui",
        "--result",
        "pass",
    ]);
    assert!(
        error.contains("--consumer: write the component and its version"),
        "{error}"
    );
    let error = verify(&[
        "--version",
        "1.1.0",
        "--consumer",
        "dashboard-ui@3",
        "--result",
        "passed",
    ]);
    assert!(
        error.contains("--result: unknown value `passed` (did you mean `pass`?)"),
        "{error}"
    );
    let error = verify(&[
        "--version",
        "1.1.0",
        "--consumer",
        "data-pipeline@3",
        "--result",
        "pass",
    ]);
    assert!(
        error.contains("`data-pipeline` is not a consumer of analytics-api"),
        "{error}"
    );
    let error = ws.fails(&["deployed", "dashbord-ui", "1.0.0", "--env", "production"]);
    assert!(error.contains("did you mean `dashboard-ui`"), "{error}");
    let error = ws.fails(&["deployed", "dashboard-ui", "1.0 0", "--env", "production"]);
    assert!(error.contains("version"), "{error}");
    assert_eq!(ws.n_events(), before, "nothing was recorded");
    // The refusals are in the audit log.
    let audit = ws.ok(&["audit", "-o", "json"]);
    assert!(
        audit.contains("record a contract test of data-pipeline against interface analytics-api"),
        "{audit}"
    );
}

#[test]
fn a_proposal_is_reviewed_by_someone_else_and_its_approval_appends_the_changelog() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let proposed = ws
        .command()
        .env("LOCKSTEP_ACTOR", "mike")
        .args([
            "interface",
            "propose",
            "analytics-api",
            "--version",
            "2.0.0",
            "--compatibility",
            "breaking",
            "--summary",
            "Export endpoint; `range` becomes required",
        ])
        .output()
        .expect("runs");
    assert!(proposed.status.success(), "{proposed:?}");
    let described: serde_json::Value =
        serde_json::from_str(&ws.ok(&["describe", "interface", "analytics-api", "-o", "json"]))
            .expect("json");
    assert_eq!(described["proposals"][0]["status"], "open");
    assert_eq!(
        described["impact"]["teams"],
        serde_json::json!(["frontend", "mobile"])
    );
    // The proposer may not approve it.
    let own = ws
        .command()
        .env("LOCKSTEP_ACTOR", "mike")
        .args([
            "interface",
            "approve",
            "analytics-api",
            "2.0.0",
            "--rationale",
            "mine",
        ])
        .output()
        .expect("runs");
    assert_eq!(own.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&own.stderr).contains("four eyes"),
        "{own:?}"
    );
    let error = ws.fails(&[
        "interface",
        "approve",
        "analytics-api",
        "2.0.0",
        "--rationale",
        " ",
    ]);
    assert!(error.contains("--rationale must say why"), "{error}");
    let approved = ws.ok(&[
        "interface",
        "approve",
        "analytics-api",
        "2.0.0",
        "--rationale",
        "Dashboard and mobile move in the Q2 release",
    ]);
    assert!(
        approved.contains("analytics-api: 2.0.0 approved by tester"),
        "{approved}"
    );
    assert!(
        approved.contains("2.0.0 published (breaking)"),
        "{approved}"
    );
    let history = ws.ok(&["history", "--limit", "2", "-o", "json"]);
    assert!(
        history.contains("Dashboard and mobile move in the Q2 release"),
        "{history}"
    );
    let changelog = ws.ok(&["interface", "changelog", "analytics-api"]);
    assert!(
        changelog
            .starts_with("# Changelog: Analytics API\n\n## 2.0.0 (breaking)\n\nProposed by mike"),
        "{changelog}"
    );
    assert!(
        changelog.contains("- Export endpoint; `range` becomes required"),
        "{changelog}"
    );
    assert!(changelog.contains("## 1.1.0 (backward)"), "{changelog}");
    // Re-applying the example (2.0.0 a draft there) may not take the version back.
    let error = ws.fails(&["apply", "-f", &example()]);
    assert!(
        error.contains("2.0.0 is published: it cannot go back to draft"),
        "{error}"
    );
    assert!(error.contains("interfaces.yaml:"), "located: {error}");
}

#[test]
fn against_a_server_the_verbs_act_as_the_caller_and_follow_the_roles() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.ok(&["user", "add", "mike", "--member", "mike"]);
    ws.ok(&["user", "add", "sarah", "--member", "sarah"]);
    let (mike, sarah) = (ws.token("mike"), ws.token("sarah"));
    let server = serve(&ws, &[]);
    let url = server.url();
    let remote = |token: &str, args: &[&str]| ws.remote(&url, token, args);
    let listed = remote(&mike, &["get", "interfaces"]);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        ws.ok(&["get", "interfaces"]),
        "the server's listing is the database's"
    );
    // Sarah's team does not run the API: she may not record its deployment.
    let refused = remote(
        &sarah,
        &["deployed", "analytics-api", "1.1.4", "--env", "production"],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let deployed = remote(
        &mike,
        &["deployed", "analytics-api", "1.1.4", "--env", "production"],
    );
    assert!(deployed.status.success(), "{deployed:?}");
    let listed = remote(&sarah, &["get", "deployments"]);
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(
        listed,
        ws.ok(&["get", "deployments"]),
        "the server's deployments are the database's"
    );
    let row = listed
        .lines()
        .nth(1)
        .map(|row| row.split_whitespace().take(4).collect::<Vec<_>>().join(" "));
    assert_eq!(
        row.as_deref(),
        Some("production analytics-api 1.1.4 mike"),
        "{listed}"
    );
    let verified = remote(
        &sarah,
        &[
            "contract",
            "verify",
            "analytics-api",
            "--version",
            "1.1.0",
            "--consumer",
            "dashboard-ui@3.2.0",
            "--provider-version",
            "1.1.4",
            "--result",
            "pass",
        ],
    );
    assert!(verified.status.success(), "{verified:?}");
    let yes = remote(
        &sarah,
        &[
            "can-i-deploy",
            "dashboard-ui",
            "3.2.0",
            "--to",
            "production",
        ],
    );
    assert_eq!(yes.status.code(), Some(0), "{yes:?}");
    let no = remote(
        &sarah,
        &["can-i-deploy", "mobile-app", "5.0.0", "--to", "production"],
    );
    assert_eq!(no.status.code(), Some(1), "{no:?}");
    assert!(
        String::from_utf8_lossy(&no.stdout)
            .contains("no contract test recorded for mobile-app 5.0.0"),
        "{no:?}"
    );
    let proposed = remote(
        &mike,
        &[
            "interface",
            "propose",
            "analytics-api",
            "--version",
            "2.0.0",
            "--compatibility",
            "breaking",
            "--summary",
            "Export endpoint",
        ],
    );
    assert!(proposed.status.success(), "{proposed:?}");
    let rejected = remote(
        &sarah,
        &[
            "interface",
            "reject",
            "analytics-api",
            "2.0.0",
            "--rationale",
            "Dashboard cannot move before Q2",
        ],
    );
    assert!(rejected.status.success(), "{rejected:?}");
    assert!(
        String::from_utf8_lossy(&rejected.stdout).contains("rejected by sarah"),
        "{rejected:?}"
    );
    let changelog = remote(&sarah, &["interface", "changelog", "analytics-api"]);
    assert!(changelog.status.success(), "{changelog:?}");
    assert_eq!(
        String::from_utf8_lossy(&changelog.stdout),
        ws.ok(&["interface", "changelog", "analytics-api"])
    );
    let history = ws.ok(&["history", "--limit", "1", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&history).expect("json");
    assert_eq!(value["items"][0]["actor"], "sarah");
    assert_eq!(
        value["items"][0]["reason"],
        "Dashboard cannot move before Q2"
    );
}
