//! Conflicts between releases: two releases whose release-day deployment windows
//! overlap in the same environment, each with a proposed resolution.
//!
//! A window runs from a release's first deployment step to the end of its last
//! one, on its target date, in its deployment time zone; windows are compared as
//! instants, so releases planned in different time zones are compared correctly.
//! The proposal moves the release that yields (the later one in priority: an
//! emergency or hotfix goes first, then the earlier target, then the name) to
//! start when the other window ends, or later if a blackout of the environment
//! is in the way. A window that overlaps a blackout (a release train departing
//! during a holiday freeze, say) is a conflict too, with the first day after it
//! when the same local start time is clear. Time zones are resolved by the
//! caller, so the module stays pure.

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
            let length = moves.start.duration_until(moves.end);
            let denies = deny_windows(state, zones, &moves.environment, keeps.end);
            let clear = clear_start(&denies, keeps.end, length);
            let proposed_start = clear.to_zoned_datetime(zone.clone()).datetime();
            let after_blackout = if clear > keeps.end {
                format!(
                    " and {}",
                    blocking(&denies, keeps.end, length).unwrap_or("a blackout")
                )
            } else {
                String::new()
            };
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
                "{} and {} deploy to {} at the same time ({}–{} {}){shared}: move {} to start at {} {}, when {} is done{after_blackout}",
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

/// A release whose deployment window overlaps a blackout of its environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlackoutConflict {
    /// The release.
    pub release: Name,
    /// The blackout.
    pub blackout: Name,
    /// Where.
    pub environment: Name,
    /// Start of the overlap.
    pub overlap_start: Timestamp,
    /// End of the overlap.
    pub overlap_end: Timestamp,
    /// The first later day when the window, at the same local start time, is
    /// clear of every blackout; `None` if none within [`SEARCH_DAYS`].
    pub proposed_start: Option<DateTime>,
    /// What happens and what to do, in a sentence.
    pub explanation: String,
}

/// How far ahead a clear day is looked for.
pub const SEARCH_DAYS: i64 = 120;

/// One occurrence of a blackout, as instants.
struct Deny<'s> {
    start: Timestamp,
    end: Timestamp,
    label: String,
    blackout: &'s Name,
}

/// Every blackout occurrence of `environment` from a day before `from` to
/// [`SEARCH_DAYS`] after it, as instants, in start order.
fn deny_windows<'s>(
    state: &'s State,
    zones: &BTreeMap<String, TimeZone>,
    environment: &Name,
    from: Timestamp,
) -> Vec<Deny<'s>> {
    let mut denies = Vec::new();
    for blackout in state.blackouts().values() {
        let spec = &blackout.spec;
        if !(spec.environments.is_empty() || spec.environments.contains(environment)) {
            continue;
        }
        let Some(zone) = zones.get(&spec.time_zone) else {
            continue;
        };
        let local = |at: Timestamp, days: i64| {
            at.checked_add(SignedDuration::from_hours(24 * days))
                .unwrap_or(at)
                .to_zoned_datetime(zone.clone())
                .datetime()
        };
        for (start, end) in
            spec.occurrences(local(from, -1), local(from, SEARCH_DAYS + 1), Some(zone))
        {
            let instant = |at: DateTime| {
                at.to_zoned_datetime(zone.clone())
                    .ok()
                    .map(|z| z.timestamp())
            };
            if let (Some(start_at), Some(end_at)) = (instant(start), instant(end)) {
                denies.push(Deny {
                    start: start_at,
                    end: end_at,
                    label: format!(
                        "{} {}–{} {}",
                        spec.title.as_deref().unwrap_or(blackout.name.as_str()),
                        start.strftime("%b %-d %H:%M"),
                        end.strftime("%b %-d %H:%M"),
                        spec.time_zone
                    ),
                    blackout: &blackout.name,
                });
            }
        }
    }
    denies.sort_by_key(|d| d.start);
    denies
}

fn overlapping<'a, 's>(
    denies: &'a [Deny<'s>],
    start: Timestamp,
    length: SignedDuration,
) -> impl Iterator<Item = &'a Deny<'s>> {
    let end = start.checked_add(length).unwrap_or(start);
    denies
        .iter()
        .filter(move |d| d.start < end && start < d.end)
}

/// The first blackout in the way of a window of `length` at `start`.
fn blocking<'a>(
    denies: &'a [Deny<'_>],
    start: Timestamp,
    length: SignedDuration,
) -> Option<&'a str> {
    overlapping(denies, start, length)
        .next()
        .map(|d| d.label.as_str())
}

/// The earliest instant at or after `from` when a window of `length` overlaps
/// no blackout.
fn clear_start(denies: &[Deny<'_>], from: Timestamp, length: SignedDuration) -> Timestamp {
    let mut at = from;
    while let Some(latest_end) = overlapping(denies, at, length).map(|d| d.end).max() {
        at = latest_end;
    }
    at
}

/// Every open release whose deployment window overlaps a blackout of its
/// environment, with the first later day that is clear at the same local time.
pub fn blackout_conflicts(
    state: &State,
    zones: &BTreeMap<String, TimeZone>,
) -> Vec<BlackoutConflict> {
    let mut found = Vec::new();
    for window in windows(state, zones) {
        let Some(zone) = zones.get(&window.time_zone) else {
            continue;
        };
        let length = window.start.duration_until(window.end);
        let denies = deny_windows(state, zones, &window.environment, window.start);
        let Some(first) = overlapping(&denies, window.start, length).next() else {
            continue;
        };
        let local_start = window.start.to_zoned_datetime(zone.clone()).datetime();
        let proposed_start = (1..=SEARCH_DAYS).find_map(|days| {
            let candidate = local_start.checked_add(jiff::Span::new().days(days)).ok()?;
            let at = candidate.to_zoned_datetime(zone.clone()).ok()?.timestamp();
            overlapping(&denies, at, length)
                .next()
                .is_none()
                .then_some(candidate)
        });
        let local = |at: Timestamp| {
            at.to_zoned_datetime(zone.clone())
                .datetime()
                .strftime("%b %-d %H:%M")
                .to_string()
        };
        let overlap_start = window.start.max(first.start);
        let overlap_end = window.end.min(first.end);
        let advice = match proposed_start {
            Some(at) => format!(
                "move it to {} {}, the first day the same window is clear",
                at.strftime("%a %b %-d %H:%M"),
                window.time_zone
            ),
            None => format!(
                "no clear day within {SEARCH_DAYS} days at the same time: pick another window"
            ),
        };
        found.push(BlackoutConflict {
            release: window.release.clone(),
            blackout: first.blackout.clone(),
            environment: window.environment.clone(),
            overlap_start,
            overlap_end,
            proposed_start,
            explanation: format!(
                "{} deploys to {} during blackout {} ({}–{} {}): {advice}",
                window.release,
                window.environment,
                first.label,
                local(overlap_start),
                local(overlap_end),
                window.time_zone,
            ),
        });
    }
    found
}
