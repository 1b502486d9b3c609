//! What a deployment run tells people while it executes: a step that failed, a rollback
//! trigger that tripped, a rollback that started, and how the run ended (completed,
//! rolled back, or aborted because its release was cancelled mid-run); and who must hear
//! it besides the subscribers: the release manager and the runbook contacts of the teams
//! concerned (seed 000's "Contacts" section, seed 003's "communicate deployment status,
//! manage any issues or rollbacks").
//!
//! Pure: [`notice`] compares a release's run before and after one event. Composing the
//! message is `compose`'s job and routing it `policy`'s; nothing here reads the clock.

use jiff::Timestamp;
use lockstep_core::run::{Run, RunPhase, RunStatus, StepStatus, TrippedTrigger};
use lockstep_core::{Event, EventMeta, Name, ReleaseState, State};
use serde::{Deserialize, Serialize};

use crate::MessageKind;

/// Something that happened to a run that people must be told about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunNotice {
    /// The run's number within its release.
    pub number: u32,
    /// What happened.
    pub occurrence: Occurrence,
    /// Who did it: a user, an integration that recorded a signal, or `lockstep` for an
    /// automatic rollback.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// What happened to a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Occurrence {
    /// A step of the deployment or of the rollback failed.
    StepFailed {
        /// Deploy or rollback.
        phase: RunPhase,
        /// The step (its component).
        step: Name,
        /// Why, if the person said.
        note: Option<String>,
    },
    /// A rollback trigger fired on a signal.
    TriggerTripped {
        /// The trigger, the component and what was observed.
        trip: TrippedTrigger,
    },
    /// The rollback started.
    RollbackStarted {
        /// Why.
        reason: String,
        /// Started by an auto-rollback run's tripped trigger.
        automatic: bool,
    },
    /// The run ended.
    Finished {
        /// How.
        outcome: Outcome,
    },
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every deployment step is done or skipped.
    Completed,
    /// Every rollback step is done or skipped.
    RolledBack,
    /// The release was cancelled while the run was still deploying or rolling back.
    Aborted,
}

impl Outcome {
    /// The words used in subjects and bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::RolledBack => "rolled back",
            Outcome::Aborted => "aborted",
        }
    }
}

impl RunNotice {
    /// The kind of message it becomes.
    pub fn kind(&self) -> MessageKind {
        match self.occurrence {
            Occurrence::StepFailed { .. } | Occurrence::TriggerTripped { .. } => {
                MessageKind::DeploymentIncident
            }
            Occurrence::RollbackStarted { .. } => MessageKind::RollbackStarted,
            Occurrence::Finished { .. } => MessageKind::DeploymentStatus,
        }
    }

    /// Whether it goes out at once, ignoring quiet hours and digests: everything but a
    /// run that completed, which is news rather than an incident.
    pub fn urgent(&self) -> bool {
        !matches!(
            self.occurrence,
            Occurrence::Finished {
                outcome: Outcome::Completed
            }
        )
    }

    /// The component whose step or signal it is about, if it is about one.
    pub fn component(&self) -> Option<&Name> {
        match &self.occurrence {
            Occurrence::StepFailed { step, .. } => Some(step),
            Occurrence::TriggerTripped { trip } => Some(&trip.component),
            Occurrence::RollbackStarted { .. } | Occurrence::Finished { .. } => None,
        }
    }

    /// The team that owns the component it is about (from the run's runbook).
    pub fn team<'r>(&self, run: &'r Run) -> Option<&'r Name> {
        let component = self.component()?;
        run.runbook
            .steps
            .iter()
            .find(|s| &s.component == component)
            .map(|s| &s.team)
    }

    /// Who must be told whatever they subscribed to otherwise, release manager first:
    /// for an incident, the primary and backup contacts of the component's step; for a
    /// rollback, those of every step being rolled back (they move the rollback's steps);
    /// for the end of a run, the primary contact of every step. Nobody twice.
    pub fn contacts(&self, state: &State, run: &Run) -> Vec<Name> {
        let mut out: Vec<Name> = Vec::new();
        let mut add = |handle: &Name| {
            if !out.contains(handle) {
                out.push(handle.clone());
            }
        };
        if let Some(manager) = state
            .releases()
            .get(&run.release)
            .and_then(|r| r.spec.manager.as_ref())
        {
            add(manager);
        }
        let rolled_back: Vec<&Name> = match &run.rollback {
            Some(rollback) => rollback.steps.iter().map(|s| &s.component).collect(),
            None => Vec::new(),
        };
        for step in &run.runbook.steps {
            let (concerned, with_backup) = match &self.occurrence {
                Occurrence::StepFailed { step: failed, .. } => (&step.component == failed, true),
                Occurrence::TriggerTripped { trip } => (step.component == trip.component, true),
                Occurrence::RollbackStarted { .. } => {
                    (rolled_back.contains(&&step.component), true)
                }
                Occurrence::Finished { .. } => (true, false),
            };
            if !concerned {
                continue;
            }
            if let Some(primary) = &step.primary {
                add(&primary.handle);
            }
            if with_backup && let Some(backup) = &step.backup {
                add(&backup.handle);
            }
        }
        out
    }
}

/// The notice `event` causes, given the release's run before it (`before`) and after it
/// (`after`); `meta` names who recorded the event and when.
pub fn notice(
    before: Option<&Run>,
    after: Option<&Run>,
    event: &Event,
    meta: &EventMeta,
) -> Option<RunNotice> {
    match event {
        Event::RunStepChanged {
            number,
            phase,
            step,
            to: StepStatus::Failed,
            by,
            at,
            note,
            ..
        } => Some(RunNotice {
            number: *number,
            occurrence: Occurrence::StepFailed {
                phase: *phase,
                step: step.clone(),
                note: note.clone(),
            },
            by: by.clone(),
            at: *at,
        }),
        Event::RunStepChanged { number, by, at, .. } => {
            let was = before.map(Run::status)?;
            let outcome = match after.map(Run::status)? {
                RunStatus::Completed if was != RunStatus::Completed => Outcome::Completed,
                RunStatus::RolledBack if was != RunStatus::RolledBack => Outcome::RolledBack,
                _ => return None,
            };
            Some(RunNotice {
                number: *number,
                occurrence: Occurrence::Finished { outcome },
                by: by.clone(),
                at: *at,
            })
        }
        Event::RollbackTriggerTripped { number, trip, .. } => Some(RunNotice {
            number: *number,
            occurrence: Occurrence::TriggerTripped { trip: trip.clone() },
            by: meta.actor.clone(),
            at: trip.at,
        }),
        Event::RollbackStarted {
            number,
            reason,
            automatic,
            by,
            at,
            ..
        } => Some(RunNotice {
            number: *number,
            occurrence: Occurrence::RollbackStarted {
                reason: reason.clone(),
                automatic: *automatic,
            },
            by: by.clone(),
            at: *at,
        }),
        Event::ReleaseStateChanged {
            to: ReleaseState::Cancelled,
            ..
        } => {
            let run = before?;
            if run.status().is_finished() {
                return None;
            }
            Some(RunNotice {
                number: run.number,
                occurrence: Occurrence::Finished {
                    outcome: Outcome::Aborted,
                },
                by: meta.actor.clone(),
                at: meta.at,
            })
        }
        _ => None,
    }
}

/// The release whose run `event` is about, if it can be about one.
pub fn release_of(event: &Event) -> Option<&Name> {
    match event {
        Event::RunStepChanged { release, .. }
        | Event::RollbackTriggerTripped { release, .. }
        | Event::RollbackStarted { release, .. }
        | Event::ReleaseStateChanged {
            release,
            to: ReleaseState::Cancelled,
            ..
        } => Some(release),
        _ => None,
    }
}
