//! Subscriptions as part of the program: who gets which generated messages (a person by
//! member handle, or everyone with a role), about which releases and teams, on which
//! channel, immediately or in a digest, and not during their quiet hours.
//!
//! They live in the event log, declared in manifests (`kind: Subscription`) like any
//! other resource, so that `lockstep apply` reviews them and `export` writes them back.
//! Channels are not here: a webhook URL or SMTP password is a credential, and credentials
//! never enter the log; a subscription names a channel of the notification file. The
//! message kinds are named by the words the communication crate uses
//! ([`MESSAGE_KINDS`]); core only checks the names, it composes nothing.

use jiff::civil::Time;
use serde::{Deserialize, Serialize};

use crate::{Name, Role};

/// The message kinds a subscription may name, as `lockstep-comms` spells them (its tests
/// keep the two lists equal).
pub const MESSAGE_KINDS: [&str; 14] = [
    "pre-release-announcement",
    "completion-announcement",
    "daily-update",
    "weekly-agenda",
    "release-notes",
    "stakeholder-notice",
    "escalation",
    "dependency-alert",
    "late-change",
    "deployment-incident",
    "rollback-started",
    "deployment-status",
    "change-request",
    "interface-change",
];

/// How a subscriber wants messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionCadence {
    /// As soon as they are written (outside quiet hours).
    #[default]
    Immediate,
    /// Held to the subscriber's digest time and merged into one message.
    Digest,
}

impl SubscriptionCadence {
    fn is_immediate(&self) -> bool {
        *self == SubscriptionCadence::Immediate
    }
}

/// Quiet hours in the subscriber's time zone, e.g. 18:00–08:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuietHoursSpec {
    /// When quiet starts.
    pub start: Time,
    /// When it ends (may be the next day).
    pub end: Time,
}

/// One subscription: a member or a role, on a channel, filtered by release, team and
/// message kind (each list empty means all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionSpec {
    /// A member handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Name>,
    /// Or: every member with this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// A channel of the notification file.
    pub channel: String,
    /// Only these releases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<Name>,
    /// Only messages about these teams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<Name>,
    /// Only messages about the subscriber's own team, for each person it reaches: a role
    /// subscription then tells every tech lead of their own team, not of everyone's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_team: bool,
    /// Only these message kinds (see [`MESSAGE_KINDS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Name>,
    /// Immediate or digest.
    #[serde(default, skip_serializing_if = "SubscriptionCadence::is_immediate")]
    pub cadence: SubscriptionCadence,
    /// Local time of the digest (default 09:00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_at: Option<Time>,
    /// Quiet hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHoursSpec>,
    /// The person's own IANA time zone, when not their team's; validated at the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A subscription as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: SubscriptionSpec,
}
