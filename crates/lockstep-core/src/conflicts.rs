//! Conflicts between releases: two releases whose release-day deployment windows
//! overlap in the same environment, each with a proposed resolution.
//!
//! A window runs from a release's first deployment step to the end of its last
//! one, on its target date, in its deployment time zone; windows are compared as
//! instants, so releases planned in different time zones are compared correctly.
//! The proposal moves the release that yields (the later one in priority: an
//! emergency or hotfix goes first, then the earlier target, then the name) to
//! start when the other window ends. Time zones are resolved by the caller, so
//! the module stays pure; it does not check the proposal against blackouts
//! (`planning` does that for a release's own steps).

use std::collections::BTreeMap;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::{Name, Release, ReleaseKind, State};

/// One release's deployment window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentWindow {
    /// The release.
    pub release: Name,
    /// Where it deploys.
    pub environment: Name,
    /// First instant.
    pub start: Timestamp,
    /// First instant after it.
    pub end: Timestamp,
    /// Components it deploys.
    pub components: Vec<Name>,
    /// Its deployment time zone.
    pub time_zone: String,
}

/// Two releases that would deploy to one environment at the same time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseConflict {
    /// The release that keeps its window.
    pub keeps: Name,
    /// The release asked to move.
    pub moves: Name,
    /// The shared environment.
    pub environment: Name,
    /// Start of the overlap.
    pub overlap_start: Timestamp,
    /// End of the overlap.
    pub overlap_end: Timestamp,
    /// Components both deploy.
    pub shared_components: Vec<Name>,
    /// The proposed new start of `moves`, in its own time zone.
    pub proposed_start: DateTime,
    /// What happens and what to do, in a sentence.
    pub explanation: String,
}

/// The deployment window of every open release that has a deployment plan.
pub fn windows(state: &State, zones: &BTreeMap<String, TimeZone>) -> Vec<DeploymentWindow> {
    state
        .releases()
        .values()
        .filter(|r| !r.state.is_terminal())
        .filter_map(|r| window(r, zones))
        .collect()
}

fn window(release: &Release, zones: &BTreeMap<String, TimeZone>) -> Option<DeploymentWindow> {
    let plan = release.spec.deployment.as_ref()?;
    let zone = zones.get(&plan.time_zone)?;
    let first = plan.steps.first()?;
    let instant = |at: DateTime| {
        at.to_zoned_datetime(zone.clone())
            .ok()
            .map(|zoned| zoned.timestamp())
    };
    let day = release.spec.target_date;
    let start = instant(day.to_datetime(first.at))?;
    let end = plan
        .steps
        .iter()
        .filter_map(|step| {
            let begins = instant(day.to_datetime(step.at))?;
            begins
                .checked_add(SignedDuration::from_mins(i64::from(step.minutes)))
                .ok()
        })
        .max()?;
    Some(DeploymentWindow {
        release: release.name.clone(),
        environment: plan.environment.clone(),
        start,
        end,
        components: plan.steps.iter().map(|s| s.component.clone()).collect(),
        time_zone: plan.time_zone.clone(),
    })
}

/// Which of two releases goes first: emergencies and hotfixes, then the earlier
/// target date, then the name.
fn priority(release: &Release) -> (u8, jiff::civil::Date, &Name) {
    let rank = match release.spec.kind {
        ReleaseKind::Emergency => 0,
        ReleaseKind::Hotfix => 1,
        ReleaseKind::OutOfBand => 2,
        ReleaseKind::Regular => 3,
    };
    (rank, release.spec.target_date, &release.name)
}

/// Every pair of overlapping windows in one environment, with a proposal.
pub fn conflicts(state: &State, zones: &BTreeMap<String, TimeZone>) -> Vec<ReleaseConflict> {
    let windows = windows(state, zones);
    let mut found = Vec::new();
    for (index, a) in windows.iter().enumerate() {
        for b in &windows[index + 1..] {
            if a.environment != b.environment || a.end <= b.start || b.end <= a.start {
                continue;
            }
            let (Some(release_a), Some(release_b)) = (
                state.releases().get(&a.release),
                state.releases().get(&b.release),
            ) else {
                continue;
            };
            let (keeps, moves) = if priority(release_a) <= priority(release_b) {
                (a, b)
            } else {
                (b, a)
            };
            let Some(zone) = zones.get(&moves.time_zone) else {
                continue;
            };
            let proposed_start = keeps.end.to_zoned_datetime(zone.clone()).datetime();
            let shared_components: Vec<Name> = moves
                .components
                .iter()
                .filter(|c| keeps.components.contains(c))
                .cloned()
                .collect();
            let local = |at: Timestamp| {
                at.to_zoned_datetime(zone.clone())
                    .datetime()
                    .strftime("%b %-d %H:%M")
                    .to_string()
            };
            let shared = if shared_components.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = shared_components.iter().map(Name::as_str).collect();
                format!(", both deploying {}", names.join(", "))
            };
            let explanation = format!(
                "{} and {} deploy to {} at the same time ({}–{} {}){shared}: move {} to start at {} {}, when {} is done",
                keeps.release,
                moves.release,
                keeps.environment,
                local(keeps.start.max(moves.start)),
                local(keeps.end.min(moves.end)),
                moves.time_zone,
                moves.release,
                proposed_start.strftime("%b %-d %H:%M"),
                moves.time_zone,
                keeps.release,
            );
            found.push(ReleaseConflict {
                keeps: keeps.release.clone(),
                moves: moves.release.clone(),
                environment: keeps.environment.clone(),
                overlap_start: keeps.start.max(moves.start),
                overlap_end: keeps.end.min(moves.end),
                shared_components,
                proposed_start,
                explanation,
            });
        }
    }
    found
}
