//! Read verbs: `get`, `describe`, `history`.

use std::process::ExitCode;

use anyhow::bail;
use std::collections::BTreeMap;

use lockstep_core::{
    Component, Dependency, Environment, IntegrationTask, Item, Name, Release, State, Team,
};
use serde_json::{Value, json};

use crate::apply::open;
use crate::cli::{DescribeArgs, GetArgs, Global, HistoryArgs, Kind, Output};

/// Longest cell a table shows; the rest of a long note is one `describe` or `-o json` away.
const MAX_CELL_CHARS: usize = 120;

/// Prints rows as aligned columns. A cell is one line: control characters (a newline in a
/// note) become spaces, and a cell longer than [`MAX_CELL_CHARS`] is cut with `…`.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let header: Vec<String> = header.iter().map(|h| table_cell(h)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| table_cell(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (idx, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if idx > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            // Padded by hand: `format!("{cell:<width$}")` panics on widths above u16::MAX.
            text.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(cell.chars().count()),
            ));
        }
        println!("{}", text.trim_end());
    };
    line(&header);
    for row in &rows {
        line(row);
    }
}

fn table_cell(raw: &str) -> String {
    let mut cell: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CELL_CHARS + 1)
        .collect();
    if cell.chars().count() > MAX_CELL_CHARS {
        cell = cell.chars().take(MAX_CELL_CHARS - 1).collect();
        cell.push('…');
    }
    cell
}

pub fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

pub fn yaml_kind(kind: Kind) -> anyhow::Result<&'static str> {
    Ok(match kind {
        Kind::Teams => "Team",
        Kind::Components => "Component",
        Kind::Environments => "Environment",
        Kind::Releases => "Release",
        Kind::Subscriptions => "Subscription",
        Kind::Blackouts => "Blackout",
        Kind::Resources => "Resource",
        Kind::Risks => "Risk",
        Kind::Interfaces => "Interface",
        Kind::Deployments => bail!(
            "deployments are facts recorded with `lockstep deployed`, not manifests: use -o json or the table"
        ),
        Kind::Items | Kind::Dependencies | Kind::IntegrationTasks => {
            bail!(
                "items, dependencies and integration tasks are written inside their release: use `get releases -o yaml`"
            )
        }
    })
}

pub async fn get(global: &Global, args: GetArgs) -> anyhow::Result<ExitCode> {
    check_filter_kinds(&args)?;
    let state = open(global).await?.load().await?;
    if global.output == Output::Yaml {
        let yaml = lockstep_manifest::export(&state, Some(yaml_kind(args.kind)?))
            .map_err(anyhow::Error::msg)?;
        print!("{yaml}");
        return Ok(ExitCode::SUCCESS);
    }
    check_filter_names(
        &args,
        state.releases().keys().map(Name::as_str),
        state.teams().keys().map(Name::as_str),
    )?;
    let (header, rows, json) = listing(&state, &args)?;
    match global.output {
        Output::Json => println!("{:#}", json!({ "items": json })),
        _ => print_table(&header, &rows),
    }
    Ok(ExitCode::SUCCESS)
}

pub type Listing = (Vec<&'static str>, Vec<Vec<String>>, Vec<Value>);

/// What a listing reads: the state on the database, or what a server sent
/// (`remote::Fetched`). The same rows come out of both.
pub trait View {
    fn teams(&self) -> &BTreeMap<Name, Team>;
    fn components(&self) -> &BTreeMap<Name, Component>;
    fn environments(&self) -> &BTreeMap<Name, Environment>;
    fn releases(&self) -> &BTreeMap<Name, Release>;
    fn items(&self) -> &BTreeMap<Name, Item>;
    fn integration_tasks(&self) -> &BTreeMap<Name, IntegrationTask>;
    fn subscriptions(&self) -> &BTreeMap<Name, lockstep_core::Subscription>;
    fn blackouts(&self) -> &BTreeMap<Name, lockstep_core::Blackout>;
    /// The at-risk items, each with its causal chain, root cause first.
    fn at_risk(&self) -> BTreeMap<Name, Vec<String>>;
    fn resources(&self) -> &BTreeMap<Name, lockstep_core::Resource>;
    fn risks(&self) -> &BTreeMap<Name, lockstep_core::Risk>;
    fn interfaces(&self) -> &BTreeMap<Name, lockstep_core::contract::Interface>;
    /// Environment to component to the version running there.
    fn deployed(&self) -> &BTreeMap<Name, BTreeMap<Name, lockstep_core::contract::Deployed>>;
    fn dependencies(&self) -> Box<dyn Iterator<Item = &Dependency> + '_>;
    fn items_of<'a>(&'a self, release: &'a Name) -> Box<dyn Iterator<Item = &'a Item> + 'a>;
    fn blocked_by<'a>(&'a self, item: &'a Name) -> Box<dyn Iterator<Item = &'a Dependency> + 'a>;
}

impl View for State {
    fn at_risk(&self) -> BTreeMap<Name, Vec<String>> {
        let report = lockstep_core::risk::assess(self);
        report
            .items
            .keys()
            .map(|item| (item.clone(), report.chain(item)))
            .collect()
    }
    fn blackouts(&self) -> &BTreeMap<Name, lockstep_core::Blackout> {
        State::blackouts(self)
    }
    fn resources(&self) -> &BTreeMap<Name, lockstep_core::Resource> {
        State::resources(self)
    }
    fn risks(&self) -> &BTreeMap<Name, lockstep_core::Risk> {
        State::risks(self)
    }
    fn interfaces(&self) -> &BTreeMap<Name, lockstep_core::contract::Interface> {
        &self.contracts().interfaces
    }
    fn deployed(&self) -> &BTreeMap<Name, BTreeMap<Name, lockstep_core::contract::Deployed>> {
        &self.contracts().deployed
    }
    fn teams(&self) -> &BTreeMap<Name, Team> {
        State::teams(self)
    }
    fn components(&self) -> &BTreeMap<Name, Component> {
        State::components(self)
    }
    fn environments(&self) -> &BTreeMap<Name, Environment> {
        State::environments(self)
    }
    fn releases(&self) -> &BTreeMap<Name, Release> {
        State::releases(self)
    }
    fn items(&self) -> &BTreeMap<Name, Item> {
        State::items(self)
    }
    fn integration_tasks(&self) -> &BTreeMap<Name, IntegrationTask> {
        State::integration_tasks(self)
    }
    fn subscriptions(&self) -> &BTreeMap<Name, lockstep_core::Subscription> {
        State::subscriptions(self)
    }
    fn dependencies(&self) -> Box<dyn Iterator<Item = &Dependency> + '_> {
        Box::new(State::dependencies(self))
    }
    fn items_of<'a>(&'a self, release: &'a Name) -> Box<dyn Iterator<Item = &'a Item> + 'a> {
        Box::new(State::items_of(self, release))
    }
    fn blocked_by<'a>(&'a self, item: &'a Name) -> Box<dyn Iterator<Item = &'a Dependency> + 'a> {
        Box::new(State::blocked_by(self, item))
    }
}

/// Refuses `--release` and `--team` where they would be ignored, so that a listing never
/// looks filtered when it is not.
pub fn check_filter_kinds(args: &GetArgs) -> anyhow::Result<()> {
    match args.kind {
        Kind::Items => Ok(()),
        Kind::IntegrationTasks | Kind::Risks if args.team.is_none() => Ok(()),
        Kind::IntegrationTasks | Kind::Risks => bail!("`--team` filters only `get items`"),
        _ if args.release.is_some() || args.team.is_some() => bail!(
            "`--release` filters only `get items`, `get integration-tasks` and `get risks`, `--team` only `get items`"
        ),
        _ => Ok(()),
    }
}

/// An unknown name in `--release` or `--team` is an error with the nearest name, not an
/// empty listing that reads as "nothing to do".
pub fn check_filter_names<'a>(
    args: &GetArgs,
    releases: impl Iterator<Item = &'a str>,
    teams: impl Iterator<Item = &'a str>,
) -> anyhow::Result<()> {
    fn known<'a>(
        kind: &str,
        wanted: Option<&str>,
        names: impl Iterator<Item = &'a str>,
    ) -> anyhow::Result<()> {
        let Some(wanted) = wanted else { return Ok(()) };
        let names: Vec<&str> = names.collect();
        if names.contains(&wanted) {
            return Ok(());
        }
        bail!(lockstep_core::suggest::unknown(kind, wanted, names))
    }
    known("release", args.release.as_deref(), releases)?;
    known("team", args.team.as_deref(), teams)
}

pub fn listing(state: &impl View, args: &GetArgs) -> anyhow::Result<Listing> {
    Ok(match args.kind {
        Kind::Deployments => {
            let rows: Vec<(&Name, &Name, &lockstep_core::contract::Deployed)> = state
                .deployed()
                .iter()
                .flat_map(|(environment, components)| {
                    components
                        .iter()
                        .map(move |(component, running)| (environment, component, running))
                })
                .collect();
            (
                vec!["ENVIRONMENT", "COMPONENT", "VERSION", "BY", "AT"],
                rows.iter()
                    .map(|(environment, component, running)| {
                        vec![
                            environment.to_string(),
                            component.to_string(),
                            running.version.to_string(),
                            running.by.clone(),
                            running.at.to_string(),
                        ]
                    })
                    .collect(),
                rows.iter()
                    .map(|(environment, component, running)| {
                        json!({
                            "environment": environment,
                            "component": component,
                            "version": running.version,
                            "by": running.by,
                            "at": running.at,
                        })
                    })
                    .collect(),
            )
        }
        Kind::Interfaces => {
            let interfaces: Vec<&lockstep_core::contract::Interface> =
                state.interfaces().values().collect();
            (
                vec![
                    "NAME",
                    "TYPE",
                    "PRODUCER",
                    "CONSUMERS",
                    "LATEST",
                    "VERSIONS",
                    "OPEN PROPOSALS",
                ],
                interfaces
                    .iter()
                    .map(|i| {
                        let spec = &i.spec;
                        vec![
                            i.name.to_string(),
                            spec.kind.to_string(),
                            match &spec.component {
                                Some(component) => format!("{} ({component})", spec.producer),
                                None => spec.producer.to_string(),
                            },
                            spec.consumers
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                            opt(spec.latest_published().map(|v| v.version.to_string())),
                            spec.versions.len().to_string(),
                            i.proposals
                                .iter()
                                .filter(|p| p.decision.is_none())
                                .map(|p| format!("{} ({})", p.version, p.compatibility))
                                .collect::<Vec<_>>()
                                .join(", "),
                        ]
                    })
                    .collect(),
                interfaces
                    .iter()
                    .map(|i| {
                        json!({
                            "name": i.name,
                            "spec": i.spec,
                            "latestPublished": i.spec.latest_published().map(|v| &v.version),
                            "verifications": i.verifications,
                            "proposals": i.proposals,
                        })
                    })
                    .collect(),
            )
        }
        Kind::Risks => {
            // Highest exposure first, as the dashboard and the weekly agenda order them.
            let mut risks: Vec<&lockstep_core::Risk> = state
                .risks()
                .values()
                .filter(|r| {
                    args.release
                        .as_deref()
                        .is_none_or(|w| r.release.as_str() == w)
                })
                .collect();
            risks.sort_by_key(|r| std::cmp::Reverse(r.spec.exposure()));
            (
                vec![
                    "NAME",
                    "RELEASE",
                    "EXPOSURE",
                    "OWNER",
                    "STATUS",
                    "REVIEW BY",
                    "TITLE",
                ],
                risks
                    .iter()
                    .map(|r| {
                        vec![
                            r.name.to_string(),
                            r.release.to_string(),
                            format!(
                                "{} ({} × {})",
                                r.spec.exposure(),
                                r.spec.probability,
                                r.spec.impact
                            ),
                            r.spec.owner.to_string(),
                            r.status.to_string(),
                            opt(r.spec.review_by),
                            r.spec.title.clone(),
                        ]
                    })
                    .collect(),
                risks
                    .iter()
                    .map(|r| lockstep_server::risk_json(r))
                    .collect(),
            )
        }
        Kind::Blackouts => (
            vec![
                "NAME",
                "TITLE",
                "TIME ZONE",
                "START",
                "END",
                "REPEATS",
                "ENVIRONMENTS",
            ],
            state
                .blackouts()
                .values()
                .map(|b| {
                    let environments: Vec<&str> =
                        b.spec.environments.iter().map(Name::as_str).collect();
                    vec![
                        b.name.to_string(),
                        opt(b.spec.title.as_ref()),
                        b.spec.time_zone.clone(),
                        b.spec.start.to_string(),
                        b.spec.end.to_string(),
                        b.spec
                            .recurrence
                            .as_ref()
                            .map(ToString::to_string)
                            .or_else(|| b.spec.cron.as_ref().map(ToString::to_string))
                            .unwrap_or_else(|| "-".to_owned()),
                        if environments.is_empty() {
                            "all".to_owned()
                        } else {
                            environments.join(",")
                        },
                    ]
                })
                .collect(),
            state.blackouts().values().map(|b| json!(b)).collect(),
        ),
        Kind::Resources => (
            vec!["NAME", "TITLE", "CAPACITY"],
            state
                .resources()
                .values()
                .map(|r| {
                    vec![
                        r.name.to_string(),
                        opt(r.spec.title.as_ref()),
                        r.spec.capacity.to_string(),
                    ]
                })
                .collect(),
            state.resources().values().map(|r| json!(r)).collect(),
        ),
        Kind::Subscriptions => (
            vec!["NAME", "WHO", "CHANNEL", "KINDS", "CADENCE"],
            state
                .subscriptions()
                .values()
                .map(|s| {
                    let mut who = match (&s.spec.member, s.spec.role) {
                        (Some(member), _) => member.to_string(),
                        (None, Some(role)) => format!("role {}", role.as_str()),
                        (None, None) => "-".to_owned(),
                    };
                    if s.spec.own_team {
                        who.push_str(" (own team)");
                    }
                    let kinds: Vec<&str> = s.spec.kinds.iter().map(Name::as_str).collect();
                    vec![
                        s.name.to_string(),
                        who,
                        s.spec.channel.clone(),
                        if kinds.is_empty() {
                            "all".to_owned()
                        } else {
                            kinds.join(",")
                        },
                        format!("{:?}", s.spec.cadence).to_lowercase(),
                    ]
                })
                .collect(),
            state.subscriptions().values().map(|s| json!(s)).collect(),
        ),
        Kind::Teams => (
            vec!["NAME", "TITLE", "TIME ZONE", "MEMBERS", "ON CALL"],
            state
                .teams()
                .values()
                .map(|t| {
                    vec![
                        t.name.to_string(),
                        opt(t.spec.title.as_ref()),
                        t.spec.time_zone.clone(),
                        t.spec.members.len().to_string(),
                        opt(t.spec.on_call.as_ref().map(|c| match &c.backup {
                            Some(backup) => format!("{} (backup {backup})", c.primary),
                            None => c.primary.to_string(),
                        })),
                    ]
                })
                .collect(),
            state.teams().values().map(|t| json!(t)).collect(),
        ),
        Kind::Components => (
            vec!["NAME", "TEAM", "REPOSITORY"],
            state
                .components()
                .values()
                .map(|c| {
                    vec![
                        c.name.to_string(),
                        c.spec.team.to_string(),
                        opt(c.spec.repository.as_ref()),
                    ]
                })
                .collect(),
            state.components().values().map(|c| json!(c)).collect(),
        ),
        Kind::Environments => (
            vec!["NAME", "TIER"],
            state
                .environments()
                .values()
                .map(|e| {
                    vec![
                        e.name.to_string(),
                        format!("{:?}", e.spec.tier).to_lowercase(),
                    ]
                })
                .collect(),
            state.environments().values().map(|e| json!(e)).collect(),
        ),
        Kind::Releases => (
            vec![
                "NAME",
                "KIND",
                "STATE",
                "FEATURE FREEZE",
                "CODE FREEZE",
                "TARGET",
                "ITEMS",
            ],
            state
                .releases()
                .values()
                .map(|r| {
                    vec![
                        r.name.to_string(),
                        format!("{:?}", r.spec.kind).to_lowercase(),
                        r.state.to_string(),
                        opt(r.spec.feature_freeze),
                        opt(r.spec.code_freeze),
                        r.spec.target_date.to_string(),
                        state.items_of(&r.name).count().to_string(),
                    ]
                })
                .collect(),
            state.releases().values().map(|r| json!(r)).collect(),
        ),
        Kind::Items => {
            let items: Vec<_> = state
                .items()
                .values()
                .filter(|i| {
                    args.release
                        .as_deref()
                        .is_none_or(|r| i.release.as_str() == r)
                })
                .filter(|i| {
                    args.team
                        .as_deref()
                        .is_none_or(|t| i.spec.team.as_str() == t)
                })
                .collect();
            let at_risk = state.at_risk();
            (
                vec![
                    "NAME",
                    "RELEASE",
                    "TEAM",
                    "STATUS",
                    "DUE",
                    "ETA",
                    "BLOCKED BY",
                    "AT RISK (ROOT CAUSE)",
                ],
                items
                    .iter()
                    .map(|i| {
                        let blockers: Vec<String> = state
                            .blocked_by(&i.name)
                            .map(|d| d.blocker.to_string())
                            .collect();
                        vec![
                            i.name.to_string(),
                            i.release.to_string(),
                            i.spec.team.to_string(),
                            i.status.to_string(),
                            opt(i.spec.due),
                            opt(i.eta),
                            if blockers.is_empty() {
                                "-".to_owned()
                            } else {
                                blockers.join(",")
                            },
                            at_risk
                                .get(&i.name)
                                .and_then(|chain| chain.first())
                                .cloned()
                                .unwrap_or_else(|| "-".to_owned()),
                        ]
                    })
                    .collect(),
                items.iter().map(|i| json!(i)).collect(),
            )
        }
        Kind::Dependencies => (
            vec!["BLOCKER", "BLOCKED", "NEED BY", "BUFFER", "LATE"],
            state
                .dependencies()
                .map(|d| {
                    vec![
                        d.blocker.to_string(),
                        d.blocked.to_string(),
                        opt(d.need_by),
                        format!("{}d", d.buffer_days),
                        if d.late {
                            "yes".to_owned()
                        } else {
                            "no".to_owned()
                        },
                    ]
                })
                .collect(),
            state.dependencies().map(|d| json!(d)).collect(),
        ),
        Kind::IntegrationTasks => (
            vec![
                "NAME",
                "RELEASE",
                "PHASE",
                "DUE",
                "COMPONENTS",
                "SCENARIOS PASSED",
            ],
            state
                .integration_tasks()
                .values()
                .filter(|t| {
                    args.release
                        .as_deref()
                        .is_none_or(|r| t.release.as_str() == r)
                })
                .map(|t| {
                    let passed = t
                        .spec
                        .scenarios
                        .iter()
                        .filter(|s| s.result == lockstep_core::ScenarioResult::Passed)
                        .count();
                    vec![
                        t.name.to_string(),
                        t.release.to_string(),
                        format!("{:?}", t.spec.phase),
                        opt(t.spec.due),
                        t.spec
                            .components
                            .iter()
                            .map(Name::to_string)
                            .collect::<Vec<_>>()
                            .join("+"),
                        format!("{passed}/{}", t.spec.scenarios.len()),
                    ]
                })
                .collect(),
            state
                .integration_tasks()
                .values()
                .filter(|t| {
                    args.release
                        .as_deref()
                        .is_none_or(|r| t.release.as_str() == r)
                })
                .map(|t| json!(t))
                .collect(),
        ),
    })
}

pub async fn describe(global: &Global, args: DescribeArgs) -> anyhow::Result<ExitCode> {
    let state = open(global).await?.load().await?;
    let missing = |kind: &str, names: &mut dyn Iterator<Item = &Name>| {
        anyhow::anyhow!(lockstep_core::suggest::unknown(
            kind,
            &args.name,
            names.map(Name::as_str)
        ))
    };
    let name = args.name.as_str();
    let value =
        match args.kind {
            Kind::Teams => json!(
                state
                    .teams()
                    .get(name)
                    .ok_or_else(|| missing("team", &mut state.teams().keys()))?
            ),
            Kind::Components => {
                json!(
                    state
                        .components()
                        .get(name)
                        .ok_or_else(|| missing("component", &mut state.components().keys()))?
                )
            }
            Kind::Environments => json!(
                state
                    .environments()
                    .get(name)
                    .ok_or_else(|| missing("environment", &mut state.environments().keys()))?
            ),
            Kind::Releases => {
                let release = state
                    .releases()
                    .get(name)
                    .ok_or_else(|| missing("release", &mut state.releases().keys()))?;
                json!({ "release": release, "items": release_items(state.items_of(&release.name)) })
            }
            Kind::Items => {
                let item = state
                    .items()
                    .get(name)
                    .ok_or_else(|| missing("item", &mut state.items().keys()))?;
                lockstep_server::item_json(&state, item)
            }
            Kind::IntegrationTasks => json!(state.integration_tasks().get(name).ok_or_else(
                || missing("integration task", &mut state.integration_tasks().keys())
            )?),
            Kind::Subscriptions => json!(
                state
                    .subscriptions()
                    .get(name)
                    .ok_or_else(|| missing("subscription", &mut state.subscriptions().keys()))?
            ),
            Kind::Blackouts => json!(
                state
                    .blackouts()
                    .get(name)
                    .ok_or_else(|| missing("blackout", &mut state.blackouts().keys()))?
            ),
            Kind::Resources => json!(
                state
                    .resources()
                    .get(name)
                    .ok_or_else(|| missing("resource", &mut state.resources().keys()))?
            ),
            Kind::Deployments => {
                bail!("deployments have no name: use `get deployments`")
            }
            Kind::Interfaces => lockstep_server::contracts::interface_json(
                &state,
                state.contracts().interfaces.get(name).ok_or_else(|| {
                    missing("interface", &mut state.contracts().interfaces.keys())
                })?,
            ),
            Kind::Risks => lockstep_server::risk_json(
                state
                    .risks()
                    .get(name)
                    .ok_or_else(|| missing("risk", &mut state.risks().keys()))?,
            ),
            Kind::Dependencies => {
                bail!("dependencies have no name: use `describe item NAME` to see what it blocks")
            }
        };
    match global.output {
        Output::Json => println!("{value:#}"),
        _ => print!(
            "{}",
            serde_saphyr::to_string(&value).map_err(|e| anyhow::anyhow!("cannot render: {e}"))?
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// A stream is `KIND:NAME`; anything else would only ever read as an empty history.
pub fn check_stream_name(stream: &str) -> anyhow::Result<()> {
    if !lockstep_core::is_stream_id(stream) {
        bail!(
            "--stream `{stream}` is not a stream name: use KIND:NAME (`release:q1-2025`, `team:api`)"
        );
    }
    Ok(())
}

pub async fn history(global: &Global, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    if let Some(stream) = &args.stream {
        check_stream_name(stream)?;
    }
    let program = open(global).await?;
    let events = match &args.stream {
        Some(stream) => program
            .store()
            .read_stream(stream)
            .await?
            .into_iter()
            .map(lockstep_store::program::decode)
            .collect::<Result<Vec<_>, _>>()?,
        None => {
            let head = program.store().head().await?;
            program
                .history((head - args.limit as i64).max(0), args.limit as i64)
                .await?
        }
    };
    let events = &events[events.len().saturating_sub(args.limit)..];
    match global.output {
        Output::Json => {
            let rows: Vec<Value> = events
                .iter()
                .map(|e| {
                    json!({
                        "position": e.position, "stream": e.stream, "actor": e.meta.actor,
                        "at": e.meta.at, "reason": e.meta.reason, "summary": e.event.describe(), "event": e.event,
                    })
                })
                .collect();
            println!("{:#}", json!({ "items": rows }));
        }
        _ => print_table(
            &["#", "WHEN (UTC)", "WHO", "WHAT", "WHY"],
            &events
                .iter()
                .map(|e| {
                    vec![
                        e.position.to_string(),
                        e.meta.at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                        e.meta.actor.clone(),
                        e.event.describe(),
                        opt(e.meta.reason.as_ref()),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// A release's items as `describe release` shows them: name, title, team and status.
pub(crate) fn release_items<'a>(
    items: impl Iterator<Item = &'a lockstep_core::Item>,
) -> Vec<Value> {
    items
        .map(|i| {
            json!({
                "name": i.name,
                "title": i.spec.title,
                "team": i.spec.team,
                "status": i.status.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::table_cell;

    #[test]
    fn a_table_cell_is_one_bounded_line() {
        assert_eq!(table_cell("ok"), "ok");
        assert_eq!(table_cell("two\nlines\tand a tab"), "two lines and a tab");
        let long = table_cell(&"x".repeat(70_000));
        assert_eq!(long.chars().count(), super::MAX_CELL_CHARS);
        assert!(long.ends_with('…'));
    }
}
