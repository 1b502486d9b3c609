//! Critical path method over a [`Network`]: earliest and latest times, slack, critical paths.
//!
//! Times are integers on the caller's axis; the project starts at `project_start` (default
//! 0) and an activity may carry a release date (earliest start). With a deadline, latest
//! times count back from the deadline, so slack includes the spare time before it. This
//! module ignores resources and calendars on purpose: it gives the bound that resource
//! scheduling starts from. The passes are two sweeps over flat arrays in topological order,
//! with no hashing, so a million activities take well under a second.

use crate::network::Network;
use thiserror::Error;

/// Inputs beyond the network.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpmOptions<'a> {
    /// Time at which activities may start when they have no release date.
    pub project_start: i64,
    /// Earliest start per activity (must have one entry per activity when given).
    pub release_dates: Option<&'a [i64]>,
    /// Latest allowed project finish.
    pub deadline: Option<i64>,
}

/// Why the critical path could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CpmError {
    /// Release dates were given but not one per activity.
    #[error("expected {expected} release dates, got {actual}")]
    ReleaseDatesLength {
        /// Number of activities.
        expected: usize,
        /// Number of release dates given.
        actual: usize,
    },
    /// Even without resources the project cannot finish by the deadline.
    #[error(
        "deadline {deadline} < critical-path finish {finish} via {}",
        crate::format_path(path)
    )]
    DeadlineBelowCriticalPath {
        /// The requested deadline.
        deadline: i64,
        /// The earliest possible project finish.
        finish: i64,
        /// One critical path that forces `finish`.
        path: Vec<usize>,
    },
}

/// Result of the critical path method. All vectors are indexed by activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpmSchedule {
    earliest_start: Vec<i64>,
    earliest_finish: Vec<i64>,
    latest_start: Vec<i64>,
    latest_finish: Vec<i64>,
    free_slack: Vec<i64>,
    makespan: i64,
    horizon: i64,
    project_start: i64,
}

impl CpmSchedule {
    /// Earliest start of every activity.
    pub fn earliest_start(&self) -> &[i64] {
        &self.earliest_start
    }
    /// Earliest finish of every activity.
    pub fn earliest_finish(&self) -> &[i64] {
        &self.earliest_finish
    }
    /// Latest start that does not delay the project finish (or the deadline).
    pub fn latest_start(&self) -> &[i64] {
        &self.latest_start
    }
    /// Latest finish that does not delay the project finish (or the deadline).
    pub fn latest_finish(&self) -> &[i64] {
        &self.latest_finish
    }
    /// Total slack of `activity`: how far it can slip without delaying the project.
    pub fn total_slack(&self, activity: usize) -> i64 {
        self.latest_start[activity] - self.earliest_start[activity]
    }
    /// Free slack: how far each activity can slip without delaying any successor.
    pub fn free_slack(&self) -> &[i64] {
        &self.free_slack
    }
    /// Earliest project finish: the latest earliest finish (the project start if empty).
    pub fn makespan(&self) -> i64 {
        self.makespan
    }
    /// Length of the critical path: makespan minus project start.
    pub fn duration(&self) -> i64 {
        self.makespan - self.project_start
    }
    /// Whether `activity` lies on a critical path: its total slack equals the project's
    /// spare time (zero without a deadline).
    pub fn is_critical(&self, activity: usize) -> bool {
        self.total_slack(activity) == self.horizon - self.makespan
    }
    /// All critical activities in index order.
    pub fn critical_activities(&self) -> Vec<usize> {
        (0..self.earliest_start.len())
            .filter(|&activity| self.is_critical(activity))
            .collect()
    }

    fn is_tight(&self, from: usize, to: usize, lag: i64) -> bool {
        self.is_critical(from)
            && self.is_critical(to)
            && self.earliest_start[to] == self.earliest_finish[from] + lag
    }

    fn is_path_start(&self, network: &Network, activity: usize) -> bool {
        self.is_critical(activity)
            && !network
                .predecessors(activity)
                .any(|(pred, lag)| self.is_tight(pred, activity, lag))
    }

    /// One critical path, from an activity that starts as early as the project or its release
    /// date allows to one that finishes at the makespan. Empty for an empty network.
    pub fn critical_path(&self, network: &Network) -> Vec<usize> {
        let Some(mut current) =
            (0..network.len()).find(|&activity| self.is_path_start(network, activity))
        else {
            return Vec::new();
        };
        let mut path = vec![current];
        while let Some((next, _)) = network
            .successors(current)
            .find(|&(succ, lag)| self.is_tight(current, succ, lag))
        {
            path.push(next);
            current = next;
        }
        path
    }

    /// Up to `limit` distinct critical paths (there can be exponentially many).
    pub fn critical_paths(&self, network: &Network, limit: usize) -> Vec<Vec<usize>> {
        let mut paths = Vec::new();
        let mut path = Vec::new();
        // Explicit stack of (activity, next successor slot to try) to avoid recursion depth
        // limits on long chains.
        for start in (0..network.len()).filter(|&activity| self.is_path_start(network, activity)) {
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            path.clear();
            path.push(start);
            while let Some(&mut (activity, ref mut cursor)) = stack.last_mut() {
                if paths.len() >= limit {
                    return paths;
                }
                let tight_next = network
                    .successors(activity)
                    .enumerate()
                    .skip(*cursor)
                    .find(|&(_, (succ, lag))| self.is_tight(activity, succ, lag));
                match tight_next {
                    Some((slot, (succ, _))) => {
                        *cursor = slot + 1;
                        stack.push((succ, 0));
                        path.push(succ);
                    }
                    None => {
                        let is_leaf = !network
                            .successors(activity)
                            .any(|(succ, lag)| self.is_tight(activity, succ, lag));
                        if is_leaf {
                            paths.push(path.clone());
                        }
                        stack.pop();
                        path.pop();
                    }
                }
            }
        }
        paths
    }
}

/// Runs the forward and backward passes.
pub fn critical_path(network: &Network, options: &CpmOptions<'_>) -> Result<CpmSchedule, CpmError> {
    let n_activities = network.len();
    let durations = network.durations();
    if let Some(releases) = options.release_dates
        && releases.len() != n_activities
    {
        return Err(CpmError::ReleaseDatesLength {
            expected: n_activities,
            actual: releases.len(),
        });
    }
    let mut earliest_start: Vec<i64> = match options.release_dates {
        Some(releases) => releases
            .iter()
            .map(|&release| release.max(options.project_start))
            .collect(),
        None => vec![options.project_start; n_activities],
    };
    let mut earliest_finish = vec![0i64; n_activities];
    let order = network.topological_slice();
    let successors = &network.successors;
    for &activity in order {
        let activity = activity as usize;
        let finish = earliest_start[activity] + durations[activity];
        earliest_finish[activity] = finish;
        for slot in successors.range(activity) {
            let succ = successors.targets[slot] as usize;
            let candidate = finish + successors.lags[slot];
            if candidate > earliest_start[succ] {
                earliest_start[succ] = candidate;
            }
        }
    }
    let makespan = earliest_finish
        .iter()
        .copied()
        .max()
        .unwrap_or(options.project_start);
    let horizon = options.deadline.unwrap_or(makespan);
    let mut latest_finish = vec![horizon; n_activities];
    let mut latest_start = vec![0i64; n_activities];
    let mut free_slack = vec![0i64; n_activities];
    for &activity in order.iter().rev() {
        let activity = activity as usize;
        let mut finish = horizon;
        let mut free = horizon - earliest_finish[activity];
        for slot in successors.range(activity) {
            let succ = successors.targets[slot] as usize;
            let lag = successors.lags[slot];
            finish = finish.min(latest_start[succ] - lag);
            free = free.min(earliest_start[succ] - lag - earliest_finish[activity]);
        }
        latest_finish[activity] = finish;
        latest_start[activity] = finish - durations[activity];
        free_slack[activity] = free;
    }
    let schedule = CpmSchedule {
        earliest_start,
        earliest_finish,
        latest_start,
        latest_finish,
        free_slack,
        makespan,
        horizon,
        project_start: options.project_start,
    };
    if horizon < makespan {
        // Recompute without the deadline to name a path that explains the bound.
        let relaxed = critical_path(
            network,
            &CpmOptions {
                deadline: None,
                ..*options
            },
        )?;
        return Err(CpmError::DeadlineBelowCriticalPath {
            deadline: horizon,
            finish: makespan,
            path: relaxed.critical_path(network),
        });
    }
    Ok(schedule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Precedence;

    fn diamond() -> Network {
        // 0 → 1 → 3, 0 → 2 → 3; 2 is the long branch.
        let arcs = [
            Precedence::new(0, 1),
            Precedence::new(0, 2),
            Precedence::new(1, 3),
            Precedence::with_lag(2, 3, 1),
        ];
        Network::new(vec![2, 3, 5, 1], &arcs).expect("acyclic")
    }

    #[test]
    fn computes_times_slack_and_the_critical_path() {
        let network = diamond();
        let cpm = critical_path(&network, &CpmOptions::default()).expect("no deadline");
        assert_eq!(cpm.earliest_start(), &[0, 2, 2, 8]);
        assert_eq!(cpm.makespan(), 9);
        assert_eq!(cpm.latest_start(), &[0, 5, 2, 8]);
        assert_eq!(cpm.total_slack(1), 3);
        assert_eq!(cpm.free_slack(), &[0, 3, 0, 0]);
        assert_eq!(cpm.critical_activities(), vec![0, 2, 3]);
        assert_eq!(cpm.critical_path(&network), vec![0, 2, 3]);
        assert_eq!(cpm.critical_paths(&network, 10), vec![vec![0, 2, 3]]);
    }

    #[test]
    fn enumerates_every_critical_path_of_a_tie() {
        let arcs = [
            Precedence::new(0, 1),
            Precedence::new(0, 2),
            Precedence::new(1, 3),
            Precedence::new(2, 3),
        ];
        let network = Network::new(vec![1, 4, 4, 1], &arcs).expect("acyclic");
        let cpm = critical_path(&network, &CpmOptions::default()).expect("ok");
        assert_eq!(
            cpm.critical_paths(&network, 10),
            vec![vec![0, 1, 3], vec![0, 2, 3]]
        );
        assert_eq!(cpm.critical_paths(&network, 1).len(), 1);
    }

    #[test]
    fn honours_release_dates_and_counts_slack_to_the_deadline() {
        let network = diamond();
        let releases = [0, 6, 0, 0];
        let options = CpmOptions {
            release_dates: Some(&releases),
            deadline: Some(12),
            ..CpmOptions::default()
        };
        let cpm = critical_path(&network, &options).expect("deadline is reachable");
        assert_eq!(cpm.earliest_start()[1], 6);
        assert_eq!(cpm.earliest_start()[3], 9);
        assert_eq!(cpm.makespan(), 10);
        assert_eq!(cpm.total_slack(1), 2);
        assert_eq!(cpm.critical_activities(), vec![1, 3]);
        assert_eq!(cpm.critical_path(&network), vec![1, 3]);
    }

    #[test]
    fn rejects_deadline_below_the_critical_path_and_names_it() {
        let network = diamond();
        let options = CpmOptions {
            deadline: Some(7),
            ..CpmOptions::default()
        };
        let error = critical_path(&network, &options).expect_err("deadline too early");
        assert_eq!(
            error,
            CpmError::DeadlineBelowCriticalPath {
                deadline: 7,
                finish: 9,
                path: vec![0, 2, 3]
            }
        );
        assert_eq!(
            error.to_string(),
            "deadline 7 < critical-path finish 9 via 0 → 2 → 3"
        );
    }
}
