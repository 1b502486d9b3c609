//! The real binary, run in a temporary directory, end to end.

mod common;

use std::collections::BTreeMap;

use common::{Workspace, example, example_with_release_edit, get, get_as, reader_token, serve};

#[test]
fn applies_the_seed_example_and_reapplies_with_no_change() {
    let ws = Workspace::new();
    let first = ws.ok(&["apply", "-f", &example()]);
    assert!(
        first.contains("+ release q1-2025 planned for 2025-03-01"),
        "{first}"
    );
    assert!(
        first.contains("+ backend-data-pipeline now blocks api-analytics-endpoints"),
        "{first}"
    );
    let n_events = ws.n_events();
    assert_eq!(ws.ok(&["apply", "-f", &example()]).trim(), "no changes");
    // A file named twice, in its directory and by itself, is read once.
    let teams = format!("{}/teams.yaml", example());
    assert_eq!(
        ws.ok(&["apply", "-f", &example(), "-f", &teams]).trim(),
        "no changes"
    );
    assert_eq!(ws.n_events(), n_events);
}

#[test]
fn exported_yaml_round_trips() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let mut exported = String::new();
    for kind in ["teams", "environments", "components", "releases"] {
        exported.push_str(&ws.ok(&["get", kind, "-o", "yaml"]));
    }
    let path = ws.write("exported.yaml", &exported);
    assert_eq!(
        ws.ok(&["apply", "-f", path.to_str().expect("utf-8 path")])
            .trim(),
        "no changes"
    );
    // On an empty log the export alone rebuilds the same program.
    let fresh = Workspace::new();
    fresh.ok(&["apply", "-f", path.to_str().expect("utf-8 path")]);
    assert_eq!(
        fresh.ok(&["get", "releases", "-o", "yaml"]),
        ws.ok(&["get", "releases", "-o", "yaml"])
    );
}

#[test]
fn dry_run_prints_the_change_and_writes_nothing() {
    let ws = Workspace::new();
    let out = ws.ok(&["apply", "-f", &example(), "--dry-run"]);
    assert!(out.contains("dry run: 41 change(s) not applied"), "{out}");
    assert_eq!(ws.n_events(), 0);
}

#[test]
fn a_bad_manifest_applies_nothing_and_says_where() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let before = ws.n_events();
    let bad = ws.write(
        "bad.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Item\nmetadata: {name: new-item}\nspec: {release: q1-2025, title: New, team: mobil}\n",
    );
    let error = ws.fails(&["apply", "-f", bad.to_str().expect("utf-8 path")]);
    assert!(
        error.contains("bad.yaml:4:44: unknown team `mobil` (did you mean `mobile`?)"),
        "{error}"
    );
    assert_eq!(ws.n_events(), before);
}

#[test]
fn manifests_come_from_standard_input_and_an_empty_directory_is_an_error() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let exported = ws.ok(&["get", "releases", "-o", "yaml"]);
    let again = ws.run_with(&["apply", "-f", "-"], &exported);
    assert!(again.status.success(), "{again:?}");
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "no changes");
    // Errors in piped manifests are located too.
    let bad = ws.run_with(
        &["apply", "-f", "-"],
        "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: qa}\nspec: {title: QA, timeZone: Mars/Olympus}\n",
    );
    assert_eq!(bad.status.code(), Some(2));
    let error = String::from_utf8_lossy(&bad.stderr);
    assert!(error.contains("<stdin>:4:29: team `qa`"), "{error}");
    let twice = ws.run_with(&["apply", "-f", "-", "-f", "-"], "");
    assert!(String::from_utf8_lossy(&twice.stderr).contains("only once"));
    // A directory without manifests is almost always the wrong one.
    std::fs::create_dir(ws.path().join("empty")).expect("mkdir");
    ws.write("empty/notes.txt", "not a manifest");
    let empty = ws.path().join("empty");
    let error = ws.fails(&["apply", "-f", empty.to_str().expect("utf-8 path")]);
    assert!(error.contains("holds no manifests"), "{error}");
}

#[test]
fn item_verbs_record_who_and_why() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let out = ws.ok(&[
        "item",
        "eta",
        "api-analytics-endpoints",
        "2025-02-10",
        "--reason",
        "pipeline slipped",
    ]);
    assert_eq!(
        out.trim(),
        "item api-analytics-endpoints: eta 2025-02-05 → 2025-02-10"
    );
    ws.ok(&["item", "status", "frontend-dashboard", "testing"]);
    ws.ok(&[
        "item",
        "update",
        "frontend-dashboard",
        "Charts wired to real data",
        "--date",
        "2025-02-06",
    ]);
    let history = ws.ok(&["history", "--limit", "3", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&history).expect("json");
    let items = value["items"].as_array().expect("items");
    assert_eq!(items[0]["actor"], "tester");
    assert_eq!(items[0]["reason"], "pipeline slipped");
    assert_eq!(
        items[1]["summary"],
        "item frontend-dashboard: in-development → testing"
    );
    assert_eq!(
        items[2]["summary"],
        "item frontend-dashboard: 2025-02-06 Charts wired to real data"
    );
    let stream = ws.ok(&["history", "--stream", "release:q1-2025", "--limit", "3"]);
    assert_eq!(stream.lines().count(), 4, "{stream}");
    let error = ws.fails(&["history", "--stream", "q1-2025"]);
    assert!(error.contains("use KIND:NAME"), "{error}");
    let error = ws.fails(&["item", "status", "frontend-dashboard", "done"]);
    assert!(error.contains("unknown status `done`"), "{error}");
    let error = ws.fails(&["item", "eta", "frontend-dashbord", "2025-02-10"]);
    assert!(
        error.contains("unknown item `frontend-dashbord` (did you mean `frontend-dashboard`?)"),
        "{error}"
    );
    let error = ws.fails(&["item", "eta", "frontend-dashboard", "2025-2-3"]);
    assert!(
        error.contains("`2025-2-3` is not a date: use YYYY-MM-DD") && !error.contains("digit"),
        "{error}"
    );
}

#[test]
fn get_lists_resources_as_table_and_json() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let table = ws.ok(&["get", "items", "--team", "api"]);
    assert!(
        table.lines().next().is_some_and(|h| h.starts_with("NAME")),
        "{table}"
    );
    assert!(
        table.contains("api-analytics-endpoints  q1-2025  api"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ws.ok(&["get", "dependencies", "-o", "json"])).expect("json");
    assert_eq!(json["items"].as_array().map(Vec::len), Some(3));
    let described = ws.ok(&["describe", "item", "api-analytics-endpoints", "-o", "json"]);
    let described: serde_json::Value = serde_json::from_str(&described).expect("json");
    assert_eq!(described["blocks"].as_array().map(Vec::len), Some(2));
    let tasks = ws.ok(&["get", "integration-tasks", "--release", "q1-2025"]);
    assert_eq!(tasks.lines().count(), 4, "{tasks}");
}

#[test]
fn get_refuses_filters_it_would_ignore_or_that_name_nothing() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    // A misspelt filter is not an empty listing.
    let team = ws.fails(&["get", "items", "--team", "apii"]);
    assert!(
        team.contains("unknown team `apii` (did you mean `api`?)"),
        "{team}"
    );
    let release = ws.fails(&["get", "items", "--release", "q1-2052"]);
    assert!(
        release.contains("unknown release `q1-2052` (did you mean `q1-2025`?)"),
        "{release}"
    );
    // A filter the kind does not have is refused rather than silently ignored.
    for args in [
        &["get", "teams", "--team", "api"][..],
        &["get", "dependencies", "--release", "q1-2025"],
        &["get", "integration-tasks", "--team", "api"],
        &["get", "releases", "--release", "q1-2025", "-o", "yaml"],
    ] {
        let error = ws.fails(args);
        assert!(error.contains("filters only"), "{args:?}: {error}");
    }
}

#[test]
fn prints_shell_completions() {
    let ws = Workspace::new();
    let bash = ws.ok(&["completions", "bash"]);
    assert!(bash.contains("_lockstep()"), "{bash}");
    for subcommand in ["apply", "plan", "signoff"] {
        assert!(bash.contains(subcommand), "{subcommand} missing");
    }
    assert!(ws.ok(&["completions", "zsh"]).contains("#compdef lockstep"));
    let error = ws.run(&["completions", "tcsh"]);
    assert!(!error.status.success());
    assert!(String::from_utf8_lossy(&error.stderr).contains("possible values"));
}

#[test]
fn a_corrupt_database_gets_a_clear_error() {
    let ws = Workspace::new();
    ws.write("lockstep.db", &"this is not a database ".repeat(200));
    let error = ws.fails(&["get", "teams"]);
    assert!(
        error.contains("is not a SQLite database or is corrupt"),
        "{error}"
    );
}

#[test]
fn an_unsupported_url_gets_a_clear_error() {
    let ws = Workspace::new();
    let error = ws.fails(&["get", "teams", "--database-url", "mysql://localhost/x"]);
    assert!(error.contains("mysql://localhost/x"), "{error}");
}

#[test]
fn json_output_carries_errors_as_problem_documents() {
    let ws = Workspace::new();
    let output = ws.run(&["describe", "team", "nobody", "-o", "json"]);
    assert_eq!(output.status.code(), Some(2));
    let problem: serde_json::Value = serde_json::from_slice(&output.stdout).expect("problem json");
    assert_eq!(problem["status"], 2);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("unknown team `nobody`")),
        "{problem}"
    );
}

#[test]
fn serve_answers_probes_and_read_only_api() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let token = reader_token(&ws);
    let token = Some(token.as_str());
    let server = serve(&ws, &[]);
    assert_eq!(get(&server.address, "/healthz"), (200, "ok".to_owned()));
    let (status, body) = get(&server.address, "/readyz");
    assert_eq!(status, 200, "{body}");
    let (status, body) = get_as(&server.address, "/api/v1/releases/q1-2025/items", token);
    assert_eq!(status, 200);
    assert!(body.contains("api-analytics-endpoints"), "{body}");
    let (status, body) = get_as(&server.address, "/api/v1/items/nope", token);
    assert_eq!(status, 404);
    assert!(body.contains("\"status\":404"), "{body}");
    let (status, body) = get(&server.address, "/releases/q1-2025");
    assert_eq!(status, 303, "pages need a login, on loopback too: {body}");
    let (status, body) = get(&server.address, "/api/v1/releases/q1-2025/items");
    assert_eq!(
        status, 401,
        "the API needs a token, on loopback too: {body}"
    );
    assert!(body.contains("\"status\":401"), "{body}");
}

#[test]
fn server_follows_changes_made_by_the_cli() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let token = reader_token(&ws);
    let server = serve(&ws, &[]);
    ws.ok(&["item", "status", "mobile-analytics-view", "testing"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, body) = get_as(
            &server.address,
            "/api/v1/items/mobile-analytics-view",
            Some(&token),
        );
        if body.contains("\"status\":\"testing\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server never saw the change: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn serve_demo_shows_a_release_in_progress_today() {
    let ws = Workspace::new();
    let server = serve(
        &ws,
        &[
            "--demo",
            "--database-url",
            &format!("sqlite://{}", ws.path().join("demo.db").display()),
        ],
    );
    // The demo's users have a known password: sign in as the viewer with the CLI.
    let url = server.url();
    let login = ws.run_with(
        &["login", "--server", &url, "--user", "viewer"],
        "lockstep-demo\n",
    );
    assert!(login.status.success(), "{login:?}");
    assert!(
        String::from_utf8_lossy(&login.stdout).contains("as viewer (viewer)"),
        "{login:?}"
    );
    let release = ws.ok(&[
        "--server", &url, "describe", "release", "q1-2025", "-o", "json",
    ]);
    let release: serde_json::Value = serde_json::from_str(&release).expect("json");
    let backend = release["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["name"] == "backend-data-pipeline"))
        .expect("the release's items, by name");
    assert_eq!(backend["team"], "backend", "{backend}");
    assert!(
        backend["status"].as_str().is_some_and(|s| !s.is_empty()),
        "{backend}"
    );
    let release = &release["release"];
    let (status, body) = get(&server.address, "/api/v1/releases/q1-2025");
    assert_eq!(status, 401, "{body}");
    let _: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(release["state"], "in-progress");
    let target: jiff::civil::Date = release["spec"]["targetDate"]
        .as_str()
        .expect("date")
        .parse()
        .expect("date");
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    assert!(
        target > today,
        "release date {target} should be ahead of {today}"
    );
    let feature_freeze: jiff::civil::Date = release["spec"]["featureFreeze"]
        .as_str()
        .expect("date")
        .parse()
        .expect("date");
    assert!(feature_freeze > today);
    // The release before it shipped in the demo's history, so metrics have one to show:
    // on time, the API's slip absorbed, a high-severity bug two days later.
    let metrics = ws.ok(&["--server", &url, "metrics", "-o", "json"]);
    let metrics: serde_json::Value = serde_json::from_str(&metrics).expect("json");
    assert_eq!(metrics["releasesShipped"], 1, "{metrics:#}");
    assert_eq!(metrics["onTime"], 1, "{metrics:#}");
    assert_eq!(metrics["runs"]["succeeded"], 1, "{metrics:#}");
    assert_eq!(metrics["incidents"], 1, "{metrics:#}");
    assert_eq!(metrics["leadTimeDays"]["count"], 3, "{metrics:#}");
    // Its API item shipped four days past its due date: history, not a risk.
    let shipped = ws.ok(&["--server", &url, "get", "items", "--release", "q4-2024"]);
    let rows: Vec<&str> = shipped.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{shipped}");
    assert!(
        rows.iter().all(|row| row.trim_end().ends_with("  -")),
        "{shipped}"
    );
    let retro = ws.ok(&["--server", &url, "retro", "q4-2024"]);
    assert!(
        retro.contains("api-export-endpoint ETA ") && retro.contains("(+4 d), reported by mike"),
        "{retro}"
    );
    assert!(
        retro.contains("dashboard-ui #311 Export times out"),
        "{retro}"
    );
    assert!(
        retro.contains("Agree large-export pagination with the API team before the sprint"),
        "the lesson kept after the release: {retro}"
    );
    // The e-mail and the go/no-go call it still took, beside the time in Lockstep.
    let coordination = ws.ok(&["--server", &url, "coordination", "q4-2024"]);
    assert!(
        coordination.contains("145 recorded (1 call, 1 e-mail thread)")
            && coordination.contains("Go/no-go call")
            && coordination.contains("Rated 3.0 of 5 by 2 people; lowest: 2 by mike"),
        "{coordination}"
    );
    assert!(
        metrics["coordination"]["minutes"]["median"]
            .as_f64()
            .is_some_and(|m| m > 145.0),
        "{metrics:#}"
    );
    // Rita drove the run for an hour and a half: the deployment, not its coordination.
    let coordination = ws.ok(&["--server", &url, "coordination", "q4-2024", "-o", "json"]);
    let coordination: serde_json::Value = serde_json::from_str(&coordination).expect("json");
    let rita = coordination["inTool"]
        .as_array()
        .and_then(|people| people.iter().find(|p| p["actor"] == "rita"))
        .cloned()
        .unwrap_or_default();
    assert!(
        rita["minutes"]
            .as_u64()
            .is_some_and(|m| (1..10).contains(&m)),
        "{coordination:#}"
    );
    let lessons = ws.ok(&[
        "--server",
        &url,
        "lessons",
        "--search",
        "large-export pagination",
    ]);
    assert!(lessons.contains("(q4-2024, rita, "), "{lessons}");
    // Mike's slip waits for review, with the seed's chain as its impact.
    let change = ws.ok(&["--server", &url, "change", "show", "cr-1"]);
    assert!(
        change.contains("open · proposed by mike")
            && change.contains("frontend-dashboard becomes at risk"),
        "{change}"
    );
    // The contracts: what runs in production, CI's contract tests, and the API team's
    // breaking 2.0.0 waiting for review.
    let interfaces = ws.ok(&["--server", &url, "get", "interfaces"]);
    assert!(interfaces.contains("2.0.0 (breaking)"), "{interfaces}");
    let yes = ws.run(&[
        "--server",
        &url,
        "can-i-deploy",
        "dashboard-ui",
        "3.2.0",
        "--to",
        "production",
    ]);
    assert_eq!(yes.status.code(), Some(0), "{yes:?}");
    let no = ws.run(&[
        "--server",
        &url,
        "can-i-deploy",
        "mobile-app",
        "5.0.0",
        "--to",
        "production",
    ]);
    assert_eq!(no.status.code(), Some(1), "{no:?}");
    assert!(
        String::from_utf8_lossy(&no.stdout).contains("contract test failed"),
        "{no:?}"
    );
}

#[test]
fn plan_shows_the_seed_chain_as_critical_path() {
    let ws = Workspace::new();
    let out = ws.ok(&[
        "plan",
        &example(),
        "--today",
        "2025-02-05",
        "--trials",
        "500",
    ]);
    // Frontend (ETA Friday Feb 14) and Mobile (ETA Saturday Feb 15, a day the team does
    // not work, so done by Friday) both feed integration testing, which starts that
    // Saturday as committed: both are critical, and the chain runs through one of them.
    let chain = out
        .lines()
        .find_map(|line| line.strip_prefix("critical path: "))
        .expect("a critical path");
    assert!(
        [
            "backend-data-pipeline → api-analytics-endpoints → frontend-dashboard → integration-testing → q1-2025",
            "backend-data-pipeline → api-analytics-endpoints → mobile-analytics-view → integration-testing → q1-2025"
        ]
        .contains(&chain),
        "{out}"
    );
    for item in ["frontend-dashboard", "mobile-analytics-view"] {
        assert!(
            out.lines()
                .any(|line| line.starts_with(&format!("*  {item} "))),
            "{item} is critical: {out}"
        );
    }
    assert!(out.contains("chance of finishing by 2025-03-01"), "{out}");
    assert!(
        out.contains(
            "mobile-analytics-view waits for the team's ETA 2025-02-15, a day it does not work: done by 2025-02-14"
        ),
        "{out}"
    );
    // The plan and the forecast read the weekend ETA alike: the forecast's median is the
    // planned finish, and integration testing keeps its committed end.
    assert!(
        out.contains("planned finish 2025-02-23 (6 day(s) before the target)")
            && out.contains("forecast (500 trials): P50 2025-02-23"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|line| line.starts_with("*  integration-testing")
                && line.contains("2025-02-15  2025-02-22  2025-02-22  ")),
        "{out}"
    );
    // Offline: nothing was written to the log.
    assert_eq!(ws.n_events(), 0);
}

#[test]
fn a_plan_made_years_ahead_forecasts_in_working_days_to_the_end() {
    // Team calendars reach past the release's dates, however early the plan is made: the
    // forecast is not cut off where a fixed horizon from today would end.
    let ws = Workspace::new();
    let out = ws.ok(&[
        "plan",
        &example(),
        "--today",
        "2020-01-01",
        "--trials",
        "200",
    ]);
    assert!(
        out.contains("planned finish 2025-02-23")
            && out.contains("forecast (200 trials): P50 2025-02-23"),
        "{out}"
    );
}

#[test]
fn slack_is_counted_in_working_days_so_a_friday_finish_before_a_monday_start_is_critical() {
    // Planned from Friday 2026-12-04: the API item finishes that Friday and the mobile
    // view starts on Monday. The weekend between is no slack: one day's slip delays it.
    let ws = Workspace::new();
    let out = ws.ok(&[
        "plan",
        &example(),
        "--today",
        "2026-12-04",
        "--trials",
        "0",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json plan");
    let plan = &json["plans"][0];
    let api = plan["activities"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["name"] == "api-analytics-endpoints"))
        .expect("the API item is planned");
    assert_eq!(api["finish"], "2026-12-04", "{api}");
    assert_eq!(api["slackDays"], 0, "{api}");
    assert_eq!(api["critical"], true, "{api}");
    assert_eq!(
        plan["criticalPath"],
        serde_json::json!([
            "api-analytics-endpoints",
            "mobile-analytics-view",
            "integration-testing",
            "q1-2025"
        ])
    );
}

#[test]
fn plan_follows_the_output_flag_or_says_why_not() {
    let ws = Workspace::new();
    let example = example();
    let plan = |extra: &[&'static str]| {
        let mut args: Vec<String> = ["plan", &example, "--today", "2025-02-05", "--trials", "0"]
            .iter()
            .map(|a| (*a).to_owned())
            .collect();
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        args
    };
    let json_args = plan(&["-o", "json"]);
    let json_refs: Vec<&str> = json_args.iter().map(String::as_str).collect();
    let json: serde_json::Value = serde_json::from_str(&ws.ok(&json_refs)).expect("json plan");
    assert_eq!(json["plans"][0]["release"], "q1-2025");
    let yaml_args = plan(&["-o", "yaml"]);
    let yaml_refs: Vec<&str> = yaml_args.iter().map(String::as_str).collect();
    assert!(ws.fails(&yaml_refs).contains("a plan has no YAML form"));
    let both_args = plan(&["-o", "json", "--format", "svg"]);
    let both: Vec<&str> = both_args.iter().map(String::as_str).collect();
    // With -o json the error itself is a problem document on standard output.
    let disagree = ws.run(&both);
    assert_eq!(disagree.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&disagree.stdout).contains("disagree"));
}

#[test]
fn plan_json_markdown_and_svg_agree() {
    let ws = Workspace::new();
    let args = |format: &'static str| {
        vec![
            "plan",
            "--release",
            "q1-2025",
            "--today",
            "2025-02-05",
            "--trials",
            "200",
            "--format",
            format,
        ]
    };
    let mut json_args = args("json");
    let example = example();
    json_args.insert(1, &example);
    let json: serde_json::Value = serde_json::from_str(&ws.ok(&json_args)).expect("json plan");
    let plan = &json["plans"][0];
    assert_eq!(plan["release"], "q1-2025");
    assert_eq!(plan["criticalPath"].as_array().map(Vec::len), Some(5));
    let p50 = plan["forecast"]["p50"].as_str().expect("p50").to_owned();
    let mut md_args = args("markdown");
    md_args.insert(1, &example);
    let markdown = ws.ok(&md_args);
    assert!(markdown.starts_with("# Plan of `q1-2025`"), "{markdown}");
    assert!(markdown.contains(&format!("P50 {p50}")), "{markdown}");
    let mut svg_args = args("svg");
    svg_args.insert(1, &example);
    let svg = ws.ok(&svg_args);
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
    assert!(svg.contains("<title>Plan of q1-2025</title>"), "{svg}");
}

#[test]
fn a_blackout_over_the_deployment_moves_it_and_says_so() {
    let ws = Workspace::new();
    // The seed example plus one more file, planned as of 2025-02-05.
    let plan_with = |extra: std::path::PathBuf| {
        ws.ok(&[
            "plan",
            &example(),
            extra.to_str().expect("utf-8"),
            "--today",
            "2025-02-05",
            "--trials",
            "0",
        ])
    };
    let blackout = ws.write(
        "blackout.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: payments-freeze}\nspec:\n  title: Payments freeze\n  timeZone: America/New_York\n  start: 2025-03-01T08:00:00\n  end: 2025-03-01T09:45:00\n  environments: [production]\n",
    );
    let out = plan_with(blackout);
    assert!(
        out.contains("09:00    09:45      data-pipeline  Backend services (Team C)         moved out of blackout: Payments freeze Mar 1 08:00–Mar 1 09:45"),
        "{out}"
    );
    assert!(out.contains("09:30    10:15      analytics-api"), "{out}");
    // The same freeze written as a crontab line (08:00 on the 1st of each month).
    let monthly = ws.write(
        "monthly.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: month-start}\nspec:\n  title: Month-start close\n  timeZone: America/New_York\n  start: 2025-01-01T08:00:00\n  end: 2025-01-01T09:45:00\n  cron: \"0 8 1 * *\"\n  environments: [production]\n",
    );
    let out = plan_with(monthly);
    assert!(
        out.contains("09:00    09:45      data-pipeline  Backend services (Team C)         moved out of blackout: Month-start close Mar 1 08:00–Mar 1 09:45"),
        "{out}"
    );
    // A blackout covering the whole day leaves no room, and says what blocks it.
    let all_day = ws.write(
        "all-day.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: holiday}\nspec: {timeZone: America/New_York, start: 2025-03-01T00:00:00, end: 2025-03-02T00:00:00}\n",
    );
    let out = plan_with(all_day);
    assert!(
        out.contains("unscheduled") && out.contains("no room on 2025-03-01: blocked by holiday"),
        "{out}"
    );
}

#[test]
fn plan_reports_the_chain_when_an_eta_slips() {
    let ws = Workspace::new();
    let dir = example_with_release_edit(
        &ws,
        "slipped",
        "      eta: 2025-02-05\n",
        "      eta: 2025-02-10\n",
    );
    let out = ws.ok(&[
        "plan",
        dir.to_str().expect("utf-8"),
        "--today",
        "2025-02-05",
        "--trials",
        "0",
    ]);
    assert!(
        out.contains("API: Analytics endpoints ETA Feb 10 > need-by Feb 8 − 3 d buffer → Frontend: New dashboard UI at risk → release Mar 1 at risk"),
        "{out}"
    );
    // The schedule agrees with the risk: the API item finishes on its ETA, not before,
    // and its dependants start after it.
    assert!(
        out.contains("api-analytics-endpoints  api        2025-02-05  2025-02-10"),
        "{out}"
    );
    assert!(
        out.contains("mobile-analytics-view    mobile     2025-02-11"),
        "{out}"
    );
    assert!(
        out.contains("api-analytics-endpoints waits for the team's ETA 2025-02-10"),
        "{out}"
    );
}

#[test]
fn plan_refuses_an_estimate_that_would_leave_the_calendar() {
    let ws = Workspace::new();
    let dir = example_with_release_edit(
        &ws,
        "typo",
        "estimate: {optimistic: 4, likely: 5, pessimistic: 8}",
        "estimate: {optimistic: 4, likely: 5, pessimistic: 4294967295}",
    );
    // It used to panic deep in date arithmetic.
    let error = ws.fails(&[
        "plan",
        dir.to_str().expect("utf-8"),
        "--today",
        "2025-02-05",
    ]);
    assert!(
        error.contains("release.yaml:") && error.contains("about ten years"),
        "{error}"
    );
    // Nor may the forecast ask for more trials than memory holds.
    let error = ws.run(&["plan", &example(), "--trials", "99999999999"]);
    assert_eq!(error.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&error.stderr).contains("not in 0..=1000000"));
}

#[test]
fn plan_finds_two_releases_deploying_at_once_and_proposes_a_move() {
    let ws = Workspace::new();
    let hotfix = ws.write(
        "hotfix.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {name: q1-hotfix}\nspec:\n  kind: hotfix\n  targetDate: 2025-03-01\n  deployment:\n    environment: production\n    timeZone: Europe/London\n    steps:\n      - {component: analytics-api, at: \"14:15\"}\n",
    );
    let out = ws.ok(&[
        "plan",
        &example(),
        hotfix.to_str().expect("utf-8"),
        "--today",
        "2025-02-05",
        "--trials",
        "0",
    ]);
    // 14:15 in London is 09:15 in New York, inside q1-2025's 09:00–11:00 window; the
    // hotfix goes first and the regular release waits until it is done.
    assert!(
        out.contains("q1-hotfix and q1-2025 deploy to production at the same time (Mar 1 09:15–Mar 1 09:45 America/New_York), both deploying analytics-api: move q1-2025 to start at Mar 1 09:45 America/New_York, when q1-hotfix is done"),
        "{out}"
    );
    let json = ws.ok(&[
        "plan",
        &example(),
        hotfix.to_str().expect("utf-8"),
        "--today",
        "2025-02-05",
        "--trials",
        "0",
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(value["conflicts"][0]["moves"], "q1-2025");
    // Without the hotfix there is nothing to report.
    let alone = ws.ok(&["plan", &example(), "--today", "2025-02-05", "--trials", "0"]);
    assert!(!alone.contains("conflicts between releases"), "{alone}");
}

#[test]
fn plan_reads_release_trains_and_recurring_blackouts() {
    let ws = Workspace::new();
    let calendar = format!(
        "{}/../../examples/release-calendar",
        env!("CARGO_MANIFEST_DIR")
    );
    let args = |format: &str| {
        vec![
            "plan".to_owned(),
            example(),
            calendar.clone(),
            "--release".to_owned(),
            "web-2025-12-23".to_owned(),
            "--today".to_owned(),
            "2025-12-01".to_owned(),
            "--trials".to_owned(),
            "0".to_owned(),
            "--format".to_owned(),
            format.to_owned(),
        ]
    };
    let table = ws.ok(&args("table").iter().map(String::as_str).collect::<Vec<_>>());
    // Every first Tuesday that is also a web Tuesday: the two trains collide, and
    // the web train (later by name, same kind and date) is asked to wait.
    assert!(
        table.contains("mobile-2025-01-07 and web-2025-01-07 deploy to production at the same time (Jan 7 10:15–Jan 7 11:00 America/New_York), both deploying analytics-api: move web-2025-01-07 to start at Jan 7 11:00 America/New_York, when mobile-2025-01-07 is done"),
        "{table}"
    );
    // July's mobile departure is skipped, so July 1 has no collision.
    assert!(!table.contains("mobile-2025-07-01"), "{table}");
    // The yearly freeze recurs into 2025 and catches the Dec 23 departure; the
    // weekly weekend freeze catches the seed release on Saturday Mar 1.
    assert!(
        table.contains("web-2025-12-23 deploys to production during blackout Year-end freeze Dec 19 00:00–Jan 5 00:00 America/New_York (Dec 23 10:00–Dec 23 11:00 America/New_York): move it to Mon Jan 5 10:00 America/New_York"),
        "{table}"
    );
    assert!(
        table.contains(
            "q1-2025 deploys to production during blackout Weekend freeze Feb 28 12:00–Mar 3 06:00"
        ),
        "{table}"
    );
    assert!(
        table
            .contains("no room on 2025-12-23: blocked by Year-end freeze Dec 19 00:00–Jan 5 00:00"),
        "{table}"
    );
    let json = ws.ok(&args("json").iter().map(String::as_str).collect::<Vec<_>>());
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let blackouts = value["windowConflicts"].as_array().expect("array");
    assert!(
        blackouts.iter().any(|c| c["release"] == "web-2025-12-23"
            && c["blackout"] == "year-end-freeze"
            && c["proposedStart"] == "2026-01-05T10:00:00"),
        "{value:#}"
    );
}

#[test]
fn plan_keeps_releases_inside_deploy_windows() {
    let ws = Workspace::new();
    let calendar = format!(
        "{}/../../examples/release-calendar",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = ws.ok(&[
        "plan",
        &example(),
        &calendar,
        "--release",
        "ledger-2025-02-01",
        "--today",
        "2025-01-20",
        "--trials",
        "0",
    ]);
    // Saturday Feb 1 is outside Tuesday–Thursday 09:00–16:00: the step has no room,
    // and the conflict proposes the next Tuesday at the same time.
    assert!(
        out.contains("no room on 2025-02-01: outside the deploy windows of payments-production"),
        "{out}"
    );
    assert!(
        out.contains("ledger-2025-02-01 deploys to payments-production outside its deploy windows (Feb 1 10:00–Feb 1 11:30 America/New_York): move it to Tue Feb 4 10:00 America/New_York"),
        "{out}"
    );
    // Wednesday Jan 1, Tuesday Apr 1 and Thursday May 1 are inside the windows.
    for inside in [
        "ledger-2025-01-01",
        "ledger-2025-04-01",
        "ledger-2025-05-01",
    ] {
        assert!(!out.contains(&format!("{inside} deploys")), "{out}");
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args([
            "plan",
            &example(),
            "--today",
            "2025-02-05",
            "--format",
            "markdown",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Read nothing and close the pipe, like `| head -0`.
    drop(child.stdout.take());
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(matches!(status.code(), Some(0) | Some(141)), "{status:?}");
}

#[test]
fn plan_holds_items_back_for_blockers_in_other_releases() {
    let ws = Workspace::new();
    let q2 = ws.write(
        "q2.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {name: q2-auth}\nspec:\n  targetDate: 2025-04-01\n  items:\n    - {name: sso-tokens, title: SSO tokens, team: backend, eta: 2025-02-20}\n---\napiVersion: lockstep.dev/v1\nkind: Dependency\nmetadata: {name: dashboard-needs-sso}\nspec: {blocker: sso-tokens, blocked: frontend-dashboard}\n",
    );
    let out = ws.ok(&[
        "plan",
        &example(),
        q2.to_str().expect("utf-8"),
        "--release",
        "q1-2025",
        "--today",
        "2025-02-05",
        "--trials",
        "0",
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&out).expect("json");
    let dashboard = value["plans"][0]["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .find(|a| a["name"] == "frontend-dashboard")
        .expect("the dashboard item")
        .clone();
    // Without the blocker it starts Feb 6; now not before the day after Feb 20.
    assert_eq!(dashboard["start"], "2025-02-21", "{dashboard:#}");
    assert_eq!(
        dashboard["waitsFor"][0],
        "sso-tokens (release q2-auth) projected 2025-02-20"
    );
    let table = ws.ok(&[
        "plan",
        &example(),
        q2.to_str().expect("utf-8"),
        "--release",
        "q1-2025",
        "--today",
        "2025-02-05",
        "--trials",
        "0",
    ]);
    assert!(
        table.contains(
            "frontend-dashboard waits for sso-tokens (release q2-auth) projected 2025-02-20"
        ),
        "{table}"
    );
}

/// Team `core` and one QA lab, the start of the shared-resource manifests.
macro_rules! core_and_qa_lab {
    () => {
        "apiVersion: lockstep.dev/v1
kind: Team
metadata: {name: core}
spec: {timeZone: Europe/Berlin}
---
apiVersion: lockstep.dev/v1
kind: Resource
metadata: {name: qa-lab}
spec: {title: QA lab, capacity: 1}
---
"
    };
}

const SHARED_QA: &str = concat!(
    core_and_qa_lab!(),
    "apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: r1}
spec:
  targetDate: 2025-03-03
  items:
    - {name: billing, title: Billing, team: core, estimate: {optimistic: 2, likely: 3, pessimistic: 4}, uses: [{resource: qa-lab}]}
    - {name: invoices, title: Invoices, team: core, estimate: {optimistic: 2, likely: 3, pessimistic: 4}, uses: [{resource: qa-lab}]}
    - {name: reports, title: Reports, team: core, estimate: {optimistic: 1, likely: 2, pessimistic: 3}, pinnedStart: 2025-02-12}
"
);

#[test]
fn plan_shares_resources_and_keeps_pinned_dates() {
    let ws = Workspace::new();
    let file = ws.write("shared.yaml", SHARED_QA);
    let args = |format: &str| {
        vec![
            "plan".to_owned(),
            file.to_str().expect("utf-8").to_owned(),
            "--today".to_owned(),
            "2025-02-03".to_owned(),
            "--trials".to_owned(),
            "200".to_owned(),
            "--format".to_owned(),
            format.to_owned(),
        ]
    };
    let out = ws.ok(&args("json").iter().map(String::as_str).collect::<Vec<_>>());
    let value: serde_json::Value = serde_json::from_str(&out).expect("json");
    let activities = value["plans"][0]["activities"]
        .as_array()
        .expect("activities");
    let find = |name: &str| {
        activities
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {activities:?}"))
            .clone()
    };
    let (billing, invoices) = (find("billing"), find("invoices"));
    // One QA lab: the two items that need it run one after the other (3 working
    // days each from Monday Feb 3), whichever goes first.
    let mut starts = [
        billing["start"].as_str().expect("start").to_owned(),
        invoices["start"].as_str().expect("start").to_owned(),
    ];
    starts.sort();
    assert_eq!(starts, ["2025-02-03", "2025-02-06"], "{activities:?}");
    let second = if billing["start"] == "2025-02-06" {
        &billing
    } else {
        &invoices
    };
    assert_eq!(
        second["waitsFor"][0],
        format!(
            "shared resources (1 of qa-lab) after {} until 2025-02-06",
            if second == &billing {
                "invoices"
            } else {
                "billing"
            }
        )
    );
    let reports = find("reports");
    assert_eq!(reports["start"], "2025-02-12");
    assert_eq!(reports["waitsFor"][0], "pinned to 2025-02-12");
    // The same state gives the same plan.
    assert_eq!(
        out,
        ws.ok(&args("json").iter().map(String::as_str).collect::<Vec<_>>())
    );
}

/// `lockstep plan FILE --format json` as of `today`: the output and its value.
fn plan_json(
    ws: &Workspace,
    file: &std::path::Path,
    today: &str,
    trials: usize,
) -> (String, serde_json::Value) {
    let trials = trials.to_string();
    let out = ws.ok(&[
        "plan",
        file.to_str().expect("utf-8"),
        "--today",
        today,
        "--trials",
        &trials,
        "--format",
        "json",
    ]);
    let value = serde_json::from_str(&out).expect("json");
    (out, value)
}

#[test]
fn plan_runs_the_critical_path_and_forecast_through_resource_hand_overs() {
    let ws = Workspace::new();
    // Without the pinned item, the two items queueing for the one QA lab decide
    // the release: whichever goes second waits for the first to hand the lab over.
    let text = SHARED_QA
        .lines()
        .filter(|line| !line.contains("name: reports"))
        .collect::<Vec<_>>()
        .join("\n");
    let file = ws.write("queue.yaml", &text);
    let (_, value) = plan_json(&ws, &file, "2025-02-03", 500);
    let plan = &value["plans"][0];
    let activities = plan["activities"].as_array().expect("activities");
    let first = activities
        .iter()
        .find(|a| a["start"] == "2025-02-03")
        .expect("one item starts on day 0");
    let second = activities
        .iter()
        .find(|a| a["start"] == "2025-02-06")
        .expect("the other starts when the lab is free");
    let critical: Vec<&str> = plan["criticalPath"]
        .as_array()
        .expect("critical path")
        .iter()
        .filter_map(|name| name.as_str())
        .collect();
    let (first_name, second_name) = (
        first["name"].as_str().expect("name"),
        second["name"].as_str().expect("name"),
    );
    assert_eq!(
        &critical[..2],
        [first_name, second_name],
        "the hand-over is on the critical path: {critical:?}"
    );
    // In every trial the first item's slip reaches the second through the lab,
    // so both are always critical (a fixed start for the second would make the
    // first critical only when it overran into the second's slot).
    for activity in [first, second] {
        let criticality = activity["criticality"].as_f64().expect("criticality");
        assert!(criticality > 0.99, "{activity}");
    }
}

#[test]
fn plan_keeps_a_release_on_time_before_finishing_the_program_early() {
    let ws = Workspace::new();
    // The lab is needed by a hotfix frozen on Wednesday and by a feature whose
    // week-long rollout follows it. Feature first would end the program sooner but
    // miss the hotfix's code freeze; lateness comes first.
    let text = concat!(
        core_and_qa_lab!(),
        "apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: hotfix}
spec:
  targetDate: 2025-02-07
  codeFreeze: 2025-02-05
  items:
    - {name: patch, title: Patch, team: core, estimate: {optimistic: 3, likely: 3, pessimistic: 3}, uses: [{resource: qa-lab}]}
---
apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: q1}
spec:
  targetDate: 2025-03-31
  items:
    - {name: feature, title: Feature, team: core, estimate: {optimistic: 3, likely: 3, pessimistic: 3}, uses: [{resource: qa-lab}]}
    - {name: rollout, title: Rollout, team: core, estimate: {optimistic: 5, likely: 5, pessimistic: 5}}
---
apiVersion: lockstep.dev/v1
kind: Dependency
metadata: {name: rollout-after-feature}
spec: {blocker: feature, blocked: rollout}
"
    );
    let file = ws.write("hotfix.yaml", text);
    let (out, value) = plan_json(&ws, &file, "2025-02-03", 0);
    let start = |name: &str| {
        value["plans"]
            .as_array()
            .expect("plans")
            .iter()
            .flat_map(|plan| plan["activities"].as_array().expect("activities"))
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {out}"))["start"]
            .clone()
    };
    assert_eq!(start("patch"), "2025-02-03", "{out}");
    assert_eq!(start("feature"), "2025-02-06", "{out}");
}

#[test]
fn the_forecast_pauses_for_holidays_as_the_plan_does() {
    let ws = Workspace::new();
    // Eight working days from Monday Feb 3 with the whole next week off: the work
    // ends Wednesday Feb 19, in the plan and in every trial of the forecast (a
    // conversion to calendar days at 7/5 would say Feb 14).
    let text = "apiVersion: lockstep.dev/v1
kind: Team
metadata: {name: core}
spec: {timeZone: Europe/Berlin, holidays: [2025-02-10, 2025-02-11, 2025-02-12, 2025-02-13, 2025-02-14]}
---
apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: r1}
spec:
  targetDate: 2025-03-03
  items:
    - {name: ledger, title: Ledger, team: core, estimate: {optimistic: 8, likely: 8, pessimistic: 8}}
";
    let file = ws.write("holidays.yaml", text);
    let (out, value) = plan_json(&ws, &file, "2025-02-03", 100);
    let plan = &value["plans"][0];
    let ledger = plan["activities"]
        .as_array()
        .expect("activities")
        .iter()
        .find(|a| a["name"] == "ledger")
        .expect("ledger");
    assert_eq!(ledger["finish"], "2025-02-19", "{out}");
    assert!(ledger.get("lateDays").is_none(), "{out}");
    // Due on the Friday before the holidays, it is late by the five days off.
    let due = text.replace(
        "estimate: {optimistic: 8",
        "due: 2025-02-14, estimate: {optimistic: 8",
    );
    let file = ws.write("due.yaml", &due);
    let table = ws.ok(&[
        "plan",
        file.to_str().expect("utf-8"),
        "--today",
        "2025-02-03",
        "--trials",
        "0",
    ]);
    assert!(
        table.contains("2025-02-19  2025-02-14 (late 5 d)"),
        "{table}"
    );
    assert_eq!(plan["forecast"]["p50"], plan["plannedFinish"], "{out}");
    assert_eq!(plan["forecast"]["p95"], plan["plannedFinish"], "{out}");
}

#[test]
fn plan_explains_contradicting_pins_and_resources() {
    let ws = Workspace::new();
    // Plans `text` from a file called `name`; what the refusal says.
    let refused = |name: &str, text: &str| {
        let file = ws.write(name, text);
        ws.fails(&[
            "plan",
            file.to_str().expect("utf-8"),
            "--today",
            "2025-02-03",
            "--trials",
            "0",
        ])
    };
    let pinned_after_blocker = SHARED_QA.replace(
        "pinnedStart: 2025-02-12}",
        "pinnedStart: 2025-02-04}\n---\napiVersion: lockstep.dev/v1\nkind: Dependency\nmetadata: {name: reports-need-billing}\nspec: {blocker: billing, blocked: reports}",
    );
    let err = refused("pins.yaml", &pinned_after_blocker);
    assert!(
        err.contains("no schedule honours every pinned date and shared resource"),
        "{err}"
    );
    assert!(
        err.contains("reports is pinned to start 2025-02-04 but cannot start before 2025-02-06: billing → reports"),
        "{err}"
    );
    let saturday = SHARED_QA.replace("pinnedStart: 2025-02-12", "pinnedStart: 2025-02-08");
    let err = refused("saturday.yaml", &saturday);
    assert!(
        err.contains(
            "reports is pinned to start 2025-02-08 (Saturday), a day its team does not work"
        ),
        "{err}"
    );
    // An item cannot use more than exists: refused when applied, where it is written.
    let greedy = SHARED_QA.replace(
        "uses: [{resource: qa-lab}]}\n    - {name: invoices",
        "uses: [{resource: qa-lab, amount: 2}]}\n    - {name: invoices",
    );
    let err = refused("greedy.yaml", &greedy);
    assert!(
        err.contains("an item can use 1 to 1 of qa-lab (its capacity), not 2"),
        "{err}"
    );
    let typo = SHARED_QA.replace(
        "{resource: qa-lab}]}\n    - {name: invoices",
        "{resource: qa-lap}]}\n    - {name: invoices",
    );
    let err = refused("typo.yaml", &typo);
    assert!(
        err.contains("unknown resource `qa-lap` (did you mean `qa-lab`?)"),
        "{err}"
    );
}

#[test]
fn calendar_feeds_carry_recurring_blackouts_as_rrules() {
    let ws = Workspace::new();
    let calendar = format!(
        "{}/../../examples/release-calendar",
        env!("CARGO_MANIFEST_DIR")
    );
    ws.ok(&["apply", "-f", &example(), "-f", &calendar]);
    let feed = ws.ok(&["calendar", "export"]);
    let unfolded = feed.replace("\r\n ", "");
    let weekends = unfolded
        .split("BEGIN:VEVENT")
        .find(|event| event.contains("UID:blackout/weekends@lockstep"))
        .unwrap_or_else(|| panic!("no weekend blackout in {unfolded}"));
    assert!(
        weekends.contains("DTSTART;TZID=America/New_York:20250103T120000"),
        "{weekends}"
    );
    assert!(
        weekends.contains("RRULE:FREQ=WEEKLY;BYDAY=FR\r\n"),
        "{weekends}"
    );
    assert!(unfolded.contains("RRULE:FREQ=YEARLY\r\n"), "{unfolded}");
    // A crontab line becomes the rule that selects the same times.
    let batch = unfolded
        .split("BEGIN:VEVENT")
        .find(|event| event.contains("UID:blackout/settlement-batch@lockstep"))
        .unwrap_or_else(|| panic!("no settlement batch in {unfolded}"));
    assert!(
        batch.contains("RRULE:FREQ=DAILY;BYHOUR=1;BYMINUTE=0\r\n"),
        "{batch}"
    );
    // Each train departure is a release of its own, not a recurring event.
    assert!(unfolded.contains("web-2025-12-23"), "{unfolded}");

    // Cron unites restricted day fields, which one RRULE cannot say: the feed lists
    // the occurrences (every Monday and every 1st of the month) one by one.
    let either = ws.write(
        "either.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: maintenance}\nspec: {timeZone: UTC, start: 2025-01-06T06:00:00, end: 2025-01-06T07:00:00, cron: \"0 6 1 * MON\"}\n",
    );
    ws.ok(&["apply", "-f", either.to_str().expect("utf-8")]);
    let feed = ws.ok(&["calendar", "export", "--now", "2025-01-20T12:00:00Z"]);
    let unfolded = feed.replace("\r\n ", "");
    for uid in [
        "UID:blackout/maintenance/20250203T0600@lockstep",
        "UID:blackout/maintenance/20250301T0600@lockstep",
    ] {
        assert!(unfolded.contains(uid), "{uid} in {unfolded}");
    }
    assert!(
        !unfolded.contains("UID:blackout/maintenance@lockstep"),
        "{unfolded}"
    );
}

#[test]
fn replanning_keeps_booked_starts_and_says_what_moved() {
    let ws = Workspace::new();
    let plan_json = |file: &std::path::Path, previous: Option<&std::path::Path>| {
        let mut args = vec![
            "plan".to_owned(),
            file.to_str().expect("utf-8").to_owned(),
            "--today".to_owned(),
            "2025-02-03".to_owned(),
            "--trials".to_owned(),
            "0".to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
        ];
        if let Some(previous) = previous {
            args.push("--previous".to_owned());
            args.push(previous.to_str().expect("utf-8").to_owned());
        }
        ws.ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let starts = |json: &str| -> BTreeMap<String, String> {
        let value: serde_json::Value = serde_json::from_str(json).expect("json");
        value["plans"][0]["activities"]
            .as_array()
            .expect("activities")
            .iter()
            .filter(|a| a["kind"] == "item")
            .map(|a| {
                (
                    a["name"].as_str().expect("name").to_owned(),
                    a["start"].as_str().expect("start").to_owned(),
                )
            })
            .collect()
    };
    let first = ws.write("shared.yaml", SHARED_QA);
    let booked = plan_json(&first, None);
    let previous = ws.write("previous.json", &booked);
    let before = starts(&booked);

    // A new item needs the QA lab too: the booked items keep their days and the
    // newcomer takes the first free one after them.
    let added = SHARED_QA.replace(
        "    - {name: reports,",
        "    - {name: exports, title: Exports, team: core, estimate: {optimistic: 1, likely: 1, pessimistic: 2}, uses: [{resource: qa-lab}]}\n    - {name: reports,",
    );
    let second = ws.write("added.yaml", &added);
    let after = starts(&plan_json(&second, Some(&previous)));
    for item in ["billing", "invoices", "reports"] {
        assert_eq!(
            after[item], before[item],
            "{item} kept its day: {before:?} → {after:?}"
        );
    }
    assert_eq!(after["exports"], "2025-02-11", "{after:?}");

    // Whoever goes first now takes longer: the other one has to move, and says so.
    let first_item = if before["billing"] < before["invoices"] {
        "billing"
    } else {
        "invoices"
    };
    let other = if first_item == "billing" {
        "invoices"
    } else {
        "billing"
    };
    let longer = SHARED_QA.replace(
        &format!("{{name: {first_item}, title: {}, team: core, estimate: {{optimistic: 2, likely: 3, pessimistic: 4}}", if first_item == "billing" { "Billing" } else { "Invoices" }),
        &format!("{{name: {first_item}, title: {}, team: core, estimate: {{optimistic: 4, likely: 5, pessimistic: 6}}", if first_item == "billing" { "Billing" } else { "Invoices" }),
    );
    assert_ne!(longer, SHARED_QA);
    let third = ws.write("longer.yaml", &longer);
    let table = ws.ok(&[
        "plan",
        third.to_str().expect("utf-8"),
        "--today",
        "2025-02-03",
        "--trials",
        "0",
        "--previous",
        previous.to_str().expect("utf-8"),
    ]);
    assert!(
        table.contains(&format!(
            "{other} moved from {} (previous plan) to 2025-02-10",
            before[other]
        )),
        "{table}"
    );
    assert!(!table.contains(&format!("{first_item} moved")), "{table}");
    // A previous plan that is not one is refused with what to pass instead.
    let bogus = ws.write("bogus.json", "{\"plans\": 3}");
    let err = ws.fails(&[
        "plan",
        first.to_str().expect("utf-8"),
        "--previous",
        bogus.to_str().expect("utf-8"),
    ]);
    assert!(err.contains("has no `plans` list"), "{err}");
}

#[test]
fn verbs_without_a_remote_form_refuse_a_server_instead_of_writing_locally() {
    let ws = Workspace::new();
    for (verb, refused) in [
        (vec!["calendar", "export"], "calendar export"),
        (vec!["user", "list"], "user"),
    ] {
        let mut args = vec!["--server", "http://127.0.0.1:9"];
        args.extend(verb.iter().copied());
        let err = ws.fails(&args);
        assert!(
            err.contains(&format!(
                "`{refused}` works on the database, not against a server yet"
            )),
            "{err}"
        );
    }
    // Nothing was created locally either.
    assert!(!ws.path().join("lockstep.db").exists());
}

#[test]
fn the_live_feed_answers_at_once_not_with_the_first_change() {
    use std::io::{Read, Write};
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let token = reader_token(&ws);
    let server = serve(&ws, &[]);
    let mut stream = std::net::TcpStream::connect(&server.address).expect("connect");
    write!(
        stream,
        "GET /api/v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
        server.address
    )
    .expect("send");
    // Nothing changes and the keep-alive comes after 15 s: what arrives before that is
    // the feed's greeting.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut received = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !String::from_utf8_lossy(&received).contains("lockstep live feed") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("text/event-stream"), "{text}");
    assert!(text.contains(": lockstep live feed"), "{text}");
}

#[test]
fn blackouts_and_resources_are_listed_and_exported_as_manifests_that_reapply() {
    let ws = Workspace::new();
    let calendar = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/release-calendar"
    );
    ws.ok(&["apply", "-f", &example(), "-f", calendar]);
    let table = ws.ok(&["get", "blackouts"]);
    assert!(
        table.contains("year-end-freeze   Year-end freeze   America/New_York")
            && table.contains("FREQ=YEARLY"),
        "{table}"
    );
    // Exported, the freezes re-apply with no change: a program kept in git keeps them.
    let yaml = ws.ok(&["get", "blackouts", "-o", "yaml"]);
    let file = ws.write("blackouts.yaml", &yaml);
    let again = ws.ok(&["apply", "-f", file.to_str().expect("utf-8")]);
    assert_eq!(again.trim(), "no changes", "{yaml}");
    let described = ws.ok(&["describe", "blackouts", "weekends"]);
    assert!(described.contains("Weekend freeze"), "{described}");
    // On a new database the migration is logged, without colour codes when stderr is
    // not a terminal.
    let fresh = Workspace::new();
    let output = fresh
        .command()
        .env("LOCKSTEP_LOG", "info")
        .args(["get", "resources"])
        .output()
        .expect("binary runs");
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("migrated") && !log.contains('\u{1b}'), "{log}");
}

#[test]
fn a_deployment_step_may_run_past_midnight() {
    let ws = Workspace::new();
    let dir = example_with_release_edit(
        &ws,
        "late-night",
        r#"{component: mobile-app, at: "10:30","#,
        r#"{component: mobile-app, at: "23:50", minutes: 45,"#,
    );
    let out = ws.ok(&[
        "plan",
        dir.to_str().expect("utf-8"),
        "--today",
        "2025-02-05",
        "--trials",
        "0",
    ]);
    assert!(
        out.lines()
            .any(|line| line.starts_with("23:50    23:50      mobile-app")),
        "{out}"
    );
    assert!(!out.contains("unscheduled"), "{out}");
}

#[test]
fn scenario_results_are_recorded_on_the_database_and_against_a_server() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let task = "frontend-api-analytics-charts";
    let recorded = ws.ok(&["integration", "result", task, "1", "passed"]);
    assert!(
        recorded.contains("integration task frontend-api-analytics-charts: scenario 1 passed"),
        "{recorded}"
    );
    assert_eq!(
        ws.ok(&["integration", "result", task, "1", "passed"])
            .trim(),
        "no changes"
    );
    let no_such = ws.fails(&["integration", "result", task, "9", "passed"]);
    assert!(no_such.contains("there is no number 9"), "{no_such}");
    let bad = ws.fails(&["integration", "result", task, "2", "green"]);
    assert!(bad.contains("unknown result `green`"), "{bad}");

    // Over HTTP as the frontend's tech lead, who owns the task's frontend side.
    let added = ws.run_with(
        &[
            "user",
            "add",
            "sarah",
            "--member",
            "sarah",
            "--password-stdin",
        ],
        "correct-horse-battery\n",
    );
    assert!(added.status.success(), "{added:?}");
    let token = ws.token("sarah");
    let server = serve(&ws, &[]);
    let remote = ws.remote(
        &server.url(),
        &token,
        &["integration", "result", task, "2", "failed"],
    );
    assert!(remote.status.success(), "{remote:?}");
    assert!(
        String::from_utf8_lossy(&remote.stdout).contains("scenario 2 failed"),
        "{remote:?}"
    );
    let (status, body) = get_as(&server.address, "/api/v1/integration-tasks", Some(&token));
    assert_eq!(status, 200, "{body}");
    let tasks: serde_json::Value = serde_json::from_str(&body).expect("json");
    let charts = tasks["items"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["name"] == task))
        .expect("the task is listed");
    assert_eq!(charts["spec"]["scenarios"][0]["result"], "passed");
    assert_eq!(charts["spec"]["scenarios"][1]["result"], "failed");
}

#[test]
fn a_backstage_catalog_applies_with_its_notes_locally_and_through_a_server() {
    let catalog = format!(
        "{}/../../examples/backstage/catalog-info.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let ws = Workspace::new();
    let output = ws.run(&["apply", "-f", &catalog]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("+ component analytics-api defined"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: ") && stderr.contains("Backstage System `analytics` skipped"),
        "{stderr}"
    );
    let components = ws.ok(&["get", "components", "-o", "yaml"]);
    assert!(
        components.contains("dependsOn:\n  - data-pipeline"),
        "{components}"
    );
    assert_eq!(ws.ok(&["apply", "-f", &catalog]).trim(), "no changes");
    let interfaces = ws.ok(&["get", "interfaces"]);
    assert!(
        interfaces.contains("analytics-api") && interfaces.contains("analytics-events"),
        "{interfaces}"
    );

    // The same file through the API, on a fresh program: the notes come back too.
    let fresh = Workspace::new();
    fresh.ok(&["user", "add", "ops", "--admin"]);
    let token = fresh.token("ops");
    let server = serve(&fresh, &[]);
    let output = fresh.remote(&server.url(), &token, &["apply", "-f", &catalog]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("catalog-info.yaml:") && stderr.contains("keeps one team per person"),
        "{stderr}"
    );
    assert_eq!(
        fresh.ok(&["get", "components", "-o", "yaml"]),
        components,
        "the server applied what the database did"
    );
}

#[test]
fn a_lesson_kept_with_a_release_answers_its_retrospective() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let kept = ws.ok(&[
        "--actor",
        "rita",
        "retro",
        "q1-2025",
        "--lesson",
        "Agree the API contract before the sprint starts",
    ]);
    assert!(
        kept.contains("q1-2025: lesson from rita: Agree the API contract"),
        "{kept}"
    );
    let retro = ws.ok(&["retro", "q1-2025"]);
    let after = retro
        .split("What would we do differently?")
        .nth(1)
        .expect("the question is asked");
    assert!(
        after.contains("Agree the API contract before the sprint starts (rita, "),
        "{retro}"
    );
    let index = ws.ok(&["lessons", "--search", "api contract"]);
    assert!(
        index.starts_with("- Agree the API contract before the sprint starts (q1-2025, rita, "),
        "{index}"
    );
    assert!(
        ws.ok(&["lessons", "--search", "nothing like it"])
            .contains("No lesson kept says that")
    );
    let refused = ws.fails(&["retro", "q1-2052", "--lesson", "x"]);
    assert!(refused.contains("did you mean `q1-2025`"), "{refused}");
}

#[test]
fn coordination_time_is_recorded_retracted_and_reported_with_the_time_in_lockstep() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let recorded = ws.ok(&[
        "--actor",
        "rita",
        "coordination",
        "q1-2025",
        "--log",
        "1h30m",
        "--people",
        "4",
        "--activity",
        "call",
        "--note",
        "integration planning",
    ]);
    assert!(
        recorded.contains("q1-2025: call 90 min × 4 recorded by rita"),
        "{recorded}"
    );
    ws.ok(&["--actor", "rita", "coordination", "q1-2025", "--log", "450"]);
    ws.ok(&[
        "--actor",
        "rita",
        "coordination",
        "q1-2025",
        "--retract",
        "2",
    ]);
    ws.ok(&[
        "--actor",
        "rita",
        "coordination",
        "q1-2025",
        "--rate",
        "4",
        "--comment",
        "one call instead of three",
    ]);
    let report = ws.ok(&["coordination", "q1-2025"]);
    assert!(
        report.contains("360 recorded (1 call)")
            && report.contains("retracted by rita")
            && report.contains("Rated 4.0 of 5 by 1 person."),
        "{report}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ws.ok(&["coordination", "q1-2025", "-o", "json"])).expect("JSON");
    assert_eq!(json["recordedMinutes"], 360, "{json}");
    // The apply and rita's three commands were one person each, minutes apart at most.
    assert!(
        json["inToolMinutes"].as_u64().is_some_and(|m| m >= 1),
        "{json}"
    );
    for (args, expected) in [
        (
            vec!["coordination", "q1-2025", "--log", "soon"],
            "is not a duration",
        ),
        (
            vec!["coordination", "q1-2025", "--log", "90s"],
            "whole number of minutes",
        ),
        (
            vec!["coordination", "q1-2025", "--log", "0"],
            "not a positive duration",
        ),
        (
            vec![
                "coordination",
                "q1-2025",
                "--log",
                "30m",
                "--activity",
                "lunch",
            ],
            "not an activity",
        ),
        (vec!["coordination", "q1-2025", "--people", "3"], "--log"),
        (
            vec!["coordination", "q1-2025", "--retract", "7"],
            "coordination record",
        ),
        (vec!["coordination", "q1-2052"], "no release named"),
        (vec!["coordination", "q1-2025", "--rate", "0"], "score"),
        (vec!["coordination", "q1-2025", "--comment", "x"], "--rate"),
    ] {
        let refused = ws.fails(&args);
        assert!(refused.contains(expected), "{args:?}: {refused}");
    }
}
