//! The iCalendar feed of the seed example, checked structurally against the plan.
//! (CI also parses it with Python's `icalendar`: see `tests/calendar_check.py`.)

mod common;

use common::{Program, at, name};
use lockstep_comms::calendar::{CalendarError, Scope, feed};

fn unfold(text: &str) -> Vec<String> {
    text.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The property lines of each VEVENT, in order.
fn vevents(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in unfold(text) {
        match line.as_str() {
            "BEGIN:VEVENT" => current = Some(Vec::new()),
            "END:VEVENT" => out.extend(current.take()),
            _ => {
                if let Some(c) = current.as_mut() {
                    c.push(line);
                }
            }
        }
    }
    out
}

fn prop<'a>(event: &'a [String], name: &str) -> Option<&'a str> {
    event.iter().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key == name || key.starts_with(&format!("{name};"))).then_some(value)
    })
}

fn full<'a>(event: &'a [String], name: &str) -> Option<&'a str> {
    event
        .iter()
        .find(|l| l.starts_with(&format!("{name}:")) || l.starts_with(&format!("{name};")))
        .map(String::as_str)
}

#[test]
fn release_feed_has_the_release_freezes_milestones_and_deployment_steps() {
    let program = Program::seed();
    let text = feed(
        &program.state,
        &Scope::Release(name("q1-2025")),
        at("2025-01-20T12:00:00Z"),
    )
    .expect("feed");
    assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    for physical in text.split("\r\n") {
        assert!(physical.len() <= 75, "line over 75 octets: {physical}");
    }
    let events = vevents(&text);
    let summaries: Vec<&str> = events.iter().filter_map(|e| prop(e, "SUMMARY")).collect();
    assert_eq!(
        summaries,
        [
            "Release: Q1 2025 Platform Release",
            "Feature freeze: Q1 2025 Platform Release",
            "Code freeze: Q1 2025 Platform Release",
            "API + Backend integrated: Q1 2025 Platform Release",
            "Frontend + API integrated: Q1 2025 Platform Release",
            "Integration testing: Q1 2025 Platform Release",
            "Full stack integrated: Q1 2025 Platform Release",
            "Deploy: Backend services (Team C)",
            "Deploy: API services (Team B)",
            "Deploy: Frontend deploy (Team A)",
            "Deploy: Mobile app store update (Team D)",
        ]
    );
    let release = &events[0];
    assert_eq!(
        full(release, "DTSTART"),
        Some("DTSTART;VALUE=DATE:20250301")
    );
    assert_eq!(full(release, "DTEND"), Some("DTEND;VALUE=DATE:20250302"));
    assert_eq!(prop(release, "UID"), Some("release/q1-2025@lockstep"));
    assert_eq!(prop(release, "DTSTAMP"), Some("20250120T120000Z"));
    // The integration testing period Feb 15–22 ends the day after its last day.
    let period = &events[5];
    assert_eq!(full(period, "DTSTART"), Some("DTSTART;VALUE=DATE:20250215"));
    assert_eq!(full(period, "DTEND"), Some("DTEND;VALUE=DATE:20250223"));
    // Backend deploys at 9:00 New York time for the default 30 minutes.
    let backend = &events[7];
    assert_eq!(
        full(backend, "DTSTART"),
        Some("DTSTART;TZID=America/New_York:20250301T090000")
    );
    assert_eq!(
        full(backend, "DTEND"),
        Some("DTEND;TZID=America/New_York:20250301T093000")
    );
    // The zone the steps use is defined, with the March 2025 change to daylight time.
    assert!(text.contains("BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\n"));
    let lines = unfold(&text);
    assert!(lines.iter().any(|l| l == "DTSTART:20250309T020000"));
}

#[test]
fn uids_are_stable_when_the_plan_changes_and_unique_within_a_feed() {
    let mut program = Program::seed();
    let before = feed(
        &program.state,
        &Scope::Organization,
        at("2025-01-20T12:00:00Z"),
    )
    .expect("feed");
    let mut spec = program.state.releases()[&name("q1-2025")].spec.clone();
    spec.target_date = jiff::civil::date(2025, 3, 8);
    program.run(
        "2025-02-01T12:00:00Z",
        "rita",
        lockstep_core::Command::DefineRelease {
            release: name("q1-2025"),
            spec,
        },
    );
    let after = feed(
        &program.state,
        &Scope::Organization,
        at("2025-02-01T12:00:00Z"),
    )
    .expect("feed");
    let uids = |text: &str| -> Vec<String> {
        vevents(text)
            .iter()
            .filter_map(|e| prop(e, "UID").map(str::to_owned))
            .collect()
    };
    assert_eq!(uids(&before), uids(&after));
    let mut unique = uids(&after);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), uids(&after).len());
    assert!(after.contains("DTSTART;VALUE=DATE:20250308"));
}

#[test]
fn team_feed_has_only_that_teams_deployment_steps() {
    let program = Program::seed();
    let text = feed(
        &program.state,
        &Scope::Team(name("backend")),
        at("2025-01-20T12:00:00Z"),
    )
    .expect("feed");
    let deploys: Vec<String> = vevents(&text)
        .iter()
        .filter_map(|e| prop(e, "SUMMARY"))
        .filter(|s| s.starts_with("Deploy:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(deploys, ["Deploy: Backend services (Team C)"]);
}

#[test]
fn unknown_release_or_team_is_an_error() {
    let program = Program::seed();
    let now = at("2025-01-20T12:00:00Z");
    assert_eq!(
        feed(&program.state, &Scope::Release(name("q9")), now),
        Err(CalendarError::UnknownRelease("q9".to_owned()))
    );
    assert_eq!(
        feed(&program.state, &Scope::Team(name("nobody")), now),
        Err(CalendarError::UnknownTeam("nobody".to_owned()))
    );
}
