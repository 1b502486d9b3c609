//! The plan of a release: its scope mapped onto `lockstep-plan`'s network, giving
//! an as-soon-as-possible schedule in each team's working calendar, the critical
//! path, a Monte Carlo forecast of the release date, and the release-day
//! deployment schedule moved out of blackout windows.
//!
//! The mapping, in calendar days from `today` (day 0):
//! - an item is an activity whose remaining duration is its estimate (working
//!   days, else one day) times the share of work its board column leaves
//!   ([`remaining_share`]), laid out in its team's working days and holidays;
//! - a dependency is a finish-to-start arc;
//! - a milestone period (`end` set, e.g. integration testing) follows every item of
//!   the release, and the release itself (one day) follows that;
//! - the forecast samples each item's three-point estimate scaled the same way,
//!   converting working days to calendar days at 7/5.
//!
//! What this deliberately does not do yet: shared resources between releases,
//! cross-release blockers (an item blocked from another release starts at day 0),
//! and recurring blackouts. Time zones are resolved by the caller, so the module
//! stays pure.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use lockstep_plan::calendar::{ActivityMode, Calendar, Interval};
use lockstep_plan::cpm::{CpmOptions, critical_path};
use lockstep_plan::forecast::{DurationDistribution, Estimate, ForecastConfig, forecast};
use lockstep_plan::network::{Network, Precedence};
use serde::Serialize;

use crate::{Item, ItemStatus, Name, Release, State, Weekday};

/// What planning needs besides the state.
#[derive(Clone, Debug)]
pub struct PlanOptions<'a> {
    /// Day 0 of the plan.
    pub today: Date,
    /// Monte Carlo trials (0 skips the forecast).
    pub trials: usize,
    /// Seed of the forecast.
    pub seed: u64,
    /// Time zones by IANA name, resolved by the caller.
    pub time_zones: &'a BTreeMap<String, TimeZone>,
}

/// One activity of the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedActivity {
    /// Item name, or the milestone/release it stands for.
    pub name: String,
    /// Display title.
    pub title: String,
    /// `item`, `milestone` or `release`.
    pub kind: &'static str,
    /// Owning team, for items.
    pub team: Option<Name>,
    /// First day of work.
    pub start: Date,
    /// Last day of work (inclusive).
    pub finish: Date,
    /// Days it can slip without moving the release.
    pub slack_days: i64,
    /// On the critical path.
    pub critical: bool,
    /// The date it was committed to (due date, milestone date, target date).
    pub committed: Option<Date>,
    /// Share of forecast trials in which it was critical.
    pub criticality: Option<f64>,
}

/// The forecast of the release's finish.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseForecast {
    /// Trials run.
    pub trials: usize,
    /// Median finish.
    pub p50: Date,
    /// 85th percentile.
    pub p85: Date,
    /// 95th percentile.
    pub p95: Date,
    /// Probability of finishing on or before the target date.
    pub probability_on_target: f64,
}

/// One step of the release-day deployment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedStep {
    /// Component deployed.
    pub component: Name,
    /// What is done.
    pub title: Option<String>,
    /// Start as planned in the manifest.
    pub planned: DateTime,
    /// Start as scheduled, out of every blackout; `None` if the day has no room.
    pub scheduled: Option<DateTime>,
    /// Why it moved or could not be scheduled.
    pub note: Option<String>,
}

/// Everything `lockstep plan` shows about one release.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasePlan {
    /// The release.
    pub release: Name,
    /// Day 0.
    pub today: Date,
    /// Its target date.
    pub target_date: Date,
    /// Planned finish of the release activity.
    pub planned_finish: Date,
    /// Activities in start order.
    pub activities: Vec<PlannedActivity>,
    /// The critical path, first activity first.
    pub critical_path: Vec<String>,
    /// Monte Carlo forecast, when trials were asked for.
    pub forecast: Option<ReleaseForecast>,
    /// Deployment time zone.
    pub deployment_time_zone: Option<String>,
    /// Release-day steps.
    pub deployment: Vec<PlannedStep>,
}

/// Why a release cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// No such release.
    #[error("unknown release `{0}`")]
    UnknownRelease(String),
    /// A time zone was not resolved by the caller.
    #[error("unknown time zone `{0}`")]
    UnknownTimeZone(String),
    /// The scheduling library refused the network.
    #[error("cannot plan: {0}")]
    Scheduling(String),
}

/// Share of an item's estimate still to do in a board column: a default
/// heuristic until teams report remaining work directly.
pub fn remaining_share(status: ItemStatus) -> f64 {
    match status {
        ItemStatus::Planning => 1.0,
        ItemStatus::InDevelopment => 0.6,
        ItemStatus::Testing => 0.3,
        ItemStatus::Staging => 0.15,
        ItemStatus::ReadyForRelease | ItemStatus::Released => 0.0,
    }
}

/// How far ahead calendars are laid out.
const HORIZON_DAYS: i64 = 3 * 366;

fn day_index(today: Date, date: Date) -> i64 {
    i64::from((date - today).get_days())
}

fn date_at(today: Date, day: i64) -> Date {
    today
        .checked_add(jiff::Span::new().days(day))
        .unwrap_or(today)
}

/// Working days of a team from `today` on, as one-day intervals.
fn team_calendar(state: &State, team: &Name, today: Date) -> Calendar {
    let Some(team) = state.teams().get(team) else {
        return Calendar::new([Interval::new(0, HORIZON_DAYS)]);
    };
    let days: Vec<jiff::civil::Weekday> = team
        .spec
        .working_hours
        .days
        .iter()
        .map(|d| Weekday::to_jiff(*d))
        .collect();
    Calendar::new((0..HORIZON_DAYS).filter_map(|day| {
        let date = date_at(today, day);
        let working = days.contains(&date.weekday()) && !team.spec.holidays.contains(&date);
        working.then(|| Interval::new(day, day + 1))
    }))
}

fn remaining_working_days(item: &Item) -> f64 {
    let likely = item.spec.estimate.map_or(1.0, |e| f64::from(e.likely));
    likely * remaining_share(item.status)
}

/// Plans one release.
pub fn plan_release(
    state: &State,
    release: &str,
    options: &PlanOptions<'_>,
) -> Result<ReleasePlan, PlanError> {
    let release: &Release = state
        .releases()
        .get(release)
        .ok_or_else(|| PlanError::UnknownRelease(release.to_owned()))?;
    let today = options.today;
    let items: Vec<&Item> = state.items_of(&release.name).collect();
    let index: HashMap<&Name, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (&item.name, i))
        .collect();
    let n_items = items.len();
    let periods: Vec<&crate::Milestone> = release
        .spec
        .milestones
        .iter()
        .filter(|m| m.end.is_some())
        .collect();
    let release_activity = n_items + periods.len();
    let n_activities = release_activity + 1;

    let mut arcs = Vec::new();
    for item in &items {
        for dependency in state.blocked_by(&item.name) {
            if let (Some(&from), Some(&to)) =
                (index.get(&dependency.blocker), index.get(&item.name))
            {
                arcs.push(Precedence::new(from, to));
            }
        }
    }
    // Milestone periods follow every item, in date order, and the release follows them.
    let mut previous_period = None;
    for (offset, _) in periods.iter().enumerate() {
        let period = n_items + offset;
        arcs.extend((0..n_items).map(|item| Precedence::new(item, period)));
        if let Some(previous) = previous_period {
            arcs.push(Precedence::new(previous, period));
        }
        previous_period = Some(period);
    }
    match previous_period {
        Some(last) => arcs.push(Precedence::new(last, release_activity)),
        None => arcs.extend((0..n_items).map(|item| Precedence::new(item, release_activity))),
    }

    // Forward pass in team calendars gives calendar-day durations; CPM on those
    // gives slack and the critical path.
    let probe = Network::new(vec![0; n_activities], &arcs)
        .map_err(|e| PlanError::Scheduling(e.to_string()))?;
    let mut start = vec![0_i64; n_activities];
    let mut finish = vec![0_i64; n_activities];
    let mut calendars: HashMap<&Name, Calendar> = HashMap::new();
    for activity in probe.topological_order() {
        let earliest = probe
            .predecessors(activity)
            .map(|(p, _)| finish[p])
            .max()
            .unwrap_or(0);
        let (s, f) = if activity < n_items {
            let item = items[activity];
            let work = remaining_working_days(item).ceil() as i64;
            let calendar = calendars
                .entry(&item.spec.team)
                .or_insert_with(|| team_calendar(state, &item.spec.team, today));
            let s = calendar
                .earliest_start(earliest, work, ActivityMode::Interruptible)
                .unwrap_or(earliest);
            (
                s,
                calendar
                    .finish(s, work, ActivityMode::Interruptible)
                    .unwrap_or(s + work),
            )
        } else if activity < release_activity {
            let milestone = periods[activity - n_items];
            let length = milestone
                .end
                .map_or(1, |end| day_index(milestone.date, end) + 1);
            (earliest, earliest + length)
        } else {
            (earliest, earliest + 1)
        };
        start[activity] = s;
        finish[activity] = f;
    }
    let durations: Vec<i64> = (0..n_activities).map(|a| finish[a] - start[a]).collect();
    let network =
        Network::new(durations, &arcs).map_err(|e| PlanError::Scheduling(e.to_string()))?;
    let cpm = critical_path(
        &network,
        &CpmOptions {
            project_start: 0,
            release_dates: Some(&start),
            deadline: None,
        },
    )
    .map_err(|e| PlanError::Scheduling(e.to_string()))?;

    let mut forecast_result = None;
    let mut criticality = vec![None; n_activities];
    if options.trials > 0 {
        let to_calendar = 7.0 / 5.0;
        let estimates: Vec<Estimate> = (0..n_activities)
            .map(|activity| {
                if activity < n_items {
                    let item = items[activity];
                    let share = remaining_share(item.status) * to_calendar;
                    match item.spec.estimate {
                        Some(e) if share > 0.0 => Estimate::new(
                            f64::from(e.optimistic) * share,
                            f64::from(e.likely) * share,
                            f64::from(e.pessimistic) * share,
                        ),
                        _ => Estimate::fixed(network.durations()[activity] as f64),
                    }
                } else {
                    Estimate::fixed(network.durations()[activity] as f64)
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|e| PlanError::Scheduling(e.to_string()))?;
        let target = day_index(today, release.spec.target_date) + 1;
        let result = forecast(
            &network,
            &[],
            &estimates,
            &ForecastConfig {
                trials: options.trials,
                seed: options.seed,
                distribution: DurationDistribution::Triangular,
                percentiles: &[50.0, 85.0, 95.0],
                milestones: &[],
                target: Some(target as f64),
                earliest_starts: None,
            },
        )
        .map_err(|e| PlanError::Scheduling(e.to_string()))?;
        let percentile = |p: f64| {
            let days = result
                .project
                .percentiles
                .iter()
                .find(|(q, _)| *q == p)
                .map_or(0.0, |(_, v)| *v);
            date_at(today, days.ceil() as i64 - 1)
        };
        forecast_result = Some(ReleaseForecast {
            trials: options.trials,
            p50: percentile(50.0),
            p85: percentile(85.0),
            p95: percentile(95.0),
            probability_on_target: result.probability_by_target.unwrap_or(0.0),
        });
        criticality = result.criticality.iter().map(|c| Some(*c)).collect();
    }

    let describe = |activity: usize| -> (String, String, &'static str, Option<Name>, Option<Date>) {
        if activity < n_items {
            let item = items[activity];
            (
                item.name.to_string(),
                item.spec.title.clone(),
                "item",
                Some(item.spec.team.clone()),
                item.spec.due,
            )
        } else if activity < release_activity {
            let m = periods[activity - n_items];
            (
                m.name.to_string(),
                m.title.clone().unwrap_or_else(|| m.name.to_string()),
                "milestone",
                None,
                m.end,
            )
        } else {
            let title = release
                .spec
                .title
                .clone()
                .unwrap_or_else(|| release.name.to_string());
            (
                release.name.to_string(),
                title,
                "release",
                None,
                Some(release.spec.target_date),
            )
        }
    };
    let mut activities: Vec<PlannedActivity> = (0..n_activities)
        .map(|activity| {
            let (name, title, kind, team, committed) = describe(activity);
            let s = cpm.earliest_start()[activity];
            let f = cpm.earliest_finish()[activity];
            PlannedActivity {
                name,
                title,
                kind,
                team,
                start: date_at(today, s),
                finish: date_at(today, (f - 1).max(s)),
                slack_days: cpm.total_slack(activity),
                critical: cpm.is_critical(activity),
                committed,
                criticality: criticality[activity],
            }
        })
        .collect();
    let critical_path: Vec<String> = cpm
        .critical_path(&network)
        .into_iter()
        .map(|a| describe(a).0)
        .collect();
    activities.sort_by(|a, b| (a.start, a.finish, &a.name).cmp(&(b.start, b.finish, &b.name)));
    let planned_finish = date_at(today, cpm.earliest_finish()[release_activity] - 1);

    let (deployment_time_zone, deployment) = match &release.spec.deployment {
        Some(plan) => {
            let zone = options
                .time_zones
                .get(&plan.time_zone)
                .ok_or_else(|| PlanError::UnknownTimeZone(plan.time_zone.clone()))?;
            (
                Some(plan.time_zone.clone()),
                deployment_day(state, release, zone, options.time_zones)?,
            )
        }
        None => (None, Vec::new()),
    };

    Ok(ReleasePlan {
        release: release.name.clone(),
        today,
        target_date: release.spec.target_date,
        planned_finish,
        activities,
        critical_path,
        forecast: forecast_result,
        deployment_time_zone,
        deployment,
    })
}

/// Schedules the release-day steps in order, each at its planned time or the
/// first moment after it that is clear of every blackout of the target
/// environment, and says why a step moved.
pub(crate) fn deployment_day(
    state: &State,
    release: &Release,
    zone: &TimeZone,
    zones: &BTreeMap<String, TimeZone>,
) -> Result<Vec<PlannedStep>, PlanError> {
    let Some(plan) = &release.spec.deployment else {
        return Ok(Vec::new());
    };
    let day = release.spec.target_date;
    let minute_of = |at: DateTime, tz: &TimeZone| -> Option<i64> {
        let origin = day
            .to_datetime(Time::midnight())
            .to_zoned_datetime(zone.clone())
            .ok()?
            .timestamp();
        let instant = at.to_zoned_datetime(tz.clone()).ok()?.timestamp();
        Some((instant.as_second() - origin.as_second()).div_euclid(60))
    };
    // The deployment day, minus every blackout that touches the environment.
    let mut denies: Vec<(Interval, &str, String)> = Vec::new();
    for blackout in state.blackouts().values() {
        let applies = blackout.spec.environments.is_empty()
            || blackout.spec.environments.contains(&plan.environment);
        if !applies {
            continue;
        }
        let tz = zones
            .get(&blackout.spec.time_zone)
            .ok_or_else(|| PlanError::UnknownTimeZone(blackout.spec.time_zone.clone()))?;
        if let (Some(start), Some(end)) = (
            minute_of(blackout.spec.start, tz),
            minute_of(blackout.spec.end, tz),
        ) {
            let label = format!(
                "{} {}–{}",
                blackout
                    .spec
                    .title
                    .as_deref()
                    .unwrap_or(blackout.name.as_str()),
                blackout.spec.start.strftime("%b %-d %H:%M"),
                blackout.spec.end.strftime("%b %-d %H:%M")
            );
            denies.push((Interval::new(start, end), blackout.name.as_str(), label));
        }
    }
    let day_length = 24 * 60;
    let allowed = Calendar::new([Interval::new(0, day_length)])
        .subtract(&Calendar::new(denies.iter().map(|(i, _, _)| *i)));
    let mut steps = Vec::new();
    let mut ready = 0_i64;
    for step in &plan.steps {
        let planned = day.to_datetime(step.at);
        let planned_minute = i64::from(step.at.hour()) * 60 + i64::from(step.at.minute());
        let duration = i64::from(step.minutes.max(1));
        let earliest = planned_minute.max(ready);
        let overlapping = |from: i64| -> Vec<&str> {
            denies
                .iter()
                .filter(|(i, _, _)| i.start < from + duration && from < i.end)
                .map(|(_, _, label)| label.as_str())
                .collect()
        };
        let (scheduled, note) =
            match allowed.earliest_start(earliest, duration, ActivityMode::NonInterruptible) {
                Some(start) if start + duration <= day_length => {
                    ready = start + duration;
                    let at = day
                        .to_datetime(Time::midnight())
                        .checked_add(jiff::Span::new().minutes(start))
                        .ok();
                    let note = if start == planned_minute {
                        None
                    } else if earliest > planned_minute && overlapping(planned_minute).is_empty() {
                        Some("moved: waits for the previous step".to_owned())
                    } else {
                        Some(format!(
                            "moved out of blackout: {}",
                            overlapping(planned_minute.max(earliest)).join(", ")
                        ))
                    };
                    (at, note)
                }
                _ => (
                    None,
                    Some(format!(
                        "no room on {day}: blocked by {}",
                        overlapping(earliest).join(", ")
                    )),
                ),
            };
        steps.push(PlannedStep {
            component: step.component.clone(),
            title: step.title.clone(),
            planned,
            scheduled,
            note,
        });
    }
    Ok(steps)
}
