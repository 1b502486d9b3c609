//! Release trains and recurring blackouts: what they expand to, and how bad ones
//! are reported.

mod common;

use lockstep_core::{Command, State, decide_all};
use lockstep_manifest::{Limits, Source, TRAIN_LABEL, locate, parse, plan};

const TEAM: &str = "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: web}\nspec:\n  timeZone: America/New_York\n  members: [{handle: rita, name: Rita, roles: [release-manager]}]\n---\napiVersion: lockstep.dev/v1\nkind: Environment\nmetadata: {name: production}\nspec: {tier: production}\n";

fn train(spec: &str) -> String {
    format!(
        "{TEAM}---\napiVersion: lockstep.dev/v1\nkind: ReleaseTrain\nmetadata: {{name: web}}\nspec:\n{spec}"
    )
}

fn blackout(spec: &str) -> String {
    format!(
        "{TEAM}---\napiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {{name: fridays}}\nspec:\n{spec}"
    )
}

/// Parses, plans and decides; the commands, or the rendered errors.
fn run(text: &str) -> Result<Vec<Command>, String> {
    let sources = [Source {
        name: "cal.yaml".into(),
        text: text.into(),
    }];
    let state = State::new();
    let manifest = parse(&sources, Limits::default()).map_err(|e| e.to_string())?;
    let commands = plan(&manifest, &state).map_err(|e| e.to_string())?;
    let now = "2025-01-01T12:00:00Z".parse().expect("valid");
    decide_all(
        &state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now,
    )
    .map_err(|errors| locate(&commands, errors, "cal.yaml").to_string())?;
    Ok(commands.into_iter().map(|c| c.command).collect())
}

fn releases(commands: &[Command]) -> Vec<(String, lockstep_core::ReleaseSpec)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::DefineRelease { release, spec } => Some((release.to_string(), spec.clone())),
            _ => None,
        })
        .collect()
}

/// The occurrences (`start/end`) of the one blackout of `commands` that overlap `[from, to)`.
fn blackout_windows(commands: &[Command], from: &str, to: &str) -> Vec<String> {
    let spec = commands
        .iter()
        .find_map(|c| match c {
            Command::DefineBlackout { spec, .. } => Some(spec.clone()),
            _ => None,
        })
        .expect("a blackout");
    let (from, to) = (
        from.parse().expect("valid date-time"),
        to.parse().expect("valid date-time"),
    );
    spec.occurrences(from, to, None)
        .into_iter()
        .map(|(s, e)| format!("{s}/{e}"))
        .collect()
}

#[test]
fn a_train_expands_into_one_release_per_departure() {
    let commands = run(&train(
        "  title: Web train\n  cadence: FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=4\n  start: 2025-01-07\n  timeZone: America/New_York\n  skip: [2025-02-04]\n  version: \"2025.{n}\"\n  featureFreezeDays: 5\n  codeFreezeDays: 1\n  manager: rita\n",
    ))
    .expect("accepted");
    let releases = releases(&commands);
    let names: Vec<&str> = releases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["web-2025-01-07", "web-2025-01-21", "web-2025-02-18"]
    );
    let (_, third) = &releases[2];
    assert_eq!(third.target_date.to_string(), "2025-02-18");
    assert_eq!(
        third.version.as_deref(),
        Some("2025.4"),
        "numbered by departure, skips included"
    );
    assert_eq!(third.title.as_deref(), Some("Web train Feb 18, 2025"));
    assert_eq!(
        third.feature_freeze.map(|d| d.to_string()).as_deref(),
        Some("2025-02-13")
    );
    assert_eq!(
        third.code_freeze.map(|d| d.to_string()).as_deref(),
        Some("2025-02-17")
    );
    assert_eq!(third.manager.as_ref().map(|m| m.as_str()), Some("rita"));
    assert_eq!(
        third.labels.get(TRAIN_LABEL).map(String::as_str),
        Some("web")
    );
}

#[test]
fn reapplying_a_train_decides_nothing() {
    let text = train(
        "  cadence: FREQ=MONTHLY;BYDAY=1TU;UNTIL=20250601\n  start: 2025-01-07\n  timeZone: America/New_York\n",
    );
    let sources = [Source {
        name: "cal.yaml".into(),
        text,
    }];
    let now = "2025-01-01T12:00:00Z".parse().expect("valid");
    let mut state = State::new();
    for round in 0..2 {
        let manifest = parse(&sources, Limits::default()).expect("parses");
        let commands = plan(&manifest, &state).expect("plans");
        let events = decide_all(
            &state,
            commands.into_iter().map(|c| c.command).collect(),
            now,
        )
        .expect("accepted");
        if round == 1 {
            assert!(events.is_empty(), "second apply changed: {events:?}");
        }
        for (i, event) in events.iter().enumerate() {
            state.apply(i as i64 + 1, event);
        }
    }
    // Jan 7, Feb 4, Mar 4, Apr 1, May 6: five first Tuesdays up to June 1.
    assert_eq!(state.releases().len(), 5);
}

#[test]
fn bad_trains_are_located() {
    let cases = [
        (
            "  cadence: FREQ=WEEKLY;BYDAY=TU\n  start: 2025-01-07\n  timeZone: America/New_York\n",
            "cal.yaml:17:12: train `web`: cadence `FREQ=WEEKLY;BYDAY=TU` never ends",
        ),
        (
            "  cadence: FREQ=WEEKLY;BYDAY=TU;COUNT=3\n  start: 2025-01-08\n  timeZone: America/New_York\n",
            "cal.yaml:18:10: train `web`: start 2025-01-08 (Wednesday) is not a departure of `FREQ=WEEKLY;COUNT=3;BYDAY=TU`; the first would be 2025-01-14",
        ),
        (
            "  cadence: FREQ=FORTNIGHTLY\n  start: 2025-01-07\n  timeZone: America/New_York\n",
            "cal.yaml:17:12: invalid recurrence rule `FREQ=FORTNIGHTLY`: FREQ=`FORTNIGHTLY` is not one of DAILY, WEEKLY, MONTHLY, YEARLY",
        ),
        (
            "  cadence: FREQ=WEEKLY;COUNT=3\n  start: 2025-01-07\n  timeZone: Mars/Olympus\n",
            "cal.yaml:19:13: train `web`: timeZone `Mars/Olympus` is not an IANA time zone",
        ),
        (
            "  cadence: FREQ=WEEKLY;COUNT=3\n  start: 2025-01-07\n  timeZone: UTC\n  skip: [2025-01-08]\n",
            "cal.yaml:20:10: train `web`: skip 2025-01-08 is not a departure",
        ),
        (
            "  cadence: FREQ=DAILY;COUNT=400\n  start: 2025-01-07\n  timeZone: UTC\n",
            "more than 366 departures",
        ),
        (
            "  cadence: FREQ=WEEKLY;COUNT=3\n  start: 2025-01-07\n  timeZone: UTC\n  manager: ritta\n",
            "unknown member `ritta` (did you mean `rita`?)",
        ),
        (
            "  cadence: FREQ=WEEKLY;COUNT=3\n  start: 2025-01-07\n  timeZone: UTC\n  featureFreezeDays: 1\n  codeFreezeDays: 3\n",
            "cal.yaml:20:22: train `web`: the feature freeze (1 days before) must not come after the code freeze (3 days before)",
        ),
    ];
    for (spec, expected) in cases {
        let message = run(&train(spec)).expect_err("refused");
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
}

#[test]
fn recurring_blackouts_are_checked() {
    let commands = run(&blackout(
        "  timeZone: America/New_York\n  start: 2025-01-03T12:00:00\n  end: 2025-01-06T06:00:00\n  recurrence: FREQ=WEEKLY;BYDAY=FR\n",
    ))
    .expect("accepted");
    let occurrences = blackout_windows(&commands, "2025-01-15T00:00:00", "2025-01-25T00:00:00");
    assert_eq!(
        occurrences,
        [
            "2025-01-17T12:00:00/2025-01-20T06:00:00",
            "2025-01-24T12:00:00/2025-01-27T06:00:00"
        ]
    );

    let message = run(&blackout(
        "  timeZone: UTC\n  start: 2025-01-02T12:00:00\n  end: 2025-01-03T06:00:00\n  recurrence: FREQ=WEEKLY;BYDAY=FR\n",
    ))
    .expect_err("refused");
    assert!(
        message.contains("the blackout starts 2025-01-02T12:00:00 (Thursday), which `FREQ=WEEKLY;BYDAY=FR` does not select (its first occurrence would be 2025-01-03T12:00:00)"),
        "{message}"
    );
    let message = run(&blackout(
        "  timeZone: UTC\n  start: 2025-01-03T12:00:00\n  end: 2025-01-04T06:00:00\n  recurrence: FREQ=WEEKLY;BYHOUR=9\n",
    ))
    .expect_err("refused");
    assert!(
        message.starts_with("cal.yaml:20:15: invalid recurrence rule"),
        "{message}"
    );
}

#[test]
fn a_blackout_locates_its_bad_time_zone_and_environment() {
    let message = run(&blackout(
        "  timeZone: Mars/Olympus\n  start: 2025-01-03T12:00:00\n  end: 2025-01-06T06:00:00\n",
    ))
    .expect_err("refused");
    assert_eq!(
        message,
        "cal.yaml:17:13: blackout `fridays`: spec.timeZone `Mars/Olympus` is not an IANA time zone"
    );
    let message = run(&blackout(
        "  timeZone: UTC\n  start: 2025-01-03T12:00:00\n  end: 2025-01-06T06:00:00\n  environments: [production, prodction]\n",
    ))
    .expect_err("refused");
    assert_eq!(
        message,
        "cal.yaml:20:30: blackout `fridays`: unknown environment `prodction` (did you mean `production`?)"
    );
}

#[test]
fn deploy_windows_are_checked() {
    let env = |windows: &str| {
        format!(
            "apiVersion: lockstep.dev/v1\nkind: Environment\nmetadata: {{name: payments}}\nspec:\n  tier: production\n  deployWindows:\n{windows}"
        )
    };
    run(&env(
        "    - {timeZone: America/New_York, start: 2025-01-07T09:00:00, end: 2025-01-07T16:00:00, recurrence: \"FREQ=WEEKLY;BYDAY=TU,WE,TH\"}\n",
    ))
    .expect("accepted");
    for (windows, expected) in [
        (
            "    - {timeZone: America/New_York, start: 2025-01-06T09:00:00, end: 2025-01-06T16:00:00, recurrence: \"FREQ=WEEKLY;BYDAY=TU,WE,TH\"}\n",
            "cal.yaml:3:18: spec.deployWindows[0].recurrence: the deploy window starts 2025-01-06T09:00:00 (Monday)",
        ),
        (
            "    - {timeZone: America/New_York, start: 2025-01-07T16:00:00, end: 2025-01-07T09:00:00}\n",
            "deploy window start 2025-01-07T16:00:00 must be before its end 2025-01-07T09:00:00",
        ),
        (
            "    - {timeZone: Moon/Base, start: 2025-01-07T09:00:00, end: 2025-01-07T16:00:00}\n",
            "cal.yaml:7:18: environment `payments`: deployWindows timeZone `Moon/Base` is not an IANA time zone",
        ),
    ] {
        let message = run(&env(windows)).expect_err("refused");
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
}

#[test]
fn cron_blackouts_repeat_and_are_checked() {
    // Friday 16:00 to Monday 08:00, every week, written as a crontab line.
    let commands = run(&blackout(
        "  timeZone: Europe/Berlin\n  start: 2025-01-03T16:00:00\n  end: 2025-01-06T08:00:00\n  cron: \"0 16 * * FRI\"\n",
    ))
    .expect("accepted");
    // Across the spring-forward weekend it stays at 16:00 local time, and the
    // occurrence already running at `from` is included.
    let occurrences = blackout_windows(&commands, "2025-03-24T00:00:00", "2025-04-05T00:00:00");
    assert_eq!(
        occurrences,
        [
            "2025-03-21T16:00:00/2025-03-24T08:00:00",
            "2025-03-28T16:00:00/2025-03-31T08:00:00",
            "2025-04-04T16:00:00/2025-04-07T08:00:00"
        ]
    );

    for (spec, expected) in [
        (
            "  timeZone: UTC\n  start: 2025-01-03T15:00:00\n  end: 2025-01-06T08:00:00\n  cron: \"0 16 * * FRI\"\n",
            "spec.cron: the blackout starts 2025-01-03T15:00:00 (Friday), which `0 16 * * FRI` does not select (the next time it does is 2025-01-03T16:00:00)",
        ),
        (
            "  timeZone: UTC\n  start: 2025-01-03T16:00:00\n  end: 2025-01-06T08:00:00\n  cron: \"0 16 * * FRY\"\n",
            "cal.yaml:20:9: invalid cron expression `0 16 * * FRY`: day-of-week field `FRY`",
        ),
        (
            "  timeZone: UTC\n  start: 2025-01-03T16:00:00\n  end: 2025-01-03T18:00:00\n  cron: \"*/30 * * * *\"\n",
            "`*/30 * * * *` starts the blackout again at 2025-01-03T16:30:00, before the one from 2025-01-03T16:00:00 ends",
        ),
        (
            "  timeZone: UTC\n  start: 2025-01-03T16:00:00\n  end: 2025-01-06T08:00:00\n  cron: \"0 16 * * FRI\"\n  recurrence: FREQ=WEEKLY;BYDAY=FR\n",
            "spec.cron: the blackout repeats by `recurrence` or by `cron`, not both",
        ),
    ] {
        let message = run(&blackout(spec)).expect_err("refused");
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
}

#[test]
fn deploy_windows_can_repeat_by_cron() {
    let text = "apiVersion: lockstep.dev/v1\nkind: Environment\nmetadata: {name: payments}\nspec:\n  tier: production\n  deployWindows:\n    - {timeZone: America/New_York, start: 2025-01-07T09:00:00, end: 2025-01-07T16:00:00, cron: \"0 9 * * TUE-THU\"}\n";
    let commands = run(text).expect("accepted");
    let spec = commands
        .iter()
        .find_map(|c| match c {
            Command::DefineEnvironment { spec, .. } => Some(spec.clone()),
            _ => None,
        })
        .expect("an environment");
    let from: jiff::civil::DateTime = "2025-01-10T00:00:00".parse().expect("valid");
    let to: jiff::civil::DateTime = "2025-01-15T00:00:00".parse().expect("valid");
    let starts: Vec<String> = spec.deploy_windows[0]
        .occurrences(from, to, None)
        .into_iter()
        .map(|(s, _)| s.to_string())
        .collect();
    assert_eq!(starts, ["2025-01-14T09:00:00"]);
}

/// The example program and its release calendar (two trains, a weekly weekend freeze
/// and the year-end freeze), applied as `lockstep apply` would.
fn example_with_calendar() -> State {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files = Vec::new();
    for dir in ["q1-2025", "release-calendar"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("an example directory")
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("an example file");
            files.push((path.display().to_string(), text));
        }
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    let mut state = State::new();
    common::apply_files(&mut state, &files).expect("the examples apply");
    state
}

fn zones(state: &State) -> std::collections::BTreeMap<String, jiff::tz::TimeZone> {
    let names = state
        .teams()
        .values()
        .map(|t| t.spec.time_zone.clone())
        .chain(state.blackouts().values().map(|b| b.spec.time_zone.clone()))
        .chain(
            state
                .releases()
                .values()
                .filter_map(|r| r.spec.deployment.as_ref().map(|d| d.time_zone.clone())),
        );
    names
        .map(|name| {
            let zone = jiff::tz::TimeZone::get(&name).expect("a known zone");
            (name, zone)
        })
        .collect()
}

#[test]
fn the_calendar_of_a_period_lists_departures_freezes_windows_and_blackouts() {
    use lockstep_core::calendar::{EntryKind, calendar};
    let state = example_with_calendar();
    let zones = zones(&state);
    let day = |raw: &str| raw.parse::<jiff::civil::Date>().expect("date");
    let december =
        calendar(&state, &zones, day("2025-12-15"), day("2025-12-29")).expect("calendar");
    let lines: Vec<String> = december
        .entries
        .iter()
        .map(|e| {
            let until = e.until.map(|d| format!("..{d}")).unwrap_or_default();
            format!("{} {}{until} {}", e.date, e.kind.label(), e.title)
        })
        .collect();
    assert_eq!(
        lines,
        [
            // The weekend freeze that began on Friday the 12th still covers Monday morning.
            "2025-12-12 Blackout..2025-12-15 Weekend freeze",
            "2025-12-18 Feature freeze Web train Dec 23, 2025",
            "2025-12-19 Blackout..2026-01-04 Year-end freeze",
            "2025-12-19 Blackout..2025-12-22 Weekend freeze",
            "2025-12-22 Code freeze Web train Dec 23, 2025",
            "2025-12-23 Deployment Web train Dec 23, 2025",
            "2025-12-23 Release Web train Dec 23, 2025",
            "2025-12-26 Blackout..2025-12-29 Weekend freeze",
        ],
        "{lines:#?}"
    );
    // The nightly settlement batch and the payments platform's deploy days are rules,
    // not a line a day.
    let rules: Vec<String> = december
        .rules
        .iter()
        .map(|r| format!("{} {}–{} {}", r.title, r.starts, r.ends, r.repeats))
        .collect();
    assert_eq!(
        rules,
        [
            "payments-production 09:00:00–16:00:00 FREQ=WEEKLY;BYDAY=TU,WE,TH",
            "Settlement batch 01:00:00–03:00:00 0 1 * * *",
        ],
        "{rules:#?}"
    );
    let deployment = &december.entries[5];
    assert_eq!(
        (deployment.start, deployment.end),
        (
            Some("2025-12-23T15:00:00Z".parse().expect("instant")),
            Some("2025-12-23T16:00:00Z".parse().expect("instant"))
        ),
        "10:00–11:00 New York, as instants"
    );
    assert_eq!(deployment.environments, [common::name("production")]);
    assert!(
        december
            .window_conflicts
            .iter()
            .any(|c| c.release.as_str() == "web-2025-12-23"
                && c.explanation.contains("Year-end freeze")),
        "{:#?}",
        december.window_conflicts
    );
    // The trains collide on first Tuesdays, which the calendar lists in their period
    // only: none departs in these two weeks.
    assert!(december.conflicts.is_empty(), "{:#?}", december.conflicts);
    let clash = lockstep_core::conflicts::conflicts(&state, &zones)
        .into_iter()
        .next()
        .expect("the trains collide");
    let departs = state.releases()[&clash.moves].spec.target_date;
    let month = departs.first_of_month();
    let around = calendar(
        &state,
        &zones,
        month,
        month.last_of_month().tomorrow().expect("a day"),
    )
    .expect("calendar");
    assert_eq!(around.conflicts, [clash]);
    assert!(
        december
            .entries
            .iter()
            .all(|e| e.kind != EntryKind::Milestone)
    );

    // A period the wrong way round, or longer than a year, is refused with the reason.
    let error =
        calendar(&state, &zones, day("2025-12-29"), day("2025-12-15")).expect_err("reversed");
    assert!(
        error.contains("the period's last day (2025-12-14) is before its first (2025-12-29)"),
        "{error}"
    );
    let error =
        calendar(&state, &zones, day("2025-01-01"), day("2027-01-01")).expect_err("too long");
    assert!(error.contains("at most 367 days"), "{error}");
}

#[test]
fn a_conflict_becomes_a_change_request_that_moves_the_release_out_of_it() {
    use lockstep_core::conflicts::{conflicts, window_conflicts};
    use lockstep_manifest::change::{assess, move_release};
    let mut state = example_with_calendar();
    let zones = zones(&state);
    let now = "2025-12-01T12:00:00Z".parse().expect("valid");

    // The Dec 23 train departs in the year-end freeze: the move is to the first clear day.
    let frozen = common::name("web-2025-12-23");
    let proposal = window_conflicts(&state, &zones)
        .into_iter()
        .find(|c| c.release == frozen)
        .and_then(|c| c.proposed_start)
        .expect("a proposed day");
    let change = move_release(&state, &zones, &frozen, None).expect("a move");
    assert_eq!(
        change.title,
        format!(
            "Move web-2025-12-23 to {} America/New_York",
            proposal.strftime("%Y-%m-%d %H:%M")
        )
    );
    assert_eq!(change.sources.len(), 1);
    let text = &change.sources[0].text;
    assert!(text.contains("kind: Release"), "{text}");
    assert!(
        !text.contains("items:") && !text.contains("state:"),
        "only the spec moves: {text}"
    );
    let impact = assess(&state, &change.sources, now).expect("it applies");
    let moved = impact
        .releases
        .iter()
        .find(|r| r.release == frozen)
        .expect("the release is in the impact");
    assert_eq!(
        (moved.target_before, moved.target_after),
        (Some(day("2025-12-23")), Some(proposal.date()))
    );

    // Applied, as an approval would: the release is out of the freeze, its items untouched.
    let items_before = state.items_of(&frozen).count();
    apply_change(&mut state, &change);
    assert_eq!(state.items_of(&frozen).count(), items_before);
    let zones = self::zones(&state);
    assert!(
        window_conflicts(&state, &zones)
            .iter()
            .all(|c| c.release != frozen),
        "{:#?}",
        window_conflicts(&state, &zones)
    );

    // Two trains in one window: the one that yields moves to where the conflict says.
    let clash = conflicts(&state, &zones)
        .into_iter()
        .next()
        .expect("the trains collide");
    let change = move_release(&state, &zones, &clash.moves, None).expect("a move");
    assert!(
        change
            .title
            .contains(&clash.proposed_start.strftime("%Y-%m-%d %H:%M").to_string()),
        "{}",
        change.title
    );
    assess(&state, &change.sources, now).expect("it applies");

    // A named start wins; refusals say why.
    let at: jiff::civil::DateTime = "2026-02-03T07:00".parse().expect("valid");
    let change = move_release(&state, &zones, &clash.moves, Some(at)).expect("a move");
    assert!(
        change
            .title
            .ends_with("to 2026-02-03 07:00 America/New_York"),
        "{}",
        change.title
    );
    let quiet = state
        .releases()
        .keys()
        .find(|r| {
            conflicts(&state, &zones).iter().all(|c| &c.moves != *r)
                && window_conflicts(&state, &zones)
                    .iter()
                    .all(|c| &c.release != *r)
        })
        .expect("a release in no conflict")
        .clone();
    let error = move_release(&state, &zones, &quiet, None).expect_err("nowhere to go");
    assert!(error.contains("no conflict asks to move"), "{error}");
    let error =
        move_release(&state, &zones, &common::name("web-2025-12-32"), None).expect_err("unknown");
    assert!(
        error.starts_with("unknown release `web-2025-12-32`"),
        "{error}"
    );
    let late: jiff::civil::DateTime = "2026-02-03T23:50".parse().expect("valid");
    let error = move_release(&state, &zones, &clash.moves, Some(late)).expect_err("past midnight");
    assert!(
        error.contains("a day other than the release day"),
        "{error}"
    );
}

/// Applies a change request's manifests, as its approval would.
fn apply_change(state: &mut State, change: &lockstep_manifest::change::Move) {
    let files: Vec<(&str, &str)> = change
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.text.as_str()))
        .collect();
    common::apply_files(state, &files).expect("the move applies");
}

fn day(raw: &str) -> jiff::civil::Date {
    raw.parse().expect("a date")
}

#[test]
fn one_releases_conflicts_are_those_of_the_whole_program_that_name_it() {
    use lockstep_core::conflicts::{
        conflicts, conflicts_where, window_conflicts, window_conflicts_where,
    };
    let state = example_with_calendar();
    let zones = zones(&state);
    let (all, outside) = (conflicts(&state, &zones), window_conflicts(&state, &zones));
    assert!(all.len() > 1 && !outside.is_empty());
    for name in state.releases().keys() {
        let this = |r: &lockstep_core::Release| &r.name == name;
        let expected: Vec<_> = all
            .iter()
            .filter(|c| &c.keeps == name || &c.moves == name)
            .cloned()
            .collect();
        assert_eq!(conflicts_where(&state, &zones, this), expected, "{name}");
        let expected: Vec<_> = outside
            .iter()
            .filter(|c| &c.release == name)
            .cloned()
            .collect();
        assert_eq!(
            window_conflicts_where(&state, &zones, this),
            expected,
            "{name}"
        );
    }
}

/// A release of the example's components deploying to production, from a line
/// `NAME KIND DAY COMPONENT@HH:MM/MINUTES…`.
fn release_on(line: &str) -> String {
    let mut words = line.split_whitespace();
    let (name, kind, day) = (
        words.next().expect("a name"),
        words.next().expect("a kind"),
        words.next().expect("a day"),
    );
    let steps: String = words
        .map(|step| {
            let (component, time) = step.split_once('@').expect("COMPONENT@TIME");
            let (at, minutes) = time.split_once('/').expect("TIME/MINUTES");
            format!("      - {{component: {component}, at: \"{at}\", minutes: {minutes}}}\n")
        })
        .collect();
    format!(
        "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: {name}}}\nspec:\n  kind: {kind}\n  targetDate: {day}\n  manager: rita\n  deployment:\n    environment: production\n    timeZone: America/New_York\n    steps:\n{steps}"
    )
}

/// Adds releases in each other's way on two days of March 2026.
fn add_crowded_days(state: &mut State) {
    // Tuesday 2026-03-10: a hotfix at 10:00, a release at 10:30 that keeps its window
    // against `b-release` by name, and `b-release` between them. The next night, a release
    // whose steps start two hours apart, behind a hotfix until 22:30.
    let text: Vec<String> = [
        "hotfix hotfix 2026-03-10 analytics-api@10:00/30",
        "a-release regular 2026-03-10 dashboard-ui@10:30/60",
        "b-release regular 2026-03-10 data-pipeline@10:15/30",
        "night-hotfix hotfix 2026-03-11 analytics-api@20:30/120",
        "night regular 2026-03-11 data-pipeline@21:00/60 dashboard-ui@23:00/60",
    ]
    .into_iter()
    .map(release_on)
    .collect();
    let text = text.join("---\n");
    common::apply_files(state, &[("crowded.yaml", text.as_str())]).expect("the releases apply");
}

#[test]
fn a_proposed_move_lands_clear_of_every_other_release_and_on_one_day() {
    use lockstep_core::conflicts::conflicts;
    let mut state = example_with_calendar();
    add_crowded_days(&mut state);
    let zones = zones(&state);
    let found = conflicts(&state, &zones);
    let of = |keeps: &str, moves: &str| {
        found
            .iter()
            .find(|c| c.keeps.as_str() == keeps && c.moves.as_str() == moves)
            .unwrap_or_else(|| panic!("{keeps} keeps against {moves}: {found:#?}"))
    };

    // After the hotfix (10:30), a-release holds production until 11:30.
    let pushed = of("hotfix", "b-release");
    assert_eq!(
        pushed.proposed_start,
        "2026-03-10T11:30".parse().expect("valid")
    );
    assert!(
        pushed
            .explanation
            .ends_with("move b-release to start at Mar 10 11:30 America/New_York, when hotfix is done and a-release is done"),
        "{}",
        pushed.explanation
    );
    assert_eq!(
        of("a-release", "b-release").proposed_start,
        pushed.proposed_start
    );

    // Starting at 22:30 would start the second step past midnight: the next day, at 21:00.
    let night = of("night-hotfix", "night");
    assert_eq!(
        night.proposed_start,
        "2026-03-12T21:00".parse().expect("valid")
    );
    assert!(
        night.explanation.ends_with(
            "when night-hotfix is done, on a later day (its steps would start past midnight)"
        ),
        "{}",
        night.explanation
    );
    let change =
        lockstep_manifest::change::move_release(&state, &zones, &common::name("night"), None)
            .expect("the proposed move is one a change request can make");
    assert!(
        change.title.contains("2026-03-12 21:00"),
        "{}",
        change.title
    );
}

#[test]
fn following_every_proposed_move_clears_the_calendar() {
    use lockstep_core::conflicts::{conflicts, proposed_move, window_conflicts};
    use lockstep_manifest::change::move_release;
    let mut state = example_with_calendar();
    add_crowded_days(&mut state);
    let count = |state: &State| {
        let zones = zones(state);
        conflicts(state, &zones).len() + window_conflicts(state, &zones).len()
    };
    let mut left = count(&state);
    assert!(left > 5, "the example has conflicts to clear: {left}");
    while left > 0 {
        let zones = zones(&state);
        let release = conflicts(&state, &zones)
            .into_iter()
            .map(|c| c.moves)
            .chain(
                window_conflicts(&state, &zones)
                    .into_iter()
                    .map(|c| c.release),
            )
            .next()
            .expect("a conflict asks a release to move");
        assert!(
            proposed_move(&state, &zones, &release).is_some(),
            "{release}"
        );
        let change = move_release(&state, &zones, &release, None)
            .unwrap_or_else(|e| panic!("{release}: {e}"));
        apply_change(&mut state, &change);
        let zones = self::zones(&state);
        assert!(
            conflicts(&state, &zones)
                .iter()
                .all(|c| c.keeps != release && c.moves != release)
                && window_conflicts(&state, &zones)
                    .iter()
                    .all(|c| c.release != release),
            "{release} moved into another conflict ({}): {:#?} {:#?}",
            change.title,
            conflicts(&state, &zones),
            window_conflicts(&state, &zones)
        );
        let now = count(&state);
        assert!(
            now < left,
            "moving {release} ({}) left {now} conflicts of {left}: {:#?} {:#?}",
            change.title,
            conflicts(&state, &self::zones(&state)),
            window_conflicts(&state, &self::zones(&state))
        );
        left = now;
    }
}
