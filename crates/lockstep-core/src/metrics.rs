//! Release metrics and retrospectives, read off the event log.
//!
//! The state holds what is true now; these figures need *when* things happened (an item
//! reaching testing, a release shipping, a rollback), which only the log's metadata
//! records. [`Ledger`] folds the log once, event by event, so a server keeps it current
//! by folding what it commits; [`Ledger::metrics`] and [`Ledger::retrospective`] read it
//! together with the current [`State`]. Pure: the caller passes the period and `now`.
//!
//! The measures are those of the seeds' "Release Metrics to Track": release frequency,
//! deployment success rate, time from code complete to production, rollbacks and hotfixes,
//! incidents after a deployment, plus on-time delivery, preparation time, surprise
//! dependencies and the share of deployment windows free of conflicts (the product's
//! promise), and the coordination time per release with the last-minute changes to its
//! plan ([`crate::coordination`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::coordination::{
    CoordinationReport, LATE_CHANGE_HOURS, LateChange, TARGET_MINUTES, deployment_start, is_late,
    is_person, is_plan_change, planned_start,
};
use crate::{
    Event, EventMeta, IssueSeverity, ItemStatus, Name, ReleaseKind, ReleaseState, RiskStatus,
    ScenarioResult, State,
};

/// How long after a deployment an opened critical or high issue on a deployed component
/// counts as an incident of that release.
pub const INCIDENT_DAYS: i64 = 7;

/// What the log says about one release.
#[derive(Clone, Debug, Default)]
struct ReleaseFacts {
    kind: ReleaseKind,
    target: Option<Date>,
    planned_at: Option<Timestamp>,
    released_at: Option<Timestamp>,
    /// Run number to (started, rolled back at).
    runs: BTreeMap<u32, (Timestamp, Option<Timestamp>)>,
    /// (item, from, to, when, who) for every ETA that moved later.
    slips: Vec<Slip>,
    /// (blocker, blocked, when) of dependencies added after planning began.
    surprises: Vec<(Name, Name, Timestamp)>,
    dependencies: usize,
    break_glass: Vec<String>,
    /// Status updates posted, by team.
    updates: BTreeMap<Name, usize>,
    /// When each person acted on the release: their time in Lockstep.
    actions: BTreeMap<String, Vec<Timestamp>>,
    /// Every change to its plan after it was first planned, for the late ones.
    plan_changes: Vec<LateChange>,
}

#[derive(Clone, Debug)]
struct Slip {
    item: Name,
    from: Date,
    to: Date,
    at: Timestamp,
    by: String,
}

#[derive(Clone, Debug)]
struct ItemFacts {
    release: Name,
    team: Name,
    added_at: Timestamp,
    /// When it first moved to testing or later: code complete. Unknown (`None`) for an
    /// item declared already past development, since the log has no earlier moment.
    complete_at: Option<Timestamp>,
}

/// An opened issue: (component, number, title, severity, observed at).
#[derive(Clone, Debug)]
struct Issue {
    component: Name,
    number: u64,
    title: String,
    severity: IssueSeverity,
    at: Timestamp,
}

/// The timed facts of a program, folded from its log.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    position: i64,
    releases: BTreeMap<Name, ReleaseFacts>,
    items: BTreeMap<Name, ItemFacts>,
    /// Risk and integration task to release.
    risks: BTreeMap<Name, Name>,
    tasks: BTreeMap<Name, Name>,
    /// Change request to the releases it touched when proposed.
    changes: BTreeMap<Name, Vec<Name>>,
    /// Interface change proposal (interface, number) to the releases it touched.
    proposals: BTreeMap<(Name, u32), Vec<Name>>,
    issues: Vec<Issue>,
    /// The accounts that are not people (set by the caller, who keeps the users).
    automation: BTreeSet<String>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Names the automation accounts: their actions are no one's coordination time. The
    /// set is read when a report is made, so marking an account applies to its past too.
    pub fn set_automation(&mut self, accounts: BTreeSet<String>) {
        self.automation = accounts;
    }

    /// Position of the last event folded; fold only later ones.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Folds one event. Events at or before [`Ledger::position`] are ignored, so that
    /// folding a page twice changes nothing.
    pub fn fold(&mut self, position: i64, meta: &EventMeta, event: &Event) {
        if position <= self.position {
            return;
        }
        self.position = position;
        let at = meta.at;
        self.fold_coordination(meta, event);
        match event {
            Event::ReleasePlanned { release, spec } | Event::ReleaseRedefined { release, spec } => {
                let facts = self.releases.entry(release.clone()).or_default();
                facts.kind = spec.kind;
                facts.target = Some(spec.target_date);
                facts.planned_at.get_or_insert(at);
            }
            Event::ReleaseStateChanged {
                release,
                to: ReleaseState::Released,
                ..
            } => {
                self.releases
                    .entry(release.clone())
                    .or_default()
                    .released_at = Some(at);
            }
            Event::ItemAdded {
                item,
                release,
                spec,
            } => {
                self.items.entry(item.clone()).or_insert_with(|| ItemFacts {
                    release: release.clone(),
                    team: spec.team.clone(),
                    added_at: at,
                    complete_at: None,
                });
            }
            Event::ItemRedefined { item, spec } => {
                if let Some(facts) = self.items.get_mut(item) {
                    facts.team = spec.team.clone();
                }
            }
            Event::ItemStatusChanged { item, from, to } => {
                if *from < ItemStatus::Testing
                    && *to >= ItemStatus::Testing
                    && let Some(facts) = self.items.get_mut(item)
                    && facts.added_at != at
                {
                    facts.complete_at.get_or_insert(at);
                }
            }
            Event::ItemEtaChanged {
                item,
                from: Some(from),
                to: Some(to),
            } => {
                if let Some(release) = self.release_of(item)
                    && to > from
                {
                    let slip = Slip {
                        item: item.clone(),
                        from: *from,
                        to: *to,
                        at,
                        by: meta.actor.clone(),
                    };
                    self.releases.entry(release).or_default().slips.push(slip);
                }
            }
            Event::ItemUpdatePosted { item, .. } => {
                if let Some(facts) = self.items.get(item) {
                    let team = facts.team.clone();
                    *self
                        .releases
                        .entry(facts.release.clone())
                        .or_default()
                        .updates
                        .entry(team)
                        .or_default() += 1;
                }
            }
            Event::DependencyAdded { dependency } => {
                if let Some(release) = self.release_of(&dependency.blocked) {
                    let facts = self.releases.entry(release).or_default();
                    facts.dependencies += 1;
                    if dependency.late {
                        facts.surprises.push((
                            dependency.blocker.clone(),
                            dependency.blocked.clone(),
                            at,
                        ));
                    }
                }
            }
            Event::RunStarted {
                release, number, ..
            } => {
                let facts = self.releases.entry(release.clone()).or_default();
                facts.runs.insert(*number, (at, None));
            }
            Event::RollbackStarted {
                release, number, ..
            } => {
                let facts = self.releases.entry(release.clone()).or_default();
                if let Some(run) = facts.runs.get_mut(number) {
                    run.1.get_or_insert(at);
                }
            }
            Event::BreakGlassUsed {
                release,
                break_glass,
            } => {
                let facts = self.releases.entry(release.clone()).or_default();
                facts.break_glass.push(format!(
                    "{} overrode {} ({})",
                    break_glass.by, break_glass.scope, break_glass.reason
                ));
            }
            Event::SignalRecorded { signal } => {
                if let Some((number, title, severity)) = signal.reading.blocking_issue() {
                    self.issues.push(Issue {
                        component: signal.component.clone(),
                        number,
                        title: title.to_owned(),
                        severity,
                        at: signal.observed_at,
                    });
                }
            }
            _ => {}
        }
    }

    fn release_of(&self, item: &Name) -> Option<Name> {
        self.items.get(item).map(|facts| facts.release.clone())
    }

    /// The releases whose coordination an event is part of: one for most, those a
    /// change request or an interface change touched for its proposal and decision. A
    /// deployment run's events are the deployment itself, not its coordination: they are
    /// left out.
    fn coordinated_releases(&self, event: &Event) -> Vec<Name> {
        match event {
            Event::ChangeProposed { releases, .. } => return releases.clone(),
            Event::ChangeApproved { change, .. }
            | Event::ChangeRejected { change, .. }
            | Event::ChangeWithdrawn { change, .. } => {
                return self.changes.get(change).cloned().unwrap_or_default();
            }
            Event::InterfaceChangeProposed {
                interface,
                proposal: crate::contract::Proposal { number, .. },
            }
            | Event::InterfaceChangeDecided {
                interface, number, ..
            } => {
                return self
                    .proposals
                    .get(&(interface.clone(), *number))
                    .cloned()
                    .unwrap_or_default();
            }
            _ => {}
        }
        self.coordinated_release(event).into_iter().collect()
    }

    /// The one release of an event about a release, an item, a risk or a task.
    fn coordinated_release(&self, event: &Event) -> Option<Name> {
        match event {
            Event::ReleasePlanned { release, .. }
            | Event::ReleaseRedefined { release, .. }
            | Event::ReleaseStateChanged { release, .. }
            | Event::ItemAdded { release, .. }
            | Event::IntegrationTaskDefined { release, .. }
            | Event::RiskIdentified { release, .. }
            | Event::ChecklistItemChecked { release, .. }
            | Event::ApprovalRulesDefined { release, .. }
            | Event::GoNoGoRequested { release, .. }
            | Event::SignOffRecorded { release, .. }
            | Event::SignOffWithdrawn { release, .. }
            | Event::LessonRecorded { release, .. }
            | Event::CoordinationRecorded { release, .. }
            | Event::CoordinationRetracted { release, .. }
            | Event::CoordinationRated { release, .. } => Some(release.clone()),
            Event::ItemRedefined { item, .. }
            | Event::ItemStatusChanged { item, .. }
            | Event::ItemEtaChanged { item, .. }
            | Event::ItemUpdatePosted { item, .. }
            | Event::EscalationAcknowledged { item, .. }
            | Event::DependencyRemoved { blocked: item, .. } => self.release_of(item),
            Event::DependencyAdded { dependency } | Event::DependencyChanged { dependency } => {
                self.release_of(&dependency.blocked)
            }
            Event::RiskRedefined { risk, .. } | Event::RiskStatusChanged { risk, .. } => {
                self.risks.get(risk).cloned()
            }
            Event::IntegrationTaskRedefined { task, .. }
            | Event::ScenarioResultRecorded { task, .. } => self.tasks.get(task).cloned(),
            _ => None,
        }
    }

    /// Keeps who acted on which release and when, and the changes to its plan.
    fn fold_coordination(&mut self, meta: &EventMeta, event: &Event) {
        match event {
            Event::RiskIdentified { risk, release, .. } => {
                self.risks.insert(risk.clone(), release.clone());
            }
            Event::IntegrationTaskDefined { task, release, .. } => {
                self.tasks.insert(task.clone(), release.clone());
            }
            Event::ChangeProposed {
                change, releases, ..
            } => {
                self.changes.insert(change.clone(), releases.clone());
            }
            Event::InterfaceChangeProposed {
                interface,
                proposal,
            } => {
                let releases = proposal
                    .impact
                    .releases
                    .iter()
                    .map(|r| r.release.clone())
                    .collect();
                self.proposals
                    .insert((interface.clone(), proposal.number), releases);
            }
            _ => {}
        }
        if !is_person(&meta.actor) {
            return;
        }
        let plan_change = is_plan_change(event);
        for release in self.coordinated_releases(event) {
            let facts = self.releases.entry(release).or_default();
            let actions = facts.actions.entry(meta.actor.clone()).or_default();
            // A bulk apply records many events at one instant: one action.
            if actions.last() != Some(&meta.at) {
                actions.push(meta.at);
            }
            // What the apply that planned the release declared is the plan, not a change
            // to it.
            if plan_change && facts.planned_at != Some(meta.at) {
                facts.plan_changes.push(LateChange {
                    at: meta.at,
                    actor: meta.actor.clone(),
                    change: event.describe(),
                });
            }
        }
    }

    /// The coordination time of `release`: recorded, in Lockstep, and the plan changes
    /// close to its deployment; `None` when the program has no such release.
    /// `zones` resolve the time zone of its deployment plan.
    pub fn coordination(
        &self,
        state: &State,
        zones: &BTreeMap<String, TimeZone>,
        release: &Name,
    ) -> Option<CoordinationReport> {
        let current = state.releases().get(release)?;
        let empty = ReleaseFacts::default();
        let facts = self.releases.get(release).unwrap_or(&empty);
        Some(coordination_report(
            &self.automation,
            state,
            zones,
            release,
            facts,
            current.spec.target_date,
        ))
    }

    /// Critical and high issues opened on `components` within [`INCIDENT_DAYS`] after
    /// `released_at`, once per component and number.
    fn incidents(&self, components: &BTreeSet<Name>, released_at: Timestamp) -> Vec<&Issue> {
        let until = released_at + SignedDuration::from_hours(24 * INCIDENT_DAYS);
        let mut seen = BTreeSet::new();
        self.issues
            .iter()
            .filter(|issue| {
                components.contains(&issue.component)
                    && issue.at >= released_at
                    && issue.at < until
                    && seen.insert((issue.component.clone(), issue.number))
            })
            .collect()
    }

    /// The figures for releases shipped in `[from, to)`, and the deployment windows of the
    /// open releases in `state` as they stand.
    pub fn metrics(
        &self,
        state: &State,
        zones: &BTreeMap<String, TimeZone>,
        from: Timestamp,
        to: Timestamp,
    ) -> Metrics {
        let mut releases = Vec::new();
        let mut lead_times = Vec::new();
        let mut preparation = Vec::new();
        let mut coordination_minutes = Vec::new();
        let mut runs = RunCounts::default();
        for (name, facts) in &self.releases {
            for (started, rolled_back) in facts.runs.values() {
                if *started < from || *started >= to {
                    continue;
                }
                match (rolled_back, facts.released_at) {
                    (Some(_), _) => runs.rolled_back += 1,
                    (None, Some(released)) if released >= *started => runs.succeeded += 1,
                    (None, _) => runs.unfinished += 1,
                }
            }
            let Some(released_at) = facts.released_at.filter(|at| *at >= from && *at < to) else {
                continue;
            };
            let components = components_of(state, name);
            let item_leads: Vec<f64> = self
                .items
                .values()
                .filter(|facts| &facts.release == name)
                .filter_map(|facts| facts.complete_at)
                .map(|complete| days_between(complete, released_at))
                .collect();
            lead_times.extend(&item_leads);
            if let Some(planned) = facts.planned_at {
                preparation.push(days_between(planned, released_at));
            }
            let released_on = released_at.to_zoned_datetime(TimeZone::UTC).date();
            let coordination = coordination_report(
                &self.automation,
                state,
                zones,
                name,
                facts,
                facts.target.unwrap_or(released_on),
            );
            coordination_minutes.push(coordination.total_minutes as f64);
            let slip_days = facts
                .target
                .map(|target| (released_on - target).get_days().max(0))
                .unwrap_or(0);
            releases.push(ReleaseMetrics {
                release: name.clone(),
                kind: facts.kind,
                target: facts.target,
                released: released_on,
                on_time: slip_days == 0,
                slip_days: i64::from(slip_days),
                lead_time_days: Summary::of(item_leads),
                rollbacks: facts.runs.values().filter(|r| r.1.is_some()).count(),
                incidents: self.incidents(&components, released_at).len(),
                surprise_dependencies: facts.surprises.len(),
                coordination_minutes: coordination.total_minutes,
                late_changes: coordination.late_changes.len(),
                satisfaction: coordination.satisfaction,
            });
        }
        let days = (to - from).as_secs_f64() / 86_400.0;
        let shipped = releases.len();
        let windows = crate::conflicts::windows(state, zones);
        let mut conflicted: BTreeSet<&Name> = BTreeSet::new();
        let release_conflicts = crate::conflicts::conflicts(state, zones);
        for conflict in &release_conflicts {
            conflicted.insert(&conflict.keeps);
            conflicted.insert(&conflict.moves);
        }
        let calendar_conflicts = crate::conflicts::window_conflicts(state, zones);
        for conflict in &calendar_conflicts {
            conflicted.insert(&conflict.release);
        }
        let with_conflicts = windows
            .iter()
            .filter(|w| conflicted.contains(&w.release))
            .count();
        Metrics {
            from,
            to,
            releases_shipped: shipped,
            releases_per_month: if days > 0.0 {
                shipped as f64 * 30.4375 / days
            } else {
                0.0
            },
            on_time: releases.iter().filter(|r| r.on_time).count(),
            hotfixes: releases
                .iter()
                .filter(|r| matches!(r.kind, ReleaseKind::Hotfix | ReleaseKind::Emergency))
                .count(),
            deployment_success_rate: ratio(runs.succeeded, runs.succeeded + runs.rolled_back),
            runs,
            rollbacks: releases.iter().map(|r| r.rollbacks).sum(),
            incidents: releases.iter().map(|r| r.incidents).sum(),
            surprise_dependencies: releases.iter().map(|r| r.surprise_dependencies).sum(),
            coordination: CoordinationCounts {
                minutes: Summary::of(coordination_minutes),
                within_target: releases
                    .iter()
                    .filter(|r| r.coordination_minutes <= TARGET_MINUTES)
                    .count(),
                target_minutes: TARGET_MINUTES,
                late_changes: releases.iter().map(|r| r.late_changes).sum(),
                satisfaction: {
                    let rated: Vec<f64> = releases.iter().filter_map(|r| r.satisfaction).collect();
                    (!rated.is_empty()).then(|| rated.iter().sum::<f64>() / rated.len() as f64)
                },
            },
            lead_time_days: Summary::of(lead_times),
            preparation_days: Summary::of(preparation),
            windows: WindowCounts {
                total: windows.len(),
                with_conflicts,
                free_rate: ratio(windows.len() - with_conflicts, windows.len()),
            },
            releases,
        }
    }

    /// The seeds' post-release review questions for `release`, each with what the log and
    /// the state can answer; `None` when the program has no such release.
    /// `zones` resolve the time zone of its deployment plan.
    pub fn retrospective(
        &self,
        state: &State,
        zones: &BTreeMap<String, TimeZone>,
        release: &Name,
    ) -> Option<Retrospective> {
        let current = state.releases().get(release)?;
        let empty = ReleaseFacts::default();
        let facts = self.releases.get(release).unwrap_or(&empty);
        let components = components_of(state, release);
        let mut timeline = Vec::new();
        let target = current.spec.target_date;
        timeline.push(Question::new(
            "Did we hit our dates?",
            vec![match facts.released_at {
                Some(at) => {
                    let on = at.to_zoned_datetime(TimeZone::UTC).date();
                    let late = (on - target).get_days();
                    if late > 0 {
                        format!("Released {on}, {late} d after the target {target}.")
                    } else {
                        format!("Released {on}, on or before the target {target}.")
                    }
                }
                None => format!(
                    "Not released yet ({}); the target is {target}.",
                    current.state
                ),
            }],
        ));
        let occurred = state
            .risks()
            .values()
            .filter(|risk| &risk.release == release && risk.status == RiskStatus::Occurred)
            .map(|risk| {
                format!(
                    "Risk {} occurred: {} (owner {}; mitigation: {}).",
                    risk.name,
                    risk.spec.title,
                    risk.spec.owner,
                    risk.spec.mitigation.as_deref().unwrap_or("none recorded")
                )
            });
        timeline.push(
            Question::new(
                "What caused delays?",
                facts
                    .slips
                    .iter()
                    .map(|slip| {
                        format!(
                            "{} ETA {} → {} (+{} d), reported by {} on {}.",
                            slip.item,
                            slip.from,
                            slip.to,
                            (slip.to - slip.from).get_days(),
                            slip.by,
                            slip.at.to_zoned_datetime(TimeZone::UTC).date()
                        )
                    })
                    .chain(occurred)
                    .collect(),
            )
            .or_none("No ETA moved later and no risk of the register occurred."),
        );
        timeline.push(
            Question::new("Were buffers adequate?", self.buffers(state, release))
                .or_none("No dependency of its items has a need-by date."),
        );
        let dependencies = vec![
            Question::new(
                "Were all dependencies identified early?",
                vec![format!(
                    "{} recorded, {} of them added after planning began.",
                    count(facts.dependencies, "dependency", "dependencies"),
                    facts.surprises.len()
                )],
            ),
            Question::new(
                "Did any surprise dependencies emerge?",
                facts
                    .surprises
                    .iter()
                    .map(|(blocker, blocked, at)| {
                        format!(
                            "{blocked} turned out to depend on {blocker} ({}).",
                            at.to_zoned_datetime(TimeZone::UTC).date()
                        )
                    })
                    .collect(),
            )
            .or_none("None recorded."),
            Question::new(
                "Was communication sufficient?",
                self.communication(state, release, facts),
            ),
        ];
        let escaped = facts
            .released_at
            .map(|at| self.incidents(&components, at))
            .unwrap_or_default();
        let integration = vec![
            Question::new("Did integration testing catch issues?", scenarios(state, release))
                .or_none("No integration task was defined."),
            Question::new(
                "What escaped to production?",
                match facts.released_at {
                    None => vec!["Not deployed yet.".to_owned()],
                    Some(_) if escaped.is_empty() => vec![format!(
                        "No critical or high issue opened on its components within {INCIDENT_DAYS} d of the release."
                    )],
                    Some(_) => escaped
                        .iter()
                        .map(|issue| {
                            format!(
                                "{} #{} {} ({}), opened {}.",
                                issue.component,
                                issue.number,
                                issue.title,
                                issue.severity.as_str(),
                                issue.at.to_zoned_datetime(TimeZone::UTC).date()
                            )
                        })
                        .collect(),
                },
            ),
            Question::new(
                "Was staging environment adequate?",
                facts
                    .runs
                    .iter()
                    .filter_map(|(number, (_, rolled_back))| {
                        rolled_back.map(|at| {
                            format!(
                                "Run {number} was rolled back on {}: the failure was not caught before production.",
                                at.to_zoned_datetime(TimeZone::UTC).date()
                            )
                        })
                    })
                    .collect(),
            )
            .or_none("No run was rolled back."),
        ];
        let mut checklist = Vec::new();
        if let Ok(assessment) = crate::checklist::assess(state, release) {
            let (done, total) = assessment.checklist.progress();
            checklist.push(format!("{done} of {total} checklist items done."));
        }
        checklist.extend(
            facts
                .break_glass
                .iter()
                .map(|b| format!("Break glass: {b}.")),
        );
        let process = vec![
            Question::new("Was the release checklist complete?", checklist),
            Question::new(
                "Did communication cadence work?",
                cadence(&coordination_report(
                    &self.automation,
                    state,
                    zones,
                    release,
                    facts,
                    target,
                )),
            ),
            Question::new(
                "What would we do differently?",
                state
                    .lessons_of(release)
                    .iter()
                    .map(|lesson| {
                        format!(
                            "{} ({}, {}).",
                            lesson.text.trim_end_matches('.'),
                            lesson.by,
                            lesson.at.to_zoned_datetime(TimeZone::UTC).date()
                        )
                    })
                    .collect(),
            ),
        ];
        Some(Retrospective {
            release: release.clone(),
            sections: vec![
                Section::new("Timeline", timeline),
                Section::new("Dependencies", dependencies),
                Section::new("Integration", integration),
                Section::new("Process", process),
            ],
        })
    }

    /// How much of each dependency's buffer its blocker used: from reaching testing (or
    /// its ETA while it has not) to the need-by date.
    fn buffers(&self, state: &State, release: &Name) -> Vec<String> {
        let mut facts = Vec::new();
        for dependency in state.dependencies() {
            let Some(blocked) = state.items().get(&dependency.blocked) else {
                continue;
            };
            let Some(need_by) = dependency.need_by else {
                continue;
            };
            if &blocked.release != release {
                continue;
            }
            let ready = self
                .items
                .get(&dependency.blocker)
                .and_then(|facts| facts.complete_at)
                .map(|at| at.to_zoned_datetime(TimeZone::UTC).date())
                .or_else(|| state.items().get(&dependency.blocker).and_then(|i| i.eta));
            let Some(ready) = ready else { continue };
            let buffer = i64::from(dependency.buffer_days);
            let margin = i64::from((need_by - ready).get_days());
            let verdict = if margin < 0 {
                format!("{} d late, past the whole buffer of {buffer} d", -margin)
            } else if margin < buffer {
                format!("used {} of {buffer} buffer days", buffer - margin)
            } else {
                format!("within its buffer of {buffer} d")
            };
            facts.push(format!(
                "{} for {} (need-by {need_by}): ready {ready}, {verdict}.",
                dependency.blocker, dependency.blocked
            ));
        }
        facts
    }

    fn communication(&self, state: &State, release: &Name, facts: &ReleaseFacts) -> Vec<String> {
        let teams: BTreeSet<&Name> = state.items_of(release).map(|i| &i.spec.team).collect();
        let posted: usize = facts.updates.values().sum();
        let mut lines = vec![format!(
            "{} posted on its items; {} reported.",
            count(posted, "status update", "status updates"),
            count(facts.slips.len(), "later ETA", "later ETAs")
        )];
        let silent: Vec<&str> = state
            .items_of(release)
            .filter(|item| !facts.updates.contains_key(&item.spec.team))
            .map(|item| item.spec.team.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !silent.is_empty() && teams.len() > 1 && posted > 0 {
            lines.push(format!("No update from: {}.", silent.join(", ")));
        }
        lines
    }
}

fn scenarios(state: &State, release: &Name) -> Vec<String> {
    state
        .integration_tasks()
        .values()
        .filter(|task| &task.release == release)
        .map(|task| {
            let count = |result: ScenarioResult| {
                task.spec
                    .scenarios
                    .iter()
                    .filter(|s| s.result == result)
                    .count()
            };
            format!(
                "{}: {} passed, {} failed, {} blocked, {} pending.",
                task.name,
                count(ScenarioResult::Passed),
                count(ScenarioResult::Failed),
                count(ScenarioResult::Blocked),
                count(ScenarioResult::Pending)
            )
        })
        .collect()
}

/// The coordination time, and each plan change close to the deployment.
fn cadence(report: &CoordinationReport) -> Vec<String> {
    let mut lines = vec![report.summary()];
    lines.extend(report.satisfaction_line());
    let late = report.late_changes.len();
    if late > 0 {
        lines.push(format!(
            "{} in the {LATE_CHANGE_HOURS} h before the deployment:",
            count(late, "plan change", "plan changes")
        ));
        lines.extend(report.late_changes.iter().map(|change| {
            format!(
                "{} by {}, {}.",
                change.change,
                change.actor,
                change.at.strftime("%b %-d %H:%M UTC")
            )
        }));
    }
    lines
}

/// The coordination of `release`: its records and ratings in `state`, the time in
/// Lockstep (but not the `automation` accounts') and the plan changes in `facts`, late
/// against its first run or `target`.
fn coordination_report(
    automation: &BTreeSet<String>,
    state: &State,
    zones: &BTreeMap<String, TimeZone>,
    release: &Name,
    facts: &ReleaseFacts,
    target: Date,
) -> CoordinationReport {
    let first_run = facts.runs.values().map(|(started, _)| *started).min();
    let planned = state
        .releases()
        .get(release)
        .and_then(|current| planned_start(&current.spec, zones));
    let start = deployment_start(first_run, planned, target);
    let late = facts
        .plan_changes
        .iter()
        .filter(|change| is_late(change.at, start))
        .cloned()
        .collect();
    CoordinationReport::new(
        release.clone(),
        state.coordination_of(release).to_vec(),
        facts
            .actions
            .iter()
            .map(|(actor, at)| (actor.clone(), at.clone())),
        automation,
        start,
        late,
        state.ratings_of(release),
    )
}

fn components_of(state: &State, release: &Name) -> BTreeSet<Name> {
    state
        .items_of(release)
        .filter_map(|item| item.spec.component.clone())
        .collect()
}

/// `1 dependency`, `2 dependencies`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn days_between(from: Timestamp, to: Timestamp) -> f64 {
    (to - from).as_secs_f64() / 86_400.0
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Median, 85th percentile and maximum of a sample (in the unit its field names).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Values summarized.
    pub count: usize,
    /// Median.
    pub median: f64,
    /// 85th percentile (nearest rank).
    pub p85: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    fn of(mut values: Vec<f64>) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank =
            |p: f64| values[((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Some(Summary {
            count: values.len(),
            median: rank(0.5),
            p85: rank(0.85),
            max: values[values.len() - 1],
        })
    }
}

/// Deployment runs started in the period, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCounts {
    /// Runs whose release shipped without rolling them back.
    pub succeeded: usize,
    /// Runs rolled back.
    pub rolled_back: usize,
    /// Runs neither rolled back nor shipped (yet).
    pub unfinished: usize,
}

/// Deployment windows of open releases.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowCounts {
    /// Windows.
    pub total: usize,
    /// Windows that clash with another release or their environment's calendar.
    pub with_conflicts: usize,
    /// Share free of conflicts; `None` without windows.
    pub free_rate: Option<f64>,
}

/// One shipped release.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseMetrics {
    /// The release.
    pub release: Name,
    /// Its kind.
    pub kind: ReleaseKind,
    /// Its target date.
    pub target: Option<Date>,
    /// The day it shipped (UTC).
    pub released: Date,
    /// Shipped on or before the target.
    pub on_time: bool,
    /// Days after the target, 0 when on time.
    pub slip_days: i64,
    /// Days from each item reaching testing to the release shipping.
    pub lead_time_days: Option<Summary>,
    /// Runs rolled back.
    pub rollbacks: usize,
    /// Critical and high issues opened on its components within [`INCIDENT_DAYS`].
    pub incidents: usize,
    /// Dependencies added after planning began.
    pub surprise_dependencies: usize,
    /// Person-minutes of coordination: recorded plus in Lockstep.
    pub coordination_minutes: u64,
    /// Plan changes in the [`LATE_CHANGE_HOURS`] before its deployment.
    pub late_changes: usize,
    /// The mean rating of its coordination (1 to 5), when anyone rated it.
    pub satisfaction: Option<f64>,
}

/// Coordination over the shipped releases.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoordinationCounts {
    /// Person-minutes per shipped release.
    pub minutes: Option<Summary>,
    /// Shipped releases coordinated within the aim.
    pub within_target: usize,
    /// The aim, [`TARGET_MINUTES`].
    pub target_minutes: u64,
    /// Plan changes in the [`LATE_CHANGE_HOURS`] before a deployment, summed.
    pub late_changes: usize,
    /// The mean of the rated releases' mean ratings (1 to 5).
    pub satisfaction: Option<f64>,
}

/// The release metrics of a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// First instant of the period.
    pub from: Timestamp,
    /// First instant after it.
    pub to: Timestamp,
    /// Releases shipped.
    pub releases_shipped: usize,
    /// Releases shipped per month of 30.44 days.
    pub releases_per_month: f64,
    /// Shipped on or before their target date.
    pub on_time: usize,
    /// Hotfix and emergency releases shipped.
    pub hotfixes: usize,
    /// Deployment runs by outcome.
    pub runs: RunCounts,
    /// Succeeded over succeeded plus rolled back; `None` without finished runs.
    pub deployment_success_rate: Option<f64>,
    /// Runs rolled back, over the shipped releases.
    pub rollbacks: usize,
    /// Incidents after the shipped releases.
    pub incidents: usize,
    /// Dependencies added after planning began, over the shipped releases.
    pub surprise_dependencies: usize,
    /// Coordination time and last-minute changes of the shipped releases.
    pub coordination: CoordinationCounts,
    /// Code complete (an item reaching testing) to production, over all shipped items.
    pub lead_time_days: Option<Summary>,
    /// Planned to shipped.
    pub preparation_days: Option<Summary>,
    /// Deployment windows of the open releases, now.
    pub windows: WindowCounts,
    /// Each shipped release.
    pub releases: Vec<ReleaseMetrics>,
}

/// A post-release review: the seeds' questions with what is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retrospective {
    /// The release.
    pub release: Name,
    /// Timeline, Dependencies, Integration, Process.
    pub sections: Vec<Section>,
}

/// A group of questions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    /// Its heading.
    pub title: String,
    /// Its questions.
    pub questions: Vec<Question>,
}

impl Section {
    fn new(title: &str, questions: Vec<Question>) -> Section {
        Section {
            title: title.to_owned(),
            questions,
        }
    }
}

/// A question and the facts that bear on it; none means it is for the team to answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    /// The question, as the seeds ask it.
    pub question: String,
    /// What the record shows.
    pub facts: Vec<String>,
}

impl Question {
    fn new(question: &str, facts: Vec<String>) -> Question {
        Question {
            question: question.to_owned(),
            facts,
        }
    }

    /// Says `none` when there is no fact, so that silence is not read as "for the team".
    fn or_none(mut self, none: &str) -> Question {
        if self.facts.is_empty() {
            self.facts.push(none.to_owned());
        }
        self
    }
}

impl Retrospective {
    /// Markdown for a wiki page or a meeting: headings, questions in bold, facts as bullets.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# Retrospective: {}\n", self.release);
        for section in &self.sections {
            out.push_str(&format!("\n## {}\n", section.title));
            for question in &section.questions {
                out.push_str(&format!("\n**{}**\n\n", question.question));
                if question.facts.is_empty() {
                    out.push_str("- _for the team to answer_\n");
                }
                for fact in &question.facts {
                    out.push_str(&format!("- {fact}\n"));
                }
            }
        }
        out
    }
}
