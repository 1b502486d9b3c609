//! Deployment runs: a release's runbook executed as a state machine, recorded as
//! events on the release's run stream (`run:RELEASE`).
//!
//! Each step goes pending → running → verifying → done, or to failed (from running
//! or verifying; a failed step may be started again) or skipped (from pending). A
//! step starts only when its predecessors are done or skipped. Rollback triggers are
//! evaluated from incoming signals (`on_signal`, called when a signal is decided):
//! an error rate above the threshold for the whole window, a P0 bug, a failed smoke
//! test (an integration failure). A tripped trigger proposes a rollback, or starts
//! it when the run was started with auto-rollback. A rollback has its own steps: the
//! deployed ones, in reverse dependency order. Starting a run or a step inside a deny
//! window (a blackout of the environment) needs a break-glass reason, which is
//! recorded as its own event naming who and why.
//!
//! The run keeps the runbook it was started with, so that editing the release during
//! the day does not change the steps being executed. This module decides and folds;
//! it does not read the clock (`now` is passed in) and it does not generate runbooks
//! (`runbook.rs` does).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::runbook::{Runbook, describe_trigger};
use crate::{DomainError, Event, Name, Signal, SignalReading, State};

/// Where one step of a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// Not started.
    Pending,
    /// Being deployed.
    Running,
    /// Deployed, being checked.
    Verifying,
    /// Deployed and verified.
    Done,
    /// Deployment or verification failed.
    Failed,
    /// Deliberately not done.
    Skipped,
}

impl StepStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [StepStatus; 6] = [
        StepStatus::Pending,
        StepStatus::Running,
        StepStatus::Verifying,
        StepStatus::Done,
        StepStatus::Failed,
        StepStatus::Skipped,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Verifying => "verifying",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    /// Parses a status or the verb that leads to it (`start`, `verify`, `done`,
    /// `fail`, `skip`).
    pub fn parse(raw: &str) -> Option<StepStatus> {
        Some(match raw {
            "start" | "running" | "run" => StepStatus::Running,
            "verify" | "verifying" => StepStatus::Verifying,
            "done" | "complete" => StepStatus::Done,
            "fail" | "failed" => StepStatus::Failed,
            "skip" | "skipped" => StepStatus::Skipped,
            "pending" => StepStatus::Pending,
            _ => return None,
        })
    }

    /// Whether a step may move from `self` to `to` in one transition.
    pub fn can_move_to(self, to: StepStatus) -> bool {
        use StepStatus::*;
        matches!(
            (self, to),
            (Pending, Running)
                | (Pending, Skipped)
                | (Running, Verifying)
                | (Running, Failed)
                | (Verifying, Done)
                | (Verifying, Failed)
                | (Failed, Running)
        )
    }

    /// Done or skipped: successors may start.
    pub fn is_settled(self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::Skipped)
    }

    /// Something was deployed (or half-deployed) by this step.
    pub fn touched(self) -> bool {
        matches!(
            self,
            StepStatus::Running | StepStatus::Verifying | StepStatus::Done | StepStatus::Failed
        )
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which list of steps a transition is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunPhase {
    /// The runbook's deployment steps.
    Deploy,
    /// The rollback's steps.
    Rollback,
}

impl RunPhase {
    /// `deploy` or `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunPhase::Deploy => "deploy",
            RunPhase::Rollback => "rollback",
        }
    }
}

/// How a run as a whole stands, derived from its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Deployment steps are under way.
    Deploying,
    /// Every deployment step is done or skipped.
    Completed,
    /// A rollback is under way.
    RollingBack,
    /// Every rollback step is done or skipped.
    RolledBack,
}

impl RunStatus {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Deploying => "deploying",
            RunStatus::Completed => "completed",
            RunStatus::RollingBack => "rolling-back",
            RunStatus::RolledBack => "rolled-back",
        }
    }

    /// Whether a new run may start after this one.
    pub fn is_finished(self) -> bool {
        matches!(self, RunStatus::Completed | RunStatus::RolledBack)
    }
}

/// One transition of a step: who did what, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// Before.
    pub from: StepStatus,
    /// After.
    pub to: StepStatus,
    /// Who.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// A note (why it failed, why it was skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A step of a run, as planned for a phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRunStep {
    /// The component; the step's id within its phase.
    pub component: Name,
    /// Steps of the same phase that must be done or skipped first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Name>,
}

/// A step of a run as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStep {
    /// The component.
    pub component: Name,
    /// Predecessors within the phase.
    pub after: Vec<Name>,
    /// Where it is.
    pub status: StepStatus,
    /// Every transition, oldest first.
    pub history: Vec<Transition>,
}

impl RunStep {
    fn planned(step: &PlannedRunStep) -> RunStep {
        RunStep {
            component: step.component.clone(),
            after: step.after.clone(),
            status: StepStatus::Pending,
            history: Vec::new(),
        }
    }
}

/// A rollback trigger that fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrippedTrigger {
    /// The component whose signal tripped it.
    pub component: Name,
    /// The trigger's signal (`error-rate`).
    pub trigger: String,
    /// What was observed, in words.
    pub detail: String,
    /// When the deciding signal was observed.
    pub at: Timestamp,
}

/// A rollback of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    /// Why.
    pub reason: String,
    /// Started by a tripped trigger of an auto-rollback run.
    pub automatic: bool,
    /// Who started it.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Its steps, in reverse dependency order.
    pub steps: Vec<RunStep>,
}

/// A break-glass override: who deployed inside which deny windows, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlass {
    /// `run` or `step COMPONENT`.
    pub scope: String,
    /// The deny windows overridden.
    pub windows: Vec<Name>,
    /// Who.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// A deployment run of a release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The release.
    pub release: Name,
    /// 1 for the release's first run, then 2, …
    pub number: u32,
    /// The runbook executed.
    pub runbook: Runbook,
    /// Start the rollback as soon as a trigger trips.
    pub auto_rollback: bool,
    /// Who started it.
    pub started_by: String,
    /// When.
    pub started_at: Timestamp,
    /// Deployment steps, in runbook order.
    pub steps: Vec<RunStep>,
    /// Triggers that fired.
    pub tripped: Vec<TrippedTrigger>,
    /// The rollback, once started.
    pub rollback: Option<Rollback>,
    /// Break-glass overrides used.
    pub break_glass: Vec<BreakGlass>,
    /// Per component and threshold trigger, the observation time of the first sample
    /// of the current unbroken run of samples above the threshold.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    breaches: BTreeMap<String, Timestamp>,
}

impl Run {
    /// How the run stands.
    pub fn status(&self) -> RunStatus {
        match &self.rollback {
            Some(rollback) if rollback.steps.iter().all(|s| s.status.is_settled()) => {
                RunStatus::RolledBack
            }
            Some(_) => RunStatus::RollingBack,
            None if self.steps.iter().all(|s| s.status.is_settled()) => RunStatus::Completed,
            None => RunStatus::Deploying,
        }
    }

    /// The phase whose steps transitions now apply to.
    pub fn phase(&self) -> RunPhase {
        match self.rollback {
            Some(_) => RunPhase::Rollback,
            None => RunPhase::Deploy,
        }
    }

    /// The steps of `phase`.
    pub fn steps_of(&self, phase: RunPhase) -> &[RunStep] {
        match (phase, &self.rollback) {
            (RunPhase::Deploy, _) => &self.steps,
            (RunPhase::Rollback, Some(rollback)) => &rollback.steps,
            (RunPhase::Rollback, None) => &[],
        }
    }

    /// The steps a rollback started now would have: every touched deployment step, in
    /// reverse dependency order (what a notice of a failure says would be undone).
    pub fn rollback_plan(&self) -> Vec<PlannedRunStep> {
        rollback_steps(self)
    }

    /// Whether a tripped trigger proposes a rollback that has not started.
    pub fn rollback_proposed(&self) -> bool {
        !self.tripped.is_empty() && self.rollback.is_none()
    }

    fn steps_mut(&mut self, phase: RunPhase) -> Option<&mut Vec<RunStep>> {
        match phase {
            RunPhase::Deploy => Some(&mut self.steps),
            RunPhase::Rollback => self.rollback.as_mut().map(|r| &mut r.steps),
        }
    }

    /// Whether this run watches what happens at `at`: no rollback has started, and it is
    /// deploying, or completed less than [`WATCH_AFTER_COMPLETION`] before. A release
    /// shipped weeks ago is not proposed for rollback by today's incident.
    fn watches(&self, at: Timestamp) -> bool {
        if self.rollback.is_some() {
            return false;
        }
        if self.status() != RunStatus::Completed {
            return true;
        }
        let completed = self
            .steps
            .iter()
            .flat_map(|s| s.history.iter().map(|t| t.at))
            .max()
            .unwrap_or(self.started_at);
        completed
            .checked_add(WATCH_AFTER_COMPLETION)
            .is_ok_and(|until| at < until)
    }

    /// Folds a signal into the breach windows of the threshold triggers.
    fn observe(&mut self, signal: &Signal) {
        if !self.watches(signal.observed_at) || !self.concerns(signal) {
            return;
        }
        for trigger in &self.runbook.rollback_triggers {
            let Some(value) = threshold_value(&trigger.signal, &signal.reading) else {
                continue;
            };
            let key = breach_key(&signal.component, &trigger.signal);
            if value > threshold(trigger.signal.as_str(), trigger.above) {
                self.breaches.entry(key).or_insert(signal.observed_at);
            } else {
                self.breaches.remove(&key);
            }
        }
    }

    /// Whether `signal` is about this run: one of its components, in its environment
    /// (or in none), observed after the run started.
    fn concerns(&self, signal: &Signal) -> bool {
        self.runbook.components().any(|c| c == &signal.component)
            && signal
                .environment
                .as_ref()
                .is_none_or(|e| e == &self.runbook.environment)
            && signal.observed_at >= self.started_at
    }
}

/// How long a completed run keeps watching its components' signals for its rollback
/// triggers: the first day after the last step, when a bad deploy usually shows.
pub const WATCH_AFTER_COMPLETION: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

fn breach_key(component: &Name, trigger: &str) -> String {
    format!("{component}/{trigger}")
}

/// The reading a threshold trigger compares, in the unit of its threshold: basis
/// points for an error rate, milliseconds for latency.
fn threshold_value(trigger: &str, reading: &SignalReading) -> Option<u64> {
    match (trigger, reading) {
        ("error-rate", SignalReading::ErrorRate { basis_points }) => Some(u64::from(*basis_points)),
        ("latency", SignalReading::Latency { p95_ms }) => Some(u64::from(*p95_ms)),
        _ => None,
    }
}

/// A trigger's threshold in the unit of [`threshold_value`]: `above` is a percent for
/// an error rate (5.0 → 500 basis points) and milliseconds for latency. A trigger
/// without a threshold fires on any sample above zero.
fn threshold(trigger: &str, above: Option<f64>) -> u64 {
    let above = above.unwrap_or(0.0).max(0.0);
    let scaled = match trigger {
        "error-rate" => above * 100.0,
        _ => above,
    };
    // Thresholds are small, declared numbers; saturating is the honest conversion.
    scaled.round().min(u64::MAX as f64) as u64
}

/// The options of a new run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Start the rollback as soon as a trigger trips.
    pub auto_rollback: bool,
    /// A break-glass reason, needed to start inside a deny window.
    pub break_glass: Option<String>,
}

/// The stream of a release's runs.
pub fn stream(release: &Name) -> String {
    format!("run:{release}")
}

fn not_running(release: &Name) -> DomainError {
    DomainError::NotFound {
        kind: "run of release",
        name: release.to_string(),
        suggestion: None,
    }
}

fn break_glass_reason(reason: Option<&str>) -> Result<Option<String>, DomainError> {
    match reason.map(str::trim) {
        None => Ok(None),
        Some("") => Err(DomainError::invalid(
            "reason",
            "a break-glass override needs a reason",
        )),
        Some(reason) => Ok(Some(reason.to_owned())),
    }
}

/// Decides `StartRun`.
pub(crate) fn start(
    state: &State,
    release: Name,
    runbook: Runbook,
    by: String,
    options: RunOptions,
    now: Timestamp,
) -> Result<Vec<Event>, DomainError> {
    if runbook.release != release {
        return Err(DomainError::invalid(
            "runbook",
            format!(
                "the runbook is for release `{}`, not `{release}`",
                runbook.release
            ),
        ));
    }
    if runbook.steps.is_empty() {
        return Err(DomainError::invalid(
            "spec.deployment.steps",
            format!("release `{release}` has no deployment steps to run"),
        ));
    }
    let previous = state.runs().get(&release);
    if let Some(run) = previous
        && !run.status().is_finished()
    {
        return Err(DomainError::invalid(
            "run",
            format!(
                "run {} of release `{release}` is already {} (started by {} at {})",
                run.number,
                run.status().as_str(),
                run.started_by,
                run.started_at
            ),
        ));
    }
    let reason = break_glass_reason(options.break_glass.as_deref())?;
    // A production run on a no-go verdict is a decision someone makes and explains.
    let verdict = crate::checklist::assess(state, &release)?.verdict;
    let unmet: Vec<Name> = verdict
        .criteria
        .iter()
        .filter(|criterion| criterion.status != crate::readiness::CriterionStatus::Met)
        .filter_map(|criterion| Name::parse(criterion.id).ok())
        .collect();
    let windows: Vec<Name> = runbook
        .windows_at(now)
        .into_iter()
        .map(|w| w.name.clone())
        .collect();
    let mut events = Vec::new();
    if !windows.is_empty() {
        let Some(reason) = reason.clone() else {
            return Err(DomainError::DeployFrozen {
                environment: runbook.environment.clone(),
                windows: runbook
                    .windows_at(now)
                    .into_iter()
                    .map(|w| format!("{} until {}", w.title, w.end))
                    .collect(),
            });
        };
        events.push(Event::BreakGlassUsed {
            release: release.clone(),
            break_glass: BreakGlass {
                scope: "run".to_owned(),
                windows,
                by: by.clone(),
                reason,
                at: now,
            },
        });
    }
    if !unmet.is_empty() {
        let Some(reason) = reason else {
            return Err(DomainError::NoGo {
                release,
                unmet: unmet.iter().map(Name::to_string).collect(),
            });
        };
        events.push(Event::BreakGlassUsed {
            release: release.clone(),
            break_glass: BreakGlass {
                scope: "go/no-go".to_owned(),
                windows: unmet,
                by: by.clone(),
                reason,
                at: now,
            },
        });
    }
    let number = previous.map_or(1, |run| run.number + 1);
    events.insert(
        0,
        Event::RunStarted {
            release,
            number,
            runbook: Box::new(runbook),
            auto_rollback: options.auto_rollback,
            by,
            at: now,
        },
    );
    Ok(events)
}

/// The fields of `ChangeRunStep`.
pub(crate) struct StepChange {
    pub(crate) release: Name,
    pub(crate) step: Name,
    pub(crate) to: StepStatus,
    pub(crate) by: String,
    pub(crate) note: Option<String>,
    pub(crate) break_glass: Option<String>,
    /// Blackouts in force now, from the edge.
    pub(crate) freezes: Vec<crate::runbook::DenyWindow>,
}

/// Decides `ChangeRunStep`: one transition of one step of the current phase.
pub(crate) fn change_step(
    state: &State,
    change: StepChange,
    now: Timestamp,
) -> Result<Vec<Event>, DomainError> {
    let StepChange {
        release,
        step,
        to,
        by,
        note,
        break_glass,
        freezes,
    } = change;
    let run = state.runs().get(&release).ok_or_else(|| {
        if state.releases().contains_key(&release) {
            not_running(&release)
        } else {
            DomainError::NotFound {
                kind: "release",
                name: release.to_string(),
                suggestion: crate::suggest::closest(
                    release.as_str(),
                    state.releases().keys().map(Name::as_str),
                )
                .map(str::to_owned),
            }
        }
    })?;
    let status = run.status();
    if status == RunStatus::RolledBack {
        return Err(DomainError::invalid(
            "run",
            format!(
                "run {} of release `{release}` is rolled back: start a new run",
                run.number
            ),
        ));
    }
    let phase = run.phase();
    // A release cancelled mid-run deploys nothing more; what went out can still be
    // rolled back.
    if phase == RunPhase::Deploy
        && state
            .releases()
            .get(&release)
            .is_some_and(|r| r.state == crate::ReleaseState::Cancelled)
    {
        return Err(DomainError::invalid(
            "run",
            format!(
                "release `{release}` was cancelled during run {}: the deployment stops here; \
                 roll back what went out with `lockstep run rollback {release}`",
                run.number
            ),
        ));
    }
    let steps = run.steps_of(phase);
    let Some(current) = steps.iter().find(|s| s.component == step) else {
        if phase == RunPhase::Rollback && run.steps.iter().any(|s| s.component == step) {
            return Err(DomainError::invalid(
                "step",
                format!(
                    "run {} of release `{release}` is rolling back and `{step}` was never \
                     deployed: it has no rollback step",
                    run.number
                ),
            ));
        }
        return Err(DomainError::NotFound {
            kind: "step",
            name: step.to_string(),
            suggestion: crate::suggest::closest(
                step.as_str(),
                steps.iter().map(|s| s.component.as_str()),
            )
            .map(str::to_owned),
        });
    };
    if current.status == to {
        let last = current.history.last();
        return Err(DomainError::invalid(
            "step",
            format!(
                "{} step `{step}` is already {to}{}",
                phase.as_str(),
                last.map(|t| format!(" ({} at {})", t.by, t.at))
                    .unwrap_or_default()
            ),
        ));
    }
    if !current.status.can_move_to(to) {
        return Err(DomainError::IllegalStepTransition {
            step,
            from: current.status,
            to,
        });
    }
    let mut events = Vec::new();
    if to == StepStatus::Running {
        let waiting: Vec<Name> = current
            .after
            .iter()
            .filter(|before| {
                steps
                    .iter()
                    .find(|s| &s.component == *before)
                    .is_some_and(|s| !s.status.is_settled())
            })
            .cloned()
            .collect();
        if !waiting.is_empty() {
            return Err(DomainError::StepNotReady { step, waiting });
        }
        if phase == RunPhase::Deploy && run.rollback_proposed() {
            let tripped = &run.tripped[0];
            return Err(DomainError::invalid(
                "step",
                format!(
                    "rollback trigger {} tripped on `{}` ({}): start the rollback, \
                     do not deploy further",
                    tripped.trigger, tripped.component, tripped.detail
                ),
            ));
        }
        // A rollback is exempt: undoing a change is what a freeze wants.
        if phase == RunPhase::Deploy {
            let overridden: BTreeSet<&Name> = run
                .break_glass
                .iter()
                .flat_map(|b| b.windows.iter())
                .collect();
            let mut open: Vec<&crate::runbook::DenyWindow> = run
                .runbook
                .windows_at(now)
                .into_iter()
                .chain(freezes.iter().filter(|w| w.contains(now)))
                .filter(|w| !overridden.contains(&w.name))
                .collect();
            open.sort_by(|a, b| (&a.name, a.start).cmp(&(&b.name, b.start)));
            open.dedup_by(|a, b| a.name == b.name && a.start == b.start);
            if !open.is_empty() {
                let Some(reason) = break_glass_reason(break_glass.as_deref())? else {
                    return Err(DomainError::DeployFrozen {
                        environment: run.runbook.environment.clone(),
                        windows: open
                            .iter()
                            .map(|w| format!("{} until {}", w.title, w.end))
                            .collect(),
                    });
                };
                events.push(Event::BreakGlassUsed {
                    release: release.clone(),
                    break_glass: BreakGlass {
                        scope: format!("step {step}"),
                        windows: open.iter().map(|w| w.name.clone()).collect(),
                        by: by.clone(),
                        reason,
                        at: now,
                    },
                });
            }
        }
    }
    let deployed = (to == StepStatus::Done)
        .then(|| deployed_version(state, run, phase, &step, &by, now))
        .flatten();
    events.push(Event::RunStepChanged {
        release,
        number: run.number,
        phase,
        step,
        from: current.status,
        to,
        by,
        at: now,
        note: note.filter(|n| !n.trim().is_empty()),
    });
    events.extend(deployed);
    Ok(events)
}

/// What a step's completion changes in the environment's deployed versions: a deployment
/// runs the version the plan names, a rollback brings back the one it replaced, or, when
/// none was on record, withdraws the one it deployed (the environment then runs a version
/// nobody recorded). `None` when the plan names no version or nothing changes.
fn deployed_version(
    state: &State,
    run: &Run,
    phase: RunPhase,
    component: &Name,
    by: &str,
    now: Timestamp,
) -> Option<Event> {
    let planned = run
        .runbook
        .steps
        .iter()
        .find(|s| &s.component == component)?;
    let environment = &run.runbook.environment;
    let current = state.contracts().deployed_in(environment, component);
    let version = match phase {
        RunPhase::Deploy => planned.version.as_ref(),
        // Only a step that deployed a version of its own has one to undo.
        RunPhase::Rollback => match (&planned.version, &planned.replaces) {
            (Some(_), Some(replaces)) => Some(replaces),
            (Some(deployed), None) => {
                return current.is_some_and(|d| &d.version == deployed).then(|| {
                    Event::ComponentWithdrawn {
                        component: component.clone(),
                        environment: environment.clone(),
                        version: deployed.clone(),
                        by: by.to_owned(),
                        at: now,
                    }
                });
            }
            (None, _) => None,
        },
    }?;
    if current.is_some_and(|d| &d.version == version) {
        return None;
    }
    Some(Event::ComponentDeployed {
        component: component.clone(),
        environment: environment.clone(),
        version: version.clone(),
        by: by.to_owned(),
        at: now,
    })
}

/// Decides `StartRollback`.
pub(crate) fn start_rollback(
    state: &State,
    release: Name,
    by: String,
    reason: Option<String>,
    now: Timestamp,
) -> Result<Vec<Event>, DomainError> {
    let run = state
        .runs()
        .get(&release)
        .ok_or_else(|| not_running(&release))?;
    if let Some(rollback) = &run.rollback {
        return Err(DomainError::invalid(
            "run",
            format!(
                "run {} of release `{release}` is already {} (the rollback was started by {} \
                 at {})",
                run.number,
                run.status().as_str().replace('-', " "),
                rollback.by,
                rollback.at
            ),
        ));
    }
    let reason = match reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
    {
        Some(reason) => reason,
        None => match run.tripped.first() {
            Some(tripped) => format!(
                "rollback trigger {} tripped on {}: {}",
                tripped.trigger, tripped.component, tripped.detail
            ),
            None => {
                return Err(DomainError::invalid(
                    "reason",
                    "no rollback trigger tripped: a manual rollback needs a reason",
                ));
            }
        },
    };
    let steps = rollback_steps(run);
    if steps.is_empty() {
        return Err(DomainError::invalid(
            "run",
            format!(
                "nothing to roll back: no step of run {} was deployed",
                run.number
            ),
        ));
    }
    Ok(vec![Event::RollbackStarted {
        release,
        number: run.number,
        steps,
        reason,
        automatic: false,
        by,
        at: now,
    }])
}

/// The deployed steps of `run` in reverse dependency order; the rollback of a step
/// waits for the rollbacks of every deployed step downstream of it.
fn rollback_steps(run: &Run) -> Vec<PlannedRunStep> {
    let touched: Vec<&RunStep> = run.steps.iter().filter(|s| s.status.touched()).collect();
    let by_name: BTreeMap<&Name, &RunStep> = run.steps.iter().map(|s| (&s.component, s)).collect();
    // Whether `ancestor` is upstream of `step` in the deployment graph.
    let upstream = |ancestor: &Name, step: &RunStep| {
        let mut stack: Vec<&Name> = step.after.iter().collect();
        let mut seen = BTreeSet::new();
        while let Some(next) = stack.pop() {
            if next == ancestor {
                return true;
            }
            if seen.insert(next)
                && let Some(found) = by_name.get(next)
            {
                stack.extend(found.after.iter());
            }
        }
        false
    };
    touched
        .iter()
        .rev()
        .map(|step| PlannedRunStep {
            component: step.component.clone(),
            after: touched
                .iter()
                .filter(|other| upstream(&step.component, other))
                .map(|other| other.component.clone())
                .collect(),
        })
        .collect()
}

/// The events a newly decided signal causes on runs: tripped triggers, and the
/// rollback of an auto-rollback run.
pub(crate) fn on_signal(state: &State, signal: &Signal) -> Vec<Event> {
    let mut events = Vec::new();
    for run in state.runs().values() {
        if !run.watches(signal.observed_at) || !run.concerns(signal) {
            continue;
        }
        let mut probe = run.clone();
        probe.observe(signal);
        let mut tripped = Vec::new();
        for trigger in &run.runbook.rollback_triggers {
            let already = run
                .tripped
                .iter()
                .any(|t| t.component == signal.component && t.trigger == trigger.signal);
            if already {
                continue;
            }
            let detail = match (trigger.signal.as_str(), &signal.reading) {
                ("error-rate" | "latency", reading) => {
                    let key = breach_key(&signal.component, &trigger.signal);
                    let Some(since) = probe.breaches.get(&key) else {
                        continue;
                    };
                    let window = i64::from(trigger.for_minutes.unwrap_or(0)) * 60;
                    let held = signal.observed_at.as_second() - since.as_second();
                    if held < window {
                        continue;
                    }
                    format!(
                        "{} since {since} ({} min): {}",
                        reading.describe(),
                        held / 60,
                        describe_trigger(trigger)
                    )
                }
                ("p0-bug", SignalReading::Bugs { critical, .. }) if *critical > 0 => {
                    format!("{critical} open P0/critical bug(s)")
                }
                (
                    "integration-failure",
                    SignalReading::SmokeTest {
                        passed: false,
                        failed,
                    },
                ) => {
                    format!("smoke tests failed ({failed} failing)")
                }
                _ => continue,
            };
            tripped.push(Event::RollbackTriggerTripped {
                release: run.release.clone(),
                number: run.number,
                trip: TrippedTrigger {
                    component: signal.component.clone(),
                    trigger: trigger.signal.clone(),
                    detail,
                    at: signal.observed_at,
                },
            });
        }
        if tripped.is_empty() {
            continue;
        }
        let first_detail = match &tripped[0] {
            Event::RollbackTriggerTripped { trip, .. } => {
                format!(
                    "rollback trigger {} tripped on {}: {}",
                    trip.trigger, trip.component, trip.detail
                )
            }
            _ => String::new(),
        };
        events.extend(tripped);
        if run.auto_rollback {
            let steps = rollback_steps(run);
            if !steps.is_empty() {
                events.push(Event::RollbackStarted {
                    release: run.release.clone(),
                    number: run.number,
                    steps,
                    reason: first_detail,
                    automatic: true,
                    by: "lockstep".to_owned(),
                    at: signal.observed_at,
                });
            }
        }
    }
    events
}

/// The events a failed integration scenario causes: the `integration-failure` trigger
/// of a watching run of the task's release trips, on the first of the task's
/// components that the run deploys (and an auto-rollback run starts rolling back).
pub(crate) fn on_scenario_failed(
    state: &State,
    task: &crate::IntegrationTask,
    scenario: usize,
    now: Timestamp,
) -> Vec<Event> {
    let Some(run) = state.runs().get(&task.release) else {
        return Vec::new();
    };
    let has_trigger = run
        .runbook
        .rollback_triggers
        .iter()
        .any(|t| t.signal == "integration-failure");
    let Some(component) = task
        .spec
        .components
        .iter()
        .find(|c| run.runbook.components().any(|own| own == *c))
    else {
        return Vec::new();
    };
    let already = run
        .tripped
        .iter()
        .any(|t| t.trigger == "integration-failure" && &t.component == component);
    if !run.watches(now) || !has_trigger || already {
        return Vec::new();
    }
    let scenario_title = task
        .spec
        .scenarios
        .get(scenario)
        .map_or("a scenario", |s| s.title.as_str());
    let detail = format!("integration failed: {} — {scenario_title}", task.spec.title);
    let mut events = vec![Event::RollbackTriggerTripped {
        release: run.release.clone(),
        number: run.number,
        trip: TrippedTrigger {
            component: component.clone(),
            trigger: "integration-failure".to_owned(),
            detail: detail.clone(),
            at: now,
        },
    }];
    if run.auto_rollback {
        let steps = rollback_steps(run);
        if !steps.is_empty() {
            events.push(Event::RollbackStarted {
                release: run.release.clone(),
                number: run.number,
                steps,
                reason: format!(
                    "rollback trigger integration-failure tripped on {component}: {detail}"
                ),
                automatic: true,
                by: "lockstep".to_owned(),
                at: now,
            });
        }
    }
    events
}

/// Folds a run event into `runs`. Never fails: it is replay.
pub(crate) fn apply(runs: &mut BTreeMap<Name, Run>, event: &Event) {
    match event {
        Event::RunStarted {
            release,
            number,
            runbook,
            auto_rollback,
            by,
            at,
        } => {
            let steps = runbook
                .steps
                .iter()
                .map(|s| {
                    RunStep::planned(&PlannedRunStep {
                        component: s.component.clone(),
                        after: s.after.clone(),
                    })
                })
                .collect();
            runs.insert(
                release.clone(),
                Run {
                    release: release.clone(),
                    number: *number,
                    runbook: (**runbook).clone(),
                    auto_rollback: *auto_rollback,
                    started_by: by.clone(),
                    started_at: *at,
                    steps,
                    tripped: Vec::new(),
                    rollback: None,
                    break_glass: Vec::new(),
                    breaches: BTreeMap::new(),
                },
            );
        }
        Event::BreakGlassUsed {
            release,
            break_glass,
        } => {
            if let Some(run) = runs.get_mut(release) {
                run.break_glass.push(break_glass.clone());
            }
        }
        Event::RunStepChanged {
            release,
            phase,
            step,
            from,
            to,
            by,
            at,
            note,
            ..
        } => {
            if let Some(found) = runs
                .get_mut(release)
                .and_then(|run| run.steps_mut(*phase))
                .and_then(|steps| steps.iter_mut().find(|s| &s.component == step))
            {
                found.status = *to;
                found.history.push(Transition {
                    from: *from,
                    to: *to,
                    by: by.clone(),
                    at: *at,
                    note: note.clone(),
                });
            }
        }
        Event::RollbackTriggerTripped { release, trip, .. } => {
            if let Some(run) = runs.get_mut(release) {
                run.tripped.push(trip.clone());
            }
        }
        Event::RollbackStarted {
            release,
            steps,
            reason,
            automatic,
            by,
            at,
            ..
        } => {
            if let Some(run) = runs.get_mut(release) {
                run.rollback = Some(Rollback {
                    reason: reason.clone(),
                    automatic: *automatic,
                    by: by.clone(),
                    at: *at,
                    steps: steps.iter().map(RunStep::planned).collect(),
                });
                run.breaches.clear();
            }
        }
        _ => {}
    }
}

/// Folds a recorded signal into the breach windows of every run it concerns.
pub(crate) fn observe_signal(runs: &mut BTreeMap<Name, Run>, signal: &Signal) {
    for run in runs.values_mut() {
        run.observe(signal);
    }
}
