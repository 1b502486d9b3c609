//! Issue 6's done-when check through the real binary: on the seed example, a failing
//! CI run of the analytics-api component turns the go/no-go verdict to no-go with
//! that reason, and a later passing run turns it back.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn lockstep(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .current_dir(dir)
        .env(
            "LOCKSTEP_DATABASE_URL",
            format!("sqlite://{}", dir.join("lockstep.db").display()),
        )
        .env("LOCKSTEP_ACTOR", "tester")
        .env("LOCKSTEP_LOG", "warn")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .expect("binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let output = lockstep(dir, args);
    assert!(
        output.status.success(),
        "lockstep {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The seed example with every integration scenario passed, so that signals decide.
fn seed_example_with_scenarios_passed(dir: &Path) -> std::path::PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/q1-2025");
    let target = dir.join("q1-2025");
    std::fs::create_dir_all(&target).expect("mkdir");
    for file in ["teams.yaml", "components.yaml", "release.yaml"] {
        let text = std::fs::read_to_string(source.join(file)).expect("example reads");
        let patched: Vec<String> = text
            .lines()
            .map(|line| {
                if line.trim_start().starts_with("- {title:") && !line.contains("result:") {
                    line.replacen('}', ", result: passed}", 1)
                } else {
                    line.to_owned()
                }
            })
            .collect();
        std::fs::write(target.join(file), patched.join("\n")).expect("write");
    }
    target
}

fn gonogo(dir: &Path) -> (Option<i32>, serde_json::Value) {
    let output = lockstep(dir, &["gonogo", "q1-2025", "-o", "json"]);
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "gonogo prints JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), value)
}

/// Ticks every open manual pre-release item of q1-2025 as rita, the release manager.
fn tick_manual_pre_release_items(dir: &Path) {
    let checklist: serde_json::Value =
        serde_json::from_str(&ok(dir, &["checklist", "q1-2025", "-o", "json"])).expect("json");
    for item in checklist["items"].as_array().expect("items") {
        if item["phase"] == "pre-release" && item["check"].is_null() {
            let id = item["id"].as_str().expect("id");
            ok(dir, &["checklist", "check", "q1-2025", id, "--as", "rita"]);
        }
    }
}

#[test]
fn issue_6_failing_ci_for_the_api_turns_the_verdict_to_no_go_and_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let example = seed_example_with_scenarios_passed(dir);
    ok(dir, &["apply", "-f", example.to_str().expect("utf-8 path")]);

    // Nothing recorded yet: no-go, and the verdict says what is missing.
    let (code, verdict) = gonogo(dir);
    assert_eq!(code, Some(1), "{verdict:#}");
    assert!(
        verdict["reasons"]
            .to_string()
            .contains("no CI run recorded")
    );

    for item in [
        "api-analytics-endpoints",
        "frontend-dashboard",
        "mobile-analytics-view",
    ] {
        ok(dir, &["item", "status", item, "ready-for-release"]);
    }
    for component in [
        "data-pipeline",
        "analytics-api",
        "dashboard-ui",
        "mobile-app",
    ] {
        let at = ["--at", "2025-02-27T10:00:00Z"];
        ok(
            dir,
            &[
                &[
                    "signal",
                    "record",
                    "ci",
                    component,
                    "--conclusion",
                    "success",
                ],
                &at[..],
            ]
            .concat(),
        );
        ok(
            dir,
            &[&["signal", "record", "bugs", component], &at[..]].concat(),
        );
        // The checklist's *Rollback procedures tested* wants a rehearsed rollback.
        ok(
            dir,
            &[
                &[
                    "signal",
                    "record",
                    "ci",
                    component,
                    "--workflow",
                    "Rollback drill",
                    "--conclusion",
                    "success",
                ],
                &at[..],
            ]
            .concat(),
        );
        ok(
            dir,
            &[
                &[
                    "signal",
                    "record",
                    "security-scan",
                    component,
                    "--high",
                    "2",
                ],
                &at[..],
            ]
            .concat(),
        );
        ok(
            dir,
            &[
                &[
                    "signal",
                    "record",
                    "smoke-test",
                    component,
                    "--environment",
                    "staging",
                ],
                &at[..],
            ]
            .concat(),
        );
    }
    // The go/no-go now also needs the pre-release checklist: the release manager
    // ticks the manual items (the signal-backed ones are met above).
    tick_manual_pre_release_items(dir);
    let (code, verdict) = gonogo(dir);
    assert_eq!(code, Some(0), "{verdict:#}");
    assert_eq!(verdict["verdict"], "go");

    // A failing CI run of the API, mapped by repository as a webhook would be.
    ok(
        dir,
        &[
            "signal",
            "record",
            "ci",
            "--repository",
            "https://github.com/acme/analytics-api",
            "--conclusion",
            "failure",
            "--branch",
            "release/q1-2025",
            "--at",
            "2025-02-28T09:00:00Z",
            "--delivery",
            "run-41",
        ],
    );
    let (code, verdict) = gonogo(dir);
    assert_eq!(code, Some(1), "{verdict:#}");
    assert_eq!(verdict["verdict"], "no-go");
    assert_eq!(
        verdict["reasons"],
        serde_json::json!(["ci-green: analytics-api: CI CI failure"])
    );
    let text = String::from_utf8(lockstep(dir, &["gonogo", "q1-2025"]).stdout).expect("utf-8");
    assert!(text.starts_with("q1-2025: NO-GO\n"), "{text}");
    assert!(text.contains("✗ ci-green"), "{text}");

    // The same delivery again changes nothing; an older run is refused.
    assert_eq!(
        ok(
            dir,
            &[
                "signal",
                "record",
                "ci",
                "analytics-api",
                "--conclusion",
                "failure",
                "--at",
                "2025-02-28T09:00:00Z",
                "--delivery",
                "run-41",
            ],
        ),
        "no changes\n"
    );
    let older = lockstep(
        dir,
        &[
            "signal",
            "record",
            "ci",
            "analytics-api",
            "--conclusion",
            "success",
            "--at",
            "2025-02-28T08:00:00Z",
        ],
    );
    assert_eq!(older.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&older.stderr).contains("older than the latest"));

    // The fix: a later passing run turns it back.
    ok(
        dir,
        &[
            "signal",
            "record",
            "ci",
            "analytics-api",
            "--conclusion",
            "success",
            "--at",
            "2025-02-28T10:00:00Z",
            "--delivery",
            "run-42",
        ],
    );
    let (code, verdict) = gonogo(dir);
    assert_eq!(code, Some(0), "{verdict:#}");
    assert_eq!(verdict["verdict"], "go");
}

#[test]
fn signals_for_unknown_components_are_refused_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/q1-2025");
    ok(dir, &["apply", "-f", example.to_str().expect("utf-8 path")]);
    let output = lockstep(
        dir,
        &[
            "signal",
            "record",
            "bugs",
            "analytics-apj",
            "--critical",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("unknown component `analytics-apj` (did you mean `analytics-api`?)")
    );
    let output = lockstep(dir, &["gonogo", "q1-2026"]);
    assert_eq!(output.status.code(), Some(2));
}
