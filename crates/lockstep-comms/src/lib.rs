//! Messages written from the plan, never typed: announcements, daily async updates,
//! the weekly sync agenda, release notes and stakeholder notices; iCalendar feeds of
//! releases, milestones, freezes and deployment windows; who subscribes to what, quiet
//! hours, when an unacknowledged blocker escalates, what a deployment run's incidents,
//! rollbacks and end tell whom, and who hears of change requests and interface changes.
//!
//! This crate is pure, like `lockstep-core`: it never reads the clock (`now` is an
//! argument), the environment, files or the network. Template overrides and the
//! notification configuration come in as strings; delivering what it writes is
//! `lockstep-delivery`'s job.
#![deny(missing_docs)]

pub mod calendar;
mod compose;
pub mod digest;
pub mod escalation;
mod kind;
pub mod notify;
pub mod policy;
mod provenance;
pub mod review;
pub mod run_notice;
mod templates;

pub use compose::{Compose, ComposeError, LateNotice, Request, compose};
pub use kind::{Format, MessageKind, UnknownKind};
pub use provenance::Provenance;
pub use templates::{TemplateError, Templates};

use jiff::civil::Date;
use lockstep_core::{Name, Role};
use serde::{Deserialize, Serialize};

/// A message written from the plan, with the events it was built from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// What kind of message.
    pub kind: MessageKind,
    /// The release it is about; `None` for a message about the program rather than one
    /// release (a change request, an interface change), which may touch several releases
    /// or none. Stored messages written before such kinds existed all name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Name>,
    /// The team it is for (daily updates), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Name>,
    /// The role it is filtered for (stakeholder notices), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The day it is about.
    pub date: Date,
    /// One line: an e-mail subject, a chat message's title.
    pub subject: String,
    /// The rendered body, in the format asked for.
    pub body: String,
    /// Positions of the events it was built from, ascending: its traceability.
    pub sources: Vec<i64>,
}
