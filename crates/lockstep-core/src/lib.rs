//! The Lockstep domain: teams, components, environments, releases, scope items,
//! cross-team dependencies and integration tasks, changed only through commands
//! that [`decide`] turns into [`Event`]s and that [`State::apply`] folds into state.
//!
//! This crate is pure. It never reads the clock (every decision takes `now`), the
//! environment, files or the network, and it knows nothing about YAML, JSON on the
//! wire, SQL or HTTP. Serde derives exist only so that the store can persist events
//! and snapshots.
#![deny(missing_docs)]

pub mod access;
pub mod calendar;
pub mod change;
pub mod checklist;
mod command;
pub mod conflicts;
pub mod contract;
pub mod coordination;
pub mod cron;
mod decide;
mod error;
mod event;
pub mod graph;
pub mod limits;
pub mod metrics;
mod model;
mod name;
pub mod planning;
pub mod readiness;
pub mod recurrence;
pub mod risk;
pub mod run;
pub mod runbook;
mod state;
mod subscription;
pub mod suggest;

pub use command::Command;
pub use decide::{decide, decide_all};
pub use error::DomainError;
pub use event::{Event, EventMeta, Recorded};
pub use model::*;
pub use name::{Name, NameError};
pub use state::{State, StreamId, is_stream_id};
pub use subscription::{
    MESSAGE_KINDS, QuietHoursSpec, Subscription, SubscriptionCadence, SubscriptionSpec,
};
