//! Release programs as YAML manifests in the Kubernetes/Backstage envelope
//! (`apiVersion: lockstep.dev/v1`, `kind`, `metadata`, `spec`).
//!
//! [`parse`] reads documents into located resources, [`plan`] turns them into core
//! commands with a source location each, and [`export`] writes the state back as
//! manifests that re-apply with no change. Every error says file:line:column.
//!
//! This crate reads no files and writes nothing: callers hand it text. It does not
//! decide whether a change is allowed; `lockstep_core::decide_all` does.
#![deny(missing_docs)]

mod backstage;
pub mod change;
mod error;
mod export;
mod parse;
mod plan;
mod train;
mod wire;

pub use backstage::{ROLES_ANNOTATION, TIME_ZONE_ANNOTATION};
pub use error::{Location, ManifestError, ManifestErrors};
pub use export::{export, export_templates, release_document};
pub use parse::{Limits, Manifest, Resource, Source, parse};
pub use plan::{LocatedCommand, locate, plan};
pub use train::TRAIN_LABEL;

/// The canonical IANA spelling of a time zone name (`europe/berlin` → `Europe/Berlin`,
/// `utc` → `UTC`), or `None` when the time zone database does not know it. The database
/// matches names without regard to case; storing what it calls the zone keeps
/// `TZID` lines, runbooks and every other output in one spelling.
pub fn canonical_time_zone(name: &str) -> Option<String> {
    jiff::tz::TimeZone::get(name)
        .ok()?
        .iana_name()
        .map(str::to_owned)
}

/// The only `apiVersion` this build understands.
pub const API_VERSION: &str = "lockstep.dev/v1";
