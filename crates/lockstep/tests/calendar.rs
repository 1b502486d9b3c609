//! `lockstep calendar show`: the release calendar of a period, on the database and asked
//! of a server, as a table and as the API's JSON.

mod common;

use common::{Workspace, example, reader_token, serve};

/// A workspace holding the example program and its release calendar.
fn with_release_calendar() -> Workspace {
    let ws = Workspace::new();
    let calendar = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/release-calendar"
    );
    ws.ok(&["apply", "-f", &example(), "-f", calendar]);
    ws
}

/// The last two weeks of December 2025: the web train of Dec 23 departs in the year-end
/// freeze.
const DECEMBER: [&str; 6] = [
    "calendar",
    "show",
    "--from",
    "2025-12-15",
    "--to",
    "2025-12-28",
];

#[test]
fn the_calendar_shows_a_period_with_its_conflicts_here_and_against_a_server() {
    let ws = with_release_calendar();
    let december = DECEMBER;
    let table = ws.ok(&december);
    for wanted in [
        "Calendar 2025-12-15 to 2025-12-28: 1 conflict",
        "! web-2025-12-23 deploys to production during blackout Year-end freeze",
        "blackout Settlement batch          01:00–03:00 America/New_York  0 1 * * *",
        "2025-12-19..2026-01-04  blackout        Year-end freeze",
        "2025-12-23              deployment      Web train Dec 23, 2025  2025-12-23T15:00:00Z – 2025-12-23T16:00:00Z  production",
    ] {
        assert!(table.contains(wanted), "{wanted}\nin\n{table}");
    }

    let token = reader_token(&ws);
    let server = serve(&ws, &[]);
    let remote = ws.remote(
        &server.url(),
        &token,
        &[&december[..], &["-o", "json"]].concat(),
    );
    assert!(remote.status.success(), "{remote:?}");
    let remote: serde_json::Value = serde_json::from_slice(&remote.stdout).expect("json");
    let local: serde_json::Value =
        serde_json::from_str(&ws.ok(&[&december[..], &["-o", "json"]].concat())).expect("json");
    assert_eq!(remote, local, "the server and the database agree");

    let error = ws.fails(&[
        "calendar",
        "show",
        "--from",
        "2025-12-28",
        "--to",
        "2025-12-01",
    ]);
    assert!(
        error.contains("the period's last day (2025-12-01) is before its first (2025-12-28)"),
        "{error}"
    );
}

#[test]
fn a_conflict_is_proposed_as_a_move_here_and_against_a_server() {
    let ws = with_release_calendar();
    let shown: serde_json::Value =
        serde_json::from_str(&ws.ok(&[&DECEMBER[..], &["-o", "json"]].concat())).expect("json");
    let proposed = shown["windowConflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["release"] == "web-2025-12-23")
        .and_then(|c| c["proposedStart"].as_str())
        .and_then(|at| at.parse::<jiff::civil::DateTime>().ok())
        .expect("a proposed start");

    // Refusals say why and record nothing.
    let n_events = ws.n_events();
    for (args, expected) in [
        (
            &["change", "move", "web-2025-12-23", "--to", "tuesday"][..],
            "--to: `tuesday` is not a local date and time",
        ),
        (
            &["change", "move", "web-2025-12-23", "--to", "2026-01-13"][..],
            "--to: `2026-01-13` has no time of day",
        ),
        (
            &[
                "change",
                "move",
                "web-2025-12-23",
                "--to",
                "2026-01-13T10:00-08:00",
            ][..],
            "--to: `2026-01-13T10:00-08:00` carries an offset or zone",
        ),
        (
            &[
                "change",
                "move",
                "web-2025-12-23",
                "--to",
                "2026-01-06T23:50",
            ][..],
            "a day other than the release day",
        ),
        (
            &["change", "move", "web-2025-12-32"][..],
            "unknown release `web-2025-12-32`",
        ),
    ] {
        let error = ws.fails(&[&["--actor", "mike"][..], args].concat());
        assert!(error.contains(expected), "{expected} in {error}");
    }
    assert_eq!(ws.n_events(), n_events);

    let moved = ws.ok(&[
        "--actor",
        "mike",
        "change",
        "move",
        "web-2025-12-23",
        "--reason",
        "year-end freeze",
    ]);
    let day = proposed.date();
    assert!(
        moved.contains(&format!(
            "## cr-1: Move web-2025-12-23 to {} America/New_York",
            proposed.strftime("%Y-%m-%d %H:%M")
        )) && moved.contains(&format!("target 2025-12-23 → {day}")),
        "{moved}"
    );
    ws.ok(&["--actor", "rita", "change", "approve", "cr-1"]);
    let table = ws.ok(&DECEMBER);
    assert!(!table.contains("! web-2025-12-23"), "{table}");
    let error = ws.fails(&["--actor", "mike", "change", "move", "web-2025-12-23"]);
    assert!(
        error.contains("no conflict asks to move `web-2025-12-23`"),
        "{error}"
    );

    // Against a server, the caller proposes, with a start of their own.
    ws.ok(&["user", "add", "mike", "--member", "mike"]);
    let token = ws.token("mike");
    let server = serve(&ws, &[]);
    let remote = ws.remote(
        &server.url(),
        &token,
        &[
            "change",
            "move",
            "web-2025-12-23",
            "--to",
            "2026-01-13T10:00",
        ],
    );
    assert!(remote.status.success(), "{remote:?}");
    let stdout = String::from_utf8_lossy(&remote.stdout);
    assert!(
        stdout.contains("## cr-2: Move web-2025-12-23 to 2026-01-13 10:00 America/New_York")
            && stdout.contains("proposed by mike"),
        "{stdout}"
    );
}
