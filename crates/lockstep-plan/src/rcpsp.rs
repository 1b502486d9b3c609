//! The resource-constrained project scheduling problem (RCPSP): its validated input, a
//! schedule, a schedule checker, and the explanation of why no schedule can exist.
//!
//! A [`Problem`] is built through [`ProblemBuilder`], which checks shapes (lengths, indices,
//! signs, cycles) once, so the schedulers can trust it. [`diagnose`] finds constraints that
//! contradict each other outright (a demand above capacity, a pinned start before what its
//! predecessors allow, a deadline below the critical path, an activity its calendar cannot
//! hold) and names them. Schedule *generation* lives in `sgs`, `ga` and `replan`; this
//! module deliberately contains no search.

use crate::calendar::{ActivityMode, Calendar};
use crate::format_path;
use crate::network::{Network, NetworkError, Precedence};
use std::fmt;
use thiserror::Error;

/// Index of a calendar registered with [`ProblemBuilder::add_calendar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CalendarId(usize);

/// Why a problem's input is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProblemError {
    /// The precedence network is invalid (cycle, unknown activity, negative duration).
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// A demand vector does not have one entry per resource.
    #[error("activity {activity} has {actual} demands, expected one per resource ({expected})")]
    DemandLength {
        /// The activity.
        activity: usize,
        /// Number of resources.
        expected: usize,
        /// Entries given.
        actual: usize,
    },
    /// A demand is negative.
    #[error("activity {activity} has negative demand {demand} of resource {resource}")]
    NegativeDemand {
        /// The activity.
        activity: usize,
        /// The resource.
        resource: usize,
        /// The demand.
        demand: i64,
    },
    /// A capacity is negative.
    #[error("resource {resource} has negative capacity {capacity}")]
    NegativeCapacity {
        /// The resource.
        resource: usize,
        /// Its capacity.
        capacity: i64,
    },
    /// A setting names an activity that does not exist.
    #[error("{what} refers to activity {activity}, but there are only {n_activities}")]
    UnknownActivity {
        /// Which setting.
        what: &'static str,
        /// The unknown index.
        activity: usize,
        /// Number of activities.
        n_activities: usize,
    },
}

/// What a search minimises once every hard constraint holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Objective {
    /// The makespan, then total tardiness against due dates (the RCPSP's objective).
    #[default]
    Makespan,
    /// Total tardiness against due dates, then the makespan: a program of releases
    /// with target dates would rather finish each on time than all of them early.
    Tardiness,
}

/// Builder for [`Problem`]: add activities, arcs and constraints, then [`build`](Self::build).
#[derive(Debug, Clone, Default)]
pub struct ProblemBuilder {
    capacities: Vec<i64>,
    durations: Vec<i64>,
    demands: Vec<Vec<i64>>,
    arcs: Vec<Precedence>,
    calendars: Vec<Calendar>,
    calendar_uses: Vec<(usize, CalendarId, ActivityMode)>,
    releases: Vec<(usize, i64)>,
    pins: Vec<(usize, i64)>,
    dues: Vec<(usize, i64)>,
    deadline: Option<i64>,
    objective: Objective,
}

impl ProblemBuilder {
    /// A problem over renewable resources with these capacities (per time unit).
    pub fn new(capacities: Vec<i64>) -> ProblemBuilder {
        ProblemBuilder {
            capacities,
            ..ProblemBuilder::default()
        }
    }

    /// Adds an activity and returns its index; `demand` has one entry per resource.
    pub fn activity(&mut self, duration: i64, demand: &[i64]) -> usize {
        self.durations.push(duration);
        self.demands.push(demand.to_vec());
        self.durations.len() - 1
    }

    /// `to` starts no earlier than `from` finishes plus `lag`.
    pub fn precedence(&mut self, from: usize, to: usize, lag: i64) -> &mut ProblemBuilder {
        self.arcs.push(Precedence { from, to, lag });
        self
    }

    /// `activity` starts no earlier than `at`.
    pub fn release(&mut self, activity: usize, at: i64) -> &mut ProblemBuilder {
        self.releases.push((activity, at));
        self
    }

    /// `activity` starts exactly at `start`; every scheduler honours it.
    pub fn pin(&mut self, activity: usize, start: i64) -> &mut ProblemBuilder {
        self.pins.push((activity, start));
        self
    }

    /// `activity` should finish by `at` (soft: reported as lateness).
    pub fn due(&mut self, activity: usize, at: i64) -> &mut ProblemBuilder {
        self.dues.push((activity, at));
        self
    }

    /// Every activity must finish by `at` (hard).
    pub fn deadline(&mut self, at: i64) -> &mut ProblemBuilder {
        self.deadline = Some(at);
        self
    }

    /// What searches minimise ([`Objective::Makespan`] unless told).
    pub fn minimize(&mut self, objective: Objective) -> &mut ProblemBuilder {
        self.objective = objective;
        self
    }

    /// Registers a calendar that activities can then use.
    pub fn add_calendar(&mut self, calendar: Calendar) -> CalendarId {
        self.calendars.push(calendar);
        CalendarId(self.calendars.len() - 1)
    }

    /// `activity` works only in `calendar`, in `mode`.
    pub fn use_calendar(
        &mut self,
        activity: usize,
        calendar: CalendarId,
        mode: ActivityMode,
    ) -> &mut ProblemBuilder {
        self.calendar_uses.push((activity, calendar, mode));
        self
    }

    /// Validates everything and freezes the problem.
    pub fn build(self) -> Result<Problem, ProblemError> {
        let n_activities = self.durations.len();
        let n_resources = self.capacities.len();
        if let Some((resource, &capacity)) =
            self.capacities.iter().enumerate().find(|(_, c)| **c < 0)
        {
            return Err(ProblemError::NegativeCapacity { resource, capacity });
        }
        let mut demands = Vec::with_capacity(n_activities * n_resources);
        for (activity, demand) in self.demands.iter().enumerate() {
            if demand.len() != n_resources {
                return Err(ProblemError::DemandLength {
                    activity,
                    expected: n_resources,
                    actual: demand.len(),
                });
            }
            if let Some((resource, &value)) = demand.iter().enumerate().find(|(_, d)| **d < 0) {
                return Err(ProblemError::NegativeDemand {
                    activity,
                    resource,
                    demand: value,
                });
            }
            demands.extend_from_slice(demand);
        }
        let check = |what: &'static str, activity: usize| {
            if activity < n_activities {
                Ok(())
            } else {
                Err(ProblemError::UnknownActivity {
                    what,
                    activity,
                    n_activities,
                })
            }
        };
        let mut release_dates = vec![0i64; n_activities];
        for &(activity, at) in &self.releases {
            check("a release date", activity)?;
            release_dates[activity] = release_dates[activity].max(at);
        }
        let mut pinned_starts = vec![None; n_activities];
        for &(activity, start) in &self.pins {
            check("a pinned start", activity)?;
            pinned_starts[activity] = Some(start);
        }
        let mut due_dates = vec![None; n_activities];
        for &(activity, at) in &self.dues {
            check("a due date", activity)?;
            due_dates[activity] = Some(at);
        }
        let mut activity_calendars = vec![None; n_activities];
        for &(activity, CalendarId(calendar), mode) in &self.calendar_uses {
            check("a calendar", activity)?;
            activity_calendars[activity] = Some((calendar, mode));
        }
        let network = Network::new(self.durations, &self.arcs)?;
        let objective = self.objective;
        Ok(Problem::assemble(
            network,
            self.capacities,
            demands,
            self.calendars,
            activity_calendars,
            release_dates,
            pinned_starts,
            due_dates,
            self.deadline,
        )
        .with_objective(objective))
    }
}

/// A validated RCPSP instance. Build it with [`ProblemBuilder`].
#[derive(Debug, Clone)]
pub struct Problem {
    network: Network,
    capacities: Vec<i64>,
    demands: Vec<i64>,
    calendars: Vec<Calendar>,
    activity_calendars: Vec<Option<(usize, ActivityMode)>>,
    release_dates: Vec<i64>,
    pinned_starts: Vec<Option<i64>>,
    due_dates: Vec<Option<i64>>,
    deadline: Option<i64>,
    objective: Objective,
    pub(crate) topological_rank: Vec<u32>,
    pub(crate) has_negative_lags: bool,
    /// Upper bound on any serial-SGS finish time when a time-indexed resource profile is
    /// cheap enough; `None` means use the breakpoint profile.
    pub(crate) dense_horizon: Option<usize>,
}

impl Problem {
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        network: Network,
        capacities: Vec<i64>,
        demands: Vec<i64>,
        calendars: Vec<Calendar>,
        activity_calendars: Vec<Option<(usize, ActivityMode)>>,
        release_dates: Vec<i64>,
        pinned_starts: Vec<Option<i64>>,
        due_dates: Vec<Option<i64>>,
        deadline: Option<i64>,
    ) -> Problem {
        let mut topological_rank = vec![0u32; network.len()];
        for (rank, activity) in network.topological_order().enumerate() {
            topological_rank[activity] = rank as u32;
        }
        let has_negative_lags = network.arcs().any(|arc| arc.lag < 0);
        let uses_calendars = activity_calendars.iter().any(Option::is_some);
        let min_time = release_dates
            .iter()
            .copied()
            .chain(pinned_starts.iter().flatten().copied())
            .min()
            .unwrap_or(0);
        let bound = release_dates
            .iter()
            .copied()
            .chain(
                pinned_starts
                    .iter()
                    .zip(network.durations())
                    .filter_map(|(pin, duration)| pin.map(|start| start.saturating_add(*duration))),
            )
            .max()
            .unwrap_or(0)
            .saturating_add(
                network
                    .durations()
                    .iter()
                    .fold(0i64, |sum, d| sum.saturating_add(*d)),
            )
            .saturating_add(
                network
                    .arcs()
                    .fold(0i64, |sum, arc| sum.saturating_add(arc.lag.max(0))),
            )
            .saturating_add(1);
        // A time-indexed profile costs (horizon × resources) cells; past a few million cells
        // (long durations in seconds, say) the breakpoint profile is cheaper.
        const MAX_DENSE_CELLS: i64 = 1 << 23;
        let dense_horizon = (!uses_calendars
            && min_time >= 0
            && bound.saturating_mul(capacities.len().max(1) as i64) <= MAX_DENSE_CELLS)
            .then_some(bound as usize);
        Problem {
            network,
            capacities,
            demands,
            calendars,
            activity_calendars,
            release_dates,
            pinned_starts,
            due_dates,
            deadline,
            objective: Objective::Makespan,
            topological_rank,
            has_negative_lags,
            dense_horizon,
        }
    }

    /// Number of activities.
    pub fn n_activities(&self) -> usize {
        self.network.len()
    }
    /// Number of renewable resources.
    pub fn n_resources(&self) -> usize {
        self.capacities.len()
    }
    /// The precedence network (durations and arcs).
    pub fn network(&self) -> &Network {
        &self.network
    }
    /// Duration of `activity`.
    pub fn duration(&self, activity: usize) -> i64 {
        self.network.durations()[activity]
    }
    /// Capacity of every resource.
    pub fn capacities(&self) -> &[i64] {
        &self.capacities
    }
    /// Demand of `activity` for every resource.
    pub fn demand(&self, activity: usize) -> &[i64] {
        let n_resources = self.capacities.len();
        &self.demands[activity * n_resources..(activity + 1) * n_resources]
    }
    /// Calendar and mode of `activity`, if it has one.
    pub fn calendar(&self, activity: usize) -> Option<(&Calendar, ActivityMode)> {
        self.activity_calendars[activity].map(|(idx, mode)| (&self.calendars[idx], mode))
    }
    /// Release date (earliest start) of every activity; 0 when none was given.
    pub fn release_dates(&self) -> &[i64] {
        &self.release_dates
    }
    /// Pinned start of every activity.
    pub fn pinned_starts(&self) -> &[Option<i64>] {
        &self.pinned_starts
    }
    /// Due date of every activity.
    pub fn due_dates(&self) -> &[Option<i64>] {
        &self.due_dates
    }
    /// Latest allowed finish of the whole project.
    pub fn deadline(&self) -> Option<i64> {
        self.deadline
    }
    /// What searches minimise.
    pub fn objective(&self) -> Objective {
        self.objective
    }
    fn with_objective(mut self, objective: Objective) -> Problem {
        self.objective = objective;
        self
    }
    pub(crate) fn has_calendars(&self) -> bool {
        self.activity_calendars.iter().any(Option::is_some)
    }
    pub(crate) fn has_pins(&self) -> bool {
        self.pinned_starts.iter().any(Option::is_some)
    }

    /// Start and finish of `activity` when it may start no earlier than `earliest`,
    /// following its calendar; `None` when its calendar has no room left.
    #[inline]
    pub(crate) fn window_from(&self, activity: usize, earliest: i64) -> Option<(i64, i64)> {
        let duration = self.duration(activity);
        match self.activity_calendars[activity] {
            None => Some((earliest, earliest + duration)),
            Some((idx, mode)) => {
                let calendar = &self.calendars[idx];
                let start = calendar.earliest_start(earliest, duration, mode)?;
                Some((start, calendar.finish(start, duration, mode)?))
            }
        }
    }

    /// Critical-path length ignoring resources and calendars, from time 0 with release
    /// dates: the classic RCPSP lower bound on the makespan.
    pub fn critical_path_bound(&self) -> i64 {
        let options = crate::cpm::CpmOptions {
            release_dates: Some(&self.release_dates),
            ..Default::default()
        };
        crate::cpm::critical_path(&self.network, &options)
            .map(|cpm| cpm.makespan())
            .expect("invariant: release dates have one entry per activity and there is no deadline")
    }
}

/// Start and finish times of every activity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schedule {
    starts: Vec<i64>,
    finishes: Vec<i64>,
}

impl Schedule {
    pub(crate) fn new(starts: Vec<i64>, finishes: Vec<i64>) -> Schedule {
        Schedule { starts, finishes }
    }
    /// Start of every activity.
    pub fn starts(&self) -> &[i64] {
        &self.starts
    }
    /// Finish of every activity.
    pub fn finishes(&self) -> &[i64] {
        &self.finishes
    }
    /// Latest finish (0 for an empty schedule).
    pub fn makespan(&self) -> i64 {
        self.finishes.iter().copied().max().unwrap_or(0)
    }
    /// Largest `finish − due date` over activities with a due date.
    pub fn max_lateness(&self, problem: &Problem) -> Option<i64> {
        problem
            .due_dates()
            .iter()
            .zip(&self.finishes)
            .filter_map(|(due, finish)| due.map(|due| finish - due))
            .max()
    }
    /// Sum of positive lateness over activities with a due date.
    pub fn total_tardiness(&self, problem: &Problem) -> i64 {
        problem
            .due_dates()
            .iter()
            .zip(&self.finishes)
            .filter_map(|(due, finish)| due.map(|due| (finish - due).max(0)))
            .sum()
    }
}

/// One contradiction between constraints that makes every schedule impossible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// An activity needs more of a resource than exists.
    DemandExceedsCapacity {
        /// The activity.
        activity: usize,
        /// The resource.
        resource: usize,
        /// Its demand.
        demand: i64,
        /// The capacity.
        capacity: i64,
    },
    /// A pinned start is earlier than its predecessors (or release date) allow.
    PinnedBeforeEarliestStart {
        /// The pinned activity.
        activity: usize,
        /// Its pinned start.
        pinned: i64,
        /// The earliest start its predecessors allow.
        earliest: i64,
        /// The chain of activities that forces `earliest`, ending at `activity`.
        path: Vec<usize>,
    },
    /// Pinned activities overlap and together exceed a capacity.
    PinnedOverCapacity {
        /// The pinned activities running at `time`.
        activities: Vec<usize>,
        /// The resource.
        resource: usize,
        /// The instant.
        time: i64,
        /// Their total demand.
        demand: i64,
        /// The capacity.
        capacity: i64,
    },
    /// A pinned start does not fit the activity's calendar.
    PinnedOutsideCalendar {
        /// The activity.
        activity: usize,
        /// Its pinned start.
        pinned: i64,
    },
    /// An activity fits no window of its calendar (at or after its earliest start).
    FitsNoCalendarWindow {
        /// The activity.
        activity: usize,
        /// Its duration.
        duration: i64,
        /// Earliest start considered.
        earliest: i64,
    },
    /// The critical path alone ends after the deadline.
    DeadlineBelowCriticalPath {
        /// The deadline.
        deadline: i64,
        /// Earliest possible finish.
        finish: i64,
        /// The chain that forces it.
        path: Vec<usize>,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::DemandExceedsCapacity {
                activity,
                resource,
                demand,
                capacity,
            } => write!(
                f,
                "activity {activity} demands {demand} of resource {resource}, capacity {capacity}"
            ),
            Conflict::PinnedBeforeEarliestStart {
                activity,
                pinned,
                earliest,
                path,
            } => write!(
                f,
                "pinned start of {activity} at {pinned} < earliest start {earliest} via {}",
                format_path(path)
            ),
            Conflict::PinnedOverCapacity {
                activities,
                resource,
                time,
                demand,
                capacity,
            } => {
                let names: Vec<String> = activities.iter().map(usize::to_string).collect();
                write!(
                    f,
                    "pinned activities {} together demand {demand} of resource {resource} at {time}, capacity {capacity}",
                    names.join(", ")
                )
            }
            Conflict::PinnedOutsideCalendar { activity, pinned } => {
                write!(
                    f,
                    "pinned start of {activity} at {pinned} does not fit its calendar"
                )
            }
            Conflict::FitsNoCalendarWindow {
                activity,
                duration,
                earliest,
            } => write!(
                f,
                "activity {activity} (duration {duration}) fits no window of its calendar from {earliest}"
            ),
            Conflict::DeadlineBelowCriticalPath {
                deadline,
                finish,
                path,
            } => write!(
                f,
                "deadline {deadline} < critical-path finish {finish} via {}",
                format_path(path)
            ),
        }
    }
}

/// Why scheduling failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    /// No schedule exists; the conflicts explain why.
    #[error("infeasible: {}", join_conflicts(conflicts))]
    Infeasible {
        /// Each contradiction found.
        conflicts: Vec<Conflict>,
    },
    /// The heuristic found no schedule meeting every pinned start and the deadline, although
    /// no outright contradiction was found.
    #[error("no schedule found that meets {what}")]
    NotFound {
        /// The hard constraint missed by the best schedule found.
        what: String,
    },
    /// An activity list is not a permutation of the activities in precedence order.
    #[error("activity list is not a precedence-feasible permutation: {reason}")]
    InvalidActivityList {
        /// What is wrong with it.
        reason: String,
    },
    /// Previous starts were not given one per activity.
    #[error("expected {expected} previous starts, got {actual}")]
    PreviousStartsLength {
        /// Number of activities.
        expected: usize,
        /// Entries given.
        actual: usize,
    },
}

fn join_conflicts(conflicts: &[Conflict]) -> String {
    let texts: Vec<String> = conflicts.iter().map(Conflict::to_string).collect();
    texts.join("; ")
}

/// Finds constraints that make the problem infeasible; empty when none was found.
///
/// The checks are exact for what they cover, so every reported conflict is real; heuristics
/// may still fail on a problem with no reported conflict (reported as
/// [`ScheduleError::NotFound`]).
pub fn diagnose(problem: &Problem) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    for activity in 0..problem.n_activities() {
        for (resource, (&demand, &capacity)) in problem
            .demand(activity)
            .iter()
            .zip(problem.capacities())
            .enumerate()
        {
            if demand > capacity {
                conflicts.push(Conflict::DemandExceedsCapacity {
                    activity,
                    resource,
                    demand,
                    capacity,
                });
            }
        }
    }
    diagnose_time(problem, &mut conflicts);
    diagnose_pinned_overlap(problem, &mut conflicts);
    conflicts
}

/// Calendar-aware earliest-start pass that explains pinned, calendar and deadline conflicts.
fn diagnose_time(problem: &Problem, conflicts: &mut Vec<Conflict>) {
    let n_activities = problem.n_activities();
    let network = problem.network();
    let mut earliest: Vec<i64> = problem.release_dates().to_vec();
    let mut finish = vec![0i64; n_activities];
    // `binding[j]`: the predecessor whose finish forced `earliest[j]`, to name the chain.
    let mut binding: Vec<Option<usize>> = vec![None; n_activities];
    let chain = |binding: &[Option<usize>], mut activity: usize| {
        let mut path = vec![activity];
        while let Some(pred) = binding[activity] {
            path.push(pred);
            activity = pred;
        }
        path.reverse();
        path
    };
    for activity in network.topological_order() {
        let duration = problem.duration(activity);
        let mut start = earliest[activity];
        if let Some((calendar, mode)) = problem.calendar(activity) {
            match calendar.earliest_start(start, duration, mode) {
                Some(fitted) => start = fitted,
                None => {
                    conflicts.push(Conflict::FitsNoCalendarWindow {
                        activity,
                        duration,
                        earliest: start,
                    });
                    // Continue as if unconstrained to find independent conflicts downstream.
                }
            }
        }
        if let Some(pinned) = problem.pinned_starts()[activity] {
            if pinned < start {
                conflicts.push(Conflict::PinnedBeforeEarliestStart {
                    activity,
                    pinned,
                    earliest: start,
                    path: chain(&binding, activity),
                });
            } else if problem
                .window_from(activity, pinned)
                .is_none_or(|(fitted, _)| fitted != pinned)
            {
                conflicts.push(Conflict::PinnedOutsideCalendar { activity, pinned });
            }
            // A pin is a root cause of what follows it, so chains stop here.
            start = pinned;
            binding[activity] = None;
        }
        let end = problem
            .window_from(activity, start)
            .map_or(start + duration, |(_, end)| end);
        finish[activity] = end;
        for (succ, lag) in network.successors(activity) {
            if end + lag > earliest[succ] {
                earliest[succ] = end + lag;
                binding[succ] = Some(activity);
            }
        }
    }
    if let Some(deadline) = problem.deadline()
        && let Some((last, &latest)) = finish.iter().enumerate().max_by_key(|(_, f)| **f)
        && latest > deadline
    {
        conflicts.push(Conflict::DeadlineBelowCriticalPath {
            deadline,
            finish: latest,
            path: chain(&binding, last),
        });
    }
}

fn diagnose_pinned_overlap(problem: &Problem, conflicts: &mut Vec<Conflict>) {
    let pinned: Vec<(usize, i64, i64)> = problem
        .pinned_starts()
        .iter()
        .enumerate()
        .filter_map(|(activity, pin)| {
            let start = (*pin)?;
            let end = problem
                .window_from(activity, start)
                .map_or(start + problem.duration(activity), |w| w.1);
            (end > start).then_some((activity, start, end))
        })
        .collect();
    for resource in 0..problem.n_resources() {
        let capacity = problem.capacities()[resource];
        // Usage only rises at a start, so checking every pinned start instant suffices.
        let mut reported_sets: Vec<Vec<usize>> = Vec::new();
        for &(_, time, _) in &pinned {
            let running: Vec<usize> = pinned
                .iter()
                .filter(|&&(activity, start, end)| {
                    start <= time && time < end && problem.demand(activity)[resource] > 0
                })
                .map(|&(activity, _, _)| activity)
                .collect();
            let demand: i64 = running
                .iter()
                .map(|&activity| problem.demand(activity)[resource])
                .sum();
            if demand > capacity && running.len() > 1 && !reported_sets.contains(&running) {
                reported_sets.push(running.clone());
                conflicts.push(Conflict::PinnedOverCapacity {
                    activities: running,
                    resource,
                    time,
                    demand,
                    capacity,
                });
            }
        }
    }
}

/// A way in which a schedule breaks the problem's constraints.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Violation {
    /// The schedule has the wrong number of activities.
    #[error("schedule has {actual} activities, problem has {expected}")]
    Length {
        /// Activities in the problem.
        expected: usize,
        /// Activities in the schedule.
        actual: usize,
    },
    /// Finish does not match start, duration and calendar.
    #[error(
        "activity {activity} runs {start}..{finish}, which does not match its duration and calendar"
    )]
    Duration {
        /// The activity.
        activity: usize,
        /// Its start.
        start: i64,
        /// Its finish.
        finish: i64,
    },
    /// A precedence arc (with its lag) is broken.
    #[error("activity {to} starts at {start}, before {from} finishes at {finish} plus lag {lag}")]
    Precedence {
        /// Predecessor.
        from: usize,
        /// Successor.
        to: usize,
        /// Successor start.
        start: i64,
        /// Predecessor finish.
        finish: i64,
        /// Lag.
        lag: i64,
    },
    /// An activity starts before its release date.
    #[error("activity {activity} starts at {start}, before its release date {release}")]
    Release {
        /// The activity.
        activity: usize,
        /// Its start.
        start: i64,
        /// Its release date.
        release: i64,
    },
    /// A pinned start moved.
    #[error("activity {activity} is pinned at {pinned} but starts at {start}")]
    Pinned {
        /// The activity.
        activity: usize,
        /// Pinned start.
        pinned: i64,
        /// Actual start.
        start: i64,
    },
    /// A resource is over capacity.
    #[error("resource {resource} is used {usage} at {time}, capacity {capacity}")]
    Capacity {
        /// The resource.
        resource: usize,
        /// The instant.
        time: i64,
        /// Total usage then.
        usage: i64,
        /// The capacity.
        capacity: i64,
    },
    /// The project ends after its deadline.
    #[error("project finishes at {finish}, after the deadline {deadline}")]
    Deadline {
        /// Makespan.
        finish: i64,
        /// Deadline.
        deadline: i64,
    },
}

/// Checks every hard constraint of `problem` on `schedule`: durations and calendars,
/// precedence with lags, release dates, pinned starts, capacities at every instant (an
/// interrupted activity holds its resources through the break) and the deadline.
pub fn check_schedule(problem: &Problem, schedule: &Schedule) -> Result<(), Violation> {
    let n_activities = problem.n_activities();
    if schedule.starts.len() != n_activities || schedule.finishes.len() != n_activities {
        return Err(Violation::Length {
            expected: n_activities,
            actual: schedule.starts.len(),
        });
    }
    for activity in 0..n_activities {
        let (start, finish) = (schedule.starts[activity], schedule.finishes[activity]);
        if problem.window_from(activity, start) != Some((start, finish)) {
            return Err(Violation::Duration {
                activity,
                start,
                finish,
            });
        }
        let release = problem.release_dates()[activity];
        if start < release {
            return Err(Violation::Release {
                activity,
                start,
                release,
            });
        }
        if let Some(pinned) = problem.pinned_starts()[activity]
            && pinned != start
        {
            return Err(Violation::Pinned {
                activity,
                pinned,
                start,
            });
        }
        for (to, lag) in problem.network().successors(activity) {
            if schedule.starts[to] < finish + lag {
                return Err(Violation::Precedence {
                    from: activity,
                    to,
                    start: schedule.starts[to],
                    finish,
                    lag,
                });
            }
        }
    }
    for resource in 0..problem.n_resources() {
        let capacity = problem.capacities()[resource];
        let mut events: Vec<(i64, i64)> = Vec::new();
        for activity in 0..n_activities {
            let demand = problem.demand(activity)[resource];
            if demand > 0 && schedule.finishes[activity] > schedule.starts[activity] {
                events.push((schedule.starts[activity], demand));
                events.push((schedule.finishes[activity], -demand));
            }
        }
        // Releases sort before acquisitions at the same instant: intervals are half-open.
        events.sort_unstable();
        let mut usage = 0;
        for (time, delta) in events {
            usage += delta;
            if usage > capacity {
                return Err(Violation::Capacity {
                    resource,
                    time,
                    usage,
                    capacity,
                });
            }
        }
    }
    if let Some(deadline) = problem.deadline()
        && schedule.makespan() > deadline
    {
        return Err(Violation::Deadline {
            finish: schedule.makespan(),
            deadline,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Interval;

    fn check(builder: ProblemBuilder) -> Vec<String> {
        let problem = builder.build().expect("well-formed");
        diagnose(&problem).iter().map(Conflict::to_string).collect()
    }

    #[test]
    fn explains_demand_above_capacity() {
        let mut builder = ProblemBuilder::new(vec![3, 4, 4]);
        builder.activity(2, &[1, 1, 1]);
        builder.activity(2, &[0, 0, 5]);
        assert_eq!(
            check(builder),
            vec!["activity 1 demands 5 of resource 2, capacity 4"]
        );
    }

    #[test]
    fn explains_pinned_start_before_its_predecessors_finish() {
        let mut builder = ProblemBuilder::new(vec![]);
        let first = builder.activity(4, &[]);
        let second = builder.activity(10, &[]);
        let third = builder.activity(1, &[]);
        builder
            .precedence(first, second, 0)
            .precedence(second, third, 0)
            .pin(third, 10);
        assert_eq!(
            check(builder),
            vec!["pinned start of 2 at 10 < earliest start 14 via 0 → 1 → 2"]
        );
    }

    #[test]
    fn explains_pinned_activities_that_overlap_beyond_capacity() {
        let mut builder = ProblemBuilder::new(vec![4]);
        let a = builder.activity(5, &[3]);
        let b = builder.activity(5, &[3]);
        builder.pin(a, 0).pin(b, 2);
        assert_eq!(
            check(builder),
            vec!["pinned activities 0, 1 together demand 6 of resource 0 at 2, capacity 4"]
        );
    }

    #[test]
    fn explains_deadline_below_critical_path() {
        let mut builder = ProblemBuilder::new(vec![]);
        let a = builder.activity(3, &[]);
        let b = builder.activity(4, &[]);
        builder.precedence(a, b, 2).deadline(8);
        assert_eq!(
            check(builder),
            vec!["deadline 8 < critical-path finish 9 via 0 → 1"]
        );
    }

    #[test]
    fn explains_activity_that_fits_no_calendar_window() {
        let mut builder = ProblemBuilder::new(vec![]);
        let activity = builder.activity(6, &[]);
        let calendar =
            builder.add_calendar(Calendar::new([Interval::new(0, 5), Interval::new(10, 15)]));
        builder.use_calendar(activity, calendar, ActivityMode::NonInterruptible);
        assert_eq!(
            check(builder),
            vec!["activity 0 (duration 6) fits no window of its calendar from 0"]
        );
    }

    #[test]
    fn explains_pinned_start_outside_calendar() {
        let mut builder = ProblemBuilder::new(vec![]);
        let activity = builder.activity(3, &[]);
        let calendar = builder.add_calendar(Calendar::new([Interval::new(0, 5)]));
        builder
            .use_calendar(activity, calendar, ActivityMode::NonInterruptible)
            .pin(activity, 4);
        assert_eq!(
            check(builder),
            vec!["pinned start of 0 at 4 does not fit its calendar"]
        );
    }

    #[test]
    fn rejects_malformed_input_when_building() {
        let mut builder = ProblemBuilder::new(vec![2]);
        builder.activity(1, &[1, 1]);
        assert!(matches!(
            builder.build(),
            Err(ProblemError::DemandLength { activity: 0, .. })
        ));
        let mut builder = ProblemBuilder::new(vec![2]);
        builder.activity(1, &[1]);
        builder.pin(3, 0);
        assert!(matches!(
            builder.build(),
            Err(ProblemError::UnknownActivity { activity: 3, .. })
        ));
    }
}
