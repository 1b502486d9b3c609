//! Which events made each thing in the plan what it is, so that every message can list
//! the event positions it was built from.
//!
//! An index from a subject (a release, an item, a dependency, an integration task, a
//! team) to the positions of the events about it. It does not interpret the events.

use std::collections::{BTreeSet, HashMap};

use lockstep_core::{Event, Recorded};

/// Event positions by the subject they are about.
#[derive(Clone, Debug, Default)]
pub struct Provenance {
    by_subject: HashMap<String, Vec<i64>>,
}

/// The subject keys of one event.
pub(crate) fn subjects(event: &Event) -> Vec<String> {
    match event {
        Event::TeamDefined { team, .. } | Event::TeamRedefined { team, .. } => {
            vec![format!("team:{team}")]
        }
        Event::ComponentDefined { component, .. } | Event::ComponentRedefined { component, .. } => {
            vec![format!("component:{component}")]
        }
        Event::ReleasePlanned { release, .. }
        | Event::ReleaseRedefined { release, .. }
        | Event::ReleaseStateChanged { release, .. } => vec![format!("release:{release}")],
        Event::ItemAdded { item, .. }
        | Event::ItemRedefined { item, .. }
        | Event::ItemStatusChanged { item, .. }
        | Event::ItemEtaChanged { item, .. }
        | Event::ItemUpdatePosted { item, .. } => vec![format!("item:{item}")],
        Event::DependencyAdded { dependency } | Event::DependencyChanged { dependency } => {
            vec![dependency_key(
                dependency.blocker.as_str(),
                dependency.blocked.as_str(),
            )]
        }
        Event::DependencyRemoved { blocker, blocked } => {
            vec![dependency_key(blocker.as_str(), blocked.as_str())]
        }
        Event::IntegrationTaskDefined { task, .. }
        | Event::IntegrationTaskRedefined { task, .. }
        | Event::ScenarioResultRecorded { task, .. } => vec![format!("task:{task}")],
        Event::RiskIdentified { risk, .. }
        | Event::RiskRedefined { risk, .. }
        | Event::RiskStatusChanged { risk, .. } => vec![format!("risk:{risk}")],
        Event::RunStarted { release, .. }
        | Event::BreakGlassUsed { release, .. }
        | Event::RunStepChanged { release, .. }
        | Event::RollbackTriggerTripped { release, .. }
        | Event::RollbackStarted { release, .. } => vec![format!("run:{release}")],
        // Environments, blackouts and whatever core adds next are not yet quoted by any
        // message; they need no index until one is.
        _ => Vec::new(),
    }
}

pub(crate) fn dependency_key(blocker: &str, blocked: &str) -> String {
    format!("dependency:{blocker}>{blocked}")
}

impl Provenance {
    /// Indexes `history` (in any order).
    pub fn new(history: &[Recorded]) -> Provenance {
        let mut by_subject: HashMap<String, Vec<i64>> = HashMap::new();
        for recorded in history {
            for subject in subjects(&recorded.event) {
                by_subject
                    .entry(subject)
                    .or_default()
                    .push(recorded.position);
            }
        }
        Provenance { by_subject }
    }

    /// Positions of the events about `subject` (`item:api-endpoints`).
    pub fn of(&self, subject: &str) -> &[i64] {
        self.by_subject.get(subject).map_or(&[], Vec::as_slice)
    }
}

/// Collects positions while a message is composed.
#[derive(Debug, Default)]
pub(crate) struct Sources<'a> {
    provenance: Option<&'a Provenance>,
    positions: BTreeSet<i64>,
}

impl<'a> Sources<'a> {
    pub(crate) fn new(provenance: &'a Provenance) -> Sources<'a> {
        Sources {
            provenance: Some(provenance),
            positions: BTreeSet::new(),
        }
    }

    /// Adds every event about `subject`.
    pub(crate) fn subject(&mut self, subject: &str) {
        if let Some(provenance) = self.provenance {
            self.positions
                .extend(provenance.of(subject).iter().copied());
        }
    }

    /// Adds one event.
    pub(crate) fn position(&mut self, position: i64) {
        self.positions.insert(position);
    }

    pub(crate) fn into_vec(self) -> Vec<i64> {
        self.positions.into_iter().collect()
    }
}
