//! Why a command was refused. Every variant says what was wrong in words a release
//! manager understands; the edges add where (file:line:column, JSON pointer).

use crate::{ItemStatus, Name, ReleaseState};

/// A command that the current state does not allow.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// A referenced resource does not exist.
    #[error("unknown {kind} `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    NotFound {
        /// `team`, `item`, …
        kind: &'static str,
        /// The missing name.
        name: String,
        /// The closest existing name, if one is plausible.
        suggestion: Option<String>,
    },
    /// Two resources of one kind share a name.
    #[error("duplicate {kind} `{name}`")]
    Duplicate {
        /// `member`, `milestone`, …
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A dependency would close a cycle; `cycle` starts and ends with the same item.
    #[error("dependency would create a cycle: {}", cycle.iter().map(Name::as_str).collect::<Vec<_>>().join(" → "))]
    CycleDetected {
        /// The items of the cycle in order, first repeated at the end.
        cycle: Vec<Name>,
    },
    /// Dates that must be ordered are not.
    #[error("{earlier_field} ({earlier}) must be on or before {later_field} ({later})")]
    DatesOutOfOrder {
        /// Name of the field that must come first.
        earlier_field: String,
        /// Its value.
        earlier: jiff::civil::Date,
        /// Name of the field that must come later.
        later_field: String,
        /// Its value.
        later: jiff::civil::Date,
    },
    /// The release is released or cancelled and can no longer change.
    #[error("release `{release}` is {state}: nothing in it can change")]
    ReleaseClosed {
        /// The release.
        release: Name,
        /// Its terminal state.
        state: ReleaseState,
    },
    /// A release cannot move between these states.
    #[error("release `{release}` cannot move from {from} to {to}")]
    IllegalReleaseTransition {
        /// The release.
        release: Name,
        /// Current state.
        from: ReleaseState,
        /// Requested state.
        to: ReleaseState,
    },
    /// An item cannot move between these columns.
    #[error("item `{item}` cannot move from {from} to {to}: released items are final")]
    IllegalItemTransition {
        /// The item.
        item: Name,
        /// Current column.
        from: ItemStatus,
        /// Requested column.
        to: ItemStatus,
    },
    /// An item is already in another release.
    #[error("item `{item}` belongs to release `{release}`, not `{requested}`")]
    ItemInOtherRelease {
        /// The item.
        item: Name,
        /// Where it is.
        release: Name,
        /// Where the command put it.
        requested: Name,
    },
    /// A signal is older than the latest one of its kind already recorded.
    #[error(
        "{kind} signal for `{component}` observed at {observed_at} is older than the latest one ({latest})"
    )]
    SignalOutOfOrder {
        /// The component.
        component: Name,
        /// The kind of signal.
        kind: crate::SignalKind,
        /// When the refused signal was observed.
        observed_at: jiff::Timestamp,
        /// When the latest recorded one was observed.
        latest: jiff::Timestamp,
    },
    /// A run step cannot move between these states in one transition.
    #[error(
        "step `{step}` cannot go from {from} to {to}: a step goes pending → running → verifying → done (or → failed; pending → skipped)"
    )]
    IllegalStepTransition {
        /// The step (its component).
        step: Name,
        /// Current status.
        from: crate::run::StepStatus,
        /// Requested status.
        to: crate::run::StepStatus,
    },
    /// A run step cannot start before its predecessors are done.
    #[error("step `{step}` cannot start before {} {} done", waiting.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", "), if waiting.len() == 1 { "is" } else { "are" })]
    StepNotReady {
        /// The step.
        step: Name,
        /// Predecessors not done or skipped yet.
        waiting: Vec<Name>,
    },
    /// Deployments to the environment are frozen now.
    #[error("deployments to `{environment}` are frozen now ({}): a break-glass override with a reason is needed", windows.join("; "))]
    DeployFrozen {
        /// The target environment.
        environment: Name,
        /// The deny windows in force, in words.
        windows: Vec<String>,
    },
    /// The release's go/no-go verdict is no-go, and nobody overrode it.
    #[error("release `{release}` is no-go: {} not met (`lockstep gonogo {release}` says why); a run starts on go, or with a break-glass reason that overrides the verdict", unmet.join(", "))]
    NoGo {
        /// The release.
        release: Name,
        /// The ids of the criteria not met.
        unmet: Vec<String>,
    },
    /// A field's value breaks a rule not covered above.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as a dotted path (`spec.workingHours`).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DomainError {
        DomainError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
