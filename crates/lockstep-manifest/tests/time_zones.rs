//! Time zones are matched without regard to case but stored as the time zone database
//! spells them, wherever a manifest names one: a team, a deploy window, a blackout, a
//! release's or train's deployment plan, a subscription.

use lockstep_core::{Command, State, decide_all};
use lockstep_manifest::{Limits, Source, canonical_time_zone, parse, plan};

const PROGRAM: &str = "\
apiVersion: lockstep.dev/v1
kind: Team
metadata: {name: web}
spec:
  timeZone: europe/berlin
  members: [{handle: rita, name: Rita, roles: [release-manager]}]
---
apiVersion: lockstep.dev/v1
kind: Component
metadata: {name: site}
spec: {team: web}
---
apiVersion: lockstep.dev/v1
kind: Environment
metadata: {name: production}
spec:
  tier: production
  deployWindows:
    - {timeZone: AMERICA/NEW_YORK, start: 2025-01-06T09:00:00, end: 2025-01-06T17:00:00}
---
apiVersion: lockstep.dev/v1
kind: Blackout
metadata: {name: new-year}
spec: {timeZone: utc, start: 2025-12-31T00:00:00, end: 2026-01-02T00:00:00}
---
apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: r1}
spec:
  targetDate: 2025-03-01
  manager: rita
  deployment:
    environment: production
    timeZone: asia/tokyo
    steps: [{component: site, at: \"09:00\"}]
---
apiVersion: lockstep.dev/v1
kind: ReleaseTrain
metadata: {name: weekly}
spec:
  cadence: FREQ=WEEKLY;BYDAY=TU;COUNT=2
  start: 2025-01-07
  timeZone: europe/london
  deployment:
    environment: production
    timeZone: Europe/LONDON
    steps: [{component: site, at: \"10:00\"}]
---
apiVersion: lockstep.dev/v1
kind: Subscription
metadata: {name: rita-mail}
spec: {member: rita, channel: mail, timeZone: australia/sydney}
";

fn commands() -> Vec<Command> {
    let sources = [Source {
        name: "program.yaml".into(),
        text: PROGRAM.into(),
    }];
    let state = State::new();
    let manifest = parse(&sources, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let commands: Vec<Command> = plan(&manifest, &state)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|c| c.command)
        .collect();
    let now = "2025-01-01T12:00:00Z".parse().expect("valid");
    decide_all(&state, commands.clone(), now).unwrap_or_else(|e| panic!("{e:?}"));
    commands
}

#[test]
fn every_time_zone_a_manifest_names_is_stored_in_its_canonical_spelling() {
    let mut zones = Vec::new();
    for command in commands() {
        match command {
            Command::DefineTeam { spec, .. } => zones.push(("team", spec.time_zone)),
            Command::DefineEnvironment { spec, .. } => zones.extend(
                spec.deploy_windows
                    .into_iter()
                    .map(|w| ("deploy window", w.time_zone)),
            ),
            Command::DefineBlackout { spec, .. } => zones.push(("blackout", spec.time_zone)),
            Command::DefineRelease { release, spec } => {
                let zone = spec.deployment.map(|d| d.time_zone).unwrap_or_default();
                let what = if release.as_str() == "r1" {
                    "release"
                } else {
                    "train departure"
                };
                zones.push((what, zone));
            }
            Command::DefineSubscription { spec, .. } => {
                zones.push(("subscription", spec.time_zone.unwrap_or_default()));
            }
            _ => {}
        }
    }
    assert_eq!(
        zones,
        [
            ("team", "Europe/Berlin".to_owned()),
            ("deploy window", "America/New_York".to_owned()),
            ("blackout", "UTC".to_owned()),
            ("release", "Asia/Tokyo".to_owned()),
            ("train departure", "Europe/London".to_owned()),
            ("train departure", "Europe/London".to_owned()),
            ("subscription", "Australia/Sydney".to_owned()),
        ]
    );
}

#[test]
fn a_canonical_name_is_the_databases_and_an_unknown_one_has_none() {
    assert_eq!(canonical_time_zone("utc").as_deref(), Some("UTC"));
    assert_eq!(
        canonical_time_zone("america/los_angeles").as_deref(),
        Some("America/Los_Angeles")
    );
    assert_eq!(
        canonical_time_zone("Europe/Berlin").as_deref(),
        Some("Europe/Berlin")
    );
    assert_eq!(canonical_time_zone("Mars/Olympus_Mons"), None);
}
