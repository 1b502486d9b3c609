//! The release calendar of a period, as one dated list: each release's target date,
//! freezes and milestones, the release-day deployment windows of the open releases, and
//! every occurrence of a blackout; beside it the conflicts of the releases departing in
//! the period that need a decision (two releases in one window, a window in a blackout or
//! outside the deploy windows), each with its proposed move (`crate::conflicts`).
//!
//! Time zones are resolved by the caller, so the module stays pure. Instants are kept as
//! instants; the day an entry falls on is the day in its own time zone (a blackout
//! starting at 00:00 New York falls on that day, not on the day before in UTC).

use std::collections::BTreeMap;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::conflicts::{self, ReleaseConflict, WindowConflict};
use crate::recurrence::Repeat;
use crate::{Name, State};

/// The longest period a calendar covers: a year and a day, which bounds the expansion of
/// recurring blackouts.
pub const MAX_DAYS: i32 = 367;

/// What a calendar entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A blackout occurrence: no deployments to its environments.
    Blackout,
    /// A feature freeze.
    FeatureFreeze,
    /// A code freeze.
    CodeFreeze,
    /// A milestone (an integration point, a test period).
    Milestone,
    /// A release's release-day deployment window.
    Deployment,
    /// A release's target date.
    Release,
}

impl EntryKind {
    /// The label people read.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Blackout => "Blackout",
            EntryKind::FeatureFreeze => "Feature freeze",
            EntryKind::CodeFreeze => "Code freeze",
            EntryKind::Milestone => "Milestone",
            EntryKind::Deployment => "Deployment",
            EntryKind::Release => "Release",
        }
    }
}

/// One dated thing on the calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEntry {
    /// What it is.
    pub kind: EntryKind,
    /// The day it falls on, or starts, in its own time zone.
    pub date: Date,
    /// The last day of a period (a milestone period, a blackout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
    /// First instant, for a deployment window or a blackout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    /// First instant after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    /// The time zone its times are read in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// What it is called (`Code freeze`, `Full stack integrated`, the blackout's title).
    pub title: String,
    /// The release it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<Name>,
    /// The blackout it is an occurrence of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blackout: Option<Name>,
    /// Where it applies: a deployment's environment, a blackout's (empty: all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<Name>,
    /// Why (a blackout's reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a standing rule of the calendar is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// A recurring blackout shorter than a day (a nightly batch, Friday afternoons).
    Blackout,
    /// When an environment takes deploys; outside them it takes none.
    DeployWindow,
}

/// A rule that repeats too often to list each time: a recurring blackout shorter than a
/// day, or an environment's deploy window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarRule {
    /// What it is.
    pub kind: RuleKind,
    /// Its title: the blackout's, or the environment's.
    pub title: String,
    /// The blackout, for a blackout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blackout: Option<Name>,
    /// Where it applies (a blackout's empty list: everywhere).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<Name>,
    /// How it repeats: an RFC 5545 rule or a cron line, as declared.
    pub repeats: String,
    /// The local time each occurrence starts.
    pub starts: Time,
    /// The local time each occurrence ends.
    pub ends: Time,
    /// The time zone of those times.
    pub time_zone: String,
    /// Why (a blackout's reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The calendar of `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Calendar {
    /// First day.
    pub from: Date,
    /// The day after the last.
    pub to: Date,
    /// Everything in the period, by day, then kind, then time, then title.
    pub entries: Vec<CalendarEntry>,
    /// Short recurring blackouts and deploy windows, which hold on every day they select.
    pub rules: Vec<CalendarRule>,
    /// Open releases that would deploy to one environment at the same time, one of
    /// them departing in the period.
    pub conflicts: Vec<ReleaseConflict>,
    /// Open releases departing in the period whose window is in a blackout or outside
    /// the deploy windows.
    pub window_conflicts: Vec<WindowConflict>,
}

/// The period `[from, to)` of a request that names its first and last days, each
/// optional: by default the month of `today` and the two after it.
pub fn period(from: Option<Date>, last: Option<Date>, today: Date) -> Result<(Date, Date), String> {
    let from = from.unwrap_or_else(|| today.first_of_month());
    let to = match last {
        Some(last) => last.checked_add(1.day()),
        None => from.checked_add(3.months()),
    }
    .map_err(|_| "the period ends too late".to_owned())?;
    Ok((from, to))
}

/// The calendar of `[from, to)`; `zones` resolve the time zones the program names. A
/// period longer than [`MAX_DAYS`] or ending before it starts is refused.
pub fn calendar(
    state: &State,
    zones: &BTreeMap<String, TimeZone>,
    from: Date,
    to: Date,
) -> Result<Calendar, String> {
    let (entries, rules) = agenda(state, zones, from, to)?;
    // A conflict is the period's when a release in it departs in the period.
    let departs = |release: &crate::Release| (from..to).contains(&release.spec.target_date);
    Ok(Calendar {
        from,
        to,
        entries,
        rules,
        conflicts: conflicts::conflicts_where(state, zones, departs),
        window_conflicts: conflicts::window_conflicts_where(state, zones, departs),
    })
}

/// The entries and the standing rules of [`calendar`], without looking for conflicts.
pub fn agenda(
    state: &State,
    zones: &BTreeMap<String, TimeZone>,
    from: Date,
    to: Date,
) -> Result<(Vec<CalendarEntry>, Vec<CalendarRule>), String> {
    // Said in the days people name: the last one, not the day after it.
    let last = to.yesterday().unwrap_or(to);
    if to <= from {
        return Err(format!(
            "the period's last day ({last}) is before its first ({from})"
        ));
    }
    if (to - from).get_days() > MAX_DAYS {
        return Err(format!(
            "a calendar covers at most {MAX_DAYS} days; {from} to {last} is longer"
        ));
    }
    let within = |date: Date, until: Option<Date>| date < to && until.unwrap_or(date) >= from;
    let mut entries = Vec::new();
    for release in state.releases().values() {
        let spec = &release.spec;
        let title = spec.title.as_deref().unwrap_or(release.name.as_str());
        let dated = |kind, date, until, title: String| CalendarEntry {
            kind,
            date,
            until,
            start: None,
            end: None,
            time_zone: None,
            title,
            release: Some(release.name.clone()),
            blackout: None,
            environments: Vec::new(),
            reason: None,
        };
        entries.push(dated(
            EntryKind::Release,
            spec.target_date,
            None,
            title.to_owned(),
        ));
        if let Some(date) = spec.feature_freeze {
            entries.push(dated(
                EntryKind::FeatureFreeze,
                date,
                None,
                title.to_owned(),
            ));
        }
        if let Some(date) = spec.code_freeze {
            entries.push(dated(EntryKind::CodeFreeze, date, None, title.to_owned()));
        }
        for milestone in &spec.milestones {
            let name = milestone
                .title
                .as_deref()
                .unwrap_or(milestone.name.as_str());
            entries.push(dated(
                EntryKind::Milestone,
                milestone.date,
                milestone.end,
                format!("{name}: {title}"),
            ));
        }
    }
    for window in conflicts::windows(state, zones) {
        let Some(zone) = zones.get(&window.time_zone) else {
            continue;
        };
        let title = state
            .releases()
            .get(&window.release)
            .and_then(|r| r.spec.title.clone())
            .unwrap_or_else(|| window.release.to_string());
        entries.push(CalendarEntry {
            kind: EntryKind::Deployment,
            date: window.start.to_zoned_datetime(zone.clone()).date(),
            until: None,
            start: Some(window.start),
            end: Some(window.end),
            time_zone: Some(window.time_zone.clone()),
            title,
            release: Some(window.release.clone()),
            blackout: None,
            environments: vec![window.environment.clone()],
            reason: None,
        });
    }
    let mut rules = Vec::new();
    for environment in state.environments().values() {
        for window in &environment.spec.deploy_windows {
            rules.push(CalendarRule {
                kind: RuleKind::DeployWindow,
                title: environment
                    .spec
                    .title
                    .clone()
                    .unwrap_or_else(|| environment.name.to_string()),
                blackout: None,
                environments: vec![environment.name.clone()],
                repeats: repeats(window.repeat()),
                starts: window.start.time(),
                ends: window.end.time(),
                time_zone: window.time_zone.clone(),
                reason: None,
            });
        }
    }
    for blackout in state.blackouts().values() {
        let spec = &blackout.spec;
        let Some(zone) = zones.get(&spec.time_zone) else {
            continue;
        };
        let short = spec.end.duration_since(spec.start) < jiff::SignedDuration::from_hours(24);
        let repeat = spec.repeat();
        if short && !matches!(repeat, Repeat::Once) {
            rules.push(CalendarRule {
                kind: RuleKind::Blackout,
                title: spec
                    .title
                    .clone()
                    .unwrap_or_else(|| blackout.name.to_string()),
                blackout: Some(blackout.name.clone()),
                environments: spec.environments.clone(),
                repeats: repeats(repeat),
                starts: spec.start.time(),
                ends: spec.end.time(),
                time_zone: spec.time_zone.clone(),
                reason: spec.reason.clone(),
            });
            continue;
        }
        // A day on each side: an occurrence that starts the evening before `from` still
        // covers `from`.
        let (Ok(first), Ok(last)) = (from.checked_sub(1.day()), to.checked_add(1.day())) else {
            continue;
        };
        let occurrences = spec.occurrences(
            first.to_datetime(Time::midnight()),
            last.to_datetime(Time::midnight()),
            Some(zone),
        );
        for (start, end) in occurrences {
            let instant = |at: jiff::civil::DateTime| {
                at.to_zoned_datetime(zone.clone())
                    .ok()
                    .map(|zoned| zoned.timestamp())
            };
            let (Some(start_at), Some(end_at)) = (instant(start), instant(end)) else {
                continue;
            };
            // The last day it covers: the end is the first instant after it.
            let until = end
                .checked_sub(1.nanosecond())
                .map(|last| last.date())
                .unwrap_or(end.date());
            if !within(start.date(), Some(until)) {
                continue;
            }
            entries.push(CalendarEntry {
                kind: EntryKind::Blackout,
                date: start.date(),
                until: (until != start.date()).then_some(until),
                start: Some(start_at),
                end: Some(end_at),
                time_zone: Some(spec.time_zone.clone()),
                title: spec
                    .title
                    .clone()
                    .unwrap_or_else(|| blackout.name.to_string()),
                release: None,
                blackout: Some(blackout.name.clone()),
                environments: spec.environments.clone(),
                reason: spec.reason.clone(),
            });
        }
    }
    entries.retain(|entry| within(entry.date, entry.until));
    entries.sort_by(|a, b| {
        (a.date, a.kind, a.start, &a.title).cmp(&(b.date, b.kind, b.start, &b.title))
    });
    Ok((entries, rules))
}

/// How a window repeats, as declared.
fn repeats(repeat: Repeat<'_>) -> String {
    match repeat {
        Repeat::Rule(rule) => rule.to_string(),
        Repeat::Cron(cron) => cron.to_string(),
        Repeat::Once => "once".to_owned(),
    }
}
