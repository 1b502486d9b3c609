//! The runbook of the seed example, as a reviewed snapshot: the seed's release-day
//! runbook (order, times, checks, triggers, contacts) generated from the manifests.

use std::collections::BTreeMap;

use lockstep_core::{Name, State, decide_all};
use lockstep_manifest::{Limits, Source, locate, parse, plan};

fn seed_state() -> State {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("examples/q1-2025 exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .collect();
    paths.sort();
    let sources: Vec<Source> = paths
        .into_iter()
        .map(|path| Source {
            name: path.display().to_string(),
            text: std::fs::read_to_string(&path).expect("readable example"),
        })
        .collect();
    let manifest = parse(&sources, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut state = State::new();
    let commands = plan(&manifest, &state).unwrap_or_else(|e| panic!("{e}"));
    let now = "2025-01-20T12:00:00Z".parse().expect("valid timestamp");
    let events = decide_all(
        &state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now,
    )
    .unwrap_or_else(|errors| panic!("{}", locate(&commands, errors, "example")));
    for (index, event) in events.iter().enumerate() {
        state.apply(index as i64 + 1, event);
    }
    state
}

#[test]
fn seed_runbook_matches_the_reviewed_markdown() {
    let state = seed_state();
    // Time zones are resolved at the edge; here, from the system's database.
    let zones: BTreeMap<String, jiff::tz::TimeZone> = state
        .teams()
        .values()
        .map(|t| t.spec.time_zone.as_str())
        .chain(["America/New_York"])
        .map(|name| {
            (
                name.to_owned(),
                jiff::tz::TimeZone::get(name).expect("tzdb zone"),
            )
        })
        .collect();
    let release = Name::parse("q1-2025").expect("name");
    let runbook = lockstep_core::runbook::generate(
        &state,
        &release,
        &zones,
        "2025-02-20T00:00:00Z".parse().expect("instant"),
    )
    .expect("runbook");
    insta::assert_snapshot!(runbook.to_markdown());
}
