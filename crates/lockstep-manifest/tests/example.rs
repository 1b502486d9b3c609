//! The seed example parses, applies, and round-trips through `export`.

use lockstep_core::{State, decide_all};
use lockstep_manifest::{Limits, Source, export, locate, parse, plan};

fn example_sources() -> Vec<Source> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("examples/q1-2025 exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| Source {
            name: path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned(),
            text: std::fs::read_to_string(&path).expect("readable example"),
        })
        .collect()
}

fn now() -> jiff::Timestamp {
    "2025-01-20T12:00:00Z".parse().expect("valid timestamp")
}

fn apply(state: &mut State, sources: &[Source]) -> usize {
    let manifest = parse(sources, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let commands = plan(&manifest, state).unwrap_or_else(|e| panic!("{e}"));
    let events = decide_all(
        state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now(),
    )
    .unwrap_or_else(|errors| panic!("{}", locate(&commands, errors, "example")));
    for (index, event) in events.iter().enumerate() {
        state.apply(index as i64 + 1, event);
    }
    events.len()
}

#[test]
fn seed_example_applies_and_reapplies_with_no_change() {
    let sources = example_sources();
    let mut state = State::new();
    let first = apply(&mut state, &sources);
    assert!(first > 20, "expected the whole program, got {first} events");
    assert_eq!(state.teams().len(), 5);
    assert_eq!(state.items().len(), 4);
    assert_eq!(state.dependencies().count(), 3);
    assert_eq!(state.integration_tasks().len(), 3);
    assert_eq!(state.risks().len(), 3);
    assert_eq!(
        apply(&mut state, &sources),
        0,
        "second apply must change nothing"
    );
}

#[test]
fn exported_yaml_reapplies_with_no_change() {
    let mut state = State::new();
    apply(&mut state, &example_sources());
    let yaml = export(&state, None).expect("export");
    let exported = [Source {
        name: "exported.yaml".into(),
        text: yaml.clone(),
    }];
    assert_eq!(
        apply(&mut state, &exported),
        0,
        "export must round-trip:\n{yaml}"
    );
    // And on a fresh state the export alone rebuilds the same program.
    let mut fresh = State::new();
    apply(&mut fresh, &exported);
    assert_eq!(export(&fresh, None).expect("export"), yaml);
}

#[test]
fn the_export_of_a_shipped_release_rebuilds_it_on_an_empty_log() {
    // A release the manifests declare released (its items ready), applied where it does
    // not exist yet, passes through in progress as it did when it shipped.
    let shipped: Vec<Source> = example_sources()
        .into_iter()
        .map(|source| {
            let text = ["in-development", "testing", "staging"].iter().fold(
                source.text,
                |text, status| {
                    text.replace(&format!("status: {status}"), "status: ready-for-release")
                },
            );
            Source {
                text: text.replace("state: in-progress", "state: released"),
                ..source
            }
        })
        .collect();
    let mut state = State::new();
    apply(&mut state, &shipped);
    assert_eq!(
        state.releases()[&name("q1-2025")].state,
        lockstep_core::ReleaseState::Released
    );
    let yaml = export(&state, None).expect("export");
    let mut fresh = rebuilt(&yaml);
    assert_eq!(export(&fresh, None).expect("export"), yaml);
    assert_eq!(
        apply(&mut fresh, &shipped),
        0,
        "and re-applying changes nothing"
    );
}

/// A fresh program with nothing but the exported `yaml` applied.
fn rebuilt(yaml: &str) -> State {
    let mut fresh = State::new();
    apply(
        &mut fresh,
        &[Source {
            name: "exported.yaml".into(),
            text: yaml.to_owned(),
        }],
    );
    fresh
}

fn name(raw: &str) -> lockstep_core::Name {
    lockstep_core::Name::parse(raw).expect("valid name")
}

#[test]
fn seed_example_on_plan_has_no_risk() {
    let mut state = State::new();
    apply(&mut state, &example_sources());
    let report = lockstep_core::risk::assess(&state);
    assert!(report.items.is_empty(), "{report:#?}");
    assert!(report.releases.is_empty(), "{report:#?}");
}

#[test]
fn slipped_api_eta_marks_frontend_mobile_and_the_release_at_risk() {
    let mut state = State::new();
    apply(&mut state, &example_sources());
    let slip = lockstep_core::Command::SetEta {
        item: name("api-analytics-endpoints"),
        eta: Some(jiff::civil::date(2025, 2, 10)),
    };
    let events = lockstep_core::decide(&state, slip, now()).expect("eta change allowed");
    for event in &events {
        state.apply(state.position() + 1, event);
    }
    let report = lockstep_core::risk::assess(&state);
    let at_risk: Vec<&str> = report.items.keys().map(|n| n.as_str()).collect();
    assert_eq!(
        at_risk,
        [
            "api-analytics-endpoints",
            "frontend-dashboard",
            "mobile-analytics-view"
        ]
    );
    assert_eq!(
        report.chain(&name("api-analytics-endpoints")),
        ["API: Analytics endpoints ETA Feb 10 > due Feb 8 → at risk"]
    );
    assert_eq!(
        report.chain(&name("frontend-dashboard")),
        [
            "API: Analytics endpoints ETA Feb 10 > need-by Feb 8 − 3 d buffer → Frontend: New dashboard UI at risk"
        ]
    );
    assert_eq!(
        report.items[&name("frontend-dashboard")].projected_finish,
        jiff::civil::date(2025, 2, 16)
    );
    let release = &report.releases[&name("q1-2025")];
    assert_eq!(release.items.len(), 3, "{release:#?}");
    assert_eq!(
        release.chain,
        [
            "API: Analytics endpoints ETA Feb 10 > need-by Feb 8 − 3 d buffer → Frontend: New dashboard UI at risk",
            "release Mar 1 at risk"
        ]
    );
}

/// Decides `commands` in order on `state` and applies what they decide.
fn decide_in(state: &mut State, commands: Vec<lockstep_core::Command>) {
    for command in commands {
        for event in lockstep_core::decide(state, command, now()).expect("allowed") {
            state.apply(state.position() + 1, &event);
        }
    }
}

#[test]
fn delivered_work_and_cancelled_releases_are_not_at_risk() {
    use lockstep_core::{Command, ItemStatus, ReleaseState};
    let mut state = State::new();
    apply(&mut state, &example_sources());
    let api = name("api-analytics-endpoints");
    decide_in(
        &mut state,
        vec![Command::SetEta {
            item: api.clone(),
            eta: Some(jiff::civil::date(2025, 2, 10)),
        }],
    );
    assert_eq!(lockstep_core::risk::assess(&state).items.len(), 3);

    // The API work is done (its last ETA was Feb 10): late no more, and nobody waits on it.
    decide_in(
        &mut state,
        vec![Command::MoveItem {
            item: api.clone(),
            to: ItemStatus::ReadyForRelease,
        }],
    );
    let report = lockstep_core::risk::assess(&state);
    assert!(report.items.is_empty(), "{report:#?}");
    assert!(report.releases.is_empty(), "{report:#?}");

    // The frontend slips past the code freeze: the release is at risk.
    decide_in(
        &mut state,
        vec![
            Command::MoveItem {
                item: api,
                to: ItemStatus::InDevelopment,
            },
            Command::SetEta {
                item: name("frontend-dashboard"),
                eta: Some(jiff::civil::date(2025, 2, 25)),
            },
        ],
    );
    assert!(
        lockstep_core::risk::assess(&state)
            .releases
            .contains_key(&name("q1-2025"))
    );
    // A cancelled release is at risk of nothing.
    decide_in(
        &mut state,
        vec![Command::ChangeReleaseState {
            release: name("q1-2025"),
            to: ReleaseState::Cancelled,
        }],
    );
    assert!(lockstep_core::risk::assess(&state).releases.is_empty());
}

#[test]
fn a_slip_inside_the_buffer_warns_without_moving_dates() {
    let mut state = State::new();
    apply(&mut state, &example_sources());
    // Feb 6 is past need-by Feb 8 − 3 d = Feb 5, but before Feb 8: buffer consumed, no slip.
    let slip = lockstep_core::Command::SetEta {
        item: name("api-analytics-endpoints"),
        eta: Some(jiff::civil::date(2025, 2, 6)),
    };
    for event in lockstep_core::decide(&state, slip, now()).expect("allowed") {
        state.apply(state.position() + 1, &event);
    }
    let report = lockstep_core::risk::assess(&state);
    assert_eq!(
        report.items[&name("frontend-dashboard")].projected_finish,
        jiff::civil::date(2025, 2, 14)
    );
    assert!(report.releases.is_empty(), "{report:#?}");
}

#[test]
fn updating_after_one_change_matches_a_full_assessment() {
    let mut state = State::new();
    apply(&mut state, &example_sources());
    let mut report = lockstep_core::risk::assess(&state);
    for (item, eta) in [
        ("api-analytics-endpoints", (2025, 2, 10)),
        ("backend-data-pipeline", (2025, 2, 3)),
        ("api-analytics-endpoints", (2025, 2, 5)),
        ("mobile-analytics-view", (2025, 2, 20)),
    ] {
        let command = lockstep_core::Command::SetEta {
            item: name(item),
            eta: Some(jiff::civil::date(eta.0, eta.1, eta.2)),
        };
        for event in lockstep_core::decide(&state, command, now()).expect("allowed") {
            state.apply(state.position() + 1, &event);
        }
        report.update(&state, &name(item));
        assert_eq!(
            report,
            lockstep_core::risk::assess(&state),
            "after {item} → {eta:?}"
        );
    }
}

fn checklist_sources() -> Vec<Source> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/checklists/templates.yaml"
    );
    vec![Source {
        name: "templates.yaml".into(),
        text: std::fs::read_to_string(path).expect("examples/checklists/templates.yaml"),
    }]
}

#[test]
fn the_example_checklists_are_the_built_in_templates_with_approval_rules() {
    let mut state = State::new();
    apply(&mut state, &example_sources());
    assert!(apply(&mut state, &checklist_sources()) > 0);
    let declared = &state.checklists().templates;
    for builtin in lockstep_core::checklist::builtin_templates() {
        let example = &declared[&builtin.name].spec;
        assert_eq!(example.items, builtin.spec.items, "{}", builtin.name);
        assert_eq!(example.applies_to, builtin.spec.applies_to);
        assert_eq!(example.expedited, builtin.spec.expedited);
        assert!(!example.approvals.is_empty());
    }
    assert_eq!(apply(&mut state, &checklist_sources()), 0, "idempotent");
    // Export round-trip, templates included.
    let yaml = export(&state, None).expect("export");
    assert!(yaml.contains("kind: ChecklistTemplate"), "{yaml}");
    let fresh = rebuilt(&yaml);
    assert_eq!(fresh.checklists(), state.checklists());
    assert_eq!(export(&fresh, None).expect("export"), yaml);
}
