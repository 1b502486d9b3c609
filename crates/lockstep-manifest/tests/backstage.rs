//! Backstage catalog files (`catalog-info.yaml`) apply as teams and components: the
//! example catalog stands in for the seed program's own team and component manifests,
//! `dependsOn` orders the runbook, and every entity Lockstep cannot read is located.

use std::collections::BTreeMap;

mod common;

use common::{name, now};
use lockstep_core::{Contacts, Name, Role, State};
use lockstep_manifest::export;

const CATALOG: &str = include_str!("../../../examples/backstage/catalog-info.yaml");
const TEAMS: &str = include_str!("../../../examples/q1-2025/teams.yaml");
const COMPONENTS: &str = include_str!("../../../examples/q1-2025/components.yaml");
const RELEASE: &str = include_str!("../../../examples/q1-2025/release.yaml");
const INTERFACES: &str = include_str!("../../../examples/q1-2025/interfaces.yaml");

const ENVIRONMENTS: &str = "\
apiVersion: lockstep.dev/v1
kind: Environment
metadata: {name: staging}
spec: {tier: staging}
---
apiVersion: lockstep.dev/v1
kind: Environment
metadata: {name: production}
spec: {tier: production}
";

fn apply(state: &mut State, files: &[(&str, &str)]) -> Result<(usize, Vec<String>), String> {
    common::apply_files(state, files)
}

fn errors(text: &str) -> String {
    common::errors_of("catalog-info.yaml", text)
}

#[test]
fn the_example_catalog_stands_in_for_the_programs_teams_and_components() {
    let mut native = State::new();
    apply(
        &mut native,
        &[
            ("teams.yaml", TEAMS),
            ("components.yaml", COMPONENTS),
            ("interfaces.yaml", INTERFACES),
        ],
    )
    .expect("native manifests apply");
    let mut imported = State::new();
    let (_, notes) =
        apply(&mut imported, &[("catalog-info.yaml", CATALOG)]).expect("the catalog applies");

    for (team, spec) in native.teams().iter().map(|(n, t)| (n, &t.spec)) {
        let from_catalog = &imported.teams()[team].spec;
        assert_eq!(from_catalog.title, spec.title, "{team}");
        assert_eq!(from_catalog.time_zone, spec.time_zone, "{team}");
        assert_eq!(from_catalog.members, spec.members, "{team}'s members");
    }
    for (component, spec) in native.components().iter().map(|(n, c)| (n, &c.spec)) {
        let from_catalog = &imported.components()[component].spec;
        assert_eq!(
            (
                &from_catalog.title,
                &from_catalog.team,
                &from_catalog.repository
            ),
            (&spec.title, &spec.team, &spec.repository),
            "{component}"
        );
    }
    for (interface, native) in &native.contracts().interfaces {
        let from_catalog = &imported.contracts().interfaces[interface].spec;
        assert_eq!(
            (
                &from_catalog.title,
                &from_catalog.producer,
                &from_catalog.component,
                from_catalog.kind
            ),
            (
                &native.spec.title,
                &native.spec.producer,
                &native.spec.component,
                native.spec.kind
            ),
            "{interface}"
        );
        assert!(
            from_catalog.versions.is_empty(),
            "versions are Lockstep's own"
        );
    }
    let consumers: Vec<String> = imported.contracts().interfaces[&name("analytics-api")]
        .spec
        .consumers
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        consumers.len(),
        2,
        "dashboard-ui and mobile-app: {consumers:?}"
    );
    // The user owning mobile-app stands for her team.
    assert_eq!(
        imported.components()[&name("mobile-app")].spec.team,
        name("mobile")
    );
    let depends_on = |component: &str| -> Vec<String> {
        imported.components()[&name(component)]
            .spec
            .depends_on
            .iter()
            .map(Name::to_string)
            .collect()
    };
    assert_eq!(depends_on("data-pipeline"), Vec::<String>::new());
    assert_eq!(depends_on("analytics-api"), ["data-pipeline"]);
    assert_eq!(depends_on("dashboard-ui"), ["analytics-api"]);
    // A department is a team too, without the people its teams already hold.
    assert!(imported.teams()[&name("platform")].spec.members.is_empty());
    let rita = &imported.teams()[&name("release-office")].spec.members[0];
    assert_eq!(
        (rita.handle.as_str(), rita.roles.as_slice()),
        ("rita", [Role::ReleaseManager].as_slice())
    );

    let notes = notes.join("\n");
    for expected in [
        "Backstage System `analytics` skipped",
        "Backstage Resource `analytics-db` skipped: Lockstep imports Groups, Users, Components and APIs only",
        "dependsOn `resource:default/analytics-db` ignored",
        "user `sarah` is in groups `frontend`, `platform`; Lockstep keeps one team per person: `frontend`",
    ] {
        assert!(
            notes.contains(expected),
            "missing note {expected:?} in\n{notes}"
        );
    }
    assert!(
        notes.contains("catalog-info.yaml:187:18: Backstage System `analytics` skipped"),
        "notes are located at the entity: {notes}"
    );
}

#[test]
fn the_seed_release_applies_on_the_imported_catalog_and_twice_changes_nothing() {
    let mut state = State::new();
    let files = [
        ("catalog-info.yaml", CATALOG),
        ("environments.yaml", ENVIRONMENTS),
        ("release.yaml", RELEASE),
    ];
    apply(&mut state, &files).expect("applies");
    assert_eq!(apply(&mut state, &files).map(|(n, _)| n), Ok(0));
    // Exported as Lockstep manifests, the components keep their order and re-apply.
    let yaml = export(&state, Some("Component")).expect("export");
    assert!(yaml.contains("dependsOn:"), "{yaml}");
    assert_eq!(
        apply(&mut state, &[("export.yaml", &yaml)]).map(|(n, _)| n),
        Ok(0),
        "{yaml}"
    );
}

#[test]
fn depends_on_orders_the_runbook_when_no_item_does() {
    let mut state = State::new();
    let release = "\
apiVersion: lockstep.dev/v1
kind: Release
metadata: {name: r1}
spec:
  targetDate: 2025-03-04
  deployment:
    environment: production
    timeZone: America/New_York
    steps:
      - {component: mobile-app, at: \"09:00\"}
      - {component: dashboard-ui, at: \"09:30\"}
      - {component: analytics-api, at: \"10:00\"}
      - {component: data-pipeline, at: \"10:30\"}
";
    apply(
        &mut state,
        &[
            ("catalog-info.yaml", CATALOG),
            ("environments.yaml", ENVIRONMENTS),
            ("release.yaml", release),
        ],
    )
    .expect("applies");
    let zones: BTreeMap<String, jiff::tz::TimeZone> = state
        .teams()
        .values()
        .map(|t| t.spec.time_zone.clone())
        .map(|zone| {
            let tz = jiff::tz::TimeZone::get(&zone).expect("tzdb zone");
            (zone, tz)
        })
        .collect();
    let runbook =
        lockstep_core::runbook::generate(&state, &name("r1"), &zones, now()).expect("runbook");
    let order: Vec<&str> = runbook.components().map(Name::as_str).collect();
    assert_eq!(
        order,
        [
            "data-pipeline",
            "analytics-api",
            "mobile-app",
            "dashboard-ui"
        ]
    );
}

#[test]
fn a_component_may_name_a_dependency_defined_later_in_the_apply() {
    let text = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: web, annotations: {lockstep.dev/time-zone: Europe/Paris}}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: Web_UI}
spec: {type: website, lifecycle: production, owner: web, dependsOn: [component:Edge.Gateway]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: Edge.Gateway}
spec: {type: service, lifecycle: production, owner: group:web}
";
    let mut state = State::new();
    apply(&mut state, &[("catalog-info.yaml", text)]).expect("applies");
    assert_eq!(
        state.components()[&name("web-ui")].spec.depends_on,
        [name("edge-gateway")],
        "names are lowered and `_` and `.` become `-`, in references too"
    );
    assert_eq!(state.teams()[&name("web")].spec.time_zone, "Europe/Paris");
}

#[test]
fn a_cycle_of_depends_on_is_refused_in_one_apply_and_across_applies() {
    let group = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: web}
spec: {type: team, children: []}
";
    let component = |name: &str, depends_on: &str| {
        format!(
            "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: {name}}}\nspec: {{type: service, lifecycle: production, owner: web, dependsOn: [{depends_on}]}}\n"
        )
    };
    let message = errors(&format!(
        "{group}{}{}",
        component("a", "component:b"),
        component("b", "component:a")
    ));
    assert!(
        message.contains("components depend on each other in a cycle: a → b → a")
            || message.contains("components depend on each other in a cycle: b → a → b"),
        "{message}"
    );

    let mut state = State::new();
    let first = format!(
        "{group}{}{}{}",
        component("a", "component:b"),
        component("b", "component:c"),
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: c}\nspec: {type: service, lifecycle: production, owner: web}\n"
    );
    apply(&mut state, &[("catalog-info.yaml", &first)]).expect("a chain applies");
    let message = apply(
        &mut state,
        &[(
            "catalog-info.yaml",
            &format!("{group}{}", component("c", "component:a")),
        )],
    )
    .expect_err("closing the chain into a cycle is refused");
    assert!(
        message.contains("components depend on each other in a cycle: c → a → b → c"),
        "{message}"
    );
    assert!(state.components()[&name("c")].spec.depends_on.is_empty());
}

#[test]
fn what_cannot_be_read_is_located_and_says_what_would_do() {
    let group = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: web}
spec: {type: team, children: []}
---
";
    let cases: [(&str, &str); 8] = [
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Componnet\nmetadata: {name: x}\nspec: {}\n",
            "catalog-info.yaml:7:7: unknown Backstage kind `Componnet` (did you mean `Component`?)",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: service, lifecycle: production}\n",
            "catalog-info.yaml:9:23: missing field `owner`",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: service, lifecycle: production, owner: system:analytics}\n",
            "catalog-info.yaml:9:53: component `x`: owner `system:analytics` is a system; an owner is a group or a user",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: service, lifecycle: production, owner: user:nobody}\n",
            "owner `user:nobody` is a user in no imported group",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: service, lifecycle: production, owner: webb}\n",
            "catalog-info.yaml:9:53: unknown team `webb` (did you mean `web`?)",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: x}\nspec: {type: service, lifecycle: production, owner: web, dependsOn: [component:gone]}\n",
            "catalog-info.yaml:9:70: unknown component `gone`",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: ann, annotations: {lockstep.dev/roles: \"tech-lead, releese-manager\"}}\nspec: {memberOf: [web]}\n",
            "catalog-info.yaml:8:18: user `ann`: `lockstep.dev/roles` names unknown role `releese-manager` (did you mean `release-manager`?)",
        ),
        (
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: ops, annotations: {lockstep.dev/time-zone: Mars/Olympus}}\nspec: {type: team, children: []}\n",
            "team `ops`: spec.timeZone `Mars/Olympus` is not an IANA time zone",
        ),
    ];
    for (document, expected) in cases {
        let message = errors(&format!("{group}{document}"));
        assert!(
            message.contains(expected),
            "expected {expected:?}, got {message:?}"
        );
    }
}

#[test]
fn over_a_program_that_exists_the_catalog_replaces_what_it_says_and_keeps_the_rest() {
    let mut state = State::new();
    apply(
        &mut state,
        &[
            ("teams.yaml", TEAMS),
            ("components.yaml", COMPONENTS),
            ("interfaces.yaml", INTERFACES),
        ],
    )
    .expect("native manifests apply");
    let before = state.clone();
    // John's roles and the backend's time zone left out: they are kept as they stand.
    let catalog = CATALOG
        .replace(
            "  name: john\n  annotations: {lockstep.dev/roles: member}\n",
            "  name: john\n",
        )
        .replace(
            "  annotations: {lockstep.dev/time-zone: Europe/London}\n",
            "",
        );
    apply(&mut state, &[("catalog-info.yaml", &catalog)]).expect("the catalog applies");
    for (team, was) in before.teams() {
        let now = &state.teams()[team].spec;
        assert_eq!(
            now, &was.spec,
            "{team} keeps on-call, hours, holidays, labels, roles"
        );
    }
    assert!(
        state.teams().contains_key(&name("platform")),
        "the department is added"
    );
    for (component, was) in before.components() {
        let now = &state.components()[component].spec;
        assert_eq!(
            (&now.title, &now.team, &now.repository, &now.labels),
            (
                &was.spec.title,
                &was.spec.team,
                &was.spec.repository,
                &was.spec.labels
            ),
            "{component}"
        );
    }
    assert_eq!(
        state.components()[&name("analytics-api")].spec.depends_on,
        [name("data-pipeline")]
    );
    for (interface, was) in &before.contracts().interfaces {
        let now = &state.contracts().interfaces[interface].spec;
        assert_eq!(
            now.versions, was.spec.versions,
            "{interface} keeps its versions, drafts too"
        );
        assert_eq!(now.labels, was.spec.labels, "{interface}");
    }

    // Someone leaving the team takes the on-call with them; the rest stays.
    let without_john = catalog
        .replace("members: [sarah, john]", "members: [sarah]")
        .replace("  memberOf: [frontend]\n", "  memberOf: []\n");
    apply(&mut state, &[("catalog-info.yaml", &without_john)]).expect("applies");
    let frontend = &state.teams()[&name("frontend")].spec;
    let handles: Vec<&str> = frontend.members.iter().map(|m| m.handle.as_str()).collect();
    assert_eq!(handles, ["sarah"]);
    assert_eq!(
        frontend.on_call,
        Some(Contacts {
            primary: name("sarah"),
            backup: None
        }),
        "its backup left"
    );
    assert_eq!(
        frontend.working_hours,
        before.teams()[&name("frontend")].spec.working_hours
    );
}

#[test]
fn apis_the_files_do_not_hold_or_lockstep_cannot_type_are_noted_not_refused() {
    let text = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: web, annotations: {lockstep.dev/time-zone: UTC}}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: rpc}
spec: {type: trpc, lifecycle: production, owner: web, definition: x}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ui}
spec: {type: website, lifecycle: production, owner: web, consumesApis: [billing, rpc]}
";
    let mut state = State::new();
    let (_, notes) = apply(&mut state, &[("catalog-info.yaml", text)]).expect("applies");
    let notes = notes.join("\n");
    assert!(
        notes.contains("API `rpc` of type `trpc` skipped"),
        "{notes}"
    );
    assert!(
        notes.contains("catalog-info.yaml:14:")
            && notes.contains("API `billing` is not in these files"),
        "{notes}"
    );
    assert!(state.contracts().interfaces.is_empty());
    assert!(state.components().contains_key(&name("ui")));
}
