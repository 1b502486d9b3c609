//! Issue 6, runbook and execution: on the seed example, the release day executed end
//! to end through the real binary (CLI) and through a real server on 127.0.0.1
//! (HTTP), including a rollback trigger tripped by error-rate samples and a rollback
//! in reverse dependency order; deny windows and break glass; the audit log of every
//! refused attempt.

mod common;

use common::{Workspace, example, example_with_release_edit, get_as, post, serve};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `minutes` from now, as RFC 3339: signal samples are stamped by their sender.
/// `seconds` after `base`, as the API writes an instant.
fn after(base: jiff::Timestamp, seconds: i64) -> String {
    base.checked_add(jiff::SignedDuration::from_secs(seconds))
        .expect("in range")
        .to_string()
}

/// The example program with its error-rate trigger shortened from 10 to 2 minutes: signals
/// may be dated at most a few minutes ahead of the clock, and a test does not wait 10.
fn example_with_short_trigger(ws: &Workspace) -> String {
    example_with_release_edit(
        ws,
        "short-trigger",
        "forMinutes: 10, description: \"Error rate >5% for 10 min\"",
        "forMinutes: 2, description: \"Error rate >5% for 2 min\"",
    )
    .display()
    .to_string()
}

fn statuses(run: &Value, list: &str) -> Vec<(String, String)> {
    let steps = if list == "rollback" {
        &run["rollback"]["steps"]
    } else {
        &run["steps"]
    };
    steps
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["component"].as_str().expect("component").to_owned(),
                s["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

/// `component version` running in production, by component.
fn running(ws: &Workspace) -> Vec<String> {
    let deployed = json(&ws.ok(&["get", "deployments", "-o", "json"]));
    deployed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|d| d["environment"] == "production")
        .map(|d| {
            format!(
                "{} {}",
                d["component"].as_str().unwrap_or("?"),
                d["version"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn step(ws: &Workspace, component: &str, actions: &[&str]) {
    for action in actions {
        ws.ok(&["run", "step", "q1-2025", component, action]);
    }
}

fn error_rate(ws: &Workspace, delivery: &str, percent: &str, at: &str) -> String {
    ws.ok(&[
        "signal",
        "record",
        "error-rate",
        "analytics-api",
        "--environment",
        "production",
        "--percent",
        percent,
        "--delivery",
        delivery,
        "--at",
        at,
    ])
}

#[test]
fn issue_6_the_runbook_of_the_seed_deploys_backend_then_api_then_frontend_and_mobile() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let markdown = ws.ok(&["runbook", "q1-2025"]);
    for line in [
        "# Q1 2025 Platform Release Runbook",
        "1. Backend services (Team C) - 9:00 AM",
        "2. API services (Team B) - 9:30 AM (after data-pipeline)",
        "3. Frontend deploy (Team A) - 10:00 AM (after analytics-api)",
        "4. Mobile app store update (Team D) - 10:30 AM (after analytics-api)",
        "- Error rate >5% for 10 min",
        "- P0 bug found",
        "- Integration failure",
        "api: @mike (primary), @lisa (backup)",
        "- Verify integration: [INTEGRATION] API + Backend - Analytics data",
    ] {
        assert!(markdown.contains(line), "missing {line:?} in\n{markdown}");
    }
    let runbook = json(&ws.ok(&["runbook", "q1-2025", "--format", "json"]));
    let order: Vec<&str> = runbook["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["component"].as_str().expect("component"))
        .collect();
    assert_eq!(
        order,
        [
            "data-pipeline",
            "analytics-api",
            "dashboard-ui",
            "mobile-app"
        ]
    );
    // 9:00 in New York on March 1 2025 is 14:00 UTC.
    assert_eq!(runbook["steps"][0]["startsAt"], "2025-03-01T14:00:00Z");
    assert_eq!(runbook["steps"][0]["primary"]["handle"], "alex");
    let unknown = ws.fails(&["runbook", "q1-2026"]);
    assert!(unknown.contains("unknown release `q1-2026`"), "{unknown}");
}

#[test]
fn issue_6_a_release_day_runs_end_to_end_on_the_cli_and_rolls_back_in_reverse_when_the_error_rate_trips()
 {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example_with_short_trigger(&ws)]);
    ws.ok(&["deployed", "analytics-api", "1.1.4", "--to", "production"]);

    // Refused before the run exists, then out of order, then skipping a state.
    let no_run = ws.fails(&["run", "step", "q1-2025", "data-pipeline", "start"]);
    assert!(no_run.contains("q1-2025"), "{no_run}");
    // No readiness signal is recorded: the verdict is no-go, and overriding it is a
    // recorded decision with a reason.
    let no_go = ws.fails(&["run", "start", "q1-2025"]);
    assert!(
        no_go.contains("release `q1-2025` is no-go: ci-green, "),
        "{no_go}"
    );
    let started = ws.ok(&[
        "run",
        "start",
        "q1-2025",
        "--break-glass",
        "--reason",
        "rehearsal: readiness is tracked elsewhere",
    ]);
    assert!(
        started.contains("run 1 of q1-2025 started by tester"),
        "{started}"
    );
    assert!(
        started.contains("break glass on q1-2025 (go/no-go) by tester: rehearsal: readiness is tracked elsewhere (overrides ci-green"),
        "{started}"
    );
    let early = ws.fails(&["run", "step", "q1-2025", "analytics-api", "start"]);
    assert!(
        early.contains("step `analytics-api` cannot start before `data-pipeline` is done"),
        "{early}"
    );
    let skipped = ws.fails(&["run", "step", "q1-2025", "data-pipeline", "done"]);
    assert!(
        skipped.contains("cannot go from pending to done"),
        "{skipped}"
    );
    let bad_action = ws.fails(&["run", "step", "q1-2025", "data-pipeline", "finish"]);
    assert!(
        bad_action.contains("unknown step action `finish`"),
        "{bad_action}"
    );

    step(&ws, "data-pipeline", &["start", "verify", "done"]);
    step(&ws, "analytics-api", &["start", "verify", "done"]);
    // A done step runs the version the plan names.
    assert_eq!(running(&ws), ["analytics-api 1.2.0", "data-pipeline 3.3.0"]);
    let twice = ws.fails(&["run", "step", "q1-2025", "analytics-api", "done"]);
    assert!(twice.contains("is already done (tester at"), "{twice}");
    step(&ws, "dashboard-ui", &["start"]);

    // Error rate above 5% for 2 minutes, with a dip that restarts the window. The samples
    // are dated up to 3½ minutes ahead, within the clock skew a signal may have.
    let base = jiff::Timestamp::now();
    error_rate(&ws, "err-1", "6.5", &after(base, 30));
    error_rate(&ws, "err-2", "3", &after(base, 60));
    error_rate(&ws, "err-3", "7", &after(base, 90));
    let no_trip = error_rate(&ws, "err-4", "8", &after(base, 180));
    assert!(
        !no_trip.contains("tripped"),
        "90 seconds above is not 2 minutes: {no_trip}"
    );
    let tripped = error_rate(&ws, "err-5", "9", &after(base, 210));
    assert!(
        tripped.contains("rollback trigger error-rate tripped on analytics-api"),
        "{tripped}"
    );

    let run = json(&ws.ok(&["run", "status", "q1-2025", "-o", "json"]));
    assert_eq!(run["rollbackProposed"], true);
    assert_eq!(run["tripped"][0]["trigger"], "error-rate");
    let table = ws.ok(&["run", "status", "q1-2025"]);
    assert!(
        table.contains("TRIPPED: error-rate on analytics-api"),
        "{table}"
    );
    let typo = ws.fails(&["run", "status", "q1-202"]);
    assert!(
        typo.contains("unknown release `q1-202` (did you mean `q1-2025`?)"),
        "{typo}"
    );
    let further = ws.fails(&["run", "step", "q1-2025", "mobile-app", "start"]);
    assert!(further.contains("start the rollback"), "{further}");

    let rollback = ws.ok(&["run", "rollback", "q1-2025"]);
    assert!(
        rollback
            .contains("manual rollback by tester (dashboard-ui → analytics-api → data-pipeline)"),
        "{rollback}"
    );
    let again = ws.fails(&["run", "rollback", "q1-2025"]);
    assert!(again.contains("already rolling back"), "{again}");
    let not_yet = ws.fails(&["run", "step", "q1-2025", "data-pipeline", "start"]);
    assert!(
        not_yet.contains("cannot start before `analytics-api`, `dashboard-ui` are done"),
        "{not_yet}"
    );
    step(&ws, "dashboard-ui", &["start", "verify", "done"]);
    step(&ws, "analytics-api", &["start", "verify", "done"]);
    step(&ws, "data-pipeline", &["start", "verify", "done"]);

    // The API's rollback brings back what ran before; nothing was known to run before the
    // pipeline's 3.3.0, so its rollback takes 3.3.0 off the record.
    assert_eq!(running(&ws), ["analytics-api 1.1.4"]);
    let run = json(&ws.ok(&["run", "status", "q1-2025", "-o", "json"]));
    assert_eq!(run["status"], "rolled-back");
    assert_eq!(
        statuses(&run, "rollback"),
        [
            ("dashboard-ui".to_owned(), "done".to_owned()),
            ("analytics-api".to_owned(), "done".to_owned()),
            ("data-pipeline".to_owned(), "done".to_owned()),
        ]
    );
    assert_eq!(
        statuses(&run, "deploy")[3],
        ("mobile-app".to_owned(), "pending".to_owned())
    );
    assert_eq!(run["steps"][0]["history"][0]["by"], "tester");

    // Every refused attempt is in the audit log, with who, what, target and why.
    let audit = json(&ws.ok(&["audit", "--release", "q1-2025", "-o", "json"]));
    let refusals = audit["refusals"].as_array().expect("refusals");
    let errors: Vec<&str> = refusals
        .iter()
        .map(|r| r["error"].as_str().expect("error"))
        .collect();
    assert_eq!(refusals.len(), 8, "{errors:#?}");
    assert!(errors[1].contains("is no-go"), "{errors:?}");
    assert!(
        errors[2].contains("cannot start before `data-pipeline` is done"),
        "{errors:?}"
    );
    assert_eq!(refusals[2]["actor"], "tester");
    assert_eq!(refusals[2]["source"], "cli");
    assert_eq!(refusals[2]["target"], "run:q1-2025");
    assert_eq!(refusals[1]["command"], "start a deployment run of q1-2025");
    assert_eq!(
        refusals[2]["command"],
        "move step analytics-api of the q1-2025 run to running"
    );
    // A refused apply is audited too, with its location.
    let bad = ws.write(
        "bad.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Component\nmetadata: {name: search}\nspec: {team: serch}\n",
    );
    let refused = ws.fails(&["apply", "-f", bad.to_str().expect("utf-8 path")]);
    assert!(refused.contains("unknown team `serch`"), "{refused}");
    let audit = json(&ws.ok(&["audit", "-o", "json"]));
    let last = audit["refusals"]
        .as_array()
        .and_then(|r| r.last())
        .expect("one refusal");
    assert_eq!(last["kind"], "manifest");
    assert!(
        last["error"]
            .as_str()
            .is_some_and(|e| e.contains("bad.yaml:4:") && e.contains("serch")),
        "{last:#}"
    );
    // A new run may start once this one is rolled back.
    let second = ws.ok(&[
        "run",
        "start",
        "q1-2025",
        "--break-glass",
        "--reason",
        "second attempt",
    ]);
    assert!(second.contains("run 2 of q1-2025"), "{second}");
    // The metrics count the rolled-back run and the one under way; nothing shipped.
    let metrics = json(&ws.ok(&["metrics", "-o", "json"]));
    assert_eq!(
        metrics["runs"],
        serde_json::json!({"succeeded": 0, "rolledBack": 1, "unfinished": 1}),
        "{metrics:#}"
    );
    assert_eq!(metrics["deploymentSuccessRate"], 0.0);
    assert_eq!(metrics["releasesShipped"], 0);
    let table = ws.ok(&["metrics"]);
    assert!(
        table
            .contains("deployment success rate      0% (0 succeeded, 1 rolled back, 1 unfinished)"),
        "{table}"
    );
    // The retrospective says what production saw and which gates were overridden.
    let retro = ws.ok(&["retro", "q1-2025"]);
    assert!(retro.contains("- Run 1 was rolled back on "), "{retro}");
    assert!(
        retro.contains("- Break glass: tester overrode go/no-go ("),
        "{retro}"
    );
    assert!(
        ws.fails(&["retro", "nope"])
            .contains("no release named `nope`")
    );
    assert!(
        ws.fails(&["metrics", "--from", "2025-12-01", "--to", "2025-11-01"])
            .contains("the period starts (2025-12-01) after it ends (2025-11-01)")
    );
}

#[test]
fn issue_6_a_run_inside_a_blackout_needs_break_glass_with_a_reason_which_is_recorded() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let start = now
        .datetime()
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .expect("range");
    let end = now
        .datetime()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .expect("range");
    let blackout = ws.write(
        "blackout.yaml",
        &format!(
            "apiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {{name: quarter-close}}\n\
             spec: {{title: Quarter close, timeZone: UTC, start: {}, end: {}}}\n",
            start.strftime("%Y-%m-%dT%H:%M:%S"),
            end.strftime("%Y-%m-%dT%H:%M:%S")
        ),
    );
    ws.ok(&["apply", "-f", blackout.to_str().expect("utf-8 path")]);
    let frozen = ws.fails(&["run", "start", "q1-2025"]);
    assert!(
        frozen.contains("deployments to `production` are frozen now (Quarter close until"),
        "{frozen}"
    );
    let no_reason = ws.run(&["run", "start", "q1-2025", "--break-glass"]);
    assert_eq!(no_reason.status.code(), Some(2), "clap wants --reason");
    let glass = ws.ok(&[
        "run",
        "start",
        "q1-2025",
        "--break-glass",
        "--reason",
        "CVE-2025-0001 fix cannot wait",
    ]);
    assert!(
        glass.contains(
            "break glass on q1-2025 (run) by tester: CVE-2025-0001 fix cannot wait (overrides quarter-close)"
        ),
        "{glass}"
    );
    let history = ws.ok(&["history", "--stream", "run:q1-2025", "-o", "json"]);
    assert!(history.contains("BreakGlassUsed"), "{history}");
    let audit = json(&ws.ok(&["audit", "-o", "json"]));
    assert!(
        audit["refusals"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("frozen")),
        "{audit:#}"
    );
}

/// A POST with extra headers over loopback: (status, raw head, body).
fn post_with(
    address: &str,
    path: &str,
    token: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Authorization: Bearer {token}\r\n{extra}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// The server reads what the CLI wrote after it started, by following the log.
fn wait_for(address: &str, token: &str, path: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (status, body) = get_as(address, path, Some(token));
        if status == 200 {
            let value = json(&body);
            if wanted(&value) {
                return value;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{path} never showed what was wanted");
}

#[test]
fn issue_6_the_same_release_day_over_http_with_authorization_problems_and_an_auto_rollback() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example_with_short_trigger(&ws)]);
    for (user, member) in [
        ("rita", "rita"),
        ("alex", "alex"),
        ("mike", "mike"),
        ("sarah", "sarah"),
    ] {
        let added = ws.run_with(
            &["user", "add", user, "--member", member, "--password-stdin"],
            "correct-horse-battery\n",
        );
        assert!(added.status.success(), "{added:?}");
    }
    let (rita, alex, mike, sarah) = (
        ws.token("rita"),
        ws.token("alex"),
        ws.token("mike"),
        ws.token("sarah"),
    );
    let server = serve(&ws, &[]);
    let address = server.address.as_str();

    let (status, body) = get_as(address, "/api/v1/releases/q1-2025/runbook", Some(&rita));
    assert_eq!(status, 200, "{body}");
    let runbook = json(&body);
    assert!(
        runbook["markdown"]
            .as_str()
            .is_some_and(|m| m.contains("## Rollback Triggers"))
    );
    assert_eq!(runbook["steps"][1]["after"][0], "data-pipeline");

    // Only a release manager starts a run; a team member is refused (403, audited).
    let (status, body) = post(address, "/api/v1/releases/q1-2025/run", Some(&alex), "{}");
    assert_eq!(status, 403, "{body}");
    let (status, body) = post(
        address,
        "/api/v1/releases/q1-2025/run",
        Some(&rita),
        r#"{"autoRollback": true}"#,
    );
    assert_eq!(status, 422, "no-go without an override: {body}");
    assert!(
        json(&body)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("is no-go")),
        "{body}"
    );
    let (status, body) = post(
        address,
        "/api/v1/releases/q1-2025/run",
        Some(&rita),
        r#"{"autoRollback": true, "breakGlassReason": "rehearsal without signals"}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(json(&body)["resource"]["status"], "deploying");
    let (status, body) = post(address, "/api/v1/releases/q1-2025/run", Some(&rita), "{}");
    assert_eq!(status, 422, "a second run while one is deploying: {body}");
    assert!(
        json(&body)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("already deploying"))
    );

    let move_step = |token: &str, component: &str, action: &str| {
        post(
            address,
            &format!("/api/v1/releases/q1-2025/run/steps/{component}"),
            Some(token),
            &format!(r#"{{"action": "{action}"}}"#),
        )
    };
    // A team runs only its own steps.
    let (status, body) = move_step(&mike, "data-pipeline", "start");
    assert_eq!(status, 403, "{body}");
    let (status, body) = move_step(&mike, "analytics-api", "start");
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        json(&body)["type"],
        "https://lockstep.dev/problems/rejected"
    );
    let (status, body) = move_step(&alex, "data-pipeline", "launch");
    assert_eq!(status, 422, "{body}");
    assert_eq!(json(&body)["field"], "action");
    let (status, body) = post(
        address,
        "/api/v1/releases/q1-2025/run/steps/data-pipeline",
        Some(&alex),
        "{not json",
    );
    assert_eq!(status, 400, "{body}");
    // A stale If-Match is 412; a retried POST with its Idempotency-Key is replayed,
    // not refused as a second start.
    let step_path = "/api/v1/releases/q1-2025/run/steps/data-pipeline";
    let start = r#"{"action": "start"}"#;
    let (status, _, body) = post_with(address, step_path, &alex, &["If-Match: \"99\""], start);
    assert_eq!(status, 412, "{body}");
    let (status, head, body) = post_with(
        address,
        step_path,
        &alex,
        &["Idempotency-Key: start-1"],
        start,
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains("etag: \"3\""),
        "run stream at version 3 (started, go/no-go overridden, step): {head}"
    );
    let (status, head, _) = post_with(
        address,
        step_path,
        &alex,
        &["Idempotency-Key: start-1"],
        start,
    );
    assert_eq!(status, 200);
    assert!(head.contains("idempotent-replayed: true"), "{head}");
    for action in ["verify", "done"] {
        let (status, body) = move_step(&alex, "data-pipeline", action);
        assert_eq!(status, 200, "{action}: {body}");
    }
    for action in ["start", "verify", "done"] {
        let (status, body) = move_step(&mike, "analytics-api", action);
        assert_eq!(status, 200, "{action}: {body}");
    }
    let (status, body) = move_step(&sarah, "dashboard-ui", "start");
    assert_eq!(status, 200, "{body}");

    // Error-rate samples through the signal endpoint: the third trips the trigger,
    // and the run, configured to, rolls back by itself.
    let base = jiff::Timestamp::now();
    for (delivery, seconds, basis_points) in [("h1", 30, 700), ("h2", 75, 800), ("h3", 150, 900)] {
        let (status, body) = post(
            address,
            "/api/v1/signals",
            Some(&rita),
            &format!(
                r#"{{"component": "analytics-api", "environment": "production", "delivery": "{delivery}",
                    "observedAt": "{}", "reading": {{"kind": "error-rate", "percent": {}}}}}"#,
                after(base, seconds),
                f64::from(basis_points) / 100.0
            ),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = get_as(address, "/api/v1/releases/q1-2025/run", Some(&rita));
    assert_eq!(status, 200, "{body}");
    let run = json(&body);
    assert_eq!(run["status"], "rolling-back", "{run:#}");
    assert_eq!(run["rollback"]["automatic"], true);
    assert_eq!(run["rollback"]["by"], "lockstep");
    assert_eq!(
        statuses(&run, "rollback")
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["dashboard-ui", "analytics-api", "data-pipeline"]
    );
    for (token, component) in [
        (&sarah, "dashboard-ui"),
        (&mike, "analytics-api"),
        (&alex, "data-pipeline"),
    ] {
        for action in ["start", "verify", "done"] {
            let (status, body) = move_step(token, component, action);
            assert_eq!(status, 200, "{component} {action}: {body}");
        }
    }
    let run = wait_for(address, &rita, "/api/v1/releases/q1-2025/run", |run| {
        run["status"] == "rolled-back"
    });
    assert_eq!(run["tripped"][0]["component"], "analytics-api");

    // The dashboard shows the run; the audit endpoint lists the refusals (403s too).
    let (status, page) = get_as(address, "/releases/q1-2025/run", Some(&rita));
    assert_eq!(status, 200);
    assert!(page.contains(r#"data-run-status="rolled-back""#), "{page}");
    assert!(page.contains("<svg class=\"run-strip\""), "{page}");
    let (status, body) = get_as(address, "/api/v1/audit?release=q1-2025", Some(&rita));
    assert_eq!(status, 200, "{body}");
    let audit = json(&body);
    let kinds: Vec<(&str, &str)> = audit["refusals"]
        .as_array()
        .expect("refusals")
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap_or(""),
                r["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("alex", "denied"),
            ("rita", "domain"),
            ("rita", "domain"),
            ("mike", "denied"),
            ("mike", "domain")
        ],
        "{audit:#}"
    );
    let (status, _) = get_as(address, "/api/v1/audit?limit=0", Some(&rita));
    assert_eq!(status, 400);
    // An unknown parameter is a problem document naming it, not axum's plain text.
    let (status, body) = get_as(address, "/api/v1/audit?foo=1", Some(&rita));
    assert_eq!(status, 400, "{body}");
    assert_eq!(json(&body)["field"], "foo", "{body}");
}

/// The messages of a run are written by the CLI's database path too, in the commit that
/// records what they report, when a notification file is configured.
#[test]
fn a_failed_step_its_rollback_and_the_rolled_back_run_are_written_to_the_outbox_by_the_cli() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.write(
        "notifications.yaml",
        "channels:\n  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}\n\
         subscriptions:\n  - {role: release-manager, channel: hook, \
         kinds: [deployment-incident, rollback-started, deployment-status]}\n",
    );
    let pending = |ws: &Workspace| -> i64 {
        let counts = json(&ws.ok(&["outbox", "status", "-o", "json"]));
        counts["pending"].as_i64().expect("a count")
    };
    ws.ok(&[
        "run",
        "start",
        "q1-2025",
        "--break-glass",
        "--reason",
        "rehearsal",
    ]);
    step(&ws, "data-pipeline", &["start"]);
    assert_eq!(pending(&ws), 0, "a run going well tells nobody");
    ws.ok(&[
        "run",
        "step",
        "q1-2025",
        "data-pipeline",
        "fail",
        "--note",
        "disk full",
    ]);
    assert_eq!(pending(&ws), 1, "the incident, to rita");
    ws.ok(&["run", "rollback", "q1-2025", "--reason", "disk full"]);
    assert_eq!(pending(&ws), 2, "the rollback, to rita");
    step(&ws, "data-pipeline", &["start", "verify"]);
    assert_eq!(pending(&ws), 2);
    step(&ws, "data-pipeline", &["done"]);
    assert_eq!(pending(&ws), 3, "the run's end, to rita");
    // Reading the run writes nothing, even with a broken notification file.
    ws.write("notifications.yaml", "channels: [not, a, map]\n");
    ws.ok(&["run", "status", "q1-2025"]);
}
