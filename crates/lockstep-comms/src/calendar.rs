//! iCalendar (RFC 5545) feeds of releases, milestones, freezes, blackouts and deployment
//! windows — organization-wide, per release or per team.
//!
//! Dated things (a release day, a milestone, a freeze) are all-day events (`VALUE=DATE`,
//! `DTEND` exclusive); deployment steps and blackouts are timed in their own time zone
//! (`TZID`) with a `VTIMEZONE` built from the time zone database's transitions for the
//! years the feed covers. UIDs are derived from names only, so a calendar app updates an
//! event instead of duplicating it when the plan changes; `DTSTAMP` is the injected `now`.
//! Lines are folded at 75 octets and text is escaped as the RFC says.
//!
//! An event that recurs carries its RRULE (nothing in the plan recurs yet). What it does
//! not do: serve feeds over HTTP with per-user tokens (the server's `feeds.rs`), or
//! expand recurrences (calendar apps do).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Dst, TimeZone};
use jiff::{Span, Timestamp};
use lockstep_core::recurrence::Repeat;
use lockstep_core::{Name, Release, State};

/// Which part of the program a feed covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every release and blackout.
    Organization,
    /// One release.
    Release(Name),
    /// The releases a team has scope in, with that team's deployment steps.
    Team(Name),
}

/// Why a feed could not be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    /// The release does not exist.
    #[error("unknown release `{0}`")]
    UnknownRelease(String),
    /// The team does not exist.
    #[error("unknown team `{0}`")]
    UnknownTeam(String),
}

/// The product identifier written in every feed.
pub const PRODID: &str = "-//Lockstep//Release calendar//EN";

enum When {
    /// All-day, from the first day to the day after the last.
    Days { first: Date, after_last: Date },
    /// Timed, in a named time zone.
    Timed {
        zone: String,
        start: DateTime,
        end: DateTime,
    },
}

struct CalendarEvent {
    uid: String,
    summary: String,
    description: Option<String>,
    categories: &'static str,
    when: When,
    /// An RFC 5545 recurrence rule (`FREQ=WEEKLY;BYDAY=FR`), written as `RRULE:` after
    /// `DTEND` when the event recurs (a recurring blackout). A release train is not
    /// one recurring event: each departure is its own release with its own events.
    rrule: Option<String>,
}

/// Most occurrences of one cron blackout a feed lists one by one.
const MAX_LISTED_OCCURRENCES: usize = 400;

fn next_day(date: Date) -> Date {
    date.checked_add(Span::new().days(1)).unwrap_or(date)
}

/// Writes the feed for `scope` as of `now`.
pub fn feed(state: &State, scope: &Scope, now: Timestamp) -> Result<String, CalendarError> {
    let (name, releases, team): (String, Vec<&Release>, Option<&Name>) = match scope {
        Scope::Organization => (
            "Lockstep releases".to_owned(),
            state.releases().values().collect(),
            None,
        ),
        Scope::Release(release) => {
            let found = state
                .releases()
                .get(release)
                .ok_or_else(|| CalendarError::UnknownRelease(release.to_string()))?;
            (
                format!(
                    "{} (Lockstep)",
                    found.spec.title.as_deref().unwrap_or(release.as_str())
                ),
                vec![found],
                None,
            )
        }
        Scope::Team(team) => {
            let found = state
                .teams()
                .get(team)
                .ok_or_else(|| CalendarError::UnknownTeam(team.to_string()))?;
            let releases: BTreeSet<&Name> = state
                .items()
                .values()
                .filter(|item| &item.spec.team == team)
                .map(|item| &item.release)
                .collect();
            (
                format!(
                    "{} releases (Lockstep)",
                    found.spec.title.as_deref().unwrap_or(team.as_str())
                ),
                releases
                    .into_iter()
                    .filter_map(|r| state.releases().get(r))
                    .collect(),
                Some(team),
            )
        }
    };
    let mut events = Vec::new();
    for release in releases {
        release_events(state, release, team, &mut events);
    }
    for blackout in state.blackouts().values() {
        let spec = &blackout.spec;
        let zone = TimeZone::get(&spec.time_zone).unwrap_or(TimeZone::UTC);
        let event =
            |uid: String, start: DateTime, end: DateTime, rrule: Option<String>| CalendarEvent {
                uid,
                summary: format!(
                    "Blackout: {}",
                    spec.title.as_deref().unwrap_or(blackout.name.as_str())
                ),
                description: Some({
                    let mut text = spec
                        .reason
                        .clone()
                        .unwrap_or_else(|| "No deployments".to_owned());
                    if !spec.environments.is_empty() {
                        let envs: Vec<&str> = spec.environments.iter().map(Name::as_str).collect();
                        let _ = write!(text, " (environments: {})", envs.join(", "));
                    }
                    text
                }),
                categories: "BLACKOUT",
                rrule,
                when: When::Timed {
                    zone: tzid(&spec.time_zone),
                    start,
                    end,
                },
            };
        let uid = format!("blackout/{}@lockstep", blackout.name);
        let rrule = match spec.repeat() {
            Repeat::Once => None,
            Repeat::Rule(rule) => Some(rule.to_ical(&zone)),
            Repeat::Cron(cron) => match cron.to_ical() {
                Some(rule) => Some(rule),
                None => {
                    // Cron unites restricted day fields, a rule intersects them:
                    // list the occurrences of the coming year one by one.
                    let today = zone.to_datetime(now);
                    let from = today.checked_sub(Span::new().days(31)).unwrap_or(today);
                    let to = today.checked_add(Span::new().days(366)).unwrap_or(today);
                    // A crontab line can select thousands of times a year; a feed
                    // lists the first few hundred, calendar apps choke on more.
                    for (start, end) in spec
                        .occurrences(from, to, Some(&zone))
                        .into_iter()
                        .take(MAX_LISTED_OCCURRENCES)
                    {
                        events.push(event(
                            format!(
                                "blackout/{}/{}@lockstep",
                                blackout.name,
                                start.strftime("%Y%m%dT%H%M")
                            ),
                            start,
                            end,
                            None,
                        ));
                    }
                    continue;
                }
            },
        };
        events.push(event(uid, spec.start, spec.end, rrule));
    }
    Ok(render(&name, &events, now))
}

fn release_events(
    state: &State,
    release: &Release,
    team: Option<&Name>,
    events: &mut Vec<CalendarEvent>,
) {
    let spec = &release.spec;
    let title = spec.title.as_deref().unwrap_or(release.name.as_str());
    let id = release.name.as_str();
    let mut description = format!("Release {id}");
    if let Some(version) = &spec.version {
        let _ = write!(description, ", version {version}");
    }
    let _ = write!(description, ", {}", release.state);
    events.push(CalendarEvent {
        uid: format!("release/{id}@lockstep"),
        summary: format!("Release: {title}"),
        description: Some(description),
        categories: "RELEASE",
        rrule: None,
        when: When::Days {
            first: spec.target_date,
            after_last: next_day(spec.target_date),
        },
    });
    // A freeze lasts until the next freeze begins, and the code freeze through release day.
    if let Some(feature_freeze) = spec.feature_freeze {
        let until = spec.code_freeze.unwrap_or(next_day(spec.target_date));
        events.push(CalendarEvent {
            uid: format!("release/{id}/feature-freeze@lockstep"),
            summary: format!("Feature freeze: {title}"),
            description: Some("No new scope".to_owned()),
            categories: "FREEZE",
            rrule: None,
            when: When::Days {
                first: feature_freeze,
                after_last: until.max(next_day(feature_freeze)),
            },
        });
    }
    if let Some(code_freeze) = spec.code_freeze {
        events.push(CalendarEvent {
            uid: format!("release/{id}/code-freeze@lockstep"),
            summary: format!("Code freeze: {title}"),
            description: Some("No commits to main".to_owned()),
            categories: "FREEZE",
            rrule: None,
            when: When::Days {
                first: code_freeze,
                after_last: next_day(spec.target_date).max(next_day(code_freeze)),
            },
        });
    }
    for milestone in &spec.milestones {
        let last = milestone.end.unwrap_or(milestone.date);
        events.push(CalendarEvent {
            uid: format!("release/{id}/milestone/{}@lockstep", milestone.name),
            summary: format!(
                "{}: {}",
                milestone
                    .title
                    .as_deref()
                    .unwrap_or(milestone.name.as_str()),
                title
            ),
            description: None,
            categories: "MILESTONE",
            rrule: None,
            when: When::Days {
                first: milestone.date,
                after_last: next_day(last),
            },
        });
    }
    if let Some(plan) = &spec.deployment {
        for step in &plan.steps {
            let owner = state
                .components()
                .get(&step.component)
                .map(|c| &c.spec.team);
            if team.is_some() && owner != team {
                continue;
            }
            let start = spec.target_date.to_datetime(step.at);
            let end = start
                .checked_add(Span::new().minutes(i64::from(step.minutes)))
                .unwrap_or(start);
            let mut description = format!(
                "Deploy {} to {} ({title})",
                step.component, plan.environment
            );
            if !plan.verification.is_empty() {
                let _ = write!(description, "\nVerify: {}", plan.verification.join(", "));
            }
            events.push(CalendarEvent {
                uid: format!("release/{id}/deployment/{}@lockstep", step.component),
                summary: format!(
                    "Deploy: {}",
                    step.title.as_deref().unwrap_or(step.component.as_str())
                ),
                description: Some(description),
                categories: "DEPLOYMENT",
                rrule: None,
                when: When::Timed {
                    zone: tzid(&plan.time_zone),
                    start,
                    end,
                },
            });
        }
    }
}

fn render(name: &str, events: &[CalendarEvent], now: Timestamp) -> String {
    let mut out = String::new();
    let mut line = |text: &str| fold_into(&mut out, text);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line(&format!("PRODID:{PRODID}"));
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape(name)));
    // One VTIMEZONE per zone used, covering the years of its events.
    let mut zones: Vec<(&str, i16, i16)> = Vec::new();
    for event in events {
        if let When::Timed { zone, start, end } = &event.when {
            match zones.iter_mut().find(|(z, _, _)| z == zone) {
                Some((_, first, last)) => {
                    *first = (*first).min(start.year());
                    *last = (*last).max(end.year());
                }
                None => zones.push((zone, start.year(), end.year())),
            }
        }
    }
    for (zone, first, last) in zones {
        for text in vtimezone(zone, first, last) {
            line(&text);
        }
    }
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    for event in events {
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape(&event.uid)));
        line(&format!("DTSTAMP:{stamp}"));
        match &event.when {
            When::Days { first, after_last } => {
                line(&format!("DTSTART;VALUE=DATE:{}", first.strftime("%Y%m%d")));
                line(&format!(
                    "DTEND;VALUE=DATE:{}",
                    after_last.strftime("%Y%m%d")
                ));
                line("TRANSP:TRANSPARENT");
            }
            When::Timed { zone, start, end } => {
                line(&format!(
                    "DTSTART;TZID={zone}:{}",
                    start.strftime("%Y%m%dT%H%M%S")
                ));
                line(&format!(
                    "DTEND;TZID={zone}:{}",
                    end.strftime("%Y%m%dT%H%M%S")
                ));
            }
        }
        if let Some(rule) = &event.rrule {
            // A RECUR value, not TEXT: written as is, minus anything that would end the line.
            let rule: String = rule.chars().filter(|c| !c.is_control()).collect();
            line(&format!("RRULE:{rule}"));
        }
        line(&format!("SUMMARY:{}", escape(&event.summary)));
        if let Some(description) = &event.description {
            line(&format!("DESCRIPTION:{}", escape(description)));
        }
        line(&format!("CATEGORIES:{}", event.categories));
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

/// The time zone database's spelling of `zone` for `TZID`: logs written before names were
/// stored canonically may hold `europe/berlin`, which calendar clients do not match.
fn tzid(zone: &str) -> String {
    TimeZone::get(zone)
        .ok()
        .and_then(|tz| tz.iana_name().map(str::to_owned))
        .unwrap_or_else(|| zone.to_owned())
}

/// The VTIMEZONE of `zone` with every transition from the year before `first` to the
/// year after `last`, so that any event in range resolves without a rule engine.
fn vtimezone(zone: &str, first: i16, last: i16) -> Vec<String> {
    let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{zone}")];
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let start = Date::new(first.saturating_sub(1), 1, 1)
        .ok()
        .and_then(|d| tz.to_timestamp(d.to_datetime(Time::midnight())).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let end = Date::new(last.saturating_add(2), 1, 1)
        .ok()
        .and_then(|d| tz.to_timestamp(d.to_datetime(Time::midnight())).ok())
        .unwrap_or(Timestamp::MAX);
    let offset_text = |offset: jiff::tz::Offset| {
        let seconds = offset.seconds();
        let sign = if seconds < 0 { '-' } else { '+' };
        let seconds = seconds.unsigned_abs();
        format!("{sign}{:02}{:02}", seconds / 3600, (seconds % 3600) / 60)
    };
    let mut previous = tz.to_offset(start);
    let mut n_transitions = 0;
    for transition in tz.following(start) {
        let at = transition.timestamp();
        if at >= end {
            break;
        }
        let offset = transition.offset();
        let kind = if transition.dst() == Dst::Yes {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        // DTSTART is the local time the transition happens at, in the offset before it.
        let local = previous.to_datetime(at);
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", local.strftime("%Y%m%dT%H%M%S")));
        lines.push(format!("TZOFFSETFROM:{}", offset_text(previous)));
        lines.push(format!("TZOFFSETTO:{}", offset_text(offset)));
        lines.push(format!("TZNAME:{}", escape(transition.abbreviation())));
        lines.push(format!("END:{kind}"));
        previous = offset;
        n_transitions += 1;
    }
    if n_transitions == 0 {
        // A zone without transitions in range still needs one observance.
        lines.push("BEGIN:STANDARD".to_owned());
        lines.push("DTSTART:19700101T000000".to_owned());
        lines.push(format!("TZOFFSETFROM:{}", offset_text(previous)));
        lines.push(format!("TZOFFSETTO:{}", offset_text(previous)));
        lines.push("END:STANDARD".to_owned());
    }
    lines.push("END:VTIMEZONE".to_owned());
    lines
}

/// Escapes TEXT values: backslash, semicolon, comma and newline (RFC 5545 §3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (never inside a UTF-8 sequence), CRLF-terminated
/// (RFC 5545 §3.1).
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            // The leading space of a continuation line counts toward its 75 octets.
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_long_lines_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let text = format!("SUMMARY:{}", "é".repeat(60));
        fold_into(&mut out, &text);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(
                physical.len() <= 75,
                "{} octets: {physical}",
                physical.len()
            );
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("{text}\r\n"));
    }

    #[test]
    fn an_event_that_recurs_gets_an_rrule_line_after_its_dates() {
        let event = CalendarEvent {
            uid: "blackout/friday-evenings@lockstep".to_owned(),
            summary: "Blackout: Friday evenings".to_owned(),
            description: None,
            categories: "BLACKOUT",
            when: When::Timed {
                zone: "Europe/Berlin".to_owned(),
                start: jiff::civil::datetime(2025, 1, 3, 16, 0, 0, 0),
                end: jiff::civil::datetime(2025, 1, 3, 23, 59, 0, 0),
            },
            rrule: Some("FREQ=WEEKLY;BYDAY=FR;UNTIL=20251231T230000Z\r\nX".to_owned()),
        };
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().expect("instant");
        let text = render("Blackouts", &[event], now);
        let lines: Vec<&str> = text.split("\r\n").collect();
        let at = |prefix: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in {text}"))
        };
        assert_eq!(
            lines[at("RRULE:")],
            "RRULE:FREQ=WEEKLY;BYDAY=FR;UNTIL=20251231T230000ZX"
        );
        assert!(at("DTEND;TZID=Europe/Berlin:") < at("RRULE:"));
        assert_eq!(tzid("europe/berlin"), "Europe/Berlin");
        assert_eq!(tzid("utc"), "UTC");
        assert!(at("RRULE:") < at("SUMMARY:"));
        // Events that do not recur have none.
        assert_eq!(text.matches("RRULE").count(), 1);
    }

    #[test]
    fn escapes_text_values() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
