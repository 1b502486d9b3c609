//! From parsed manifests to core commands, each with the location it came from.
//!
//! References are checked here against the manifests plus the current state, so
//! that an unknown name is reported where it is written, with the closest known
//! name. `decide_all` checks everything again; its errors are located at the
//! resource whose command failed.

use std::collections::{BTreeMap, BTreeSet};

use lockstep_core::{
    Command, ComponentSpec, DomainError, IntegrationTaskSpec, ItemSpec, Name, ReleaseSpec,
    RiskLevel, RiskSpec, RiskStatus, State, suggest,
};
use serde_saphyr::Spanned;

use crate::parse::{Located, Manifest, Resource};
use crate::wire::{ApprovalRuleDoc, DependsOnDoc, IntegrationTaskDoc, ItemDoc};
use crate::{Location, ManifestError, ManifestErrors};
use lockstep_core::Role;
use lockstep_core::checklist::{ApprovalRule, ChecklistItemSpec, ChecklistTemplateSpec};

/// A command and where in the manifests it comes from.
#[derive(Debug, Clone)]
pub struct LocatedCommand {
    /// The command.
    pub command: Command,
    /// The resource's `metadata.name` (or inline `name`).
    pub location: Location,
}

/// Turns manifests into commands in dependency order (teams before the components
/// they own, items before their dependencies, release states last).
pub fn plan(manifest: &Manifest, state: &State) -> Result<Vec<LocatedCommand>, ManifestErrors> {
    let mut planner = Planner {
        manifest,
        state,
        errors: Vec::new(),
        known: Known::from_state(state),
    };
    planner.collect_names();
    let mut phases: [Vec<LocatedCommand>; 9] = Default::default();
    for located in &manifest.resources {
        planner.resource(located, &mut phases);
    }
    let mut errors = planner.errors;
    if let Err(error) = components_in_dependency_order(&mut phases[COMPONENTS]) {
        errors.push(error);
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| a.location.cmp(&b.location));
        return Err(ManifestErrors(errors));
    }
    Ok(phases.into_iter().flatten().collect())
}

/// Orders the component definitions of one apply so that each comes after the ones it
/// depends on (core checks that a dependency exists when the component is defined), and
/// keeps the manifests' order otherwise. A cycle is reported at its first component.
fn components_in_dependency_order(commands: &mut Vec<LocatedCommand>) -> Result<(), ManifestError> {
    let depends_on = |command: &LocatedCommand| match &command.command {
        Command::DefineComponent { spec, .. } => spec.depends_on.clone(),
        _ => Vec::new(),
    };
    let defined: BTreeMap<Name, usize> = commands
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match &c.command {
            Command::DefineComponent { component, .. } => Some((component.clone(), i)),
            _ => None,
        })
        .collect();
    let n = commands.len();
    let edges: Vec<(usize, usize)> = commands
        .iter()
        .enumerate()
        .flat_map(|(to, command)| {
            depends_on(command)
                .into_iter()
                .filter_map(|dependency| defined.get(&dependency).map(|&from| (from, to)))
                .collect::<Vec<_>>()
        })
        .collect();
    if let Some(cycle) = lockstep_core::graph::find_cycle(n, &edges) {
        // Edges run from a dependency to its dependant; the message reads "depends on".
        let names: Vec<String> = cycle
            .iter()
            .rev()
            .map(|&i| match &commands[i].command {
                Command::DefineComponent { component, .. } => component.to_string(),
                _ => String::new(),
            })
            .collect();
        return Err(ManifestError {
            location: commands[cycle[0]].location.clone(),
            message: format!(
                "components depend on each other in a cycle: {}",
                names.join(" → ")
            ),
        });
    }
    // Kahn's algorithm, always taking the earliest definition that is ready.
    let mut remaining = vec![0usize; n];
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(from, to) in &edges {
        remaining[to] += 1;
        dependants[from].push(to);
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(next) = ready.pop_first() {
        order.push(next);
        for &to in &dependants[next] {
            remaining[to] -= 1;
            if remaining[to] == 0 {
                ready.insert(to);
            }
        }
    }
    let mut slots: Vec<Option<LocatedCommand>> = commands.drain(..).map(Some).collect();
    commands.extend(order.into_iter().filter_map(|i| slots[i].take()));
    Ok(())
}

/// Maps errors from `decide_all` back to manifest locations.
pub fn locate(
    commands: &[LocatedCommand],
    errors: Vec<(Option<usize>, DomainError)>,
    fallback: &str,
) -> ManifestErrors {
    ManifestErrors(
        errors
            .into_iter()
            .map(|(index, error)| ManifestError {
                location: index
                    .and_then(|i| commands.get(i))
                    .map(|c| c.location.clone())
                    .unwrap_or_else(|| Location {
                        file: fallback.to_owned(),
                        line: 1,
                        column: 1,
                    }),
                message: error.to_string(),
            })
            .collect(),
    )
}

// Phases, in application order.
const TEAMS: usize = 0;
const ENVIRONMENTS: usize = 1;
const COMPONENTS: usize = 2;
const RELEASES: usize = 3;
const ITEMS: usize = 4;
const ITEM_STATE: usize = 5;
const LINKS: usize = 6;
const RELEASE_STATE: usize = 7;
/// Interfaces name only teams and components, and nothing names them: last, so that a
/// program gaining its contracts keeps the positions of everything else.
const CONTRACTS: usize = 8;

/// What kind of resource a reference names.
#[derive(Clone, Copy)]
enum Ref<'a> {
    Team,
    Component,
    Environment,
    Release,
    Item,
    Member,
    Resource,
    /// A milestone of the named release.
    Milestone(&'a str),
}

#[derive(Default)]
struct Known {
    teams: BTreeSet<String>,
    components: BTreeSet<String>,
    environments: BTreeSet<String>,
    releases: BTreeMap<String, BTreeSet<String>>, // release -> milestones
    items: BTreeSet<String>,
    /// Item to its release, so that a risk naming another release's item is reported
    /// where the item is written.
    item_releases: BTreeMap<String, String>,
    members: BTreeSet<String>,
    resources: BTreeSet<String>,
    /// Releases already released or cancelled: a train leaves them alone.
    departed: BTreeSet<String>,
}

impl Known {
    fn from_state(state: &State) -> Known {
        let names = |keys: &mut dyn Iterator<Item = &Name>| keys.map(|n| n.to_string()).collect();
        Known {
            teams: names(&mut state.teams().keys()),
            components: names(&mut state.components().keys()),
            environments: names(&mut state.environments().keys()),
            releases: state
                .releases()
                .iter()
                .map(|(name, r)| {
                    (
                        name.to_string(),
                        r.spec
                            .milestones
                            .iter()
                            .map(|m| m.name.to_string())
                            .collect(),
                    )
                })
                .collect(),
            items: names(&mut state.items().keys()),
            item_releases: state
                .items()
                .values()
                .map(|item| (item.name.to_string(), item.release.to_string()))
                .collect(),
            resources: names(&mut state.resources().keys()),
            members: state
                .teams()
                .values()
                .flat_map(|t| t.spec.members.iter().map(|m| m.handle.to_string()))
                .collect(),
            departed: state
                .releases()
                .values()
                .filter(|r| r.state.is_terminal())
                .map(|r| r.name.to_string())
                .collect(),
        }
    }
}

struct Planner<'m> {
    manifest: &'m Manifest,
    /// The program as it stands, for what a Backstage catalog leaves unsaid.
    state: &'m State,
    errors: Vec<ManifestError>,
    known: Known,
}

impl<'m> Planner<'m> {
    fn error(&mut self, located: &Located, at: &serde_saphyr::Location, message: String) {
        let location = self.manifest.location(located, at);
        self.errors.push(ManifestError { location, message });
    }

    fn name(&mut self, located: &Located, name: &Spanned<String>) -> Option<Name> {
        match Name::parse(&name.value) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                self.error(located, &name.referenced, error.to_string());
                None
            }
        }
    }

    /// The name of a resource declared inline in another, and where it is written;
    /// reports `missing` at `missing_at` when the name is absent.
    fn inline_name(
        &mut self,
        located: &Located,
        name: Option<&Spanned<String>>,
        missing_at: &serde_saphyr::Location,
        missing: String,
    ) -> Option<(Name, Location)> {
        let Some(spanned) = name else {
            self.error(located, missing_at, missing);
            return None;
        };
        let parsed = self.name(located, spanned)?;
        Some((parsed, self.manifest.location(located, &spanned.referenced)))
    }

    /// A release's (or train's) manager, checked against the members, and its
    /// deployment plan with the time zone checked against the IANA database and spelled
    /// as the database does: `None` when either is wrong (the error is reported), else
    /// the manager and the plan, if there are any.
    fn manager_and_zone(
        &mut self,
        located: &Located,
        at: &serde_saphyr::Location,
        what: &str,
        manager: Option<&Spanned<String>>,
        deployment: Option<&lockstep_core::DeploymentPlan>,
    ) -> Option<(Option<Name>, Option<lockstep_core::DeploymentPlan>)> {
        let manager = match manager {
            Some(manager) => Some(self.reference(located, Ref::Member, manager)?),
            None => None,
        };
        let Some(plan) = deployment else {
            return Some((manager, None));
        };
        let Some(time_zone) = crate::canonical_time_zone(&plan.time_zone) else {
            self.error(
                located,
                at,
                format!(
                    "{what}: spec.deployment.timeZone `{}` is not an IANA time zone",
                    plan.time_zone
                ),
            );
            return None;
        };
        let plan = lockstep_core::DeploymentPlan {
            time_zone,
            ..plan.clone()
        };
        Some((manager, Some(plan)))
    }

    /// Checks that `name` refers to something known; on failure reports it
    /// where it is written, with the closest known name.
    fn reference(
        &mut self,
        located: &Located,
        kind: Ref<'_>,
        name: &Spanned<String>,
    ) -> Option<Name> {
        let parsed = self.name(located, name)?;
        let empty = BTreeSet::new();
        let (label, known): (&str, Box<dyn Iterator<Item = &String>>) = match kind {
            Ref::Team => ("team", Box::new(self.known.teams.iter())),
            Ref::Component => ("component", Box::new(self.known.components.iter())),
            Ref::Environment => ("environment", Box::new(self.known.environments.iter())),
            Ref::Release => ("release", Box::new(self.known.releases.keys())),
            Ref::Item => ("item", Box::new(self.known.items.iter())),
            Ref::Member => ("member", Box::new(self.known.members.iter())),
            Ref::Resource => ("resource", Box::new(self.known.resources.iter())),
            Ref::Milestone(release) => (
                "milestone",
                Box::new(self.known.releases.get(release).unwrap_or(&empty).iter()),
            ),
        };
        let exists = match kind {
            Ref::Team => self.known.teams.contains(&name.value),
            Ref::Component => self.known.components.contains(&name.value),
            Ref::Environment => self.known.environments.contains(&name.value),
            Ref::Release => self.known.releases.contains_key(&name.value),
            Ref::Item => self.known.items.contains(&name.value),
            Ref::Member => self.known.members.contains(&name.value),
            Ref::Resource => self.known.resources.contains(&name.value),
            Ref::Milestone(release) => self
                .known
                .releases
                .get(release)
                .is_some_and(|m| m.contains(&name.value)),
        };
        if exists {
            return Some(parsed);
        }
        let hint = suggest::hint(&name.value, known.map(String::as_str));
        self.error(
            located,
            &name.referenced,
            format!("unknown {label} `{}`{hint}", name.value),
        );
        None
    }

    /// A `Subscription`: every name it refers to checked where it is written (members,
    /// teams, releases, message kinds, the time zone), all errors reported at once.
    fn subscription(
        &mut self,
        located: &Located,
        doc_name: &Spanned<String>,
        name: Name,
        doc: &crate::wire::SubscriptionDoc,
    ) -> Option<Command> {
        let n_errors = self.errors.len();
        if doc.member.is_some() == doc.role.is_some() {
            self.error(
                located,
                &doc_name.referenced,
                format!("subscription `{name}`: spec needs exactly one of `member` or `role`"),
            );
        }
        let member = match &doc.member {
            Some(member) => self.reference(located, Ref::Member, member),
            None => None,
        };
        let teams: Vec<Name> = doc
            .teams
            .iter()
            .filter_map(|team| self.reference(located, Ref::Team, team))
            .collect();
        let releases: Vec<Name> = doc
            .releases
            .iter()
            .filter_map(|release| self.reference(located, Ref::Release, release))
            .collect();
        let mut kinds = Vec::new();
        for kind in &doc.kinds {
            let Some(parsed) = self.name(located, kind) else {
                continue;
            };
            if lockstep_core::MESSAGE_KINDS.contains(&kind.value.as_str()) {
                kinds.push(parsed);
                continue;
            }
            let hint = suggest::hint(&kind.value, lockstep_core::MESSAGE_KINDS);
            self.error(
                located,
                &kind.referenced,
                format!("unknown message kind `{}`{hint}", kind.value),
            );
        }
        let time_zone = match &doc.time_zone {
            None => None,
            Some(zone) => {
                let canonical = crate::canonical_time_zone(&zone.value);
                if canonical.is_none() {
                    self.error(
                        located,
                        &zone.referenced,
                        format!("`{}` is not an IANA time zone", zone.value),
                    );
                }
                canonical
            }
        };
        if self.errors.len() > n_errors {
            return None;
        }
        Some(Command::DefineSubscription {
            subscription: name,
            spec: lockstep_core::SubscriptionSpec {
                member,
                role: doc.role,
                channel: doc.channel.clone(),
                releases,
                teams,
                own_team: doc.own_team,
                kinds,
                cadence: doc.cadence,
                digest_at: doc.digest_at,
                quiet_hours: doc.quiet_hours,
                time_zone,
            },
        })
    }

    /// First pass: every name the manifests define, so that references may point
    /// forward, and duplicates are caught.
    fn collect_names(&mut self) {
        let mut seen: BTreeMap<(&str, String), ()> = BTreeMap::new();
        let manifest = self.manifest;
        for located in &manifest.resources {
            let (kind, name) = located.resource.kind_and_name();
            let mut define = |planner: &mut Planner, kind: &'static str, name: &Spanned<String>| {
                if seen.insert((kind, name.value.clone()), ()).is_some() {
                    planner.error(
                        located,
                        &name.referenced,
                        format!("duplicate {kind} `{}`", name.value),
                    );
                }
            };
            define(self, kind, name);
            match &located.resource {
                Resource::Team { name, spec, .. } => {
                    self.known.teams.insert(name.value.clone());
                    for member in &spec.members {
                        self.known.members.insert(member.handle.to_string());
                    }
                }
                Resource::Component { name, .. } => {
                    self.known.components.insert(name.value.clone());
                }
                Resource::Environment { name, .. } => {
                    self.known.environments.insert(name.value.clone());
                }
                Resource::Release { name, spec, .. } => {
                    let milestones = spec.milestones.iter().map(|m| m.name.to_string()).collect();
                    self.known.releases.insert(name.value.clone(), milestones);
                    for item in &spec.items {
                        if let Some(item_name) = &item.name {
                            define(self, "Item", item_name);
                            self.known.items.insert(item_name.value.clone());
                            self.known
                                .item_releases
                                .insert(item_name.value.clone(), name.value.clone());
                        }
                    }
                    for task in &spec.integration_tasks {
                        if let Some(task_name) = &task.name {
                            define(self, "IntegrationTask", task_name);
                        }
                    }
                }
                Resource::ReleaseTrain {
                    name, spec, labels, ..
                } => {
                    // Errors are reported when the train is planned.
                    if let Ok(train) = Name::parse(&name.value)
                        && let Ok(departures) = crate::train::departures(&train, spec, None, labels)
                    {
                        for departure in departures {
                            self.known
                                .releases
                                .insert(departure.name.to_string(), BTreeSet::new());
                        }
                    }
                }
                Resource::Item { name, spec } => {
                    self.known.items.insert(name.value.clone());
                    if let Some(release) = &spec.release {
                        self.known
                            .item_releases
                            .insert(name.value.clone(), release.value.clone());
                    }
                }
                Resource::Resource { name, .. } => {
                    self.known.resources.insert(name.value.clone());
                }
                Resource::Dependency { .. }
                | Resource::IntegrationTask { .. }
                | Resource::Blackout { .. }
                | Resource::Subscription { .. }
                | Resource::ChecklistTemplate { .. }
                | Resource::Risk { .. }
                | Resource::Interface { .. } => {}
            }
        }
    }

    fn resource(&mut self, located: &Located, phases: &mut [Vec<LocatedCommand>; 9]) {
        let (_, doc_name) = located.resource.kind_and_name();
        let location = self.manifest.location(located, &doc_name.referenced);
        let Some(name) = self.name(located, doc_name) else {
            return;
        };
        let mut push = |phase: usize, command: Command| {
            phases[phase].push(LocatedCommand {
                command,
                location: location.clone(),
            });
        };
        match &located.resource {
            Resource::Team {
                labels,
                spec,
                catalog,
                ..
            } => {
                let Some(time_zone) = crate::canonical_time_zone(&spec.time_zone.value) else {
                    self.error(
                        located,
                        &spec.time_zone.referenced,
                        format!(
                            "team `{name}`: spec.timeZone `{}` is not an IANA time zone",
                            spec.time_zone.value
                        ),
                    );
                    return;
                };
                let mut spec = spec.to_spec();
                spec.time_zone = time_zone;
                spec.labels.extend(labels.clone());
                if let (Some(unsaid), Some(existing)) = (catalog, self.state.teams().get(&name)) {
                    crate::backstage::keep_unsaid(&mut spec, &existing.spec, unsaid);
                }
                push(TEAMS, Command::DefineTeam { team: name, spec });
            }
            Resource::Environment { labels, spec, .. } => {
                if let Some(window) = spec
                    .deploy_windows
                    .iter()
                    .find(|w| crate::canonical_time_zone(&w.time_zone.value).is_none())
                {
                    self.error(
                        located,
                        &window.time_zone.referenced,
                        format!(
                            "environment `{name}`: deployWindows timeZone `{}` is not an IANA time zone",
                            window.time_zone.value
                        ),
                    );
                    return;
                }
                let mut spec = spec.to_spec();
                for window in &mut spec.deploy_windows {
                    if let Some(time_zone) = crate::canonical_time_zone(&window.time_zone) {
                        window.time_zone = time_zone;
                    }
                }
                spec.labels.extend(labels.clone());
                push(
                    ENVIRONMENTS,
                    Command::DefineEnvironment {
                        environment: name,
                        spec,
                    },
                );
            }
            Resource::Blackout { labels, spec, .. } => {
                let Some(time_zone) = crate::canonical_time_zone(&spec.time_zone.value) else {
                    self.error(
                        located,
                        &spec.time_zone.referenced,
                        format!(
                            "blackout `{name}`: spec.timeZone `{}` is not an IANA time zone",
                            spec.time_zone.value
                        ),
                    );
                    return;
                };
                let mut environments = Vec::with_capacity(spec.environments.len());
                for environment in &spec.environments {
                    let known = &self.known.environments;
                    let parsed = Name::parse(&environment.value)
                        .ok()
                        .filter(|_| known.contains(environment.value.as_str()));
                    let Some(parsed) = parsed else {
                        let hint =
                            suggest::hint(&environment.value, known.iter().map(String::as_str));
                        self.error(
                            located,
                            &environment.referenced,
                            format!(
                                "blackout `{name}`: unknown environment `{}`{hint}",
                                environment.value
                            ),
                        );
                        return;
                    };
                    environments.push(parsed);
                }
                let spec = lockstep_core::BlackoutSpec {
                    title: spec.title.clone(),
                    time_zone,
                    start: spec.start,
                    end: spec.end,
                    recurrence: spec.recurrence.clone(),
                    cron: spec.cron.clone(),
                    environments,
                    reason: spec.reason.clone(),
                    labels: spec
                        .labels
                        .iter()
                        .chain(labels)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                };
                push(
                    COMPONENTS,
                    Command::DefineBlackout {
                        blackout: name,
                        spec,
                    },
                );
            }
            Resource::ReleaseTrain { labels, spec, .. } => {
                let Some((manager, deployment)) = self.manager_and_zone(
                    located,
                    &doc_name.referenced,
                    &format!("train `{name}`"),
                    spec.manager.as_ref(),
                    spec.deployment.as_ref(),
                ) else {
                    return;
                };
                match crate::train::departures(&name, spec, manager, labels) {
                    Ok(departures) => {
                        for mut departure in departures {
                            if self.known.departed.contains(departure.name.as_str()) {
                                continue;
                            }
                            departure.spec.deployment = deployment.clone();
                            push(
                                RELEASES,
                                Command::DefineRelease {
                                    release: departure.name,
                                    spec: departure.spec,
                                },
                            );
                        }
                    }
                    Err((at, message)) => self.error(located, &at, message),
                }
            }
            Resource::Resource { labels, spec, .. } => {
                let mut spec = spec.clone();
                spec.labels.extend(labels.clone());
                push(
                    ENVIRONMENTS,
                    Command::DefineResource {
                        resource: name,
                        spec,
                    },
                );
            }
            Resource::Subscription { spec, .. } => {
                if let Some(command) = self.subscription(located, doc_name, name, spec) {
                    push(LINKS, command);
                }
            }
            Resource::Component {
                labels,
                spec,
                catalog,
                ..
            } => {
                let Some(team) = self.reference(located, Ref::Team, &spec.team) else {
                    return;
                };
                let n_errors = self.errors.len();
                let depends_on: Vec<Name> = spec
                    .depends_on
                    .iter()
                    .filter_map(|dependency| self.reference(located, Ref::Component, dependency))
                    .collect();
                if self.errors.len() > n_errors {
                    return;
                }
                let mut spec = ComponentSpec {
                    title: spec.title.clone(),
                    team,
                    repository: spec.repository.clone(),
                    labels: labels.clone(),
                    depends_on,
                };
                if *catalog && let Some(existing) = self.state.components().get(&name) {
                    spec.repository = spec.repository.or(existing.spec.repository.clone());
                    let mut labels = existing.spec.labels.clone();
                    labels.extend(spec.labels);
                    spec.labels = labels;
                }
                push(
                    COMPONENTS,
                    Command::DefineComponent {
                        component: name,
                        spec,
                    },
                );
            }
            Resource::Release { labels, spec, .. } => {
                let Some((manager, deployment)) = self.manager_and_zone(
                    located,
                    &doc_name.referenced,
                    &format!("release `{name}`"),
                    spec.manager.as_ref(),
                    spec.deployment.as_ref(),
                ) else {
                    return;
                };
                let release_spec = ReleaseSpec {
                    title: spec.title.clone(),
                    kind: spec.kind,
                    version: spec.version.clone(),
                    target_date: spec.target_date,
                    feature_freeze: spec.feature_freeze,
                    code_freeze: spec.code_freeze,
                    manager,
                    milestones: spec.milestones.clone(),
                    deployment,
                    labels: labels.clone(),
                };
                push(
                    RELEASES,
                    Command::DefineRelease {
                        release: name.clone(),
                        spec: release_spec,
                    },
                );
                if let Some(rules) = &spec.approvals {
                    let Some(rules) = self.approval_rules(located, rules) else {
                        return;
                    };
                    // After the items (links phase), before a release state that
                    // could close the release.
                    push(
                        LINKS,
                        Command::DefineApprovalRules {
                            release: name.clone(),
                            rules,
                        },
                    );
                }
                if let Some(to) = spec.state {
                    // A release declared shipped that the program has as planned (or not
                    // at all: an export applied to an empty log) passes through in
                    // progress, as it did when it shipped.
                    use lockstep_core::ReleaseState;
                    let now = self
                        .state
                        .releases()
                        .get(&name)
                        .map_or(ReleaseState::Planned, |r| r.state);
                    if to == ReleaseState::Released && now == ReleaseState::Planned {
                        push(
                            RELEASE_STATE,
                            Command::ChangeReleaseState {
                                release: name.clone(),
                                to: ReleaseState::InProgress,
                            },
                        );
                    }
                    push(
                        RELEASE_STATE,
                        Command::ChangeReleaseState {
                            release: name.clone(),
                            to,
                        },
                    );
                }
                for item in &spec.items {
                    if let Some(inline_release) = &item.release {
                        self.error(located, &inline_release.referenced, "an inline item takes its release from the enclosing Release; remove `release`".to_owned());
                        continue;
                    }
                    let Some((item_name, location)) = self.inline_name(
                        located,
                        item.name.as_ref(),
                        &item.team.referenced,
                        "an inline item needs a `name`".to_owned(),
                    ) else {
                        continue;
                    };
                    self.item(located, location, item_name, name.clone(), item, phases);
                }
                for task in &spec.integration_tasks {
                    let Some((task_name, location)) = self.inline_name(
                        located,
                        task.name.as_ref(),
                        &doc_name.referenced,
                        format!("an integration task of `{name}` needs a `name`"),
                    ) else {
                        continue;
                    };
                    self.integration_task(located, location, task_name, name.clone(), task, phases);
                }
            }
            Resource::Item { spec, .. } => {
                let Some(release) = &spec.release else {
                    self.error(
                        located,
                        &doc_name.referenced,
                        format!("item `{name}`: spec.release is required"),
                    );
                    return;
                };
                let Some(release) = self.reference(located, Ref::Release, release) else {
                    return;
                };
                self.item(located, location, name, release, spec, phases);
            }
            Resource::Dependency { spec, .. } => {
                let blocker = self.reference(located, Ref::Item, &spec.blocker);
                let blocked = self.reference(located, Ref::Item, &spec.blocked);
                if let (Some(blocker), Some(blocked)) = (blocker, blocked) {
                    push(
                        LINKS,
                        Command::DefineDependency {
                            blocker,
                            blocked,
                            need_by: spec.need_by,
                            buffer_days: spec.buffer_days,
                        },
                    );
                }
            }
            Resource::ChecklistTemplate { spec, .. } => {
                let before = self.errors.len();
                let mut ids = BTreeSet::new();
                let mut items = Vec::new();
                for item in &spec.items {
                    let id = self.name(located, &item.id);
                    if !ids.insert(item.id.value.as_str()) {
                        self.error(
                            located,
                            &item.id.referenced,
                            format!("duplicate checklist item `{}`", item.id.value),
                        );
                    }
                    let owner = self.role(located, &item.owner);
                    if let (Some(id), Some(owner)) = (id, owner) {
                        items.push(ChecklistItemSpec {
                            id,
                            title: item.title.clone(),
                            phase: item.phase,
                            owner,
                            due: item.due,
                            check: item.check,
                        });
                    }
                }
                let approvals = self.approval_rules(located, &spec.approvals);
                let (Some(approvals), true) = (approvals, self.errors.len() == before) else {
                    return;
                };
                let spec = ChecklistTemplateSpec {
                    title: spec.title.clone(),
                    applies_to: spec.applies_to.clone(),
                    expedited: spec.expedited,
                    items,
                    approvals,
                };
                // Templates name people, so they come after teams; releases do
                // not depend on them (checklists are derived).
                push(
                    RELEASES,
                    Command::DefineChecklistTemplate {
                        template: name,
                        spec,
                    },
                );
            }
            Resource::Risk { labels, spec, .. } => {
                if let Some(commands) = self.risk(located, name, labels, spec) {
                    for command in commands {
                        push(LINKS, command);
                    }
                }
            }
            Resource::Interface {
                labels,
                spec,
                catalog,
                ..
            } => {
                if let Some(mut command) = self.interface(located, doc_name, name, labels, spec) {
                    // A catalog declares no versions: the interface keeps all it has,
                    // drafts included, and its labels.
                    if *catalog
                        && let Command::DefineInterface { interface, spec } = &mut command
                        && let Some(existing) = self.state.contracts().interfaces.get(interface)
                    {
                        spec.versions = existing.spec.versions.clone();
                        let mut labels = existing.spec.labels.clone();
                        labels.extend(std::mem::take(&mut spec.labels));
                        spec.labels = labels;
                    }
                    push(CONTRACTS, command);
                }
            }
            Resource::IntegrationTask { spec, .. } => {
                let Some(release) = &spec.release else {
                    self.error(
                        located,
                        &doc_name.referenced,
                        format!("integration task `{name}`: spec.release is required"),
                    );
                    return;
                };
                let Some(release) = self.reference(located, Ref::Release, release) else {
                    return;
                };
                self.integration_task(located, location, name, release, spec, phases);
            }
        }
    }

    /// A `Risk`: every reference and level checked where it is written, all errors at
    /// once; the declaration, then its status when one is written.
    fn risk(
        &mut self,
        located: &Located,
        name: Name,
        labels: &lockstep_core::Labels,
        doc: &crate::wire::RiskDoc,
    ) -> Option<Vec<Command>> {
        let before = self.errors.len();
        let release = self.reference(located, Ref::Release, &doc.release);
        let owner = self.reference(located, Ref::Member, &doc.owner);
        let levels = RiskLevel::ALL.map(RiskLevel::as_str);
        let probability = self.word(located, "probability", &doc.probability, &levels);
        let impact = self.word(located, "impact", &doc.impact, &levels);
        let statuses = RiskStatus::ALL.map(RiskStatus::as_str);
        let status = doc
            .status
            .as_ref()
            .and_then(|status| self.word(located, "status", status, &statuses));
        let mut items = Vec::new();
        for item in &doc.items {
            let Some(parsed) = self.reference(located, Ref::Item, item) else {
                continue;
            };
            let item_release = self.known.item_releases.get(&item.value).cloned();
            if let Some(item_release) = item_release
                && item_release != doc.release.value
            {
                self.error(
                    located,
                    &item.referenced,
                    format!(
                        "item `{}` is in release `{item_release}`, not `{}`: a risk concerns items of its own release",
                        item.value, doc.release.value
                    ),
                );
                continue;
            }
            items.push(parsed);
        }
        if self.errors.len() > before {
            return None;
        }
        let (release, owner, probability, impact) = (release?, owner?, probability?, impact?);
        let mut commands = vec![Command::DefineRisk {
            risk: name.clone(),
            release,
            spec: RiskSpec {
                title: doc.title.clone(),
                probability: RiskLevel::parse(probability)?,
                impact: RiskLevel::parse(impact)?,
                owner,
                mitigation: doc.mitigation.clone(),
                feature_flag: doc.feature_flag.clone(),
                items,
                trigger: doc.trigger.clone(),
                review_by: doc.review_by,
                labels: labels.clone(),
            },
        }];
        if let Some(status) = status.and_then(RiskStatus::parse) {
            commands.push(Command::ChangeRiskStatus {
                risk: name,
                to: status,
            });
        }
        Some(commands)
    }

    /// An `Interface`: its producer, component and consumers checked where they are
    /// written, its type, versions, compatibilities and statuses parsed where they are
    /// written, and each version checked against the one before it, all errors at once.
    fn interface(
        &mut self,
        located: &Located,
        doc_name: &Spanned<String>,
        name: Name,
        labels: &lockstep_core::Labels,
        doc: &crate::wire::InterfaceDoc,
    ) -> Option<Command> {
        use lockstep_core::contract::{
            Compatibility, Consumer, InterfaceSpec, InterfaceType, InterfaceVersion, Version,
            VersionStatus, bump_error,
        };
        let before = self.errors.len();
        let producer = self.reference(located, Ref::Team, &doc.producer);
        let component = doc
            .component
            .as_ref()
            .map(|component| self.reference(located, Ref::Component, component));
        let mut consumers = Vec::new();
        for consumer in &doc.consumers {
            match (&consumer.team, &consumer.component) {
                (Some(team), None) => {
                    consumers.extend(self.reference(located, Ref::Team, team).map(Consumer::Team));
                }
                (None, Some(component)) => consumers.extend(
                    self.reference(located, Ref::Component, component)
                        .map(Consumer::Component),
                ),
                (Some(team), Some(_)) => self.error(
                    located,
                    &team.referenced,
                    "a consumer is a team or a component, not both: write two entries".to_owned(),
                ),
                (None, None) => self.error(
                    located,
                    &doc_name.referenced,
                    format!("interface `{name}`: every consumer names a `team` or a `component`"),
                ),
            }
        }
        let kind = self.word(
            located,
            "interface type",
            &doc.kind,
            &InterfaceType::words(),
        );
        let mut versions: Vec<InterfaceVersion> = Vec::new();
        let mut previous: Option<Version> = None;
        for written in &doc.versions {
            let version = match Version::parse(&written.version.value) {
                Ok(version) => Some(version),
                Err(error) => {
                    self.error(located, &written.version.referenced, error);
                    None
                }
            };
            let compatibility = self.word(
                located,
                "compatibility",
                &written.compatibility,
                &Compatibility::words(),
            );
            let status = match &written.status {
                Some(status) => {
                    self.word(located, "version status", status, &VersionStatus::words())
                }
                None => Some("draft"),
            };
            let (Some(version), Some(compatibility), Some(status)) = (
                version,
                compatibility.and_then(Compatibility::parse),
                status.and_then(VersionStatus::parse),
            ) else {
                continue;
            };
            if let Some(previous) = &previous {
                if version <= *previous {
                    self.error(
                        located,
                        &written.version.referenced,
                        format!(
                            "{version} comes after {previous}: list versions once each, oldest first"
                        ),
                    );
                } else if let Some(reason) = bump_error(previous, &version, compatibility) {
                    self.error(located, &written.compatibility.referenced, reason);
                }
            }
            previous = Some(version.clone());
            versions.push(InterfaceVersion {
                version,
                compatibility,
                changelog: written.changelog.clone(),
                status,
            });
        }
        if self.errors.len() > before {
            return None;
        }
        Some(Command::DefineInterface {
            interface: name,
            spec: InterfaceSpec {
                title: doc.title.clone(),
                producer: producer?,
                component: match component {
                    Some(found) => Some(found?),
                    None => None,
                },
                consumers,
                kind: InterfaceType::parse(kind?)?,
                versions,
                labels: labels.clone(),
            },
        })
    }

    /// One of `words`, or an error where `raw` is written naming the closest and all.
    fn word<'w>(
        &mut self,
        located: &Located,
        field: &str,
        raw: &Spanned<String>,
        words: &[&'w str],
    ) -> Option<&'w str> {
        if let Some(word) = words.iter().find(|word| **word == raw.value) {
            return Some(word);
        }
        let hint = suggest::hint(&raw.value, words.iter().copied());
        self.error(
            located,
            &raw.referenced,
            format!(
                "unknown {field} `{}`{hint}; use one of {}",
                raw.value,
                words.join(", ")
            ),
        );
        None
    }

    /// A role by its kebab-case name, reported where it is written with the
    /// closest role when unknown.
    fn role(&mut self, located: &Located, raw: &Spanned<String>) -> Option<Role> {
        if let Some(role) = Role::parse(&raw.value) {
            return Some(role);
        }
        let names = Role::ALL.map(Role::as_str);
        let hint = suggest::hint(&raw.value, names);
        self.error(
            located,
            &raw.referenced,
            format!(
                "unknown role `{}`{hint}; roles: {}",
                raw.value,
                names.join(", ")
            ),
        );
        None
    }

    /// Approval rules with every named person checked where it is written.
    fn approval_rules(
        &mut self,
        located: &Located,
        docs: &[ApprovalRuleDoc],
    ) -> Option<Vec<ApprovalRule>> {
        let before = self.errors.len();
        let rules: Vec<ApprovalRule> = docs
            .iter()
            .map(|doc| ApprovalRule {
                role: doc.role.as_ref().and_then(|role| self.role(located, role)),
                people: doc
                    .people
                    .iter()
                    .filter_map(|person| self.reference(located, Ref::Member, person))
                    .collect(),
                quorum: doc.quorum,
            })
            .collect();
        (self.errors.len() == before).then_some(rules)
    }

    fn item(
        &mut self,
        located: &Located,
        location: Location,
        item: Name,
        release: Name,
        doc: &ItemDoc,
        phases: &mut [Vec<LocatedCommand>; 9],
    ) {
        let team = self.reference(located, Ref::Team, &doc.team);
        let component = match &doc.component {
            Some(component) => match self.reference(located, Ref::Component, component) {
                Some(component) => Some(component),
                None => return,
            },
            None => None,
        };
        let mut uses = BTreeMap::new();
        for used in &doc.uses {
            let Some(resource) = self.reference(located, Ref::Resource, &used.resource) else {
                return;
            };
            if uses.insert(resource, used.amount).is_some() {
                self.error(
                    located,
                    &used.resource.referenced,
                    format!(
                        "resource `{}` is listed twice in `uses`: give it once, with the amount held",
                        used.resource.value
                    ),
                );
                return;
            }
        }
        let Some(team) = team else { return };
        let mut push = |phase: usize, command: Command| {
            phases[phase].push(LocatedCommand {
                command,
                location: location.clone(),
            });
        };
        let spec = ItemSpec {
            title: doc.title.clone(),
            team,
            component,
            acceptance_criteria: doc.acceptance_criteria.clone(),
            labels: doc.labels.clone(),
            due: doc.due,
            estimate: doc.estimate,
            uses,
            pinned_start: doc.pinned_start,
        };
        push(
            ITEMS,
            Command::DefineItem {
                item: item.clone(),
                release,
                spec,
            },
        );
        if let Some(to) = doc.status {
            push(
                ITEM_STATE,
                Command::MoveItem {
                    item: item.clone(),
                    to,
                },
            );
        }
        if let Some(eta) = doc.eta {
            push(
                ITEM_STATE,
                Command::SetEta {
                    item: item.clone(),
                    eta: Some(eta),
                },
            );
        }
        for update in &doc.updates {
            push(
                ITEM_STATE,
                Command::PostUpdate {
                    item: item.clone(),
                    update: update.clone(),
                },
            );
        }
        let mut links = Vec::new();
        let mut blockers = BTreeSet::new();
        for DependsOnDoc {
            item: blocker,
            need_by,
            buffer_days,
        } in &doc.depends_on
        {
            if !blockers.insert(&blocker.value) {
                // Two entries would redefine one dependency on every apply.
                self.error(
                    located,
                    &blocker.referenced,
                    format!(
                        "`{}` is listed twice in `dependsOn`: one dependency has one need-by date and buffer",
                        blocker.value
                    ),
                );
                continue;
            }
            if let Some(blocker) = self.reference(located, Ref::Item, blocker) {
                links.push(Command::DefineDependency {
                    blocker,
                    blocked: item.clone(),
                    need_by: *need_by,
                    buffer_days: *buffer_days,
                });
            }
        }
        phases[LINKS].extend(links.into_iter().map(|command| LocatedCommand {
            command,
            location: location.clone(),
        }));
    }

    fn integration_task(
        &mut self,
        located: &Located,
        location: Location,
        task: Name,
        release: Name,
        doc: &IntegrationTaskDoc,
        phases: &mut [Vec<LocatedCommand>; 9],
    ) {
        let before = self.errors.len();
        let resolved_components: Vec<Name> = doc
            .components
            .iter()
            .filter_map(|c| self.reference(located, Ref::Component, c))
            .collect();
        let owners: Vec<Name> = doc
            .owners
            .iter()
            .filter_map(|o| self.reference(located, Ref::Member, o))
            .collect();
        let environment = doc
            .environment
            .as_ref()
            .and_then(|e| self.reference(located, Ref::Environment, e));
        let milestone = doc
            .milestone
            .as_ref()
            .and_then(|m| self.reference(located, Ref::Milestone(release.as_str()), m));
        if self.errors.len() > before {
            return;
        }
        let spec = IntegrationTaskSpec {
            title: doc.title.clone(),
            phase: doc.phase,
            milestone,
            components: resolved_components,
            owners,
            due: doc.due,
            environment,
            scenarios: doc.scenarios.clone(),
        };
        phases[LINKS].push(LocatedCommand {
            command: Command::DefineIntegrationTask {
                task,
                release,
                spec,
            },
            location,
        });
    }
}
