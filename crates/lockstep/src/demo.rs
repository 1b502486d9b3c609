//! The seed example, re-dated so that its release is in progress today, after the
//! history of the release before it (examples/q4-2024), replayed at the moments it
//! happened so that metrics and the retrospective have a shipped release to show.

use jiff::Timestamp;
use jiff::civil::Date;
use lockstep_core::coordination::Activity;
use lockstep_core::run::{RunOptions, StepStatus};
use lockstep_core::{
    Command, IssueSeverity, ItemStatus, Name, ReleaseState, Signal, SignalReading, StatusUpdate,
};
use lockstep_manifest::Source;

/// The example's manifests, compiled in so that `serve --demo` works from any
/// directory.
const EXAMPLE: [(&str, &str); 7] = [
    (
        "examples/q1-2025/teams.yaml",
        include_str!("../../../examples/q1-2025/teams.yaml"),
    ),
    (
        "examples/q1-2025/components.yaml",
        include_str!("../../../examples/q1-2025/components.yaml"),
    ),
    (
        "examples/q1-2025/release.yaml",
        include_str!("../../../examples/q1-2025/release.yaml"),
    ),
    (
        "examples/q1-2025/risks.yaml",
        include_str!("../../../examples/q1-2025/risks.yaml"),
    ),
    (
        "examples/q1-2025/interfaces.yaml",
        include_str!("../../../examples/q1-2025/interfaces.yaml"),
    ),
    // The built-in checklist templates with approval rules for the example's people,
    // so the dashboard shows checklists and sign-offs.
    (
        "examples/checklists/templates.yaml",
        include_str!("../../../examples/checklists/templates.yaml"),
    ),
    // A blackout for the Calendar page, clear of the release day.
    (
        "examples/demo/calendar.yaml",
        include_str!("../../../examples/demo/calendar.yaml"),
    ),
];

/// The release before it, shipped on December 10, 2024 (in the example's calendar).
const PAST_RELEASE: (&str, &str) = (
    "examples/q4-2024/release.yaml",
    include_str!("../../../examples/q4-2024/release.yaml"),
);

/// The example's "today": the seed's daily updates are dated February 5.
const EXAMPLE_TODAY: jiff::civil::Date = jiff::civil::date(2025, 2, 5);

/// The example with every `YYYY-MM-DD` moved by the same number of days, so that
/// `today` plays the role of February 5, 2025.
pub fn sources(today: jiff::civil::Date) -> anyhow::Result<Vec<Source>> {
    redated(today, &EXAMPLE)
}

fn redated(today: Date, files: &[(&str, &str)]) -> anyhow::Result<Vec<Source>> {
    let shift = (today - EXAMPLE_TODAY).get_days();
    files
        .iter()
        .map(|(name, text)| {
            Ok(Source {
                name: (*name).to_owned(),
                text: shift_dates(text, shift)?,
            })
        })
        .collect()
}

/// Seed 004's slip as an open change request, re-dated like [`sources`], so that the
/// Changes page has a request to review: its title and manifests.
pub fn open_change(today: Date) -> anyhow::Result<(String, Vec<Source>)> {
    let sources = redated(
        today,
        &[(
            "examples/changes/api-slip.yaml",
            include_str!("../../../examples/changes/api-slip.yaml"),
        )],
    )?;
    Ok(("API endpoints slip five days".to_owned(), sources))
}

/// Teams, components and the past release's manifest, re-dated like [`sources`]: what
/// the program held when the past release was planned.
pub fn past_sources(today: Date) -> anyhow::Result<Vec<Source>> {
    redated(today, &[EXAMPLE[0], EXAMPLE[1], PAST_RELEASE])
}

/// One step of the past release's history: when (UTC), who, what.
pub enum Step {
    /// A command decided at that moment.
    Command(Box<Command>),
    /// Start the release-day run with a runbook generated at that moment.
    StartRun(Name),
}

/// What the contracts of the example look like today: the versions running in
/// production, the contract tests CI recorded (the mobile app's new version fails against
/// the API in production) and the API team's proposal of a breaking 2.0.0 waiting for
/// review, so that the Contracts page and `can-i-deploy` have something to say.
pub fn contract_facts() -> anyhow::Result<Vec<(&'static str, Command)>> {
    use lockstep_core::contract::{
        Compatibility, ComponentVersion, VerificationReport, VerificationResult, Version,
    };
    let name = |raw: &str| Name::parse(raw).map_err(anyhow::Error::from);
    let component_version = |raw: &str| ComponentVersion::parse(raw).map_err(anyhow::Error::msg);
    let version = |raw: &str| Version::parse(raw).map_err(anyhow::Error::msg);
    let mut facts = Vec::new();
    for (who, component, running) in [
        ("alex", "data-pipeline", "3.2.1"),
        ("mike", "analytics-api", "1.1.4"),
        ("sarah", "dashboard-ui", "3.1.0"),
        ("priya", "mobile-app", "4.9.0"),
    ] {
        facts.push((
            who,
            Command::RecordDeployment {
                component: name(component)?,
                environment: name("production")?,
                version: component_version(running)?,
                deployed_at: None,
                by: who.to_owned(),
            },
        ));
    }
    for (interface, against, consumer, consumer_version, provider, result) in [
        (
            "analytics-events",
            "3.2.0",
            "analytics-api",
            "1.1.4",
            "3.2.1",
            VerificationResult::Pass,
        ),
        (
            "analytics-api",
            "1.1.0",
            "dashboard-ui",
            "3.1.0",
            "1.1.4",
            VerificationResult::Pass,
        ),
        (
            "analytics-api",
            "1.1.0",
            "dashboard-ui",
            "3.2.0",
            "1.1.4",
            VerificationResult::Pass,
        ),
        (
            "analytics-api",
            "1.1.0",
            "mobile-app",
            "5.0.0",
            "1.1.4",
            VerificationResult::Fail,
        ),
    ] {
        facts.push((
            "ci",
            Command::RecordVerification {
                interface: name(interface)?,
                verification: VerificationReport {
                    version: version(against)?,
                    consumer: name(consumer)?,
                    consumer_version: component_version(consumer_version)?,
                    provider_version: Some(component_version(provider)?),
                    result,
                    link: Some(format!(
                        "https://ci.example.com/acme/{consumer}/contracts/{consumer_version}"
                    )),
                    by: "ci".to_owned(),
                },
            },
        ));
    }
    facts.push((
        "mike",
        Command::ProposeInterfaceChange {
            interface: name("analytics-api")?,
            version: version("2.0.0")?,
            compatibility: Compatibility::Breaking,
            summary: "Export endpoint for the dashboard's export feature; `range` becomes required on every endpoint".to_owned(),
            by: "mike".to_owned(),
        },
    ));
    Ok(facts)
}

fn command(command: Command) -> Step {
    Step::Command(Box::new(command))
}

/// The past release's life after planning, in order, re-dated like [`sources`]. The run
/// is started with a break-glass reason: the demo records no readiness signals for it.
pub fn past_history(today: Date) -> anyhow::Result<Vec<(Timestamp, &'static str, Step)>> {
    let shift = (today - EXAMPLE_TODAY).get_days();
    let name = |raw: &str| Name::parse(raw).map_err(anyhow::Error::from);
    let day = |raw: &str| -> anyhow::Result<Date> {
        Ok(raw
            .parse::<Date>()?
            .checked_add(jiff::Span::new().days(shift))?)
    };
    let at = |raw: &str, time: &str| -> anyhow::Result<Timestamp> {
        let date = day(raw)?;
        Ok(date
            .to_datetime(time.parse()?)
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)?
            .timestamp())
    };
    let release = name("q4-2024")?;
    let (backend, api, frontend) = (
        name("backend-export-jobs")?,
        name("api-export-endpoint")?,
        name("frontend-export-button")?,
    );
    let mut steps: Vec<(Timestamp, &'static str, Step)> = vec![(
        at("2024-10-21", "14:00")?,
        "rita",
        command(Command::ChangeReleaseState {
            release: release.clone(),
            to: ReleaseState::InProgress,
        }),
    )];
    let mut moves = |item: &Name, when: &str, who: &'static str, to: &[ItemStatus]| {
        for (index, status) in to.iter().enumerate() {
            let time = format!("{:02}:00", 15 + index);
            steps.push((
                at(when, &time)?,
                who,
                command(Command::MoveItem {
                    item: item.clone(),
                    to: *status,
                }),
            ));
        }
        anyhow::Ok(())
    };
    use ItemStatus::{ReadyForRelease, Staging, Testing};
    moves(&backend, "2024-11-18", "alex", &[Testing])?;
    moves(&backend, "2024-11-26", "alex", &[Staging, ReadyForRelease])?;
    moves(&api, "2024-12-03", "mike", &[Testing])?;
    moves(&api, "2024-12-05", "mike", &[Staging, ReadyForRelease])?;
    moves(&frontend, "2024-12-05", "sarah", &[Testing])?;
    moves(
        &frontend,
        "2024-12-09",
        "sarah",
        &[Staging, ReadyForRelease],
    )?;
    steps.extend([
        (
            at("2024-11-22", "21:00")?,
            "mike",
            command(Command::SetEta {
                item: api.clone(),
                eta: Some(day("2024-12-03")?),
            }),
        ),
        (
            at("2024-11-22", "21:05")?,
            "mike",
            command(Command::PostUpdate {
                item: api.clone(),
                update: StatusUpdate {
                    date: day("2024-11-22")?,
                    text: "Pagination rework for large exports: ETA moves to Dec 3".to_owned(),
                },
            }),
        ),
        (
            at("2024-12-10", "13:55")?,
            "rita",
            Step::StartRun(release.clone()),
        ),
    ]);
    for (index, component) in ["data-pipeline", "analytics-api", "dashboard-ui"]
        .into_iter()
        .enumerate()
    {
        let hour = 14 + index / 2;
        let minute = 30 * (index % 2);
        for (offset, to) in [
            (0, StepStatus::Running),
            (12, StepStatus::Verifying),
            (20, StepStatus::Done),
        ] {
            steps.push((
                at("2024-12-10", &format!("{hour:02}:{:02}", minute + offset))?,
                "rita",
                command(Command::ChangeRunStep {
                    release: release.clone(),
                    step: name(component)?,
                    to,
                    by: "rita".to_owned(),
                    note: None,
                    break_glass: None,
                    freezes: Vec::new(),
                }),
            ));
        }
    }
    let issue_at = at("2024-12-12", "16:40")?;
    steps.extend([
        (
            at("2024-12-10", "15:30")?,
            "rita",
            command(Command::ChangeReleaseState {
                release: release.clone(),
                to: ReleaseState::Released,
            }),
        ),
        (
            issue_at,
            "github",
            command(Command::RecordSignal {
                signal: Signal {
                    component: name("dashboard-ui")?,
                    environment: None,
                    source: "github".to_owned(),
                    delivery: "demo-issue-311".to_owned(),
                    observed_at: issue_at,
                    reading: SignalReading::Issue {
                        number: 311,
                        title: "Export times out on ranges over a year".to_owned(),
                        open: true,
                        severity: Some(IssueSeverity::High),
                    },
                },
            }),
        ),
        // The meetings and e-mail that still happened, recorded by those who were there.
        (
            at("2024-11-22", "21:20")?,
            "mike",
            command(Command::RecordCoordination {
                release: release.clone(),
                activity: Activity::Email,
                minutes: 15,
                people: 3,
                on: Some(day("2024-11-22")?),
                note: Some("Pagination rework agreed with the dashboard team".to_owned()),
                by: "mike".to_owned(),
            }),
        ),
        (
            at("2024-12-09", "16:30")?,
            "rita",
            command(Command::RecordCoordination {
                release: release.clone(),
                activity: Activity::Call,
                minutes: 20,
                people: 5,
                on: Some(day("2024-12-09")?),
                note: Some("Go/no-go call".to_owned()),
                by: "rita".to_owned(),
            }),
        ),
        (
            at("2024-12-13", "09:40")?,
            "mike",
            command(Command::RateCoordination {
                release: release.clone(),
                score: 2,
                comment: Some("The pagination rework was agreed by e-mail, late".to_owned()),
                by: "mike".to_owned(),
            }),
        ),
        (
            at("2024-12-13", "09:45")?,
            "rita",
            command(Command::RateCoordination {
                release: release.clone(),
                score: 4,
                comment: Some("One go/no-go call, the run went by the book".to_owned()),
                by: "rita".to_owned(),
            }),
        ),
        (
            at("2024-12-13", "10:00")?,
            "rita",
            command(Command::RecordLesson {
                release: release.clone(),
                text: "Agree large-export pagination with the API team before the sprint: \
                       the late rework used most of the dashboard's buffer"
                    .to_owned(),
                by: "rita".to_owned(),
            }),
        ),
    ]);
    steps.sort_by_key(|(when, _, _)| *when);
    Ok(steps)
}

/// The break-glass reason the demo's past run starts with.
pub fn past_run_options() -> RunOptions {
    RunOptions {
        auto_rollback: false,
        break_glass: Some("demo history: readiness was not recorded for this release".into()),
    }
}

/// Rewrites every ISO date in `text`. The example is ours and dates appear only as
/// `YYYY-MM-DD` values, so a textual rewrite is exact.
fn shift_dates(text: &str, days: i32) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        let candidate = text.get(index..index + 10);
        let is_date = candidate.is_some_and(|c| {
            c.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
        }) && (index == 0 || !bytes[index - 1].is_ascii_alphanumeric());
        if let (true, Some(candidate)) = (is_date, candidate) {
            let date: jiff::civil::Date = candidate.parse()?;
            out.push_str(&date.checked_add(jiff::Span::new().days(days))?.to_string());
            index += 10;
        } else {
            let c = text[index..].chars().next().unwrap_or(' ');
            out.push(c);
            index += c.len_utf8();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_every_date_and_nothing_else() {
        let shifted =
            shift_dates("due: 2025-02-05\nversion: \"2025.1\"\n", 3).expect("valid dates");
        assert_eq!(shifted, "due: 2025-02-08\nversion: \"2025.1\"\n");
    }

    #[test]
    fn demo_release_is_in_progress_today() {
        let today = jiff::civil::date(2026, 11, 23);
        let sources = sources(today).expect("example shifts");
        let release = &sources[2].text;
        assert!(release.contains("targetDate: 2026-12-17"), "{release}");
    }
}
