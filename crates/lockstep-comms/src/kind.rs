//! The kinds of generated message and the formats they render to.
//!
//! Names are the kebab-case words the CLI, templates and subscriptions use; nothing here
//! knows how a kind is composed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A kind of generated message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    /// Seed 003's pre-release announcement: scope, timeline, impact, actions required.
    PreReleaseAnnouncement,
    /// Seed 003's release completion announcement: deployed features, summary, next steps.
    CompletionAnnouncement,
    /// Seed 000's daily async update, one block per team (✅ ⏳ 🚨 ℹ️).
    DailyUpdate,
    /// Seed 000's weekly release sync agenda in four parts.
    WeeklyAgenda,
    /// Release notes from the released (or ready) scope.
    ReleaseNotes,
    /// A notice for one stakeholder role.
    StakeholderNotice,
    /// An unacknowledged blocker, escalated to the next contact.
    Escalation,
    /// To a waiting team: a blocker's slip puts their items at risk (each with its
    /// chain), or that risk has cleared.
    DependencyAlert,
    /// To the release's manager and subscribers: its plan changed in the 48 hours before
    /// its deployment (scope, an ETA, a dependency, its dates), with who and why.
    LateChange,
    /// During a deployment run: a step failed or a rollback trigger tripped. Urgent: it
    /// waits for neither quiet hours nor a digest.
    DeploymentIncident,
    /// A run started rolling back, with the rollback's steps in order. Urgent.
    RollbackStarted,
    /// A run ended: completed, rolled back, or aborted (its release cancelled mid-run).
    DeploymentStatus,
    /// A change request was proposed, approved (with its impact), rejected or withdrawn.
    /// About the program rather than one release: its message has no `release`.
    ChangeRequest,
    /// A new version of an interface was proposed, decided or published. About the
    /// program rather than one release, like a change request.
    InterfaceChange,
    /// Several messages due to one person at their digest time, merged into one by the
    /// delivery worker (`digest::merge`). Not composed from a template, not previewed and
    /// not subscribable, so not in [`MessageKind::ALL`].
    Digest,
}

/// A kind name that is not one of [`MessageKind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown message kind `{0}` (expected one of: {list})", list = MessageKind::names())]
pub struct UnknownKind(pub String);

impl MessageKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [MessageKind; 14] = [
        MessageKind::PreReleaseAnnouncement,
        MessageKind::CompletionAnnouncement,
        MessageKind::DailyUpdate,
        MessageKind::WeeklyAgenda,
        MessageKind::ReleaseNotes,
        MessageKind::StakeholderNotice,
        MessageKind::Escalation,
        MessageKind::DependencyAlert,
        MessageKind::LateChange,
        MessageKind::DeploymentIncident,
        MessageKind::RollbackStarted,
        MessageKind::DeploymentStatus,
        MessageKind::ChangeRequest,
        MessageKind::InterfaceChange,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::PreReleaseAnnouncement => "pre-release-announcement",
            MessageKind::CompletionAnnouncement => "completion-announcement",
            MessageKind::DailyUpdate => "daily-update",
            MessageKind::WeeklyAgenda => "weekly-agenda",
            MessageKind::ReleaseNotes => "release-notes",
            MessageKind::StakeholderNotice => "stakeholder-notice",
            MessageKind::Escalation => "escalation",
            MessageKind::DependencyAlert => "dependency-alert",
            MessageKind::LateChange => "late-change",
            MessageKind::DeploymentIncident => "deployment-incident",
            MessageKind::RollbackStarted => "rollback-started",
            MessageKind::DeploymentStatus => "deployment-status",
            MessageKind::ChangeRequest => "change-request",
            MessageKind::InterfaceChange => "interface-change",
            MessageKind::Digest => "digest",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(raw: &str) -> Result<MessageKind, UnknownKind> {
        MessageKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or_else(|| UnknownKind(raw.to_owned()))
    }

    /// The name of its template (`daily-update.j2`).
    pub fn template_name(self) -> String {
        format!("{}.j2", self.as_str())
    }

    fn names() -> String {
        MessageKind::ALL.map(MessageKind::as_str).join(", ")
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a message body is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Plain text: e-mail bodies, terminals.
    Text,
    /// Markdown: chat messages, issue comments.
    #[default]
    Markdown,
}
