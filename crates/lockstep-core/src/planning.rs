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
//! - the forecast samples each item's three-point estimate scaled the same way, as
//!   working time in its team's calendar.
//!
//! - a blocker in another release holds its dependant back until the day after
//!   the blocker's projected finish (ETA, else due date, else its release's target);
//! - shared resources and pinned starts are solved over every open release at once
//!   ([`constrained_starts`]), minimising lateness first; an item that waits for a
//!   resource starts where that schedule puts it, and each hand-over of a resource
//!   between items of the release is an arc, so the critical path and the forecast
//!   run through it (the resource-flow network of Artigues et al. 2003).
//!
//! Time zones are resolved by the caller, so the module stays pure.

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
    /// Item starts of a previous plan: when shared resources or pins make the
    /// schedule a search, items keep these starts unless a change forces them
    /// later (stability for people who have booked their day).
    pub previous: Option<&'a BTreeMap<String, Date>>,
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
    /// Days its planned finish is after the committed date, when it has work left
    /// and is late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_days: Option<i64>,
    /// Blockers in other releases it waits for, with their projected finish.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<String>,
    /// Its start in the previous plan, when re-planning moved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<Date>,
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
    /// The same percentiles for each milestone period, in date order.
    pub milestones: Vec<MilestoneForecast>,
}

/// When a milestone period (integration testing, say) is forecast to end.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneForecast {
    /// The milestone.
    pub name: Name,
    /// The last day it was committed to end on.
    pub committed: Option<Date>,
    /// Median last day.
    pub p50: Date,
    /// 85th percentile.
    pub p85: Date,
    /// 95th percentile.
    pub p95: Date,
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
    /// Pinned dates and shared resources contradict each other: no schedule can
    /// honour them all. Each line names the constraints that conflict.
    #[error("no schedule honours every pinned date and shared resource:\n  {}", .0.join("\n  "))]
    Infeasible(Vec<String>),
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

/// How far beyond the program's last date calendars are laid out.
const HORIZON_DAYS: i64 = 3 * 366;

/// The most days a calendar is laid out for, whatever the dates: a century.
const MAX_HORIZON_DAYS: i64 = 100 * 366;

/// How many days from `today` the team calendars cover: [`HORIZON_DAYS`] past the
/// program's last date (target dates, ETAs, due dates, pins), plus twice its longest
/// pessimistic estimate, so a plan made long before its release, or an item of years,
/// is laid out in working days rather than cut off.
fn calendar_horizon(state: &State, today: Date) -> i64 {
    let last = state
        .releases()
        .values()
        .map(|r| r.spec.target_date)
        .chain(
            state
                .items()
                .values()
                .flat_map(|i| [i.eta, i.spec.due, i.spec.pinned_start])
                .flatten(),
        )
        .map(|date| day_index(today, date))
        .max()
        .unwrap_or(0)
        .max(0);
    let longest = state
        .items()
        .values()
        .filter_map(|i| {
            i.spec
                .estimate
                .map(|e| i64::from(e.pessimistic.max(e.likely)))
        })
        .max()
        .unwrap_or(0);
    (last + 2 * longest + HORIZON_DAYS).min(MAX_HORIZON_DAYS)
}

fn day_index(today: Date, date: Date) -> i64 {
    i64::from((date - today).get_days())
}

/// Saturates at the calendar's ends: a forecast that far out says "never", not "today".
fn date_at(today: Date, day: i64) -> Date {
    crate::add_days(today, day).unwrap_or(if day < 0 { Date::MIN } else { Date::MAX })
}

/// Working days of a team from `today` on, as one-day intervals.
fn team_calendar(state: &State, team: &Name, today: Date, horizon: i64) -> Calendar {
    let Some(team) = state.teams().get(team) else {
        return Calendar::new([Interval::new(0, horizon)]);
    };
    let days: Vec<jiff::civil::Weekday> = team
        .spec
        .working_hours
        .days
        .iter()
        .map(|d| Weekday::to_jiff(*d))
        .collect();
    Calendar::new((0..horizon).filter_map(|day| {
        let date = date_at(today, day);
        let working = days.contains(&date.weekday()) && !team.spec.holidays.contains(&date);
        working.then(|| Interval::new(day, day + 1))
    }))
}

/// Schedules for the GA search over shared resources: 3,000 for a small program,
/// fewer as it grows (each schedule costs time linear in its size), never below 50,
/// so a 10,000-item program is still planned in seconds.
pub fn search_budget(n_items: usize) -> u64 {
    (1_000_000 / n_items.max(1) as u64).clamp(50, 3_000)
}

/// Where an open item starts in the resource-feasible program schedule, and the
/// items that hand it the shared resources it uses (its resource-flow
/// predecessors: delay one of them and this item is delayed too).
#[derive(Debug)]
struct Constrained {
    start: i64,
    handed_by: Vec<Name>,
}

/// Where every open item of the program starts, in days from `today`, when
/// shared resources (across releases) and pinned dates are honoured: one
/// resource-constrained problem over every open release, searched by the genetic
/// algorithm with a fixed seed, so the same state always gives the same plan.
/// The search minimises total lateness (items against their due date, else their
/// release's code freeze, else its target date) and then the program's length.
/// Empty when no item uses a resource or is pinned (the plan is then as soon as
/// possible). A contradiction is explained in item and resource names.
fn constrained_starts(
    state: &State,
    today: Date,
    seed: u64,
    previous: Option<&BTreeMap<String, Date>>,
) -> Result<HashMap<Name, Constrained>, PlanError> {
    let horizon = calendar_horizon(state, today);
    let items: Vec<&Item> = state
        .items()
        .values()
        .filter(|item| {
            state
                .releases()
                .get(&item.release)
                .is_some_and(|r| !r.state.is_terminal())
        })
        .collect();
    if !items
        .iter()
        .any(|item| !item.spec.uses.is_empty() || item.spec.pinned_start.is_some())
    {
        return Ok(HashMap::new());
    }
    let resources: Vec<&crate::Resource> = state.resources().values().collect();
    let resource_index: HashMap<&Name, usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (&r.name, i))
        .collect();
    let mut builder = lockstep_plan::ProblemBuilder::new(
        resources
            .iter()
            .map(|r| i64::from(r.spec.capacity))
            .collect(),
    );
    let mut calendars = HashMap::new();
    let index: HashMap<&Name, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (&item.name, i))
        .collect();
    for item in &items {
        let mut demand = vec![0_i64; resources.len()];
        for (resource, amount) in &item.spec.uses {
            if let Some(&r) = resource_index.get(resource) {
                demand[r] = i64::from(*amount);
            }
        }
        let work = remaining_working_days(item).ceil() as i64;
        let activity = builder.activity(work, &demand);
        let calendar = *calendars.entry(&item.spec.team).or_insert_with(|| {
            builder.add_calendar(team_calendar(state, &item.spec.team, today, horizon))
        });
        builder.use_calendar(activity, calendar, ActivityMode::Interruptible);
        // Due by its own date, else its release's code freeze, else target date
        // (the day itself included).
        let release = state.releases().get(&item.release);
        let due = item.spec.due.or_else(|| {
            release.map(|release| release.spec.code_freeze.unwrap_or(release.spec.target_date))
        });
        if let Some(due) = due {
            builder.due(activity, day_index(today, due) + 1);
        }
        if let Some(pin) = item.spec.pinned_start {
            let day = day_index(today, pin);
            // A pin in the past is history: the item has started.
            if day >= 0 && work > 0 {
                builder.pin(activity, day);
            }
        }
        for dependency in state.blocked_by(&item.name) {
            if let Some(&from) = index.get(&dependency.blocker) {
                builder.precedence(from, activity, 0);
            }
        }
    }
    // Each release on time matters more than the program finishing early.
    builder.minimize(lockstep_plan::Objective::Tardiness);
    let problem = builder
        .build()
        .map_err(|e| PlanError::Scheduling(e.to_string()))?;
    let name = |activity: usize| items[activity].name.as_str();
    let resource = |r: usize| resources[r].name.as_str();
    let date = |day: i64| date_at(today, day);
    // With a previous plan, re-plan for stability; otherwise search for the shortest.
    let previous_starts: Option<Vec<Option<i64>>> = previous.map(|previous| {
        items
            .iter()
            .map(|item| {
                previous
                    .get(item.name.as_str())
                    .map(|date| day_index(today, *date).max(0))
            })
            .collect()
    });
    let solution = match &previous_starts {
        Some(starts) => lockstep_plan::replan(&problem, starts).map(|r| r.schedule().clone()),
        None => lockstep_plan::ga::solve(
            &problem,
            &lockstep_plan::Budget::schedules(search_budget(items.len())),
            &lockstep_plan::GaConfig::default(),
            seed,
        )
        .map(|s| s.schedule().clone()),
    };
    let schedule = match solution {
        Ok(schedule) => schedule,
        Err(lockstep_plan::ScheduleError::Infeasible { conflicts }) => {
            use lockstep_plan::Conflict;
            let lines = conflicts
                .iter()
                .map(|conflict| match conflict {
                    Conflict::DemandExceedsCapacity {
                        activity,
                        resource: r,
                        demand,
                        capacity,
                    } => format!(
                        "{} uses {demand} of {} but only {capacity} exist",
                        name(*activity),
                        resource(*r)
                    ),
                    Conflict::PinnedBeforeEarliestStart {
                        activity,
                        pinned,
                        earliest,
                        path,
                    } => format!(
                        "{} is pinned to start {} but cannot start before {}: {}",
                        name(*activity),
                        date(*pinned),
                        date(*earliest),
                        path.iter().map(|&a| name(a)).collect::<Vec<_>>().join(" → ")
                    ),
                    Conflict::PinnedOverCapacity {
                        activities,
                        resource: r,
                        time,
                        demand,
                        capacity,
                    } => format!(
                        "{} are pinned to overlap on {} and together use {demand} of {} (capacity {capacity})",
                        activities.iter().map(|&a| name(a)).collect::<Vec<_>>().join(", "),
                        date(*time),
                        resource(*r)
                    ),
                    Conflict::PinnedOutsideCalendar { activity, pinned } => format!(
                        "{} is pinned to start {} ({}), a day its team does not work",
                        name(*activity),
                        date(*pinned),
                        date(*pinned).strftime("%A")
                    ),
                    other => other.to_string(),
                })
                .collect();
            return Err(PlanError::Infeasible(lines));
        }
        Err(error) => return Err(PlanError::Scheduling(error.to_string())),
    };
    let mut handed_by = vec![Vec::new(); items.len()];
    for arc in lockstep_plan::forecast::resource_flow_arcs(&problem, &schedule) {
        handed_by[arc.to].push(items[arc.from].name.clone());
    }
    Ok(items
        .iter()
        .zip(handed_by)
        .enumerate()
        .map(|(activity, (item, handed_by))| {
            let start = schedule.starts()[activity];
            (item.name.clone(), Constrained { start, handed_by })
        })
        .collect())
}

/// What an item uses of shared resources (`1 of qa-lab, 2 of staging`).
fn uses_text(item: &Item) -> String {
    let used: Vec<String> = item
        .spec
        .uses
        .iter()
        .map(|(resource, amount)| format!("{amount} of {resource}"))
        .collect();
    used.join(", ")
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
    let horizon = calendar_horizon(state, today);
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

    // A blocker in another release holds the blocked item back until the day after
    // its projected finish (ETA, else due date, else its release's target date);
    // one that is ready or released holds nothing back.
    let mut release_date = vec![0_i64; n_activities];
    let mut waits_for = vec![Vec::new(); n_activities];
    for (activity, item) in items.iter().enumerate() {
        for dependency in state.blocked_by(&item.name) {
            if index.contains_key(&dependency.blocker) {
                continue;
            }
            let Some(blocker) = state.items().get(&dependency.blocker) else {
                continue;
            };
            if blocker.status.is_ready() {
                continue;
            }
            let projected = blocker.eta.or(blocker.spec.due).or_else(|| {
                state
                    .releases()
                    .get(&blocker.release)
                    .map(|r| r.spec.target_date)
            });
            if let Some(date) = projected {
                release_date[activity] = release_date[activity].max(day_index(today, date) + 1);
                waits_for[activity].push(format!(
                    "{} (release {}) projected {date}",
                    blocker.name, blocker.release
                ));
            }
        }
    }

    // Shared resources and pins, solved over the whole program, hold items back
    // to where the resource-feasible schedule starts them. A hand-over of a
    // resource between two items of this release becomes an arc, so the critical
    // path runs through it and the forecast delays the receiver when the giver
    // slips; one from another release (taken as planned) or a pin is a fixed
    // earliest start.
    let constrained = constrained_starts(state, today, options.seed, options.previous)?;
    let mut held_back = vec![0_i64; n_activities];
    let mut forecast_floor = release_date.clone();
    let mut waits_for_resources = vec![false; n_activities];
    for (activity, item) in items.iter().enumerate() {
        let Some(constrained) = constrained.get(&item.name) else {
            continue;
        };
        let start = constrained.start;
        held_back[activity] = start;
        if let Some(pin) = item.spec.pinned_start
            && day_index(today, pin) == start
        {
            waits_for[activity].push(format!("pinned to {pin}"));
            forecast_floor[activity] = forecast_floor[activity].max(start);
        }
        for giver in &constrained.handed_by {
            match index.get(giver) {
                Some(&from) => arcs.push(Precedence::new(from, activity)),
                None => forecast_floor[activity] = forecast_floor[activity].max(start),
            }
        }
        if !constrained.handed_by.is_empty() && item.spec.pinned_start.is_none() {
            let givers: Vec<&str> = constrained.handed_by.iter().map(Name::as_str).collect();
            waits_for[activity].push(format!(
                "shared resources ({}) after {} until {}",
                uses_text(item),
                givers.join(", "),
                date_at(today, start)
            ));
            waits_for_resources[activity] = true;
        }
    }

    // Forward pass in team calendars gives calendar-day durations; CPM on those
    // gives slack and the critical path.
    let probe = Network::new(vec![0; n_activities], &arcs)
        .map_err(|e| PlanError::Scheduling(e.to_string()))?;
    let mut start = vec![0_i64; n_activities];
    let mut finish = vec![0_i64; n_activities];
    let mut calendars: HashMap<&Name, Calendar> = HashMap::new();
    // Working days from start to a reported ETA later than the work's own finish.
    let mut eta_working_days: Vec<Option<i64>> = vec![None; n_activities];
    for activity in probe.topological_order() {
        let earliest = probe
            .predecessors(activity)
            .map(|(p, _)| finish[p])
            .max()
            .unwrap_or(0)
            .max(release_date[activity]);
        // Later than its predecessors allow: shared resources (or a pin) hold it back.
        let earliest = if held_back[activity] > earliest {
            let item = items[activity];
            if !item.spec.uses.is_empty()
                && item.spec.pinned_start.is_none()
                && !waits_for_resources[activity]
            {
                waits_for[activity].push(format!(
                    "shared resources ({}) until {}",
                    uses_text(item),
                    date_at(today, held_back[activity])
                ));
            }
            release_date[activity] = held_back[activity];
            held_back[activity]
        } else {
            earliest
        };
        let (s, f) = if activity < n_items {
            let item = items[activity];
            let work = remaining_working_days(item).ceil() as i64;
            let calendar = calendars
                .entry(&item.spec.team)
                .or_insert_with(|| team_calendar(state, &item.spec.team, today, horizon));
            let s = calendar
                .earliest_start(earliest, work, ActivityMode::Interruptible)
                .unwrap_or(earliest);
            let f = calendar
                .finish(s, work, ActivityMode::Interruptible)
                .unwrap_or(s + work);
            // The team's reported ETA is what it expects; the plan never promises an
            // earlier finish than the team itself does. An ETA on a day the team does
            // not work is the end of its last working day before, as the forecast,
            // which counts working days, reads it too.
            let by_eta = item
                .eta
                .filter(|_| remaining_share(item.status) > 0.0)
                .map(|eta| {
                    let end = day_index(today, eta) + 1;
                    let worked = calendar.working_time_between(s, end).max(work);
                    let finish = calendar
                        .finish(s, worked, ActivityMode::Interruptible)
                        .unwrap_or(end)
                        .min(end);
                    (eta, worked, finish)
                });
            match by_eta {
                Some((eta, worked, finish)) if finish > f => {
                    let last = date_at(today, finish - 1);
                    waits_for[activity].push(if last == eta {
                        format!("the team's ETA {eta}")
                    } else {
                        format!("the team's ETA {eta}, a day it does not work: done by {last}")
                    });
                    eta_working_days[activity] = Some(worked);
                    (s, finish)
                }
                _ => (s, f),
            }
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
    // Slack is counted in working days of the item's team: a Friday finish whose
    // dependant starts on Monday has two calendar days of slack and none to spend.
    let working_days = |activity: usize, from: i64, to: i64| -> i64 {
        match items
            .get(activity)
            .and_then(|item| calendars.get(&item.spec.team))
        {
            Some(calendar) if to > from => calendar.working_time_between(from, to),
            _ => to - from,
        }
    };
    let slack_days: Vec<i64> = (0..n_activities)
        .map(|activity| {
            let finish = cpm.earliest_finish()[activity];
            working_days(
                activity,
                finish,
                finish.saturating_add(cpm.total_slack(activity)),
            )
        })
        .collect();
    let critical: Vec<bool> = slack_days.iter().map(|&slack| slack <= 0).collect();
    let critical_chain = critical_chain(&network, &critical, |from, to| {
        let (finish, start) = (cpm.earliest_finish()[from], cpm.earliest_start()[to]);
        start >= finish && working_days(from, finish, start) == 0
    });

    let mut forecast_result = None;
    let mut criticality = vec![None; n_activities];
    if options.trials > 0 {
        // Items sample working days in their team's calendar; milestone periods and
        // the release take the calendar days they are planned for.
        let estimates: Vec<Estimate> = (0..n_activities)
            .map(|activity| {
                if activity < n_items {
                    let item = items[activity];
                    let share = remaining_share(item.status);
                    if let Some(days) = eta_working_days[activity] {
                        return Estimate::fixed(days as f64);
                    }
                    match item.spec.estimate {
                        Some(e) if share > 0.0 => Estimate::new(
                            f64::from(e.optimistic) * share,
                            f64::from(e.likely) * share,
                            f64::from(e.pessimistic) * share,
                        ),
                        _ => Estimate::fixed(remaining_working_days(item).ceil()),
                    }
                } else {
                    Estimate::fixed(network.durations()[activity] as f64)
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|e| PlanError::Scheduling(e.to_string()))?;
        let target = day_index(today, release.spec.target_date) + 1;
        let period_activities: Vec<usize> = (n_items..release_activity).collect();
        let earliest_starts: Vec<f64> = forecast_floor.iter().map(|&d| d as f64).collect();
        let activity_calendars: Vec<Option<&Calendar>> = (0..n_activities)
            .map(|activity| {
                items
                    .get(activity)
                    .and_then(|item| calendars.get(&item.spec.team))
            })
            .collect();
        let result = forecast(
            &network,
            &[],
            &estimates,
            &ForecastConfig {
                trials: options.trials,
                seed: options.seed,
                distribution: DurationDistribution::Triangular,
                percentiles: &[50.0, 85.0, 95.0],
                milestones: &period_activities,
                target: Some(target as f64),
                earliest_starts: Some(&earliest_starts),
                calendars: Some(&activity_calendars),
            },
        )
        .map_err(|e| PlanError::Scheduling(e.to_string()))?;
        let percentile = |distribution: &lockstep_plan::forecast::FinishDistribution, p: f64| {
            let days = distribution
                .percentiles
                .iter()
                .find(|(q, _)| *q == p)
                .map_or(0.0, |(_, v)| *v);
            date_at(today, days.ceil() as i64 - 1)
        };
        let milestones = result
            .milestones
            .iter()
            .map(|(activity, distribution)| {
                let milestone = periods[activity - n_items];
                MilestoneForecast {
                    name: milestone.name.clone(),
                    committed: milestone.end,
                    p50: percentile(distribution, 50.0),
                    p85: percentile(distribution, 85.0),
                    p95: percentile(distribution, 95.0),
                }
            })
            .collect();
        forecast_result = Some(ReleaseForecast {
            trials: options.trials,
            p50: percentile(&result.project, 50.0),
            p85: percentile(&result.project, 85.0),
            p95: percentile(&result.project, 95.0),
            probability_on_target: result.probability_by_target.unwrap_or(0.0),
            milestones,
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
            let moved_from = options
                .previous
                .filter(|_| kind == "item")
                .and_then(|previous| previous.get(&name).copied())
                .filter(|previous| *previous != date_at(today, s) && *previous >= today);
            let finish = date_at(today, (f - 1).max(s));
            // Work already done is not late, whatever its date said.
            let late_days = committed
                .filter(|_| f > s)
                .map(|committed| day_index(committed, finish))
                .filter(|days| *days > 0);
            PlannedActivity {
                name,
                title,
                kind,
                team,
                start: date_at(today, s),
                finish,
                late_days,
                slack_days: slack_days[activity],
                critical: critical[activity],
                committed,
                criticality: criticality[activity],
                waits_for: std::mem::take(&mut waits_for[activity]),
                moved_from,
            }
        })
        .collect();
    let critical_path: Vec<String> = critical_chain.into_iter().map(|a| describe(a).0).collect();
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
    // A day either side of the deployment day covers any offset between zones.
    let near = |days: i64| {
        day.checked_add(jiff::Span::new().days(days))
            .unwrap_or(day)
            .to_datetime(Time::midnight())
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
        // Every occurrence near the day, in the blackout's zone.
        for (from, to) in blackout.spec.occurrences(near(-1), near(2), Some(tz)) {
            if let (Some(start), Some(end)) = (minute_of(from, tz), minute_of(to, tz)) {
                let label = format!(
                    "{} {}–{}",
                    blackout
                        .spec
                        .title
                        .as_deref()
                        .unwrap_or(blackout.name.as_str()),
                    from.strftime("%b %-d %H:%M"),
                    to.strftime("%b %-d %H:%M")
                );
                denies.push((Interval::new(start, end), blackout.name.as_str(), label));
            }
        }
    }
    let day_length = 24 * 60;
    // Deploy windows of the environment, when it has any, restrict the day first.
    let windows = state
        .environments()
        .get(&plan.environment)
        .map(|e| e.spec.deploy_windows.as_slice())
        .unwrap_or_default();
    // A step starts on the release day and may run past midnight into the next.
    let mut open = Calendar::new([Interval::new(0, 2 * day_length)]);
    if !windows.is_empty() {
        let mut allow = Vec::new();
        for window in windows {
            let tz = zones
                .get(&window.time_zone)
                .ok_or_else(|| PlanError::UnknownTimeZone(window.time_zone.clone()))?;
            for (from, to) in window.occurrences(near(-1), near(2), Some(tz)) {
                if let (Some(start), Some(end)) = (minute_of(from, tz), minute_of(to, tz)) {
                    allow.push(Interval::new(start, end));
                }
            }
        }
        open = open.intersection(&Calendar::new(allow));
    }
    let allowed = open.subtract(&Calendar::new(denies.iter().map(|(i, _, _)| *i)));
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
                Some(start) if start < day_length => {
                    ready = start + duration;
                    let at = day
                        .to_datetime(Time::midnight())
                        .checked_add(jiff::Span::new().minutes(start))
                        .ok();
                    let note = if start == planned_minute {
                        None
                    } else if earliest > planned_minute && overlapping(planned_minute).is_empty() {
                        Some("moved: waits for the previous step".to_owned())
                    } else if overlapping(planned_minute.max(earliest)).is_empty() {
                        Some(format!(
                            "moved into the deploy windows of {}",
                            plan.environment
                        ))
                    } else {
                        Some(format!(
                            "moved out of blackout: {}",
                            overlapping(planned_minute.max(earliest)).join(", ")
                        ))
                    };
                    (at, note)
                }
                _ => {
                    let mut reasons = Vec::new();
                    let blackouts = overlapping(earliest);
                    if !blackouts.is_empty() {
                        reasons.push(format!("blocked by {}", blackouts.join(", ")));
                    }
                    if !windows.is_empty() {
                        reasons.push(format!(
                            "outside the deploy windows of {}",
                            plan.environment
                        ));
                    }
                    if reasons.is_empty() {
                        reasons.push(format!(
                        "the steps before it leave no {duration}-minute slot that starts that day"
                    ));
                    }
                    (
                        None,
                        Some(format!("no room on {day}: {}", reasons.join("; "))),
                    )
                }
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

/// One critical chain, from a critical activity no critical predecessor leads to, through
/// successors it leads to, to the release. `A` leads to `B` when both are critical and `B`
/// starts when `A` finishes, or after only days on which `A`'s team does not work (which
/// is why `A` has no working day of slack).
fn critical_chain(
    network: &Network,
    critical: &[bool],
    adjoins: impl Fn(usize, usize) -> bool,
) -> Vec<usize> {
    let leads_to = |from: usize, to: usize| critical[from] && critical[to] && adjoins(from, to);
    let Some(mut current) = (0..network.len()).find(|&activity| {
        critical[activity]
            && !network
                .predecessors(activity)
                .any(|(pred, _)| leads_to(pred, activity))
    }) else {
        return Vec::new();
    };
    let mut chain = vec![current];
    while let Some((next, _)) = network
        .successors(current)
        .find(|&(succ, _)| leads_to(current, succ))
    {
        chain.push(next);
        current = next;
    }
    chain
}
