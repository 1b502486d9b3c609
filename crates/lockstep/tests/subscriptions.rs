//! Subscriptions declared in manifests drive the real binary's scheduling, and the
//! notification file's subscriptions move into manifests with `outbox
//! export-subscriptions`.

mod common;

use common::{Workspace, example, serve};

const CHANNELS: &str =
    "channels:\n  hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s3cret}\n";

#[test]
fn a_subscription_manifest_is_what_scheduling_uses() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.write("notifications.yaml", CHANNELS);
    let schedule = [
        "outbox",
        "schedule",
        "--date",
        "2025-02-05",
        "--now",
        "2025-02-05T18:00:00Z",
    ];
    // Channels only: nobody is subscribed, nothing is written.
    assert_eq!(
        ws.ok(&schedule),
        "q1-2025: 0 message(s) for 2025-02-05, 0 new\n"
    );
    ws.write(
        "subscriptions.yaml",
        "apiVersion: lockstep.dev/v1\nkind: Subscription\nmetadata: {name: sarah-daily}\n\
         spec: {member: sarah, channel: hook, kinds: [daily-update]}\n---\n\
         apiVersion: lockstep.dev/v1\nkind: Subscription\nmetadata: {name: lost}\n\
         spec: {member: mike, channel: nowhere}\n",
    );
    ws.ok(&["apply", "-f", "subscriptions.yaml"]);
    let table = ws.ok(&["get", "subscriptions"]);
    assert!(
        table.contains("sarah-daily") && table.contains("daily-update"),
        "{table}"
    );
    // The YAML written back re-applies with no change.
    let yaml = ws.ok(&["get", "subscriptions", "-o", "yaml"]);
    ws.write("exported.yaml", &yaml);
    let n_events = ws.n_events();
    ws.ok(&["apply", "-f", "exported.yaml"]);
    assert_eq!(ws.n_events(), n_events, "{yaml}");
    let output = ws.command().args(schedule).output().expect("binary runs");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "q1-2025: 1 message(s) for 2025-02-05, 1 new\n"
    );
    let warning = String::from_utf8_lossy(&output.stderr);
    assert!(
        warning.contains("subscription `lost` uses channel `nowhere`"),
        "{warning}"
    );
}

#[test]
fn the_notification_files_subscriptions_export_as_manifests_that_apply() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.write(
        "notifications.yaml",
        &format!(
            "{CHANNELS}subscriptions:\n\
             \x20 - {{member: rita, channel: hook, kinds: [escalation]}}\n\
             \x20 - {{role: support-liaison, channel: hook, cadence: digest, digestAt: \"09:00\", timeZone: Europe/Berlin}}\n"
        ),
    );
    let yaml = ws.ok(&["outbox", "export-subscriptions"]);
    assert!(yaml.contains("name: rita-hook"), "{yaml}");
    assert!(yaml.contains("name: support-liaison-hook"), "{yaml}");
    assert!(yaml.contains("cadence: digest"), "{yaml}");
    ws.write("moved.yaml", &yaml);
    let before = ws.n_events();
    ws.ok(&["apply", "-f", "moved.yaml"]);
    assert_eq!(ws.n_events(), before + 2);
    ws.ok(&["apply", "-f", "moved.yaml"]);
    assert_eq!(ws.n_events(), before + 2, "applying twice changes nothing");

    // A subscription for someone who is not in the program is refused, not exported.
    ws.write(
        "notifications.yaml",
        &format!("{CHANNELS}subscriptions:\n  - {{member: ritta, channel: hook}}\n"),
    );
    let error = ws.fails(&["outbox", "export-subscriptions"]);
    assert!(
        error.contains("unknown member `ritta` (did you mean `rita`?)"),
        "{error}"
    );
}

/// The example program, with a notification file that escalates to mike, the API's lead.
fn example_with_escalations_to_mike() -> Workspace {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.write(
        "notifications.yaml",
        &format!(
            "{CHANNELS}subscriptions:\n  - {{member: mike, channel: hook, kinds: [escalation]}}\n"
        ),
    );
    ws
}

#[test]
fn a_change_made_on_the_cli_writes_its_messages_in_the_same_commit() {
    let ws = example_with_escalations_to_mike();
    assert!(
        ws.ok(&["outbox", "status"])
            .starts_with("delivered 0, pending 0")
    );
    // The API's ETA slips past the frontend's need-by: mike, its owner, is escalated to.
    ws.ok(&["item", "eta", "api-analytics-endpoints", "2025-02-20"]);
    let status = ws.ok(&["outbox", "status"]);
    assert!(status.starts_with("delivered 0, pending 1"), "{status}");
    let counts: serde_json::Value =
        serde_json::from_str(&ws.ok(&["outbox", "status", "-o", "json"])).expect("json");
    assert_eq!(counts["pending"], 1, "{counts}");
    // A broken notification file is an error, not a change without its messages.
    ws.write("notifications.yaml", "channels: [not, a, map]\n");
    let error = ws.fails(&["item", "eta", "api-analytics-endpoints", "2025-02-21"]);
    assert!(error.contains("in notifications.yaml"), "{error}");
}

#[test]
fn an_escalation_is_acknowledged_against_a_server() {
    let ws = example_with_escalations_to_mike();
    // The API's ETA slips past the frontend's need-by: an escalation is pending.
    ws.ok(&["item", "eta", "api-analytics-endpoints", "2025-02-20"]);
    assert!(
        ws.ok(&["outbox", "status"])
            .starts_with("delivered 0, pending 1")
    );
    for (user, member) in [("mike", "mike"), ("sarah", "sarah")] {
        let added = ws.run_with(
            &["user", "add", user, "--member", member, "--password-stdin"],
            "correct-horse-battery\n",
        );
        assert!(added.status.success(), "{added:?}");
    }
    let (mike, sarah) = (ws.token("mike"), ws.token("sarah"));
    let server = serve(&ws, &["--notifications", "notifications.yaml"]);
    let ack = |token: &str| {
        ws.remote(
            &server.url(),
            token,
            &["outbox", "ack", "api-analytics-endpoints"],
        )
    };
    // The frontend's lead may not answer for the API's item; its owner may.
    let refused = ack(&sarah);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403"),
        "{refused:?}"
    );
    let acknowledged = ack(&mike);
    assert!(acknowledged.status.success(), "{acknowledged:?}");
    assert!(
        String::from_utf8_lossy(&acknowledged.stdout).contains(
            "acknowledged api-analytics-endpoints: 1 pending escalation notice(s) cancelled"
        ),
        "{acknowledged:?}"
    );
    let status = ws.ok(&["outbox", "status"]);
    assert!(
        status.contains("pending 0") && status.contains("cancelled 1"),
        "{status}"
    );
    // The acknowledgement is an event of the item's release, with who answered.
    let history = ws.ok(&["history"]);
    assert!(
        history.contains("item api-analytics-endpoints: escalation acknowledged by mike"),
        "{history}"
    );
    // And in the release's activity on the dashboard.
    let (status, page) = common::get_as(&server.address, "/releases/q1-2025", Some(&mike));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("escalation acknowledged by mike"), "{page}");
    let n_events = ws.n_events();
    let again = ack(&mike);
    assert!(again.status.success(), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(
            "nothing to acknowledge: no escalation of api-analytics-endpoints is unanswered"
        ),
        "{again:?}"
    );
    assert_eq!(
        ws.n_events(),
        n_events,
        "acknowledging twice records nothing"
    );
}

#[test]
fn acknowledging_on_the_database_records_who_answered_and_twice_is_harmless() {
    let ws = example_with_escalations_to_mike();
    ws.ok(&["item", "eta", "api-analytics-endpoints", "2025-02-20"]);
    let n_events = ws.n_events();
    let acknowledged = ws.ok(&["outbox", "ack", "api-analytics-endpoints"]);
    assert_eq!(
        acknowledged,
        "item api-analytics-endpoints: escalation acknowledged by tester\n\
         acknowledged api-analytics-endpoints: 1 pending escalation notice(s) cancelled\n"
    );
    assert_eq!(ws.n_events(), n_events + 1);
    let history = ws.ok(&["history"]);
    assert!(
        history.contains("escalation acknowledged by tester"),
        "{history}"
    );
    let status = ws.ok(&["outbox", "status"]);
    assert!(
        status.contains("pending 0") && status.contains("cancelled 1"),
        "{status}"
    );
    let again = ws.ok(&["outbox", "ack", "api-analytics-endpoints"]);
    assert_eq!(
        again,
        "nothing to acknowledge: no escalation of api-analytics-endpoints is unanswered\n"
    );
    assert_eq!(ws.n_events(), n_events + 1, "twice records nothing");
    // A new escalation of the same blocker is a new one to answer.
    ws.ok(&["item", "eta", "api-analytics-endpoints", "2025-02-05"]);
    ws.ok(&["item", "eta", "api-analytics-endpoints", "2025-02-21"]);
    assert!(ws.ok(&["outbox", "status"]).contains("pending 1"));
    let newer = ws.ok(&["outbox", "ack", "api-analytics-endpoints"]);
    assert!(
        newer.contains("1 pending escalation notice(s) cancelled"),
        "{newer}"
    );
    let unknown = ws.fails(&["outbox", "ack", "api-analytics-endpoint"]);
    assert!(
        unknown.contains("api-analytics-endpoint") && unknown.contains("did you mean"),
        "{unknown}"
    );
}
