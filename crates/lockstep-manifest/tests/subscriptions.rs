//! `kind: Subscription`: who gets which messages, declared in manifests. Every bad
//! reference is reported where it is written with the closest known name, nothing is
//! applied when one is wrong, and export writes back what re-applies with no change.

use lockstep_core::{State, SubscriptionCadence, decide_all};
use lockstep_manifest::{Limits, Source, export, locate, parse, plan};

const PROGRAM: &str = "apiVersion: lockstep.dev/v1
kind: Team
metadata: {name: frontend}
spec: {timeZone: America/New_York, members: [{handle: sarah, roles: [tech-lead]}]}
---
apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: q1-2025}
spec: {targetDate: 2025-03-01}
";

/// Parses, plans and decides; the events, or the rendered errors.
fn apply(state: &mut State, text: &str) -> Result<usize, String> {
    let sources = [Source {
        name: "subs.yaml".into(),
        text: text.into(),
    }];
    let manifest = parse(&sources, Limits::default()).map_err(|e| e.to_string())?;
    let commands = plan(&manifest, state).map_err(|e| e.to_string())?;
    let now = "2025-01-20T12:00:00Z".parse().expect("instant");
    let events = decide_all(
        state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now,
    )
    .map_err(|errors| locate(&commands, errors, "subs.yaml").to_string())?;
    let n_events = events.len();
    for event in &events {
        state.apply(state.position() + 1, event);
    }
    Ok(n_events)
}

#[test]
fn unknown_people_teams_releases_kinds_and_zones_are_located_with_suggestions() {
    // Line 10 is `  member: sarahh`; every value's column is where it starts.
    let text = format!(
        "{PROGRAM}---
apiVersion: lockstep.dev/v1
kind: Subscription
metadata: {{name: sarah-daily}}
spec:
  member: sarahh
  channel: chat
  teams: [frontend, frontnd]
  releases: [q1-2026]
  kinds: [daily-updates]
  timeZone: Mars/Olympus
"
    );
    let mut state = State::new();
    let errors = apply(&mut state, &text).expect_err("rejected");
    let lines: Vec<&str> = errors.lines().collect();
    assert_eq!(
        lines,
        [
            "subs.yaml:15:11: unknown member `sarahh` (did you mean `sarah`?)",
            "subs.yaml:17:21: unknown team `frontnd` (did you mean `frontend`?)",
            "subs.yaml:18:14: unknown release `q1-2026` (did you mean `q1-2025`?)",
            "subs.yaml:19:11: unknown message kind `daily-updates` (did you mean `daily-update`?)",
            "subs.yaml:20:13: `Mars/Olympus` is not an IANA time zone",
        ],
        "{errors}"
    );
    assert!(state.teams().is_empty(), "nothing applied");
}

#[test]
fn a_subscription_names_exactly_one_of_member_or_role() {
    let text = format!(
        "{PROGRAM}---
apiVersion: lockstep.dev/v1
kind: Subscription
metadata: {{name: both}}
spec: {{member: sarah, role: release-manager, channel: chat}}
"
    );
    let errors = apply(&mut State::new(), &text).expect_err("rejected");
    assert_eq!(
        errors,
        "subs.yaml:13:18: subscription `both`: spec needs exactly one of `member` or `role`"
    );
}

#[test]
fn subscriptions_apply_once_and_export_round_trips() {
    let text = format!(
        "{PROGRAM}---
apiVersion: lockstep.dev/v1
kind: Subscription
metadata: {{name: sarah-digest}}
spec:
  member: sarah
  channel: mail
  releases: [q1-2025]
  teams: [frontend]
  kinds: [daily-update, weekly-agenda]
  cadence: digest
  digestAt: \"07:30\"
  quietHours: {{start: \"22:00\", end: \"08:00\"}}
  timeZone: Europe/Berlin
---
apiVersion: lockstep.dev/v1
kind: Subscription
metadata: {{name: managers}}
spec: {{role: release-manager, channel: chat, kinds: [escalation]}}
---
apiVersion: lockstep.dev/v1
kind: Subscription
metadata: {{name: leads}}
spec: {{role: tech-lead, channel: chat, ownTeam: true, kinds: [dependency-alert]}}
"
    );
    let mut state = State::new();
    assert_eq!(apply(&mut state, &text), Ok(5));
    assert_eq!(
        apply(&mut state, &text),
        Ok(0),
        "applying twice changes nothing"
    );
    let sarah = &state.subscriptions()["sarah-digest"].spec;
    assert_eq!(sarah.cadence, SubscriptionCadence::Digest);
    assert_eq!(sarah.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        sarah.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["daily-update", "weekly-agenda"]
    );

    assert!(state.subscriptions()["leads"].spec.own_team);
    assert!(!sarah.own_team);

    let yaml = export(&state, None).expect("export");
    assert!(yaml.contains("kind: Subscription"), "{yaml}");
    assert!(yaml.contains("ownTeam: true"), "{yaml}");
    assert_eq!(
        apply(&mut state, &yaml),
        Ok(0),
        "export re-applies:\n{yaml}"
    );
    let mut fresh = State::new();
    assert_eq!(apply(&mut fresh, &yaml), Ok(5));
    assert_eq!(fresh.subscriptions(), state.subscriptions());

    // A change is a redefinition, recorded as such.
    let changed = text.replace("channel: mail", "channel: chat");
    assert_eq!(apply(&mut state, &changed), Ok(1));
    assert_eq!(state.subscriptions()["sarah-digest"].spec.channel, "chat");
}
