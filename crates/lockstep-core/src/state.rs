//! The state of the release program: everything the events say, folded.
//!
//! [`State::apply`] is replay: it never fails and never re-validates, because
//! `decide` already did. The state also counts the events of each stream, so that
//! a writer can tell the store which version of a stream its decision read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::{
    Blackout, Component, Dependency, Environment, Event, IntegrationTask, Item, Name, Release,
    Resource, Signal, SignalKey, Team, normalize_repository,
};

/// The id of an event stream: the unit of optimistic concurrency. One per team,
/// component, environment and release; a release's stream holds its items,
/// dependencies and integration tasks.
pub type StreamId = String;

/// Whether `stream` has the form of a stream id, `KIND:NAME` (`release:q1-2025`,
/// `run:q1-2025`, `component:analytics-api`): anything else would only ever read as an
/// empty history.
pub fn is_stream_id(stream: &str) -> bool {
    stream.len() <= 200
        && stream.split_once(':').is_some_and(|(kind, name)| {
            !kind.is_empty()
                && kind.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
        })
}

/// Everything the log says, as of `position`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    teams: BTreeMap<Name, Team>,
    components: BTreeMap<Name, Component>,
    environments: BTreeMap<Name, Environment>,
    releases: BTreeMap<Name, Release>,
    #[serde(default)]
    blackouts: BTreeMap<Name, Blackout>,
    resources: BTreeMap<Name, Resource>,
    subscriptions: BTreeMap<Name, crate::Subscription>,
    items: BTreeMap<Name, Item>,
    /// Release to the names of its items: the index behind [`State::items_of`].
    #[serde(default)]
    release_items: BTreeMap<Name, BTreeSet<Name>>,
    /// By blocker, then blocked: what an item blocks is one lookup, with no key to
    /// build. A list on the wire.
    #[serde(with = "dependency_list")]
    dependencies: BTreeMap<Name, BTreeMap<Name, Dependency>>,
    /// Blocked item to its blockers: the reverse index of `dependencies`.
    blocked_by: BTreeMap<Name, BTreeSet<Name>>,
    integration_tasks: BTreeMap<Name, IntegrationTask>,
    /// The risk register: risks people declared, by name.
    #[serde(default)]
    risks: BTreeMap<Name, crate::Risk>,
    /// Change requests by name (`cr-1`…).
    #[serde(default)]
    change_requests: BTreeMap<Name, crate::change::ChangeRequest>,
    /// Lessons kept with each release, in the order they were recorded.
    #[serde(default)]
    lessons: BTreeMap<Name, Vec<crate::Lesson>>,
    /// Coordination time recorded on each release, in the order it was recorded.
    #[serde(default)]
    coordination: BTreeMap<Name, Vec<crate::coordination::CoordinationEntry>>,
    /// Each person's latest rating of each release's coordination.
    #[serde(default)]
    ratings: BTreeMap<Name, BTreeMap<String, crate::coordination::Rating>>,
    /// Member handle to team.
    member_teams: BTreeMap<Name, Name>,
    stream_versions: HashMap<StreamId, i64>,
    position: i64,
    /// The latest signal of each kind per component and environment. A list on
    /// the wire (tuple keys are not JSON object keys).
    #[serde(default, with = "signal_list")]
    signals: BTreeMap<SignalKey, Signal>,
    /// Delivery ids already recorded, so that a redelivery changes nothing.
    #[serde(default)]
    signal_deliveries: BTreeSet<String>,
    /// Checklist templates, ticks, approval rules and sign-offs.
    #[serde(default)]
    checklists: crate::checklist::Ledger,
    /// The latest deployment run of each release.
    #[serde(default)]
    runs: BTreeMap<Name, crate::run::Run>,
    /// Blocker item to the escalations acknowledged for it, by the event that raised
    /// each (`release:q1-2025@24`).
    #[serde(default)]
    acknowledged: BTreeMap<Name, BTreeSet<String>>,
    /// Interfaces, their verifications and proposals, and deployed versions.
    #[serde(default)]
    contracts: crate::contract::Ledger,
}

impl State {
    /// An empty program.
    pub fn new() -> State {
        State::default()
    }

    /// Position of the last event applied (0 when none).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// How many events of `stream` have been applied.
    pub fn stream_version(&self, stream: &str) -> i64 {
        self.stream_versions.get(stream).copied().unwrap_or(0)
    }

    /// Teams by name.
    pub fn teams(&self) -> &BTreeMap<Name, Team> {
        &self.teams
    }
    /// Components by name.
    pub fn components(&self) -> &BTreeMap<Name, Component> {
        &self.components
    }
    /// Change requests by name, in the order they were proposed for equal lengths
    /// (`cr-1` … `cr-9`, then `cr-10`…).
    pub fn change_requests(&self) -> &BTreeMap<Name, crate::change::ChangeRequest> {
        &self.change_requests
    }

    /// Environments by name.
    pub fn environments(&self) -> &BTreeMap<Name, Environment> {
        &self.environments
    }
    /// Releases by name.
    pub fn releases(&self) -> &BTreeMap<Name, Release> {
        &self.releases
    }
    /// The latest signal of each kind, per component and environment.
    pub fn signals(&self) -> &BTreeMap<SignalKey, Signal> {
        &self.signals
    }
    /// The latest signals about `component` (in any environment).
    pub fn signals_of<'s>(&'s self, component: &'s Name) -> impl Iterator<Item = &'s Signal> + 's {
        self.signals
            .values()
            .filter(move |signal| signal.component == *component)
    }
    /// Whether a signal with this delivery id was already recorded.
    pub fn has_signal_delivery(&self, delivery: &str) -> bool {
        self.signal_deliveries.contains(delivery)
    }
    /// The component whose `repository` is `repository`, compared after
    /// normalization (scheme, `.git`, case).
    pub fn component_by_repository(&self, repository: &str) -> Option<&Component> {
        let wanted = normalize_repository(repository);
        self.components.values().find(|component| {
            component
                .spec
                .repository
                .as_deref()
                .is_some_and(|own| normalize_repository(own) == wanted)
        })
    }
    /// Subscriptions to generated messages by name.
    pub fn subscriptions(&self) -> &BTreeMap<Name, crate::Subscription> {
        &self.subscriptions
    }

    /// Checklist templates and each release's ticks, rules and sign-offs.
    pub fn checklists(&self) -> &crate::checklist::Ledger {
        &self.checklists
    }

    /// Whether the escalation of blocker `item` raised by the event `escalation`
    /// (`release:q1-2025@24`) was acknowledged.
    pub fn is_acknowledged(&self, item: &Name, escalation: &str) -> bool {
        self.acknowledged
            .get(item)
            .is_some_and(|acknowledged| acknowledged.contains(escalation))
    }

    /// Interfaces (with their verifications and proposals) and the component versions
    /// deployed in each environment.
    pub fn contracts(&self) -> &crate::contract::Ledger {
        &self.contracts
    }

    /// The latest deployment run of each release, by release.
    pub fn runs(&self) -> &BTreeMap<Name, crate::run::Run> {
        &self.runs
    }

    /// Blackout windows by name.
    pub fn blackouts(&self) -> &BTreeMap<Name, Blackout> {
        &self.blackouts
    }

    /// Shared resources by name.
    pub fn resources(&self) -> &BTreeMap<Name, Resource> {
        &self.resources
    }
    /// Items by name.
    pub fn items(&self) -> &BTreeMap<Name, Item> {
        &self.items
    }
    /// Integration tasks by name.
    pub fn integration_tasks(&self) -> &BTreeMap<Name, IntegrationTask> {
        &self.integration_tasks
    }
    /// Every lesson kept, with its release, newest first; those whose text or release
    /// contain `search` (case-insensitive) when given.
    pub fn lessons(&self, search: Option<&str>) -> Vec<(&Name, &crate::Lesson)> {
        let search = search.map(str::to_lowercase);
        let mut found: Vec<(&Name, &crate::Lesson)> = self
            .lessons
            .iter()
            .flat_map(|(release, lessons)| lessons.iter().map(move |l| (release, l)))
            .filter(|(release, lesson)| {
                search.as_deref().is_none_or(|s| {
                    lesson.text.to_lowercase().contains(s) || release.as_str().contains(s)
                })
            })
            .collect();
        found.sort_by(|a, b| b.1.at.cmp(&a.1.at).then(a.0.cmp(b.0)));
        found
    }

    /// The lessons kept with `release`, oldest first.
    pub fn lessons_of(&self, release: &Name) -> &[crate::Lesson] {
        self.lessons.get(release).map_or(&[], Vec::as_slice)
    }

    /// The coordination records of `release`, retracted ones included, oldest first.
    pub fn coordination_of(&self, release: &Name) -> &[crate::coordination::CoordinationEntry] {
        self.coordination.get(release).map_or(&[], Vec::as_slice)
    }

    /// Each person's latest rating of the coordination of `release`, by login name.
    pub fn ratings_of(&self, release: &Name) -> Vec<crate::coordination::Rating> {
        self.ratings
            .get(release)
            .map(|ratings| ratings.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Registered risks by name.
    pub fn risks(&self) -> &BTreeMap<Name, crate::Risk> {
        &self.risks
    }
    /// The live (open or occurred) risks of `release`, highest exposure first, then by
    /// name: the order the dashboard and the weekly agenda show them in.
    pub fn live_risks_of(&self, release: &Name) -> Vec<&crate::Risk> {
        let mut risks: Vec<&crate::Risk> = self
            .risks
            .values()
            .filter(|risk| &risk.release == release && risk.status.is_live())
            .collect();
        risks.sort_by_key(|risk| std::cmp::Reverse(risk.spec.exposure()));
        risks
    }
    /// All dependencies, ordered by blocker then blocked.
    pub fn dependencies(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies.values().flat_map(BTreeMap::values)
    }
    /// The dependency `blocker → blocked`, if declared.
    pub fn dependency(&self, blocker: &Name, blocked: &Name) -> Option<&Dependency> {
        self.dependencies.get(blocker)?.get(blocked)
    }
    /// The team a member handle belongs to.
    pub fn team_of_member(&self, handle: &str) -> Option<&Name> {
        self.member_teams.get(handle)
    }

    /// Items that `item` blocks.
    pub fn blocks<'a>(&'a self, item: &Name) -> impl Iterator<Item = &'a Dependency> + 'a {
        self.dependencies
            .get(item)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// Items that block `item`.
    pub fn blocked_by<'a>(&'a self, item: &'a Name) -> impl Iterator<Item = &'a Dependency> + 'a {
        let blockers = self.blocked_by.get(item);
        blockers
            .into_iter()
            .flatten()
            .filter_map(move |blocker| self.dependencies.get(blocker)?.get(item))
    }

    /// Items of one release, in name order.
    pub fn items_of<'a>(&'a self, release: &Name) -> impl Iterator<Item = &'a Item> + 'a {
        let names = self.release_items.get(release);
        names
            .into_iter()
            .flatten()
            .filter_map(|name| self.items.get(name))
    }

    /// The path of dependencies from `from` to `to` (both included), if `to` is
    /// downstream of `from`.
    pub fn dependency_path(&self, from: &Name, to: &Name) -> Option<Vec<Name>> {
        let mut came_from: HashMap<&Name, &Name> = HashMap::new();
        let mut stack = vec![from];
        while let Some(node) = stack.pop() {
            if node == to {
                let mut path = vec![node.clone()];
                let mut at = node;
                while let Some(prev) = came_from.get(at) {
                    path.push((*prev).clone());
                    at = prev;
                }
                path.reverse();
                return Some(path);
            }
            for dependency in self.blocks(node) {
                let next = &dependency.blocked;
                if next != from && !came_from.contains_key(next) {
                    came_from.insert(next, node);
                    stack.push(next);
                }
            }
        }
        None
    }

    /// The stream an event belongs to. Item and dependency events belong to the
    /// release of their (blocked) item, which must exist when this is called.
    pub fn stream_of(&self, event: &Event) -> StreamId {
        match event {
            Event::TeamDefined { team, .. } | Event::TeamRedefined { team, .. } => {
                format!("team:{team}")
            }
            Event::ComponentDefined { component, .. }
            | Event::ComponentRedefined { component, .. } => format!("component:{component}"),
            Event::EnvironmentDefined { environment, .. }
            | Event::EnvironmentRedefined { environment, .. } => {
                format!("environment:{environment}")
            }
            Event::BlackoutDefined { blackout, .. } | Event::BlackoutRedefined { blackout, .. } => {
                format!("blackout:{blackout}")
            }
            Event::ResourceDefined { resource, .. } | Event::ResourceRedefined { resource, .. } => {
                format!("resource:{resource}")
            }
            Event::SubscriptionDefined { subscription, .. }
            | Event::SubscriptionRedefined { subscription, .. } => {
                format!("subscription:{subscription}")
            }
            Event::ReleasePlanned { release, .. }
            | Event::ReleaseRedefined { release, .. }
            | Event::ReleaseStateChanged { release, .. }
            | Event::ItemAdded { release, .. }
            | Event::IntegrationTaskDefined { release, .. }
            | Event::RiskIdentified { release, .. } => format!("release:{release}"),
            Event::LessonRecorded { release, .. }
            | Event::CoordinationRecorded { release, .. }
            | Event::CoordinationRetracted { release, .. }
            | Event::CoordinationRated { release, .. } => format!("release:{release}"),
            Event::ChangeProposed { change, .. }
            | Event::ChangeApproved { change, .. }
            | Event::ChangeRejected { change, .. }
            | Event::ChangeWithdrawn { change, .. } => format!("change:{change}"),
            Event::RiskRedefined { risk, .. } | Event::RiskStatusChanged { risk, .. } => {
                match self.risks.get(risk) {
                    Some(existing) => format!("release:{}", existing.release),
                    None => format!("risk:{risk}"),
                }
            }
            Event::ItemRedefined { item, .. }
            | Event::ItemStatusChanged { item, .. }
            | Event::ItemEtaChanged { item, .. }
            | Event::ItemUpdatePosted { item, .. }
            | Event::EscalationAcknowledged { item, .. }
            | Event::DependencyRemoved { blocked: item, .. } => self.release_stream_of_item(item),
            Event::DependencyAdded { dependency } | Event::DependencyChanged { dependency } => {
                self.release_stream_of_item(&dependency.blocked)
            }
            Event::SignalRecorded { signal } => format!("component:{}", signal.component),
            Event::InterfaceDefined { interface, .. }
            | Event::InterfaceRedefined { interface, .. }
            | Event::ContractVerified { interface, .. }
            | Event::InterfaceChangeProposed { interface, .. }
            | Event::InterfaceChangeDecided { interface, .. }
            | Event::InterfaceVersionPublished { interface, .. } => {
                crate::contract::stream(interface)
            }
            Event::ComponentDeployed { environment, .. }
            | Event::ComponentWithdrawn { environment, .. } => format!("environment:{environment}"),
            Event::ChecklistTemplateDefined { template, .. }
            | Event::ChecklistTemplateRedefined { template, .. } => {
                format!("checklist-template:{template}")
            }
            Event::ChecklistItemChecked { release, .. }
            | Event::ApprovalRulesDefined { release, .. }
            | Event::GoNoGoRequested { release, .. }
            | Event::SignOffRecorded { release, .. }
            | Event::SignOffWithdrawn { release, .. } => format!("release:{release}"),
            Event::RunStarted { release, .. }
            | Event::BreakGlassUsed { release, .. }
            | Event::RunStepChanged { release, .. }
            | Event::RollbackTriggerTripped { release, .. }
            | Event::RollbackStarted { release, .. } => crate::run::stream(release),
            Event::IntegrationTaskRedefined { task, .. }
            | Event::ScenarioResultRecorded { task, .. } => {
                match self.integration_tasks.get(task) {
                    Some(task) => format!("release:{}", task.release),
                    None => format!("integration-task:{task}"),
                }
            }
        }
    }

    fn release_stream_of_item(&self, item: &Name) -> StreamId {
        match self.items.get(item) {
            Some(item) => format!("release:{}", item.release),
            None => format!("item:{item}"),
        }
    }

    /// Folds one stored event into the state. `position` is its global position.
    pub fn apply(&mut self, position: i64, event: &Event) {
        let stream = self.stream_of(event);
        *self.stream_versions.entry(stream).or_insert(0) += 1;
        self.position = self.position.max(position);
        self.apply_event(event);
    }

    /// Folds an event that is not stored yet (while deciding a batch).
    pub(crate) fn apply_event(&mut self, event: &Event) {
        match event.clone() {
            Event::TeamDefined { team, spec } | Event::TeamRedefined { team, spec } => {
                self.member_teams.retain(|_, owner| *owner != team);
                for member in &spec.members {
                    self.member_teams
                        .insert(member.handle.clone(), team.clone());
                }
                self.teams.insert(team.clone(), Team { name: team, spec });
            }
            Event::ComponentDefined { component, spec }
            | Event::ComponentRedefined { component, spec } => {
                self.components.insert(
                    component.clone(),
                    Component {
                        name: component,
                        spec,
                    },
                );
            }
            Event::EnvironmentDefined { environment, spec }
            | Event::EnvironmentRedefined { environment, spec } => {
                self.environments.insert(
                    environment.clone(),
                    Environment {
                        name: environment,
                        spec,
                    },
                );
            }
            Event::SubscriptionDefined { subscription, spec }
            | Event::SubscriptionRedefined { subscription, spec } => {
                self.subscriptions.insert(
                    subscription.clone(),
                    crate::Subscription {
                        name: subscription,
                        spec,
                    },
                );
            }
            Event::BlackoutDefined { blackout, spec }
            | Event::BlackoutRedefined { blackout, spec } => {
                self.blackouts.insert(
                    blackout.clone(),
                    Blackout {
                        name: blackout,
                        spec,
                    },
                );
            }
            Event::ResourceDefined { resource, spec }
            | Event::ResourceRedefined { resource, spec } => {
                self.resources.insert(
                    resource.clone(),
                    Resource {
                        name: resource,
                        spec,
                    },
                );
            }
            Event::ReleasePlanned { release, spec } => {
                self.releases.insert(
                    release.clone(),
                    Release {
                        name: release,
                        spec,
                        state: Default::default(),
                    },
                );
            }
            Event::ReleaseRedefined { release, spec } => {
                if let Some(existing) = self.releases.get_mut(&release) {
                    existing.spec = spec;
                }
            }
            Event::ReleaseStateChanged { release, to, .. } => {
                if let Some(existing) = self.releases.get_mut(&release) {
                    existing.state = to;
                }
            }
            Event::ItemAdded {
                item,
                release,
                spec,
            } => {
                self.release_items
                    .entry(release.clone())
                    .or_default()
                    .insert(item.clone());
                self.items.insert(
                    item.clone(),
                    Item {
                        name: item,
                        release,
                        spec,
                        status: Default::default(),
                        eta: None,
                        updates: Vec::new(),
                    },
                );
            }
            Event::ItemRedefined { item, spec } => {
                if let Some(existing) = self.items.get_mut(&item) {
                    existing.spec = spec;
                }
            }
            Event::ItemStatusChanged { item, to, .. } => {
                if let Some(existing) = self.items.get_mut(&item) {
                    existing.status = to;
                }
            }
            Event::ItemEtaChanged { item, to, .. } => {
                if let Some(existing) = self.items.get_mut(&item) {
                    existing.eta = to;
                }
            }
            Event::ItemUpdatePosted { item, update } => {
                if let Some(existing) = self.items.get_mut(&item) {
                    existing.updates.push(update);
                }
            }
            Event::DependencyAdded { dependency } | Event::DependencyChanged { dependency } => {
                self.blocked_by
                    .entry(dependency.blocked.clone())
                    .or_default()
                    .insert(dependency.blocker.clone());
                self.dependencies
                    .entry(dependency.blocker.clone())
                    .or_default()
                    .insert(dependency.blocked.clone(), dependency);
            }
            Event::DependencyRemoved { blocker, blocked } => {
                if let Some(blockers) = self.blocked_by.get_mut(&blocked) {
                    blockers.remove(&blocker);
                    if blockers.is_empty() {
                        self.blocked_by.remove(&blocked);
                    }
                }
                if let Some(blocked_items) = self.dependencies.get_mut(&blocker) {
                    blocked_items.remove(&blocked);
                    if blocked_items.is_empty() {
                        self.dependencies.remove(&blocker);
                    }
                }
            }
            Event::IntegrationTaskDefined {
                task,
                release,
                spec,
            } => {
                self.integration_tasks.insert(
                    task.clone(),
                    IntegrationTask {
                        name: task,
                        release,
                        spec,
                    },
                );
            }
            Event::IntegrationTaskRedefined { task, spec } => {
                if let Some(existing) = self.integration_tasks.get_mut(&task) {
                    existing.spec = spec;
                }
            }
            Event::ScenarioResultRecorded {
                task,
                scenario,
                result,
            } => {
                if let Some(scenario) = self
                    .integration_tasks
                    .get_mut(&task)
                    .and_then(|existing| existing.spec.scenarios.get_mut(scenario))
                {
                    scenario.result = result;
                }
            }
            Event::RiskIdentified {
                risk,
                release,
                spec,
            } => {
                self.risks.insert(
                    risk.clone(),
                    crate::Risk {
                        name: risk,
                        release,
                        spec,
                        status: Default::default(),
                    },
                );
            }
            Event::RiskRedefined { risk, spec } => {
                if let Some(existing) = self.risks.get_mut(&risk) {
                    existing.spec = spec;
                }
            }
            Event::RiskStatusChanged { risk, to, .. } => {
                if let Some(existing) = self.risks.get_mut(&risk) {
                    existing.status = to;
                }
            }
            Event::ChangeProposed {
                change,
                title,
                sources,
                releases,
                by,
                at,
            } => {
                self.change_requests.insert(
                    change.clone(),
                    crate::change::ChangeRequest {
                        name: change,
                        title,
                        sources,
                        releases,
                        requested_by: by,
                        requested_at: at,
                        status: crate::change::ChangeStatus::Open,
                        decision: None,
                    },
                );
            }
            Event::ChangeApproved { change, decision }
            | Event::ChangeRejected { change, decision } => {
                let approved = matches!(event, Event::ChangeApproved { .. });
                if let Some(request) = self.change_requests.get_mut(&change) {
                    request.status = if approved {
                        crate::change::ChangeStatus::Approved
                    } else {
                        crate::change::ChangeStatus::Rejected
                    };
                    request.decision = Some(decision);
                }
            }
            Event::LessonRecorded {
                release,
                text,
                by,
                at,
            } => {
                self.lessons
                    .entry(release)
                    .or_default()
                    .push(crate::Lesson { text, by, at });
            }
            Event::CoordinationRecorded { release, entry } => {
                self.coordination.entry(release).or_default().push(entry);
            }
            Event::CoordinationRated { release, rating } => {
                self.ratings
                    .entry(release)
                    .or_default()
                    .insert(rating.by.clone(), rating);
            }
            Event::CoordinationRetracted {
                release,
                number,
                by,
                at,
            } => {
                if let Some(entry) = self
                    .coordination
                    .get_mut(&release)
                    .and_then(|entries| entries.iter_mut().find(|e| e.number == number))
                {
                    entry.retracted = Some(crate::coordination::Retraction { by, at });
                }
            }
            Event::ChangeWithdrawn { change, by, at } => {
                if let Some(request) = self.change_requests.get_mut(&change) {
                    request.status = crate::change::ChangeStatus::Withdrawn;
                    request.decision = Some(crate::change::ChangeDecision {
                        by,
                        at,
                        rationale: None,
                    });
                }
            }
            Event::SignalRecorded { signal } => {
                self.signal_deliveries.insert(signal.delivery.clone());
                crate::run::observe_signal(&mut self.runs, &signal);
                self.signals.insert(signal.key(), signal);
            }
            checklist @ (Event::ChecklistTemplateDefined { .. }
            | Event::ChecklistTemplateRedefined { .. }
            | Event::ChecklistItemChecked { .. }
            | Event::ApprovalRulesDefined { .. }
            | Event::GoNoGoRequested { .. }
            | Event::SignOffRecorded { .. }
            | Event::SignOffWithdrawn { .. }) => self.checklists.apply(&checklist),
            run_event @ (Event::RunStarted { .. }
            | Event::BreakGlassUsed { .. }
            | Event::RunStepChanged { .. }
            | Event::RollbackTriggerTripped { .. }
            | Event::RollbackStarted { .. }) => crate::run::apply(&mut self.runs, &run_event),
            contract @ (Event::InterfaceDefined { .. }
            | Event::InterfaceRedefined { .. }
            | Event::ContractVerified { .. }
            | Event::ComponentDeployed { .. }
            | Event::ComponentWithdrawn { .. }
            | Event::InterfaceChangeProposed { .. }
            | Event::InterfaceChangeDecided { .. }
            | Event::InterfaceVersionPublished { .. }) => self.contracts.apply(&contract),
            Event::EscalationAcknowledged {
                item, escalations, ..
            } => self
                .acknowledged
                .entry(item)
                .or_default()
                .extend(escalations),
        }
    }
}

mod signal_list {
    //! Serializes the latest signals as a list: their keys are tuples.
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::{Signal, SignalKey};

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<SignalKey, Signal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<SignalKey, Signal>, D::Error> {
        Ok(Vec::<Signal>::deserialize(deserializer)?
            .into_iter()
            .map(|signal| (signal.key(), signal))
            .collect())
    }
}

mod dependency_list {
    //! Serializes the dependency map as a list: JSON object keys must be strings.
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::{Dependency, Name};

    type ByBlocker = BTreeMap<Name, BTreeMap<Name, Dependency>>;

    pub fn serialize<S: Serializer>(map: &ByBlocker, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.values().flat_map(BTreeMap::values))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ByBlocker, D::Error> {
        let mut map = ByBlocker::new();
        for dependency in Vec::<Dependency>::deserialize(deserializer)? {
            map.entry(dependency.blocker.clone())
                .or_default()
                .insert(dependency.blocked.clone(), dependency);
        }
        Ok(map)
    }
}
