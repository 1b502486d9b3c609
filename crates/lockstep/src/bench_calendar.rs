//! `lockstep bench calendar`: the release calendar of a large program. The release page
//! looks for its release's conflicts on every render and the Calendar page lists a
//! period's, so both are measured, with every conflict of the program, on many open
//! releases deploying to a few environments under the recurring blackouts and deploy
//! windows of seed 001.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context;
use lockstep_core::State;
use lockstep_manifest::Source;

use crate::apply::decide_manifests;
use crate::bench::SplitMix;

/// What to generate.
pub struct CalendarBenchArgs {
    /// Open releases, each with a release-day deployment.
    pub releases: usize,
    /// Production environments they deploy to.
    pub environments: usize,
}

pub async fn run(args: CalendarBenchArgs) -> anyhow::Result<()> {
    let sources = [Source {
        name: "calendar.yaml".to_owned(),
        text: generate(&args),
    }];
    let mut state = State::new();
    let started = Instant::now();
    let events = decide_manifests(&state, &sources, jiff::Timestamp::now())?;
    for (index, event) in events.iter().enumerate() {
        state.apply(index as i64 + 1, event);
    }
    let applied = started.elapsed();
    let zones = crate::plan_cmd::time_zones(&state)?;
    println!(
        "release calendar, {} open releases over {} environments, {} blackouts (program decided in {:.2} s):",
        state.releases().len(),
        args.environments,
        state.blackouts().len(),
        applied.as_secs_f64()
    );

    let (mut between, mut windows) = (0, 0);
    let conflicts = crate::bench::median_millis(5, || {
        between = lockstep_core::conflicts::conflicts(&state, &zones).len();
        windows = lockstep_core::conflicts::window_conflicts(&state, &zones).len();
    });
    println!(
        "  every conflict of the program: {conflicts:.1} ms median; {between} between releases, {windows} with the calendar"
    );

    let from = jiff::civil::date(2030, 1, 1);
    let to = jiff::civil::date(2030, 4, 1);
    let mut shown = (0, 0);
    let calendar = crate::bench::median_millis(5, || {
        if let Ok(calendar) = lockstep_core::calendar::calendar(&state, &zones, from, to) {
            shown = (
                calendar.entries.len(),
                calendar.conflicts.len() + calendar.window_conflicts.len(),
            );
        }
    });
    println!(
        "  the Calendar of a quarter ({from} to 2030-03-31): {calendar:.1} ms median; {} entries, {} conflicts",
        shown.0, shown.1
    );

    // The release in the most conflicts: the slowest page to render.
    let all = lockstep_core::conflicts::conflicts(&state, &zones);
    let release = state
        .releases()
        .keys()
        .max_by_key(|name| {
            all.iter()
                .filter(|c| &c.keeps == *name || &c.moves == *name)
                .count()
        })
        .cloned()
        .context("the program has releases")?;
    let this = |r: &lockstep_core::Release| r.name == release;
    let mut found = 0;
    let page = crate::bench::median_millis(21, || {
        found = lockstep_core::conflicts::conflicts_where(&state, &zones, this).len()
            + lockstep_core::conflicts::window_conflicts_where(&state, &zones, this).len();
    });
    println!(
        "  one release's conflicts (its page, on each render; {release}, in {found}): {page:.2} ms median"
    );
    let proposal = crate::bench::median_millis(21, || {
        let _ = lockstep_core::conflicts::proposed_move(&state, &zones, &release);
    });
    println!("  its proposed move: {proposal:.2} ms median");
    Ok(())
}

/// The program: one team and two components per environment, `releases` releases on weekdays
/// of 2030 at one of four morning slots (so some collide), a weekly weekend freeze, a
/// nightly batch, the year-end freeze, a one-off maintenance night per environment, and
/// deploy windows on Tuesdays to Thursdays for every other environment.
fn generate(args: &CalendarBenchArgs) -> String {
    let mut rng = SplitMix(7);
    let mut yaml = String::with_capacity(args.releases * 600);
    let environments = args.environments.max(1);
    for env in 0..environments {
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {{name: team-{env}}}\nspec:\n  timeZone: America/New_York\n  members:\n    - {{handle: lead-{env}, roles: [release-manager]}}\n---\napiVersion: lockstep.dev/v1\nkind: Component\nmetadata: {{name: api-{env}}}\nspec: {{team: team-{env}}}\n---\napiVersion: lockstep.dev/v1\nkind: Component\nmetadata: {{name: web-{env}}}\nspec: {{team: team-{env}}}\n---\napiVersion: lockstep.dev/v1\nkind: Environment\nmetadata: {{name: production-{env}}}\nspec:\n  tier: production\n"
        );
        if env % 2 == 1 {
            yaml.push_str("  deployWindows:\n    - {timeZone: America/New_York, start: 2030-01-01T09:00:00, end: 2030-01-01T16:00:00, recurrence: \"FREQ=WEEKLY;BYDAY=TU,WE,TH\"}\n");
        }
        let day = 1 + rng.below(28);
        let month = 1 + rng.below(12);
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {{name: maintenance-{env}}}\nspec:\n  timeZone: America/New_York\n  start: 2030-{month:02}-{day:02}T20:00:00\n  end: 2030-{month:02}-{day:02}T23:59:00\n  environments: [production-{env}]\n"
        );
    }
    yaml.push_str("---\napiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: weekends}\nspec:\n  title: Weekend freeze\n  timeZone: America/New_York\n  start: 2029-12-28T12:00:00\n  end: 2029-12-31T06:00:00\n  recurrence: FREQ=WEEKLY;BYDAY=FR\n---\napiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: settlement}\nspec:\n  title: Settlement batch\n  timeZone: America/New_York\n  start: 2030-01-01T01:00:00\n  end: 2030-01-01T03:00:00\n  cron: \"0 1 * * *\"\n---\napiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: year-end}\nspec:\n  title: Year-end freeze\n  timeZone: America/New_York\n  start: 2030-12-19T00:00:00\n  end: 2031-01-05T00:00:00\n  recurrence: FREQ=YEARLY\n");
    let start = jiff::civil::date(2030, 1, 1);
    for release in 0..args.releases {
        let env = rng.below(environments as u64);
        let mut day = start
            .checked_add(jiff::Span::new().days(rng.below(360) as i64))
            .unwrap_or(start);
        while matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        ) {
            day = day.tomorrow().unwrap_or(day);
        }
        let hour = 9 + rng.below(4);
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: release-{release}}}\nspec:\n  targetDate: {day}\n  manager: lead-{env}\n  deployment:\n    environment: production-{env}\n    timeZone: America/New_York\n    steps:\n      - {{component: api-{env}, at: \"{hour:02}:00\", minutes: 45}}\n      - {{component: web-{env}, at: \"{hour:02}:45\", minutes: 30}}\n"
        );
    }
    yaml
}
