//! The CLI against a real `lockstep serve` on 127.0.0.1 (`--server`): the same output
//! as on the database, writes through the API with its roles, `apply` as one atomic
//! change, `login`/`logout` with the config file, and the token life cycle.

mod common;

use std::process::Output;

use common::{Server, Workspace, example, get_as, serve};

/// The example applied, users `rita` (release manager) and `mike` (API tech lead) with
/// tokens, and a server on the workspace's database.
struct Fixture {
    ws: Workspace,
    server: Server,
    url: String,
    rita: String,
    mike: String,
}

fn fixture() -> Fixture {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.ok(&["user", "add", "rita", "--member", "release-office/rita"]);
    ws.ok(&["user", "add", "mike", "--member", "mike"]);
    let rita = ws.token("rita");
    let mike = ws.token("mike");
    let server = serve(&ws, &[]);
    let url = server.url();
    Fixture {
        ws,
        server,
        url,
        rita,
        mike,
    }
}

impl Fixture {
    /// Runs against the server with `token`.
    fn remote(&self, token: &str, args: &[&str]) -> Output {
        self.ws.remote(&self.url, token, args)
    }

    fn remote_ok(&self, token: &str, args: &[&str]) -> String {
        let output = self.remote(token, args);
        assert!(
            output.status.success(),
            "lockstep --server {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }
}

#[test]
fn reads_against_a_server_print_what_the_database_prints() {
    let f = fixture();
    // A slipped ETA puts items at risk, so that the risk column has something to agree on.
    // (Through the server, which then holds it at once; the database sees it too.)
    f.remote_ok(
        &f.mike,
        &["item", "eta", "api-analytics-endpoints", "2025-02-10"],
    );
    let items = f.ws.ok(&["get", "items"]);
    assert!(
        items.contains("AT RISK (ROOT CAUSE)") && items.contains("ETA Feb 10 > need-by Feb 8"),
        "{items}"
    );
    let reads: &[&[&str]] = &[
        &["get", "teams"],
        &["get", "components"],
        &["get", "environments"],
        &["get", "releases"],
        &["get", "items"],
        &["get", "items", "--team", "api"],
        &["get", "items", "--release", "q1-2025"],
        &["get", "dependencies"],
        &["get", "integration-tasks"],
        &["describe", "item", "api-analytics-endpoints"],
        &["describe", "release", "q1-2025"],
        &["describe", "team", "api"],
        &["describe", "integration-task", "api-backend-analytics-data"],
        &["history", "--limit", "7"],
        &["history", "--stream", "team:api"],
    ];
    for args in reads {
        for output in ["table", "json"] {
            let mut args = args.to_vec();
            args.extend(["-o", output]);
            let local = f.ws.ok(&args);
            let remote = f.remote_ok(&f.mike, &args);
            assert_eq!(remote, local, "lockstep {args:?}");
            assert!(
                !local.trim().is_empty(),
                "lockstep {args:?} printed nothing"
            );
        }
    }
    // The verdict, and its exit code (1: no-go, nothing has signalled yet).
    let local = f.ws.run(&["gonogo", "q1-2025"]);
    let remote = f.remote(&f.mike, &["gonogo", "q1-2025"]);
    assert_eq!(remote.status.code(), local.status.code());
    assert_eq!(remote.status.code(), Some(1));
    assert_eq!(remote.stdout, local.stdout);
    assert!(String::from_utf8_lossy(&remote.stdout).contains("q1-2025: NO-GO"));

    // The same "did you mean" as on the database.
    let remote = f.remote(&f.mike, &["describe", "item", "api-analytic-endpoints"]);
    assert_eq!(remote.status.code(), Some(2));
    let local = f.ws.run(&["describe", "item", "api-analytic-endpoints"]);
    assert_eq!(remote.stderr, local.stderr);
    assert!(
        String::from_utf8_lossy(&remote.stderr).contains("did you mean `api-analytics-endpoints`")
    );
    for args in [
        &["get", "items", "--team", "apii"][..],
        &["get", "items", "--release", "q1-2052"],
        &["get", "teams", "--team", "api"],
    ] {
        let remote = f.remote(&f.mike, args);
        let local = f.ws.run(args);
        assert_eq!(remote.status.code(), Some(2), "{args:?}");
        assert_eq!(remote.stderr, local.stderr, "{args:?}");
    }
}

#[test]
fn a_dry_run_prints_the_impact_the_database_would_and_changes_nothing() {
    let f = fixture();
    let before = f.ws.n_events();
    let slip = [
        "item",
        "eta",
        "api-analytics-endpoints",
        "2025-02-10",
        "--dry-run",
    ];
    let local = f.ws.ok(&slip);
    let remote = f.remote_ok(&f.mike, &slip);
    assert_eq!(remote, local);
    assert!(
        local.contains("- item api-analytics-endpoints: eta 2025-02-05 → 2025-02-10"),
        "{local}"
    );
    assert!(
        local.contains("- frontend-dashboard becomes at risk: ")
            && local.contains("- mobile-analytics-view becomes at risk: ")
            && local.contains("- q1-2025: **becomes at risk**"),
        "{local}"
    );
    assert!(local.contains("ETA Feb 10 > need-by Feb 8"), "{local}");
    assert!(
        local.trim_end().ends_with("dry run: nothing changed"),
        "{local}"
    );
    let mut json_args = slip.to_vec();
    json_args.extend(["-o", "json"]);
    let local: serde_json::Value =
        serde_json::from_str(&f.ws.ok(&json_args)).expect("json dry run");
    let remote: serde_json::Value =
        serde_json::from_str(&f.remote_ok(&f.mike, &json_args)).expect("json dry run");
    assert_eq!(local["dryRun"], true);
    assert_eq!(remote["impact"], local["impact"]);
    assert_eq!(f.ws.n_events(), before, "a dry run records nothing");

    // The server still checks who may: Mike does not lead the frontend.
    let refused = f.remote(
        &f.mike,
        &[
            "item",
            "eta",
            "frontend-dashboard",
            "2025-02-20",
            "--dry-run",
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403"),
        "{refused:?}"
    );
}

#[test]
fn writes_against_a_server_follow_the_roles_and_say_why_not() {
    let f = fixture();
    let moved = f.remote_ok(
        &f.mike,
        &[
            "item",
            "status",
            "api-analytics-endpoints",
            "ready-for-release",
            "--reason",
            "contract tests green",
        ],
    );
    assert!(
        moved.contains("api-analytics-endpoints") && moved.contains("ready-for-release"),
        "prints the change as the local verb does: {moved}"
    );
    let history = f.ws.ok(&["history", "--limit", "1"]);
    assert!(
        history.contains("mike") && history.contains("contract tests green"),
        "the server recorded who and why: {history}"
    );
    let again = f.remote_ok(
        &f.mike,
        &[
            "item",
            "status",
            "api-analytics-endpoints",
            "ready-for-release",
        ],
    );
    assert_eq!(again.trim(), "no changes");
    let eta = f.remote_ok(
        &f.mike,
        &[
            "item",
            "eta",
            "api-analytics-endpoints",
            "2025-02-11",
            "-o",
            "json",
        ],
    );
    let eta: serde_json::Value = serde_json::from_str(&eta).expect("json");
    assert!(eta["changes"][0]["summary"].is_string(), "{eta}");
    assert!(eta["changes"][0]["event"].is_object(), "{eta}");
    let update = f.remote_ok(
        &f.mike,
        &[
            "item",
            "update",
            "api-analytics-endpoints",
            "endpoints deployed to staging",
        ],
    );
    assert!(!update.trim().is_empty());

    // Denied: mike may not move the frontend's item. Exit 2, the server's reason,
    // nothing written.
    let before = f.ws.n_events();
    let denied = f.remote(
        &f.mike,
        &["item", "status", "frontend-dashboard", "testing"],
    );
    assert_eq!(denied.status.code(), Some(2), "{denied:?}");
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("403") && stderr.contains("mike may not"),
        "{stderr}"
    );
    let denied = f.remote(
        &f.mike,
        &[
            "item",
            "status",
            "frontend-dashboard",
            "testing",
            "-o",
            "json",
        ],
    );
    assert_eq!(denied.status.code(), Some(2));
    let problem: serde_json::Value = serde_json::from_slice(&denied.stdout).expect("problem json");
    assert_eq!(problem["status"], 403);
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/forbidden"))
    );
    assert_eq!(f.ws.n_events(), before, "a refused write changes nothing");

    // A bad token is a 401 problem, not a crash.
    let forged = f.remote("lst_forged", &["get", "teams"]);
    assert_eq!(forged.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&forged.stderr).contains("401"));
    // Verbs that only exist on the database refuse --server instead of acting locally.
    let user = f.remote(&f.rita, &["user", "list"]);
    assert_eq!(user.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&user.stderr).contains("drop --server"));
}

#[test]
fn apply_against_a_server_is_one_atomic_change_with_located_errors() {
    let f = fixture();
    let release = std::fs::read_to_string(format!("{}/release.yaml", example())).expect("example");
    let changed = release.replacen("targetDate: 2025-03-01", "targetDate: 2025-03-03", 1);
    assert_ne!(changed, release, "the example has a date to move");
    let path = f.ws.write("release.yaml", &changed);
    let path = path.to_str().expect("utf-8 path");

    let local = f.ws.ok(&["apply", "-f", path, "--dry-run"]);
    let remote = f.remote_ok(&f.rita, &["apply", "-f", path, "--dry-run"]);
    assert_eq!(remote, local, "the dry run prints the same change");
    assert!(local.contains("dry run: "), "{local}");
    let local = f.ws.ok(&["apply", "-f", path, "--dry-run", "-o", "json"]);
    let remote = f.remote_ok(&f.rita, &["apply", "-f", path, "--dry-run", "-o", "json"]);
    assert_eq!(remote, local);

    // A dry run ends with what the change would do to the risk, here and on the server.
    let slipped = release.replacen("eta: 2025-02-05", "eta: 2025-02-10", 1);
    assert_ne!(slipped, release, "the example has the API's ETA");
    let slip = f.ws.write("slip.yaml", &slipped);
    let slip = slip.to_str().expect("utf-8 path");
    let local = f.ws.ok(&["apply", "-f", slip, "--dry-run"]);
    let remote = f.remote_ok(&f.rita, &["apply", "-f", slip, "--dry-run"]);
    assert_eq!(remote, local);
    assert!(
        local.contains("! release q1-2025 becomes at risk\n")
            && local.contains("! frontend-dashboard becomes at risk: API: Analytics endpoints ETA Feb 10 > need-by Feb 8")
            && local.trim_end().ends_with("dry run: 1 change(s) not applied"),
        "{local}"
    );
    let local: serde_json::Value =
        serde_json::from_str(&f.ws.ok(&["apply", "-f", slip, "--dry-run", "-o", "json"]))
            .expect("json");
    assert_eq!(
        local["impact"]["newlyAtRisk"].as_array().map(Vec::len),
        Some(3)
    );

    // mike may not change the release's scope: nothing is applied.
    let before = f.ws.n_events();
    let denied = f.remote(&f.mike, &["apply", "-f", path]);
    assert_eq!(denied.status.code(), Some(2), "{denied:?}");
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("403"),
        "{denied:?}"
    );
    assert_eq!(f.ws.n_events(), before);

    let applied = f.remote_ok(&f.rita, &["apply", "-f", path, "--reason", "moved"]);
    assert!(applied.contains("applied "), "{applied}");
    assert!(f.ws.n_events() > before);
    let again = f.remote_ok(&f.rita, &["apply", "-f", path]);
    assert_eq!(again.trim(), "no changes");

    // A reference to a team that does not exist: the error names file:line:column, as
    // on the database, and nothing is written.
    let broken = changed.replacen("team: api", "team: apii", 1);
    let bad = f.ws.write("broken.yaml", &broken);
    let bad = bad.to_str().expect("utf-8 path");
    let before = f.ws.n_events();
    let remote = f.remote(&f.rita, &["apply", "-f", bad]);
    let local = f.ws.run(&["apply", "-f", bad]);
    assert_eq!(remote.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&remote.stderr),
        String::from_utf8_lossy(&local.stderr)
    );
    // Both refused applies over HTTP are in the audit log.
    let audit: serde_json::Value =
        serde_json::from_str(&f.remote_ok(&f.rita, &["audit", "-o", "json"])).expect("json");
    let refusals = audit["refusals"].as_array().expect("refusals");
    let by = |actor: &str, kind: &str| {
        refusals
            .iter()
            .any(|r| r["actor"] == actor && r["kind"] == kind && r["source"] == "http")
    };
    assert!(by("mike", "denied") && by("rita", "manifest"), "{audit:#}");
    assert!(
        String::from_utf8_lossy(&remote.stderr).contains("broken.yaml:"),
        "{remote:?}"
    );
    assert_eq!(f.ws.n_events(), before);
}

#[cfg(unix)]
#[test]
fn login_keeps_a_private_token_and_logout_revokes_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let f = fixture();
    f.ws.run_with(
        &[
            "user",
            "add",
            "lisa",
            "--member",
            "api/lisa",
            "--password-stdin",
        ],
        "lisa-password-1\n",
    );
    let wrong =
        f.ws.run_with(&["login", "--server", &f.url, "--user", "lisa"], "nope\n");
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong user name or password"));
    assert!(!f.ws.path().join("config.toml").exists());

    let login = f.ws.run_with(
        &[
            "login",
            "--server",
            &format!("{}/", f.url),
            "--user",
            "lisa",
            "--expires-in",
            "2w",
        ],
        "lisa-password-1\n",
    );
    assert!(login.status.success(), "{login:?}");
    let config = f.ws.path().join("config.toml");
    let mode = std::fs::metadata(&config)
        .expect("config")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is private");
    let text = std::fs::read_to_string(&config).expect("config");
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("token line")
        .to_owned();
    assert!(!text.contains("lisa-password-1"), "no password is kept");

    // --server with no LOCKSTEP_TOKEN uses the saved token, for that server only.
    let me = f.ws.ok(&["--server", &f.url, "get", "teams"]);
    assert!(me.contains("api"), "{me}");
    let other =
        f.ws.run(&["--server", "http://127.0.0.1:9", "get", "teams"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("no token for http://127.0.0.1:9"));

    let listed = f.ws.ok(&["user", "token", "list", "lisa", "-o", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed["items"][0]["label"], "cli login");
    assert_eq!(listed["items"][0]["state"], "active");
    assert!(listed["items"][0]["expiresAt"].is_string());

    let logout = f.ws.ok(&["logout"]);
    assert!(logout.contains("revoked"), "{logout}");
    assert!(!config.exists());
    let (status, body) = get_as(&f.server.address, "/api/v1/me", Some(&token));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("revoked"), "{body}");
    let after = f.ws.run(&["--server", &f.url, "get", "teams"]);
    assert_eq!(after.status.code(), Some(2));
}

#[test]
fn tokens_expire_and_are_revoked_by_id_without_showing_secrets() {
    let f = fixture();
    let created = f.ws.ok(&[
        "user",
        "token",
        "create",
        "mike",
        "--label",
        "ci",
        "--expires-in",
        "12h",
        "-o",
        "json",
    ]);
    let created: serde_json::Value = serde_json::from_str(&created).expect("json");
    let secret = created["token"].as_str().expect("token").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(created["expiresAt"].is_string());
    let (status, _) = get_as(&f.server.address, "/api/v1/me", Some(&secret));
    assert_eq!(status, 200);

    let table = f.ws.ok(&["user", "token", "list", "mike"]);
    assert!(
        table.contains(&id) && table.contains("ci") && table.contains("active"),
        "{table}"
    );
    assert!(
        !table.contains(&secret) && !table.contains("lst_"),
        "no secret: {table}"
    );

    let revoked = f.ws.ok(&["user", "token", "revoke", &id]);
    assert!(revoked.contains(&id), "{revoked}");
    let (status, body) = get_as(&f.server.address, "/api/v1/items", Some(&secret));
    assert_eq!(status, 401, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("revoked")),
        "{problem}"
    );
    let table = f.ws.ok(&["user", "token", "list", "mike"]);
    assert!(table.contains("revoked"), "{table}");
    // The other tokens still work.
    let (status, _) = get_as(&f.server.address, "/api/v1/me", Some(&f.mike));
    assert_eq!(status, 200);

    let bad =
        f.ws.fails(&["user", "token", "create", "mike", "--expires-in", "30 days"]);
    assert!(bad.contains("--expires-in"), "{bad}");
    let bad = f.ws.fails(&["user", "token", "revoke", "nope"]);
    assert!(bad.contains("unknown token `nope`"), "{bad}");
    let bad = f.ws.fails(&["user", "token", "list", "mik"]);
    assert!(bad.contains("did you mean `mike`"), "{bad}");
}

#[test]
fn user_add_checks_the_member_against_the_program() {
    let ws = Workspace::new();
    let empty = ws.fails(&["user", "add", "mike", "--member", "mike"]);
    assert!(empty.contains("no teams yet"), "{empty}");
    ws.ok(&["apply", "-f", &example()]);
    let team = ws.fails(&["user", "add", "mike", "--member", "apii/mike"]);
    assert!(
        team.contains("unknown team `apii`") && team.contains("did you mean `api`"),
        "{team}"
    );
    let handle = ws.fails(&["user", "add", "mike", "--member", "api/mikey"]);
    assert!(
        handle.contains("no member `mikey`") && handle.contains("did you mean `mike`"),
        "{handle}"
    );
    let anywhere = ws.fails(&["user", "add", "mike", "--member", "ritaa"]);
    assert!(anywhere.contains("did you mean `rita`"), "{anywhere}");
    let listed = ws.ok(&["user", "list", "-o", "json"]);
    assert!(!listed.contains("mike"), "nothing saved: {listed}");
    ws.ok(&["user", "add", "mike", "--member", "api/mike"]);
    let listed = ws.ok(&["user", "list", "-o", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed["items"][0]["member"], "mike");
}

#[test]
fn a_release_day_is_run_against_a_server_with_the_output_of_the_database() {
    let f = fixture();
    // The runbook reads the same.
    for args in [
        vec!["runbook", "q1-2025"],
        vec!["runbook", "q1-2025", "--format", "json"],
    ] {
        assert_eq!(f.remote_ok(&f.mike, &args), f.ws.ok(&args), "{args:?}");
    }
    // rita starts the run and the backend step over HTTP; the server records her.
    let started = f.remote_ok(
        &f.rita,
        &[
            "run",
            "start",
            "q1-2025",
            "--break-glass",
            "--reason",
            "no readiness signals in this test",
        ],
    );
    assert!(started.contains("q1-2025"), "{started}");
    f.remote_ok(
        &f.rita,
        &["run", "step", "q1-2025", "data-pipeline", "start"],
    );
    // A step out of order is refused by the server, shown as its problem, and audited.
    let refused = f.remote(
        &f.rita,
        &["run", "step", "q1-2025", "dashboard-ui", "start"],
    );
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("refused the request"), "{stderr}");
    // The local view (which follows the same log) and the remote one agree.
    for args in [
        vec!["run", "status", "q1-2025"],
        vec!["run", "status", "q1-2025", "-o", "json"],
        vec!["audit", "--release", "q1-2025"],
        vec!["audit", "--release", "q1-2025", "-o", "json"],
    ] {
        let local = f.ws.ok(&args);
        assert_eq!(f.remote_ok(&f.rita, &args), local, "{args:?}");
        assert!(!local.trim().is_empty(), "{args:?}");
    }
    let status = f.ws.ok(&["run", "status", "q1-2025"]);
    assert!(status.contains("pending → running by rita"), "{status}");
    let audit = f.ws.ok(&["audit", "--release", "q1-2025"]);
    assert!(audit.contains("dashboard-ui"), "{audit}");
}

#[test]
fn checklists_and_sign_offs_against_a_server() {
    let f = fixture();
    let checklists = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/checklists");
    f.ws.ok(&["apply", "-f", checklists]);
    f.ws.ok(&["user", "add", "uma", "--member", "uma"]);
    f.ws.ok(&["user", "add", "sam", "--member", "sam"]);
    let (uma, sam) = (f.ws.token("uma"), f.ws.token("sam"));
    // uma (UX designer) ticks her item over HTTP; --as cannot speak for someone else.
    let refused = f.remote(
        &uma,
        &["checklist", "check", "q1-2025", "design-qa", "--as", "rita"],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("drop --as"));
    f.remote_ok(
        &uma,
        &[
            "checklist",
            "check",
            "q1-2025",
            "design-qa",
            "--note",
            "Figma QA passed",
        ],
    );
    // rita requests go/no-go, sam rejects with a reason, then withdraws it.
    f.remote_ok(&f.rita, &["signoff", "q1-2025", "--request"]);
    f.remote_ok(
        &sam,
        &[
            "signoff",
            "q1-2025",
            "--reject",
            "--reason",
            "support runbook missing",
        ],
    );
    let verdict = f.ws.run(&["gonogo", "q1-2025"]);
    let text = String::from_utf8_lossy(&verdict.stdout).into_owned();
    assert!(text.contains("rejected by sam"), "{text}");
    // The checklist and the verdict read the same locally and remotely.
    for args in [
        vec!["checklist", "q1-2025"],
        vec!["checklist", "q1-2025", "-o", "json"],
    ] {
        assert_eq!(f.remote_ok(&f.mike, &args), f.ws.ok(&args), "{args:?}");
    }
    let remote = f.remote(&f.mike, &["gonogo", "q1-2025"]);
    assert_eq!(remote.stdout, verdict.stdout);
    let table = f.ws.ok(&["checklist", "q1-2025"]);
    assert!(
        table.contains("design-qa") && table.contains("uma at"),
        "{table}"
    );
    f.remote_ok(&sam, &["signoff", "q1-2025", "--withdraw"]);
    let after = String::from_utf8_lossy(&f.ws.run(&["gonogo", "q1-2025"]).stdout).into_owned();
    assert!(!after.contains("rejected by sam"), "{after}");
}

#[test]
fn a_signal_recorded_against_a_server_turns_the_verdict() {
    let f = fixture();
    let recorded = f.remote_ok(
        &f.mike,
        &[
            "signal",
            "record",
            "ci",
            "analytics-api",
            "--conclusion",
            "failure",
            "--branch",
            "release/q1-2025",
            "--delivery",
            "remote-1",
        ],
    );
    assert!(recorded.contains("component analytics-api"), "{recorded}");
    // The same delivery again changes nothing.
    let again = f.remote_ok(
        &f.mike,
        &[
            "signal",
            "record",
            "ci",
            "analytics-api",
            "--conclusion",
            "failure",
            "--branch",
            "release/q1-2025",
            "--delivery",
            "remote-1",
        ],
    );
    assert_eq!(again.trim(), "no changes");
    let verdict = f.remote(&f.mike, &["gonogo", "q1-2025", "-o", "json"]);
    assert_eq!(verdict.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&verdict.stdout).expect("json");
    let reasons = value["reasons"].to_string();
    assert!(reasons.contains("analytics-api"), "{reasons}");
    // mike leads the API team: another team's component is not his to report on.
    let refused = f.remote(
        &f.mike,
        &[
            "signal",
            "record",
            "ci",
            "dashboard-ui",
            "--conclusion",
            "success",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
}
