//! The release-day runbook: the release's deployment plan put in dependency order,
//! with start times, verification after each component, rollback triggers, primary
//! and backup contacts, and the deny windows (blackouts) that touch the day.
//!
//! The deployment order is the dependency graph of the release's components: a
//! component whose item blocks another component's item deploys first (backend
//! before API before frontend and mobile in the seed example), and so does a
//! component that another names in `dependsOn`; components the graph does not order
//! keep the order of the plan. Start times are the plan's, moved out
//! of blackouts as `lockstep plan` moves them (`planning::deployment_day`).
//!
//! Pure and derived: nothing here is stored until a run starts, when the run keeps
//! the runbook it executes (`run.rs`). Time zones are resolved by the caller. This
//! module does not execute anything, and it does not read signals.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::contract::ComponentVersion;
use crate::planning::{PlanError, deployment_day};
use crate::{Name, Release, RollbackTrigger, State};

/// A person to call during the deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Member handle.
    pub handle: Name,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One step of the runbook: deploy one component, then verify it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunbookStep {
    /// The component deployed; also the step's id.
    pub component: Name,
    /// What is done (`Backend services (Team C)`).
    pub title: String,
    /// The team that owns the component.
    pub team: Name,
    /// Steps (components) that must be done before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Name>,
    /// Start as planned, in the deployment's time zone.
    pub planned: DateTime,
    /// Start as scheduled out of blackouts; `None` if the day has no room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<DateTime>,
    /// The scheduled start as an instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    /// Minutes for deployment plus verification.
    pub minutes: u32,
    /// The version deployed, if the plan says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<ComponentVersion>,
    /// The version running in the environment when the runbook was made: what a rollback
    /// of this step restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<ComponentVersion>,
    /// Why the step moved or could not be scheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Checks after deploying this component.
    pub verification: Vec<String>,
    /// First person to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<Contact>,
    /// Called when the primary does not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Contact>,
}

/// A period in which nothing may be deployed to the runbook's environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DenyWindow {
    /// The blackout's name.
    pub name: Name,
    /// Its title, or its name.
    pub title: String,
    /// First instant.
    pub start: Timestamp,
    /// First instant after it.
    pub end: Timestamp,
}

impl DenyWindow {
    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// The generated runbook of a release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Runbook {
    /// The release.
    pub release: Name,
    /// Its display title.
    pub title: String,
    /// The deployment day.
    pub date: Date,
    /// Target environment.
    pub environment: Name,
    /// Time zone of the step times.
    pub time_zone: String,
    /// Steps in deployment order.
    pub steps: Vec<RunbookStep>,
    /// When to roll back.
    pub rollback_triggers: Vec<RollbackTrigger>,
    /// Blackouts that apply to the environment, as instants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_windows: Vec<DenyWindow>,
}

/// Why a runbook cannot be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunbookError {
    /// No such release.
    #[error("unknown release `{0}`")]
    UnknownRelease(String),
    /// The release declares no deployment plan.
    #[error("release `{0}` has no deployment plan (spec.deployment): nothing to put in a runbook")]
    NoDeploymentPlan(String),
    /// The plan's components depend on each other in a circle.
    #[error("the deployment order has a cycle: {}", .0.join(" → "))]
    ComponentCycle(Vec<String>),
    /// Scheduling the day failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl Runbook {
    /// The step that deploys `component`.
    pub fn step(&self, component: &Name) -> Option<&RunbookStep> {
        self.steps.iter().find(|s| &s.component == component)
    }

    /// The components of the runbook.
    pub fn components(&self) -> impl Iterator<Item = &Name> {
        self.steps.iter().map(|s| &s.component)
    }

    /// The deny windows that contain `at`.
    pub fn windows_at(&self, at: Timestamp) -> Vec<&DenyWindow> {
        self.deny_windows
            .iter()
            .filter(|w| w.contains(at))
            .collect()
    }

    /// The runbook as Markdown, in the seed's layout (deployment order, verification
    /// steps, rollback triggers, contacts).
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {} Runbook\n", self.title);
        let _ = writeln!(
            out,
            "Release `{}` to `{}` on {} ({}).\n",
            self.release, self.environment, self.date, self.time_zone
        );
        let _ = writeln!(out, "## Deployment Order");
        for (index, step) in self.steps.iter().enumerate() {
            let at = step.scheduled.unwrap_or(step.planned);
            let _ = write!(
                out,
                "{}. {} - {}",
                index + 1,
                step.title,
                at.time().strftime("%-I:%M %p")
            );
            if !step.after.is_empty() {
                let after: Vec<&str> = step.after.iter().map(Name::as_str).collect();
                let _ = write!(out, " (after {})", after.join(", "));
            }
            if let Some(note) = &step.note {
                let _ = write!(out, " — {note}");
            }
            out.push('\n');
        }
        // Kept apart from the order so that its lines stay the seeds' template.
        if self.steps.iter().any(|step| step.version.is_some()) {
            let _ = writeln!(out, "\n## Versions");
            for step in &self.steps {
                let Some(version) = &step.version else {
                    continue;
                };
                let _ = write!(out, "- {} {version}", step.component);
                match &step.replaces {
                    Some(replaces) if replaces != version => {
                        let _ = write!(out, " (replaces {replaces})");
                    }
                    Some(_) => out.push_str(" (already running)"),
                    None => {}
                }
                out.push('\n');
            }
        }
        let _ = writeln!(out, "\n## Verification Steps");
        for step in &self.steps {
            let _ = writeln!(out, "After {}:", step.component);
            for check in &step.verification {
                let _ = writeln!(out, "- {check}");
            }
        }
        let _ = writeln!(out, "\n## Rollback Triggers");
        if self.rollback_triggers.is_empty() {
            let _ = writeln!(out, "- (none declared)");
        }
        for trigger in &self.rollback_triggers {
            let _ = writeln!(out, "- {}", describe_trigger(trigger));
        }
        let _ = writeln!(
            out,
            "\nA rollback runs the deployed steps in reverse dependency order."
        );
        if !self.deny_windows.is_empty() {
            let _ = writeln!(out, "\n## Deny Windows");
            // Those around the release day in full; the other occurrences of recurring
            // ones, enforced just the same, in one line.
            let near = |window: &&DenyWindow| {
                let day = |at: Timestamp| at.to_zoned_datetime(TimeZone::UTC).date();
                let (first, last) = (self.date.yesterday().ok(), self.date.tomorrow().ok());
                first.is_none_or(|first| day(window.end) >= first)
                    && last.is_none_or(|last| day(window.start) <= last)
            };
            let (around, other): (Vec<&DenyWindow>, Vec<&DenyWindow>) =
                self.deny_windows.iter().partition(near);
            for window in around {
                let _ = writeln!(
                    out,
                    "- {}: {} to {} (a run inside needs --break-glass with a reason)",
                    window.title, window.start, window.end
                );
            }
            // The others by blackout: a one-off in full, a recurring one in a line.
            let mut by_blackout: BTreeMap<&Name, Vec<&DenyWindow>> = BTreeMap::new();
            for window in other {
                by_blackout.entry(&window.name).or_default().push(window);
            }
            for windows in by_blackout.values() {
                match windows.as_slice() {
                    [window] => {
                        let _ = writeln!(
                            out,
                            "- {}: {} to {}",
                            window.title, window.start, window.end
                        );
                    }
                    [first, .., last] => {
                        let _ = writeln!(
                            out,
                            "- {}: {} occurrences between {} and {}, enforced alike",
                            first.title,
                            windows.len(),
                            first.start,
                            last.end
                        );
                    }
                    [] => {}
                }
            }
        }
        let _ = writeln!(out, "\n## Contacts");
        let mut seen = BTreeSet::new();
        for step in &self.steps {
            if !seen.insert(&step.team) {
                continue;
            }
            let mut line = format!("{}:", step.team);
            match &step.primary {
                Some(primary) => {
                    let _ = write!(line, " @{} (primary)", primary.handle);
                }
                None => line.push_str(" no on-call declared"),
            }
            if let Some(backup) = &step.backup {
                let _ = write!(line, ", @{} (backup)", backup.handle);
            }
            let _ = writeln!(out, "{line}");
        }
        out
    }
}

/// A trigger in words (`Error rate >5% for 10 min`).
pub fn describe_trigger(trigger: &RollbackTrigger) -> String {
    if let Some(description) = &trigger.description {
        return description.clone();
    }
    let mut text = trigger.signal.clone();
    if let Some(above) = trigger.above {
        let _ = write!(text, " above {above}");
    }
    if let Some(minutes) = trigger.for_minutes {
        let _ = write!(text, " for {minutes} min");
    }
    text
}

/// Days after the later of `now` and the release day through which a runbook's deny
/// windows are listed: a run started from it is checked against them until then.
const DENY_HORIZON_DAYS: i64 = 14;

/// Occurrences of one recurring blackout a runbook lists at most (a daily window over the
/// horizon is a few dozen).
const MAX_OCCURRENCES: usize = 1_000;

/// Every occurrence of every blackout of `environment` that overlaps `horizon`, in start
/// order.
fn deny_windows(
    state: &State,
    environment: &Name,
    time_zones: &BTreeMap<String, TimeZone>,
    horizon: (Timestamp, Timestamp),
) -> Result<Vec<DenyWindow>, PlanError> {
    let mut deny_windows = Vec::new();
    for blackout in state.blackouts().values() {
        let applies = blackout.spec.environments.is_empty()
            || blackout.spec.environments.contains(environment);
        if !applies {
            continue;
        }
        let tz = time_zones
            .get(&blackout.spec.time_zone)
            .ok_or_else(|| PlanError::UnknownTimeZone(blackout.spec.time_zone.clone()))?;
        let instant = |at: DateTime| at.to_zoned_datetime(tz.clone()).ok().map(|z| z.timestamp());
        let civil = |at: Timestamp| at.to_zoned_datetime(tz.clone()).datetime();
        let title = blackout
            .spec
            .title
            .clone()
            .unwrap_or_else(|| blackout.name.to_string());
        let occurrences = blackout
            .spec
            .occurrences(civil(horizon.0), civil(horizon.1), Some(tz));
        for (start, end) in occurrences.into_iter().take(MAX_OCCURRENCES) {
            if let (Some(start), Some(end)) = (instant(start), instant(end)) {
                deny_windows.push(DenyWindow {
                    name: blackout.name.clone(),
                    title: title.clone(),
                    start,
                    end,
                });
            }
        }
    }
    deny_windows.sort_by_key(|window| (window.start, window.end));
    Ok(deny_windows)
}

/// The blackouts of `release`'s current run's environment in force at `at`, as they are
/// now: a freeze declared after the run started stops its next step as it would have
/// stopped the start (the run's own runbook keeps the windows known when it started).
/// Empty when the release has no run or a zone is unknown (the apply that named it was
/// refused).
pub fn freezes_at(
    state: &State,
    release: &Name,
    time_zones: &BTreeMap<String, TimeZone>,
    at: Timestamp,
) -> Vec<DenyWindow> {
    let Some(run) = state.runs().get(release) else {
        return Vec::new();
    };
    let day = jiff::SignedDuration::from_hours(24);
    let horizon = (
        at.checked_sub(day).unwrap_or(at),
        at.checked_add(day).unwrap_or(at),
    );
    deny_windows(state, &run.runbook.environment, time_zones, horizon)
        .unwrap_or_default()
        .into_iter()
        .filter(|window| window.contains(at))
        .collect()
}

/// Generates the runbook of `release`. `time_zones` holds every IANA zone the
/// release's plan and the blackouts name, resolved by the caller. Its deny windows are
/// every occurrence of every blackout of its environment from a day before `now` (or
/// the release day, if earlier) to [`DENY_HORIZON_DAYS`] after the later of the two.
pub fn generate(
    state: &State,
    release: &Name,
    time_zones: &BTreeMap<String, TimeZone>,
    now: Timestamp,
) -> Result<Runbook, RunbookError> {
    let release: &Release = state
        .releases()
        .get(release)
        .ok_or_else(|| RunbookError::UnknownRelease(release.to_string()))?;
    let plan = release
        .spec
        .deployment
        .as_ref()
        .ok_or_else(|| RunbookError::NoDeploymentPlan(release.name.to_string()))?;
    let zone = time_zones
        .get(&plan.time_zone)
        .ok_or_else(|| PlanError::UnknownTimeZone(plan.time_zone.clone()))?;
    let order = deployment_order(state, release)?;
    // Scheduled serially in deployment order, as the seed's timeline is: each step
    // at its planned time or when the previous one ends, out of blackouts.
    let mut ordered = release.clone();
    if let Some(ordered_plan) = ordered.spec.deployment.as_mut() {
        ordered_plan.steps = order
            .iter()
            .filter_map(|(component, _)| plan.steps.iter().find(|s| &s.component == component))
            .cloned()
            .collect();
    }
    let scheduled = deployment_day(state, &ordered, zone, time_zones)?;
    let position: BTreeMap<Name, usize> = order
        .iter()
        .enumerate()
        .map(|(i, (component, _))| (component.clone(), i))
        .collect();

    let mut steps = Vec::with_capacity(plan.steps.len());
    for (component, after) in order {
        let Some(planned_step) = plan.steps.iter().find(|s| s.component == component) else {
            continue;
        };
        let timing = scheduled.iter().find(|s| s.component == component);
        let team = state
            .components()
            .get(&component)
            .map(|c| c.spec.team.clone())
            .unwrap_or_else(|| component.clone());
        let (primary, backup) = contacts(state, &team);
        let planned = release.spec.target_date.to_datetime(planned_step.at);
        let scheduled_at = timing.and_then(|t| t.scheduled);
        let starts_at = scheduled_at
            .and_then(|at| at.to_zoned_datetime(zone.clone()).ok())
            .map(|zoned| zoned.timestamp());
        let replaces = state
            .contracts()
            .deployed_in(&plan.environment, &component)
            .map(|deployed| deployed.version.clone());
        steps.push(RunbookStep {
            title: planned_step
                .title
                .clone()
                .unwrap_or_else(|| format!("Deploy {component}")),
            verification: verification(state, release, plan, &component, &position),
            component,
            team,
            after,
            planned,
            scheduled: scheduled_at,
            starts_at,
            minutes: planned_step.minutes,
            version: planned_step.version.clone(),
            replaces,
            note: timing.and_then(|t| t.note.clone()),
            primary,
            backup,
        });
    }

    let day_start = |date: Date| {
        date.to_zoned_datetime(zone.clone())
            .ok()
            .map(|z| z.timestamp())
    };
    let release_day = day_start(release.spec.target_date).unwrap_or(now);
    let horizon = (
        now.min(release_day)
            .checked_sub(jiff::SignedDuration::from_hours(24))
            .unwrap_or(Timestamp::MIN),
        now.max(release_day)
            .checked_add(jiff::SignedDuration::from_hours(
                24 * (DENY_HORIZON_DAYS + 1),
            ))
            .unwrap_or(Timestamp::MAX),
    );
    let deny_windows = deny_windows(state, &plan.environment, time_zones, horizon)?;

    Ok(Runbook {
        release: release.name.clone(),
        title: release
            .spec
            .title
            .clone()
            .unwrap_or_else(|| release.name.to_string()),
        date: release.spec.target_date,
        environment: plan.environment.clone(),
        time_zone: plan.time_zone.clone(),
        steps,
        rollback_triggers: plan.rollback_triggers.clone(),
        deny_windows,
    })
}

/// The plan's components in dependency order, each with its direct predecessors
/// among them. Ties keep the plan's order.
fn deployment_order(
    state: &State,
    release: &Release,
) -> Result<Vec<(Name, Vec<Name>)>, RunbookError> {
    let Some(plan) = &release.spec.deployment else {
        return Ok(Vec::new());
    };
    let index: BTreeMap<&Name, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.component, i))
        .collect();
    let component_of = |item: &Name| {
        state
            .items()
            .get(item)
            .and_then(|i| i.spec.component.as_ref())
            .and_then(|c| index.get(c).copied())
    };
    let n_steps = plan.steps.len();
    let mut predecessors: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n_steps];
    for (to, step) in plan.steps.iter().enumerate() {
        let Some(component) = state.components().get(&step.component) else {
            continue;
        };
        for dependency in &component.spec.depends_on {
            if let Some(&from) = index.get(dependency) {
                predecessors[to].insert(from);
            }
        }
    }
    for item in state.items_of(&release.name) {
        for dependency in state.blocked_by(&item.name) {
            if let (Some(from), Some(to)) = (
                component_of(&dependency.blocker),
                component_of(&dependency.blocked),
            ) && from != to
            {
                predecessors[to].insert(from);
            }
        }
    }
    // Kahn's algorithm, always taking the earliest step of the plan that is ready.
    let mut remaining: Vec<usize> = predecessors.iter().map(BTreeSet::len).collect();
    let mut ready: BTreeSet<usize> = (0..n_steps).filter(|&i| remaining[i] == 0).collect();
    let mut order = Vec::with_capacity(n_steps);
    while let Some(next) = ready.pop_first() {
        order.push(next);
        for (successor, preds) in predecessors.iter().enumerate() {
            if preds.contains(&next) {
                remaining[successor] -= 1;
                if remaining[successor] == 0 {
                    ready.insert(successor);
                }
            }
        }
    }
    if order.len() < n_steps {
        let edges: Vec<(usize, usize)> = predecessors
            .iter()
            .enumerate()
            .flat_map(|(to, preds)| preds.iter().map(move |&from| (from, to)))
            .collect();
        let cycle = crate::graph::find_cycle(n_steps, &edges)
            .unwrap_or_default()
            .into_iter()
            .map(|i| plan.steps[i].component.to_string())
            .collect();
        return Err(RunbookError::ComponentCycle(cycle));
    }
    Ok(order
        .into_iter()
        .map(|i| {
            let after = predecessors[i]
                .iter()
                .map(|&p| plan.steps[p].component.clone())
                .collect();
            (plan.steps[i].component.clone(), after)
        })
        .collect())
}

/// The checks after deploying `component`: the plan's checks, the component's smoke
/// tests and error rate in the target environment, and every integration of the
/// release that this step completes (all its other components deploy earlier).
fn verification(
    state: &State,
    release: &Release,
    plan: &crate::DeploymentPlan,
    component: &Name,
    position: &BTreeMap<Name, usize>,
) -> Vec<String> {
    let mut checks: Vec<String> = plan.verification.clone();
    checks.push(format!(
        "Smoke tests of {component} pass in {}",
        plan.environment
    ));
    if let Some(trigger) = plan
        .rollback_triggers
        .iter()
        .find(|t| t.signal == "error-rate")
        && let Some(above) = trigger.above
    {
        checks.push(format!(
            "Error rate of {component} stays at or below {above}%"
        ));
    }
    let deployed_before = |other: &Name| {
        position
            .get(other)
            .zip(position.get(component))
            .is_some_and(|(o, c)| o < c)
    };
    for task in state.integration_tasks().values() {
        if task.release != release.name || !task.spec.components.contains(component) {
            continue;
        }
        let completes = task
            .spec
            .components
            .iter()
            .all(|other| other == component || deployed_before(other));
        if completes {
            checks.push(format!("Verify integration: {}", task.spec.title));
        }
    }
    checks
}

/// The team's on-call primary and backup, or its tech lead when no on-call is declared.
fn contacts(state: &State, team: &Name) -> (Option<Contact>, Option<Contact>) {
    let Some(team) = state.teams().get(team) else {
        return (None, None);
    };
    let contact = |handle: &Name| {
        let member = team.spec.members.iter().find(|m| &m.handle == handle);
        Contact {
            handle: handle.clone(),
            name: member.and_then(|m| m.name.clone()),
            email: member.and_then(|m| m.email.clone()),
        }
    };
    match &team.spec.on_call {
        Some(on_call) => (
            Some(contact(&on_call.primary)),
            on_call.backup.as_ref().map(contact),
        ),
        None => (
            team.spec
                .members
                .iter()
                .find(|m| m.roles.contains(&crate::Role::TechLead))
                .map(|m| contact(&m.handle)),
            None,
        ),
    }
}
