//! Schedule generation schemes (SGS): turning an activity order into a resource-feasible
//! schedule, the resource profile they search in, priority rules, and forward-backward
//! improvement (double justification, Valls, Ballestín and Quintanilla 2005).
//!
//! The serial SGS takes activities in list order and starts each at the earliest time its
//! predecessors, release date, calendar and the resources already booked allow. The
//! parallel SGS advances a clock and starts whatever fits in priority order. Pinned
//! activities are booked before anything else and never move. These routines are
//! deterministic and allocation-free per schedule once an [`Evaluator`] exists, because the
//! genetic algorithm calls them tens of thousands of times per instance; the search itself
//! lives in `ga`.

use crate::rcpsp::{Problem, Schedule, ScheduleError, diagnose};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Resource usage over time as a step function with one breakpoint per change.
///
/// Answers "earliest time at or after `t` where this demand fits for the whole duration"
/// by scanning the segments under the window and jumping past the last one that
/// overflows, so a query costs the number of breakpoints it looks at, not the time span.
#[derive(Debug, Clone)]
pub struct ResourceProfile {
    capacities: Vec<i64>,
    /// Segment `idx` covers `[times[idx], times[idx + 1])`; the last one runs to infinity.
    times: Vec<i64>,
    /// Usage of segment `idx` and resource `k` at `usage[idx * n_resources + k]`.
    usage: Vec<i64>,
}

impl ResourceProfile {
    /// An empty profile over resources with these capacities.
    pub fn new(capacities: &[i64]) -> ResourceProfile {
        ResourceProfile {
            capacities: capacities.to_vec(),
            times: vec![i64::MIN],
            usage: vec![0; capacities.len()],
        }
    }

    /// Forgets every booking.
    pub fn clear(&mut self) {
        self.times.truncate(1);
        self.usage.truncate(self.capacities.len());
        self.usage.fill(0);
    }

    /// Usage of every resource at `time`.
    pub fn usage_at(&self, time: i64) -> &[i64] {
        let segment = self.times.partition_point(|&t| t <= time) - 1;
        let n_resources = self.capacities.len();
        &self.usage[segment * n_resources..(segment + 1) * n_resources]
    }

    /// `None` when `demand` fits throughout `[start, end)`; otherwise the earliest instant
    /// worth retrying from (the end of the last segment in the window that overflows).
    pub fn conflict(&self, start: i64, end: i64, demand: &[i64]) -> Option<i64> {
        let n_resources = self.capacities.len();
        let mut segment = self.times.partition_point(|&t| t <= start) - 1;
        let mut retry_from = None;
        while segment < self.times.len() && self.times[segment] < end {
            let row = &self.usage[segment * n_resources..(segment + 1) * n_resources];
            let overflows = row
                .iter()
                .zip(demand)
                .zip(&self.capacities)
                .any(|((used, wanted), capacity)| used + wanted > *capacity);
            if overflows {
                retry_from = Some(self.times.get(segment + 1).copied().unwrap_or(i64::MAX));
            }
            segment += 1;
        }
        retry_from
    }

    /// Earliest start `>= earliest` where `demand` fits for `duration`; `None` if it never
    /// does (the demand exceeds a capacity).
    pub fn earliest_fit(&self, earliest: i64, duration: i64, demand: &[i64]) -> Option<i64> {
        if demand
            .iter()
            .zip(&self.capacities)
            .any(|(wanted, capacity)| wanted > capacity)
        {
            return None;
        }
        let mut start = earliest;
        while let Some(retry) = self.conflict(start, start.saturating_add(duration), demand) {
            start = retry;
        }
        Some(start)
    }

    /// Books `demand` over `[start, end)`.
    pub fn reserve(&mut self, start: i64, end: i64, demand: &[i64]) {
        if end <= start {
            return;
        }
        let first = self.split_at(start);
        let last = self.split_at(end);
        let n_resources = self.capacities.len();
        for segment in first..last {
            for (used, wanted) in self.usage[segment * n_resources..(segment + 1) * n_resources]
                .iter_mut()
                .zip(demand)
            {
                *used += wanted;
            }
        }
    }

    /// Ensures a breakpoint at `time` and returns its segment index.
    fn split_at(&mut self, time: i64) -> usize {
        let segment = self.times.partition_point(|&t| t <= time) - 1;
        if self.times[segment] == time {
            return segment;
        }
        let n_resources = self.capacities.len();
        self.times.insert(segment + 1, time);
        let row: Vec<i64> = self.usage[segment * n_resources..(segment + 1) * n_resources].to_vec();
        let at = (segment + 1) * n_resources;
        self.usage.splice(at..at, row);
        segment + 1
    }
}

/// A time-indexed profile for problems with small non-negative horizons (PSPLIB-like):
/// one row of usage per time unit, so a fit test is a tight scan without searching.
#[derive(Debug, Clone)]
struct DenseProfile {
    capacities: Vec<i64>,
    used: Vec<i64>,
    touched_until: usize,
}

impl DenseProfile {
    fn new(capacities: &[i64], horizon: usize) -> DenseProfile {
        DenseProfile {
            capacities: capacities.to_vec(),
            used: vec![0; horizon * capacities.len()],
            touched_until: 0,
        }
    }

    fn clear(&mut self) {
        let n_resources = self.capacities.len();
        self.used[..self.touched_until * n_resources].fill(0);
        self.touched_until = 0;
    }

    #[inline]
    fn conflict(&self, start: i64, end: i64, demand: &[i64]) -> Option<i64> {
        let n_resources = self.capacities.len();
        let last = (end as usize).min(self.touched_until);
        let first = start as usize;
        if first >= last {
            return None;
        }
        for time in (first..last).rev() {
            let row = &self.used[time * n_resources..(time + 1) * n_resources];
            for resource in 0..n_resources {
                if row[resource] + demand[resource] > self.capacities[resource] {
                    return Some(time as i64 + 1);
                }
            }
        }
        None
    }

    fn reserve(&mut self, start: i64, end: i64, demand: &[i64]) {
        let n_resources = self.capacities.len();
        let (first, last) = (start as usize, end as usize);
        if last * n_resources > self.used.len() {
            self.used.resize(last * n_resources * 2, 0);
        }
        for time in first..last {
            for (used, wanted) in self.used[time * n_resources..(time + 1) * n_resources]
                .iter_mut()
                .zip(demand)
            {
                *used += wanted;
            }
        }
        self.touched_until = self.touched_until.max(last);
    }
}

#[derive(Debug, Clone)]
enum Profile {
    Dense(DenseProfile),
    Sparse(ResourceProfile),
}

impl Profile {
    fn for_problem(problem: &Problem) -> Profile {
        match problem.dense_horizon {
            Some(horizon) => Profile::Dense(DenseProfile::new(problem.capacities(), horizon)),
            None => Profile::Sparse(ResourceProfile::new(problem.capacities())),
        }
    }
    #[inline]
    fn clear(&mut self) {
        match self {
            Profile::Dense(profile) => profile.clear(),
            Profile::Sparse(profile) => profile.clear(),
        }
    }
    #[inline]
    fn conflict(&self, start: i64, end: i64, demand: &[i64]) -> Option<i64> {
        match self {
            Profile::Dense(profile) => profile.conflict(start, end, demand),
            Profile::Sparse(profile) => profile.conflict(start, end, demand),
        }
    }
    #[inline]
    fn reserve(&mut self, start: i64, end: i64, demand: &[i64]) {
        match self {
            Profile::Dense(profile) => profile.reserve(start, end, demand),
            Profile::Sparse(profile) => profile.reserve(start, end, demand),
        }
    }
}

/// How good a generated schedule is: fewer broken hard constraints first, then the
/// problem's [`Objective`](crate::rcpsp::Objective): makespan then total tardiness against
/// due dates, or tardiness (counted in `lateness`) then makespan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Fitness {
    pub(crate) violations: u32,
    /// Total tardiness when it is the primary objective, else 0.
    pub(crate) lateness: i64,
    pub(crate) makespan: i64,
    pub(crate) tardiness: i64,
}

/// Reusable buffers for generating many schedules of one problem.
#[derive(Debug)]
pub(crate) struct Evaluator<'p> {
    problem: &'p Problem,
    profile: Profile,
    pub(crate) starts: Vec<i64>,
    pub(crate) finishes: Vec<i64>,
    reverse_finishes: Vec<i64>,
    order: Vec<usize>,
    books_resources: Vec<bool>,
    pinned: Vec<usize>,
    can_justify: bool,
    pub(crate) schedules_generated: u64,
}

impl<'p> Evaluator<'p> {
    pub(crate) fn new(problem: &'p Problem) -> Evaluator<'p> {
        let n_activities = problem.n_activities();
        let books_resources = (0..n_activities)
            .map(|activity| {
                problem.duration(activity) > 0 && problem.demand(activity).iter().any(|&d| d > 0)
            })
            .collect();
        let pinned = (0..n_activities)
            .filter(|&a| problem.pinned_starts()[a].is_some())
            .collect();
        Evaluator {
            problem,
            profile: Profile::for_problem(problem),
            starts: vec![0; n_activities],
            finishes: vec![0; n_activities],
            reverse_finishes: vec![0; n_activities],
            order: Vec::with_capacity(n_activities),
            books_resources,
            pinned,
            // Justification mirrors time, which calendars and pins do not survive, and its
            // orderings are precedence-feasible only when no lag is negative.
            can_justify: !problem.has_calendars()
                && !problem.has_pins()
                && !problem.has_negative_lags,
            schedules_generated: 0,
        }
    }

    pub(crate) fn schedule(&self) -> Schedule {
        Schedule::new(self.starts.clone(), self.finishes.clone())
    }

    /// Serial SGS over a precedence-feasible `list`. With `preferred`, an activity also
    /// starts no earlier than its preferred start (used by re-planning).
    pub(crate) fn forward(&mut self, list: &[usize], preferred: Option<&[Option<i64>]>) -> Fitness {
        self.schedules_generated += 1;
        let problem = self.problem;
        let predecessors = &problem.network().predecessors;
        self.profile.clear();
        let mut violations = 0u32;
        for &activity in &self.pinned {
            let pin = problem.pinned_starts()[activity].expect("invariant: listed as pinned");
            let (start, finish) = problem
                .window_from(activity, pin)
                .unwrap_or((pin, pin + problem.duration(activity)));
            self.starts[activity] = pin;
            self.finishes[activity] = finish.max(start);
            if self.books_resources[activity] {
                self.profile
                    .reserve(pin, self.finishes[activity], problem.demand(activity));
            }
        }
        for &activity in list {
            let mut earliest = problem.release_dates()[activity];
            for slot in predecessors.range(activity) {
                let pred = predecessors.targets[slot] as usize;
                earliest = earliest.max(self.finishes[pred] + predecessors.lags[slot]);
            }
            if problem.pinned_starts()[activity].is_some() {
                violations += u32::from(earliest > self.starts[activity]);
                continue;
            }
            if let Some(preferred) = preferred
                && let Some(at) = preferred[activity]
            {
                earliest = earliest.max(at);
            }
            let (start, finish) = self.place(activity, earliest, &mut violations);
            self.starts[activity] = start;
            self.finishes[activity] = finish;
        }
        self.fitness(violations)
    }

    #[inline]
    fn place(&mut self, activity: usize, mut earliest: i64, violations: &mut u32) -> (i64, i64) {
        let problem = self.problem;
        loop {
            let Some((start, finish)) = problem.window_from(activity, earliest) else {
                *violations += 1;
                return (earliest, earliest + problem.duration(activity));
            };
            if !self.books_resources[activity] {
                return (start, finish);
            }
            match self
                .profile
                .conflict(start, finish, problem.demand(activity))
            {
                Some(retry) if retry < i64::MAX => earliest = retry,
                Some(_) => {
                    // Only reachable when a demand exceeds a capacity, which `diagnose` rejects.
                    *violations += 1;
                    return (start, finish);
                }
                None => {
                    self.profile
                        .reserve(start, finish, problem.demand(activity));
                    return (start, finish);
                }
            }
        }
    }

    fn fitness(&self, mut violations: u32) -> Fitness {
        let makespan = self.finishes.iter().copied().max().unwrap_or(0);
        if let Some(deadline) = self.problem.deadline() {
            violations += u32::from(makespan > deadline);
        }
        let tardiness = self
            .problem
            .due_dates()
            .iter()
            .zip(&self.finishes)
            .filter_map(|(due, finish)| due.map(|due| (finish - due).max(0)))
            .sum();
        let lateness = match self.problem.objective() {
            crate::rcpsp::Objective::Makespan => 0,
            crate::rcpsp::Objective::Tardiness => tardiness,
        };
        Fitness {
            violations,
            lateness,
            makespan,
            tardiness,
        }
    }

    /// Double justification of the schedule just generated from `list`: right-justify in
    /// order of decreasing finish, then left-justify in order of the right-justified starts.
    /// Replaces `list` with the final order when that is no worse, so the list alone still
    /// reproduces the returned fitness.
    pub(crate) fn justify(&mut self, list: &mut [usize], fitness: Fitness) -> Fitness {
        if !self.can_justify {
            return fitness;
        }
        let problem = self.problem;
        let rank = &problem.topological_rank;
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        order.extend(0..problem.n_activities());
        let finishes = &self.finishes;
        order.sort_unstable_by_key(|&a| (Reverse(finishes[a]), Reverse(rank[a])));
        self.backward(&order);
        let reverse_finishes = &self.reverse_finishes;
        // Latest reverse finish is the earliest real start.
        order.sort_unstable_by_key(|&a| (Reverse(reverse_finishes[a]), rank[a]));
        let improved = self.forward(&order, None);
        let result = if improved <= fitness {
            list.copy_from_slice(&order);
            improved
        } else {
            fitness
        };
        self.order = order;
        result
    }

    /// Serial SGS on the mirrored network (successors act as predecessors), ignoring
    /// release dates: only the resulting order matters.
    fn backward(&mut self, order: &[usize]) {
        self.schedules_generated += 1;
        let problem = self.problem;
        let successors = &problem.network().successors;
        self.profile.clear();
        let mut ignored = 0u32;
        for &activity in order {
            let mut earliest = 0;
            for slot in successors.range(activity) {
                let succ = successors.targets[slot] as usize;
                earliest = earliest.max(self.reverse_finishes[succ] + successors.lags[slot]);
            }
            let (_, finish) = self.place(activity, earliest, &mut ignored);
            self.reverse_finishes[activity] = finish;
        }
    }
}

/// Static priority rules; each yields a value per activity, lower meaning "schedule first".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PriorityRule {
    /// Latest finish time (critical path method, pins respected).
    LatestFinishTime,
    /// Latest start time.
    LatestStartTime,
    /// Minimum total slack.
    MinSlack,
    /// Greatest rank positional weight: own duration plus successors' durations.
    GreatestRankPositionalWeight,
    /// Most immediate successors.
    MostImmediateSuccessors,
    /// Shortest processing time.
    ShortestProcessingTime,
}

impl PriorityRule {
    /// Every rule, in a fixed order.
    pub const ALL: [PriorityRule; 6] = [
        PriorityRule::LatestFinishTime,
        PriorityRule::LatestStartTime,
        PriorityRule::MinSlack,
        PriorityRule::GreatestRankPositionalWeight,
        PriorityRule::MostImmediateSuccessors,
        PriorityRule::ShortestProcessingTime,
    ];
}

/// Earliest starts (releases and pins included) and latest finishes (pins included)
/// ignoring resources.
pub(crate) fn time_window(problem: &Problem) -> (Vec<i64>, Vec<i64>) {
    let network = problem.network();
    let n_activities = problem.n_activities();
    let mut earliest = problem.release_dates().to_vec();
    let mut finish = vec![0i64; n_activities];
    for activity in network.topological_order() {
        if let Some(pin) = problem.pinned_starts()[activity] {
            earliest[activity] = pin;
        }
        finish[activity] = earliest[activity] + problem.duration(activity);
        for (succ, lag) in network.successors(activity) {
            earliest[succ] = earliest[succ].max(finish[activity] + lag);
        }
    }
    let horizon = finish
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(problem.deadline().unwrap_or(i64::MIN));
    let mut latest_finish = vec![horizon; n_activities];
    let order: Vec<usize> = network.topological_order().collect();
    for &activity in order.iter().rev() {
        let mut latest = horizon;
        for (succ, lag) in network.successors(activity) {
            latest = latest.min(latest_finish[succ] - problem.duration(succ) - lag);
        }
        if let Some(pin) = problem.pinned_starts()[activity] {
            latest = latest.min(pin + problem.duration(activity));
        }
        latest_finish[activity] = latest;
    }
    (earliest, latest_finish)
}

/// The value of `rule` for every activity (lower goes first).
pub fn priority_values(problem: &Problem, rule: PriorityRule) -> Vec<i64> {
    let network = problem.network();
    let n_activities = problem.n_activities();
    match rule {
        PriorityRule::LatestFinishTime => time_window(problem).1,
        PriorityRule::LatestStartTime => {
            let latest_finish = time_window(problem).1;
            (0..n_activities)
                .map(|a| latest_finish[a] - problem.duration(a))
                .collect()
        }
        PriorityRule::MinSlack => {
            let (earliest, latest_finish) = time_window(problem);
            (0..n_activities)
                .map(|a| latest_finish[a] - problem.duration(a) - earliest[a])
                .collect()
        }
        PriorityRule::GreatestRankPositionalWeight => (0..n_activities)
            .map(|a| {
                -(problem.duration(a)
                    + network
                        .successors(a)
                        .map(|(s, _)| problem.duration(s))
                        .sum::<i64>())
            })
            .collect(),
        PriorityRule::MostImmediateSuccessors => (0..n_activities)
            .map(|a| -(network.successors(a).count() as i64))
            .collect(),
        PriorityRule::ShortestProcessingTime => network.durations().to_vec(),
    }
}

/// A precedence-feasible activity list: repeatedly takes the eligible activity with the
/// lowest priority value (ties by index).
pub fn priority_list(problem: &Problem, priorities: &[i64]) -> Vec<usize> {
    let network = problem.network();
    let n_activities = problem.n_activities();
    let mut waiting: Vec<usize> = (0..n_activities)
        .map(|a| network.predecessors(a).count())
        .collect();
    let mut eligible: BinaryHeap<Reverse<(i64, usize)>> = (0..n_activities)
        .filter(|&a| waiting[a] == 0)
        .map(|a| Reverse((priorities[a], a)))
        .collect();
    let mut list = Vec::with_capacity(n_activities);
    while let Some(Reverse((_, activity))) = eligible.pop() {
        list.push(activity);
        for (succ, _) in network.successors(activity) {
            waiting[succ] -= 1;
            if waiting[succ] == 0 {
                eligible.push(Reverse((priorities[succ], succ)));
            }
        }
    }
    list
}

fn ensure_feasible(problem: &Problem) -> Result<(), ScheduleError> {
    let conflicts = diagnose(problem);
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(ScheduleError::Infeasible { conflicts })
    }
}

pub(crate) fn not_found(problem: &Problem) -> ScheduleError {
    let what = match (problem.has_pins(), problem.deadline()) {
        (true, Some(_)) => "every pinned start and the deadline",
        (true, None) => "every pinned start",
        (false, Some(_)) => "the deadline",
        (false, None) => "every calendar",
    };
    ScheduleError::NotFound {
        what: what.to_string(),
    }
}

/// Checks that `list` is a permutation of the activities with every arc pointing forward.
pub fn validate_activity_list(problem: &Problem, list: &[usize]) -> Result<(), ScheduleError> {
    let n_activities = problem.n_activities();
    let invalid = |reason: String| Err(ScheduleError::InvalidActivityList { reason });
    if list.len() != n_activities {
        return invalid(format!(
            "{} entries for {n_activities} activities",
            list.len()
        ));
    }
    let mut position = vec![usize::MAX; n_activities];
    for (idx, &activity) in list.iter().enumerate() {
        if activity >= n_activities || position[activity] != usize::MAX {
            return invalid(format!("entry {idx} ({activity}) is unknown or repeated"));
        }
        position[activity] = idx;
    }
    for arc in problem.network().arcs() {
        if position[arc.from] > position[arc.to] {
            return invalid(format!("{} comes after its successor {}", arc.from, arc.to));
        }
    }
    Ok(())
}

/// Serial SGS: schedules the activities of a precedence-feasible `list` one by one, each at
/// its earliest feasible start.
pub fn serial_sgs(problem: &Problem, list: &[usize]) -> Result<Schedule, ScheduleError> {
    ensure_feasible(problem)?;
    validate_activity_list(problem, list)?;
    let mut evaluator = Evaluator::new(problem);
    let fitness = evaluator.forward(list, None);
    if fitness.violations > 0 {
        return Err(not_found(problem));
    }
    Ok(evaluator.schedule())
}

/// Serial SGS followed by double justification; never worse than plain serial SGS on
/// problems without release dates.
pub fn serial_sgs_justified(problem: &Problem, list: &[usize]) -> Result<Schedule, ScheduleError> {
    ensure_feasible(problem)?;
    validate_activity_list(problem, list)?;
    let mut evaluator = Evaluator::new(problem);
    let mut list = list.to_vec();
    let fitness = evaluator.forward(&list, None);
    let fitness = evaluator.justify(&mut list, fitness);
    let replay = evaluator.forward(&list, None);
    debug_assert_eq!(
        replay, fitness,
        "invariant: the justified list reproduces its fitness"
    );
    if fitness.violations > 0 {
        return Err(not_found(problem));
    }
    Ok(evaluator.schedule())
}

/// Parallel SGS: at each decision time, starts the eligible activities that fit, in order of
/// `priorities` (lower first), then advances to the next time something could change.
pub fn parallel_sgs(problem: &Problem, priorities: &[i64]) -> Result<Schedule, ScheduleError> {
    ensure_feasible(problem)?;
    let network = problem.network();
    let n_activities = problem.n_activities();
    let mut profile = Profile::for_problem(problem);
    let mut starts = vec![0i64; n_activities];
    let mut finishes = vec![0i64; n_activities];
    let mut done = vec![false; n_activities];
    let mut waiting: Vec<usize> = (0..n_activities)
        .map(|a| network.predecessors(a).count())
        .collect();
    let books = |a: usize| problem.duration(a) > 0 && problem.demand(a).iter().any(|&d| d > 0);
    for activity in (0..n_activities).filter(|&a| problem.pinned_starts()[a].is_some()) {
        let pin = problem.pinned_starts()[activity].expect("invariant: filtered on pinned");
        let finish = problem
            .window_from(activity, pin)
            .map_or(pin + problem.duration(activity), |w| w.1);
        starts[activity] = pin;
        finishes[activity] = finish;
        if books(activity) {
            profile.reserve(pin, finish, problem.demand(activity));
        }
    }
    let mut eligible: Vec<usize> = (0..n_activities).filter(|&a| waiting[a] == 0).collect();
    let mut remaining = n_activities;
    let mut time = i64::MIN;
    let mut violations = 0u32;
    while remaining > 0 {
        let ready_at = |activity: usize, finishes: &[i64]| {
            network
                .predecessors(activity)
                .map(|(pred, lag)| finishes[pred] + lag)
                .fold(problem.release_dates()[activity], i64::max)
        };
        eligible.sort_unstable_by_key(|&a| (priorities[a], a));
        let mut next_time = i64::MAX;
        let mut started: Vec<usize> = Vec::new();
        for &activity in &eligible {
            let ready = ready_at(activity, &finishes);
            if let Some(pin) = problem.pinned_starts()[activity] {
                violations += u32::from(ready > pin);
                started.push(activity);
                continue;
            }
            if ready > time {
                next_time = next_time.min(ready);
                continue;
            }
            match problem.window_from(activity, time) {
                None => {
                    violations += 1;
                    starts[activity] = time;
                    finishes[activity] = time + problem.duration(activity);
                    started.push(activity);
                }
                Some((start, _)) if start > time => next_time = next_time.min(start),
                Some((start, finish)) => {
                    let conflict = if books(activity) {
                        profile.conflict(start, finish, problem.demand(activity))
                    } else {
                        None
                    };
                    match conflict {
                        Some(retry) => next_time = next_time.min(retry),
                        None => {
                            if books(activity) {
                                profile.reserve(start, finish, problem.demand(activity));
                            }
                            starts[activity] = start;
                            finishes[activity] = finish;
                            started.push(activity);
                        }
                    }
                }
            }
        }
        for &activity in &started {
            done[activity] = true;
            remaining -= 1;
            for (succ, _) in network.successors(activity) {
                waiting[succ] -= 1;
                if waiting[succ] == 0 {
                    eligible.push(succ);
                }
            }
        }
        eligible.retain(|&a| !done[a]);
        if started.is_empty() {
            // Nothing could start now: move to the next moment that can change that.
            time = next_time.max(time.saturating_add(1));
        }
    }
    let schedule = Schedule::new(starts, finishes);
    if violations > 0
        || problem
            .deadline()
            .is_some_and(|deadline| schedule.makespan() > deadline)
    {
        return Err(not_found(problem));
    }
    Ok(schedule)
}

/// Double justification of an existing schedule: its activities in start order go through
/// the serial SGS, a right-justification and a left-justification; the better schedule is
/// returned.
pub fn forward_backward_improvement(
    problem: &Problem,
    schedule: &Schedule,
) -> Result<Schedule, ScheduleError> {
    let rank = &problem.topological_rank;
    let mut list: Vec<usize> = (0..problem.n_activities()).collect();
    list.sort_unstable_by_key(|&a| (schedule.starts()[a], rank[a]));
    if validate_activity_list(problem, &list).is_err() {
        // Negative lags can order a successor first; fall back to topological order.
        list.sort_unstable_by_key(|&a| rank[a]);
    }
    let improved = serial_sgs_justified(problem, &list)?;
    Ok(if improved.makespan() <= schedule.makespan() {
        improved
    } else {
        schedule.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rcpsp::{ProblemBuilder, check_schedule};

    #[test]
    fn profile_finds_earliest_window_where_demand_fits() {
        let mut profile = ResourceProfile::new(&[3]);
        profile.reserve(2, 5, &[2]);
        profile.reserve(7, 9, &[3]);
        assert_eq!(profile.earliest_fit(0, 2, &[1]), Some(0));
        assert_eq!(profile.earliest_fit(0, 3, &[2]), Some(9));
        assert_eq!(profile.earliest_fit(0, 2, &[2]), Some(0));
        assert_eq!(profile.earliest_fit(1, 2, &[2]), Some(5));
        assert_eq!(profile.earliest_fit(0, 1, &[4]), None);
        assert_eq!(profile.usage_at(4), &[2]);
        assert_eq!(profile.usage_at(5), &[0]);
    }

    fn two_chains() -> Problem {
        // Two chains competing for a resource of capacity 2.
        let mut builder = ProblemBuilder::new(vec![2]);
        let a = builder.activity(3, &[2]);
        let b = builder.activity(2, &[1]);
        let c = builder.activity(4, &[1]);
        let d = builder.activity(1, &[2]);
        builder.precedence(a, b, 0).precedence(c, d, 1);
        builder.build().expect("well-formed")
    }

    #[test]
    fn serial_and_parallel_sgs_produce_feasible_schedules() {
        let problem = two_chains();
        for rule in PriorityRule::ALL {
            let priorities = priority_values(&problem, rule);
            let list = priority_list(&problem, &priorities);
            let serial = serial_sgs(&problem, &list).expect("feasible");
            check_schedule(&problem, &serial).expect("serial schedule is valid");
            let parallel = parallel_sgs(&problem, &priorities).expect("feasible");
            check_schedule(&problem, &parallel).expect("parallel schedule is valid");
            let justified = forward_backward_improvement(&problem, &serial).expect("feasible");
            check_schedule(&problem, &justified).expect("justified schedule is valid");
            assert!(justified.makespan() <= serial.makespan());
        }
    }

    #[test]
    fn rejects_activity_list_that_breaks_precedence() {
        let problem = two_chains();
        let error = serial_sgs(&problem, &[1, 0, 2, 3]).expect_err("1 needs 0");
        assert_eq!(
            error.to_string(),
            "activity list is not a precedence-feasible permutation: 0 comes after its successor 1"
        );
    }

    #[test]
    fn sparse_and_dense_profiles_agree() {
        let problem = two_chains();
        assert!(problem.dense_horizon.is_some());
        let list = [2, 0, 3, 1];
        let mut dense = Evaluator::new(&problem);
        let dense_fitness = dense.forward(&list, None);
        let mut sparse = Evaluator::new(&problem);
        sparse.profile = Profile::Sparse(ResourceProfile::new(problem.capacities()));
        assert_eq!(sparse.forward(&list, None), dense_fitness);
        assert_eq!(sparse.starts, dense.starts);
    }
}
