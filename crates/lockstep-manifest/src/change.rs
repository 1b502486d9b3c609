//! Change requests at the edge: their manifests planned and decided against the
//! program as it stands, for the impact a reviewer reads and for the approval that
//! applies them. Core keeps the request and the rules (`lockstep_core::change`); the
//! manifests are read here because core does not parse YAML.

use lockstep_core::change::{ChangeRequest, ChangeSource, Impact};
use lockstep_core::{Command, Event, Name, State, decide_all};

use crate::{Limits, Source, locate, parse, plan};

fn sources_of(sources: &[ChangeSource]) -> Vec<Source> {
    sources
        .iter()
        .map(|s| Source {
            name: s.name.clone(),
            text: s.text.clone(),
        })
        .collect()
}

/// Decides `commands` after the manifests' own, as one batch: every error located.
fn decide_with(
    state: &State,
    sources: &[ChangeSource],
    first: Option<Command>,
    now: jiff::Timestamp,
) -> Result<Vec<Event>, String> {
    let sources = sources_of(sources);
    let manifest = parse(&sources, Limits::default()).map_err(|e| e.to_string())?;
    let commands = plan(&manifest, state).map_err(|e| e.to_string())?;
    let fallback = sources.first().map_or("manifest", |s| s.name.as_str());
    let offset = usize::from(first.is_some());
    let mut batch: Vec<Command> = first.into_iter().collect();
    batch.extend(commands.iter().map(|c| c.command.clone()));
    decide_all(state, batch, now).map_err(|errors| {
        // The leading decision has no place in the manifests; the rest keep theirs.
        let shifted = errors
            .into_iter()
            .map(|(index, error)| (index.and_then(|i| i.checked_sub(offset)), error))
            .collect();
        locate(&commands, shifted, fallback).to_string()
    })
}

/// What proposing `sources` would change, decided against `state`; the located errors
/// when they do not apply as the program stands.
pub fn assess(
    state: &State,
    sources: &[ChangeSource],
    now: jiff::Timestamp,
) -> Result<Impact, String> {
    let events = decide_with(state, sources, None, now)?;
    Ok(lockstep_core::change::impact(state, &events))
}

/// The events of approving `request` as `by`: the approval first, then what its
/// manifests decide to against `state` now, to be committed together. Refused when
/// the request may not be approved (four eyes, already decided) or no longer applies.
pub fn approve(
    state: &State,
    request: &ChangeRequest,
    by: &str,
    rationale: Option<String>,
    now: jiff::Timestamp,
) -> Result<Vec<Event>, String> {
    let decision = Command::DecideChange {
        change: request.name.clone(),
        approve: true,
        by: by.to_owned(),
        rationale,
    };
    // The decision's own rules first, so that their refusal is not located in a file.
    lockstep_core::decide(state, decision.clone(), now).map_err(|e| e.to_string())?;
    decide_with(state, &request.sources, Some(decision), now).map_err(|error| {
        format!(
            "change request {} cannot be approved: {error}",
            request.name
        )
    })
}

/// The change request named `change`, or an error naming the closest one.
pub fn find<'s>(state: &'s State, change: &Name) -> Result<&'s ChangeRequest, String> {
    state.change_requests().get(change).ok_or_else(|| {
        format!(
            "unknown change request `{change}`{}",
            lockstep_core::suggest::hint(
                change.as_str(),
                state.change_requests().keys().map(Name::as_str)
            )
        )
    })
}

/// A change request that moves a release: its title and its one manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    /// `Move web-2025-12-23 to 2026-01-06 10:00 America/New_York`.
    pub title: String,
    /// The release's document, re-dated.
    pub sources: Vec<ChangeSource>,
}

/// A move's start as written by a person: a local date and time such as
/// `2026-01-06T10:00` (or with a space, or seconds), read in the deployment's time zone.
/// A date alone (which would mean midnight) and a time with an offset or zone (which
/// would be silently ignored) are refused, with what to write instead.
pub fn parse_start(raw: &str) -> Result<jiff::civil::DateTime, String> {
    const EXAMPLE: &str =
        "a local date and time such as 2026-01-06T10:00, read in the deployment's time zone";
    let raw = raw.trim();
    match raw.split_once(['T', ' ']) {
        None if raw.parse::<jiff::civil::Date>().is_ok() => {
            return Err(format!("`{raw}` has no time of day: give {EXAMPLE}"));
        }
        Some((_, time)) if time.contains(['Z', 'z', '+', '-', '[']) => {
            return Err(format!(
                "`{raw}` carries an offset or zone, which a move does not take: give {EXAMPLE}"
            ));
        }
        _ => {}
    }
    raw.parse().map_err(|_| format!("`{raw}` is not {EXAMPLE}"))
}

/// The change request that moves `release` so its deployment starts at `to`, in its
/// deployment's time zone; without `to`, where the calendar's conflicts propose
/// (`lockstep_core::conflicts::proposed_move`). Refused, with the reason, for an unknown
/// or finished release, a release no conflict asks to move when `to` is not given, and a
/// move `lockstep_core::conflicts::moved` refuses. Whether the moved release still
/// decides is the proposal's own check, as for every change request.
pub fn move_release(
    state: &State,
    zones: &std::collections::BTreeMap<String, jiff::tz::TimeZone>,
    release: &Name,
    to: Option<jiff::civil::DateTime>,
) -> Result<Move, String> {
    let found = state.releases().get(release).ok_or_else(|| {
        lockstep_core::suggest::unknown(
            "release",
            release.as_str(),
            state.releases().keys().map(Name::as_str),
        )
    })?;
    if found.state.is_terminal() {
        return Err(format!(
            "release `{release}` is {}: only an open release moves",
            found.state
        ));
    }
    let to = match to {
        Some(to) => to,
        None => {
            lockstep_core::conflicts::proposed_move(state, zones, release).ok_or_else(|| {
                format!("no conflict asks to move `{release}`: say where to, with a start time")
            })?
        }
    };
    let spec = lockstep_core::conflicts::moved(&found.spec, to)
        .map_err(|why| format!("`{release}` cannot move to {to}: {why}"))?;
    let when = match spec
        .deployment
        .as_ref()
        .filter(|plan| !plan.steps.is_empty())
    {
        Some(plan) => format!("{} {}", to.strftime("%Y-%m-%d %H:%M"), plan.time_zone),
        None => to.date().to_string(),
    };
    Ok(Move {
        title: format!("Move {release} to {when}"),
        sources: vec![ChangeSource {
            name: format!("move-{release}.yaml"),
            text: crate::release_document(release, &spec)?,
        }],
    })
}
