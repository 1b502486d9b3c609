//! `lockstep calendar show`: the release calendar of a period, on the database and asked
//! of a server, as a table and as the API's JSON.

mod common;

use common::{Workspace, example, reader_token, serve};

#[test]
fn the_calendar_shows_a_period_with_its_conflicts_here_and_against_a_server() {
    let ws = Workspace::new();
    let calendar = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/release-calendar"
    );
    ws.ok(&["apply", "-f", &example(), "-f", calendar]);
    let december = [
        "calendar",
        "show",
        "--from",
        "2025-12-15",
        "--to",
        "2025-12-28",
    ];
    let table = ws.ok(&december);
    for wanted in [
        "Calendar 2025-12-15 to 2025-12-28: 11 conflicts",
        "! web-2025-12-23 deploys to production during blackout Year-end freeze",
        "blackout Settlement batch          01:00–03:00 America/New_York  0 1 * * *",
        "2025-12-19..2026-01-04  blackout        Year-end freeze",
        "2025-12-23              deployment      Web train Dec 23, 2025  2025-12-23T15:00:00Z – 2025-12-23T16:00:00Z  production",
    ] {
        assert!(table.contains(wanted), "{wanted}\nin\n{table}");
    }

    let token = reader_token(&ws);
    let server = serve(&ws, &[]);
    let remote = ws
        .command()
        .env("LOCKSTEP_SERVER", format!("http://{}", server.address))
        .env("LOCKSTEP_TOKEN", &token)
        .args(december)
        .args(["-o", "json"])
        .output()
        .expect("binary runs");
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
