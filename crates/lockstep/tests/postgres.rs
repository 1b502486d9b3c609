//! The seed example on PostgreSQL through the real binary: applies, re-applies with
//! no change, and round-trips through `get -o yaml`.
//!
//! Uses the server named by `LOCKSTEP_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test gets its own database,
//! created and dropped with `psql`. `LOCKSTEP_SKIP_POSTGRES=1` skips them.

use std::process::{Command, Stdio};

fn server_url() -> String {
    std::env::var("LOCKSTEP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database of its own on the test server, dropped on drop.
struct Database {
    name: String,
}

impl Database {
    fn create() -> Option<Database> {
        if std::env::var_os("LOCKSTEP_SKIP_POSTGRES").is_some() {
            eprintln!("LOCKSTEP_SKIP_POSTGRES is set: skipping");
            return None;
        }
        let name = format!(
            "lockstep_cli_{}_{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
        );
        psql(&format!("CREATE DATABASE {name}"));
        Some(Database { name })
    }

    fn url(&self) -> String {
        let server = server_url();
        let base = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(base, _)| base);
        format!("{base}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) {
    let status = Command::new("psql")
        .args([&server_url(), "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|error| panic!("psql is needed for the PostgreSQL tests ({error}); set LOCKSTEP_SKIP_POSTGRES=1 to skip"));
    assert!(status.success(), "psql failed: {sql}");
}

fn lockstep(url: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(args)
        .current_dir(dir)
        .env("LOCKSTEP_DATABASE_URL", url)
        .env("LOCKSTEP_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert!(
        output.status.success(),
        "lockstep {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn seed_example_applies_and_round_trips_on_postgres() {
    let Some(database) = Database::create() else {
        return;
    };
    let url = database.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025");
    let first = lockstep(&url, dir.path(), &["apply", "-f", example]);
    assert!(first.contains("applied 41 change(s)"), "{first}");
    assert_eq!(
        lockstep(&url, dir.path(), &["apply", "-f", example]).trim(),
        "no changes"
    );
    lockstep(
        &url,
        dir.path(),
        &[
            "item",
            "eta",
            "api-analytics-endpoints",
            "2025-02-10",
            "--reason",
            "slipped",
        ],
    );
    let mut exported = String::new();
    for kind in ["teams", "environments", "components", "releases"] {
        exported.push_str(&lockstep(&url, dir.path(), &["get", kind, "-o", "yaml"]));
    }
    let path = dir.path().join("exported.yaml");
    std::fs::write(&path, &exported).expect("write export");
    let path = path.to_str().expect("utf-8 path");
    assert_eq!(
        lockstep(&url, dir.path(), &["apply", "-f", path]).trim(),
        "no changes"
    );
    let history = lockstep(&url, dir.path(), &["history", "--limit", "1", "-o", "json"]);
    assert!(history.contains("\"reason\": \"slipped\""), "{history}");
}

#[test]
fn checklist_ticks_and_sign_offs_replay_from_postgres() {
    let Some(database) = Database::create() else {
        return;
    };
    let url = database.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025");
    let checklists = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/checklists");
    lockstep(
        &url,
        dir.path(),
        &["apply", "-f", example, "-f", checklists],
    );
    assert_eq!(
        lockstep(&url, dir.path(), &["apply", "-f", checklists]).trim(),
        "no changes"
    );
    let run = |args: &[&str]| lockstep(&url, dir.path(), args);
    run(&["checklist", "check", "q1-2025", "design-qa", "--as", "uma"]);
    run(&["signoff", "q1-2025", "--request", "--as", "rita"]);
    run(&["signoff", "q1-2025", "--approve", "--as", "sid"]);
    run(&[
        "signoff",
        "q1-2025",
        "--reject",
        "--reason",
        "docs not ready",
        "--as",
        "sam",
    ]);
    // Each command is a new process: the verdict is rebuilt from the PostgreSQL log.
    let verdict: serde_json::Value =
        serde_json::from_str(&run(&["checklist", "q1-2025", "-o", "json"])).expect("json");
    let design = verdict["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "design-qa")
        .expect("design-qa")
        .clone();
    assert_eq!(design["checkedBy"], "uma");
    let output = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(["gonogo", "q1-2025", "-o", "json"])
        .current_dir(dir.path())
        .env("LOCKSTEP_DATABASE_URL", &url)
        .env("LOCKSTEP_LOG", "warn")
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(1));
    let gonogo: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(gonogo["signoffs"]["approvals"][0]["by"], "sid");
    assert_eq!(
        gonogo["signoffs"]["rejections"][0]["reason"],
        "docs not ready"
    );
}

#[test]
fn issue_6_a_run_and_its_refusals_are_kept_on_postgres() {
    let Some(database) = Database::create() else {
        return;
    };
    let url = database.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025");
    lockstep(&url, dir.path(), &["apply", "-f", example]);
    lockstep(
        &url,
        dir.path(),
        &[
            "run",
            "start",
            "q1-2025",
            "--break-glass",
            "--reason",
            "no readiness signals in this test",
        ],
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(["run", "step", "q1-2025", "mobile-app", "start"])
        .current_dir(dir.path())
        .env("LOCKSTEP_DATABASE_URL", &url)
        .env("LOCKSTEP_ACTOR", "priya")
        .env("LOCKSTEP_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    lockstep(
        &url,
        dir.path(),
        &["run", "step", "q1-2025", "data-pipeline", "start"],
    );
    let status = lockstep(
        &url,
        dir.path(),
        &["run", "status", "q1-2025", "-o", "json"],
    );
    assert!(status.contains("\"status\": \"running\""), "{status}");
    let audit = lockstep(
        &url,
        dir.path(),
        &["audit", "--release", "q1-2025", "-o", "json"],
    );
    assert!(audit.contains("\"actor\": \"priya\""), "{audit}");
    assert!(
        audit.contains("step `mobile-app` cannot start before `analytics-api` is done"),
        "{audit}"
    );
}
