//! Activity-on-node precedence networks in compressed sparse row form.
//!
//! A [`Network`] holds activities `0..n` with integer durations and finish-to-start arcs
//! with a lag (`start(to) >= finish(from) + lag`). Construction builds successor and
//! predecessor adjacency as flat offset arrays and a topological order (Kahn's algorithm),
//! and rejects a cycle by naming every activity on it. It deliberately knows nothing about
//! resources, calendars or what an activity stands for, and it never allocates per node:
//! networks of millions of activities are expected.

use thiserror::Error;

/// A finish-to-start precedence arc: `to` starts no earlier than `from` finishes plus `lag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Precedence {
    /// Index of the activity that must finish first.
    pub from: usize,
    /// Index of the activity that waits.
    pub to: usize,
    /// Time units between the finish of `from` and the start of `to` (may be 0 or negative).
    pub lag: i64,
}

impl Precedence {
    /// An arc with zero lag.
    pub fn new(from: usize, to: usize) -> Precedence {
        Precedence { from, to, lag: 0 }
    }

    /// An arc with the given lag.
    pub fn with_lag(from: usize, to: usize, lag: i64) -> Precedence {
        Precedence { from, to, lag }
    }
}

/// Why a network could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetworkError {
    /// The arcs close a cycle; `cycle` lists its activities in arc order (the last one
    /// precedes the first).
    #[error("dependency cycle: {}", format_cycle(cycle))]
    CycleDetected {
        /// Activities on the cycle, in order.
        cycle: Vec<usize>,
    },
    /// An arc names an activity that does not exist.
    #[error("arc {arc_idx} refers to activity {activity}, but there are only {n_activities}")]
    ActivityOutOfRange {
        /// Position of the arc in the input.
        arc_idx: usize,
        /// The unknown activity index.
        activity: usize,
        /// Number of activities.
        n_activities: usize,
    },
    /// A duration is negative.
    #[error("activity {activity} has negative duration {duration}")]
    NegativeDuration {
        /// The activity.
        activity: usize,
        /// Its duration.
        duration: i64,
    },
    /// More activities or arcs than the compact `u32` indexing supports.
    #[error("network too large: {n_activities} activities, {n_arcs} arcs")]
    TooLarge {
        /// Number of activities.
        n_activities: usize,
        /// Number of arcs.
        n_arcs: usize,
    },
}

fn format_cycle(cycle: &[usize]) -> String {
    let mut text: Vec<String> = cycle.iter().map(usize::to_string).collect();
    if let Some(first) = cycle.first() {
        text.push(first.to_string());
    }
    text.join(" → ")
}

/// Compressed adjacency of one direction: `targets[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Adjacency {
    pub(crate) offsets: Vec<u32>,
    pub(crate) targets: Vec<u32>,
    pub(crate) lags: Vec<i64>,
}

impl Adjacency {
    fn build(n_activities: usize, arcs: &[Precedence], forward: bool) -> Adjacency {
        let mut offsets = vec![0u32; n_activities + 1];
        for arc in arcs {
            let key = if forward { arc.from } else { arc.to };
            offsets[key + 1] += 1;
        }
        for idx in 0..n_activities {
            offsets[idx + 1] += offsets[idx];
        }
        let mut cursor: Vec<u32> = offsets[..n_activities].to_vec();
        let mut targets = vec![0u32; arcs.len()];
        let mut lags = vec![0i64; arcs.len()];
        for arc in arcs {
            let (key, other) = if forward {
                (arc.from, arc.to)
            } else {
                (arc.to, arc.from)
            };
            let slot = cursor[key] as usize;
            cursor[key] += 1;
            targets[slot] = other as u32;
            lags[slot] = arc.lag;
        }
        Adjacency {
            offsets,
            targets,
            lags,
        }
    }

    #[inline]
    pub(crate) fn range(&self, activity: usize) -> std::ops::Range<usize> {
        self.offsets[activity] as usize..self.offsets[activity + 1] as usize
    }

    /// `(neighbour, lag)` pairs of `activity`.
    #[inline]
    pub(crate) fn iter(&self, activity: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.range(activity)
            .map(move |slot| (self.targets[slot] as usize, self.lags[slot]))
    }
}

/// A validated, acyclic precedence network.
#[derive(Debug, Clone)]
pub struct Network {
    durations: Vec<i64>,
    pub(crate) successors: Adjacency,
    pub(crate) predecessors: Adjacency,
    topological_order: Vec<u32>,
    n_arcs: usize,
}

impl Network {
    /// Builds the network, rejecting negative durations, unknown activities and cycles.
    pub fn new(durations: Vec<i64>, arcs: &[Precedence]) -> Result<Network, NetworkError> {
        let n_activities = durations.len();
        if n_activities >= u32::MAX as usize || arcs.len() >= u32::MAX as usize {
            return Err(NetworkError::TooLarge {
                n_activities,
                n_arcs: arcs.len(),
            });
        }
        if let Some((activity, &duration)) = durations.iter().enumerate().find(|(_, d)| **d < 0) {
            return Err(NetworkError::NegativeDuration { activity, duration });
        }
        for (arc_idx, arc) in arcs.iter().enumerate() {
            for activity in [arc.from, arc.to] {
                if activity >= n_activities {
                    return Err(NetworkError::ActivityOutOfRange {
                        arc_idx,
                        activity,
                        n_activities,
                    });
                }
            }
        }
        let successors = Adjacency::build(n_activities, arcs, true);
        let predecessors = Adjacency::build(n_activities, arcs, false);
        let topological_order = kahn_order(n_activities, &successors, &predecessors)?;
        Ok(Network {
            durations,
            successors,
            predecessors,
            topological_order,
            n_arcs: arcs.len(),
        })
    }

    /// Number of activities.
    pub fn len(&self) -> usize {
        self.durations.len()
    }

    /// True when there are no activities.
    pub fn is_empty(&self) -> bool {
        self.durations.is_empty()
    }

    /// Number of arcs.
    pub fn n_arcs(&self) -> usize {
        self.n_arcs
    }

    /// Duration of every activity.
    pub fn durations(&self) -> &[i64] {
        &self.durations
    }

    /// Activities in an order where every arc points forward.
    pub fn topological_order(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.topological_order
            .iter()
            .map(|&activity| activity as usize)
    }

    pub(crate) fn topological_slice(&self) -> &[u32] {
        &self.topological_order
    }

    /// `(successor, lag)` pairs of `activity`.
    pub fn successors(&self, activity: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.successors.iter(activity)
    }

    /// `(predecessor, lag)` pairs of `activity`.
    pub fn predecessors(&self, activity: usize) -> impl Iterator<Item = (usize, i64)> + '_ {
        self.predecessors.iter(activity)
    }

    /// Every arc, grouped by predecessor.
    pub fn arcs(&self) -> impl Iterator<Item = Precedence> + '_ {
        (0..self.len()).flat_map(move |from| {
            self.successors(from)
                .map(move |(to, lag)| Precedence { from, to, lag })
        })
    }
}

fn kahn_order(
    n_activities: usize,
    successors: &Adjacency,
    predecessors: &Adjacency,
) -> Result<Vec<u32>, NetworkError> {
    let mut in_degree: Vec<u32> = (0..n_activities)
        .map(|activity| predecessors.offsets[activity + 1] - predecessors.offsets[activity])
        .collect();
    let mut order: Vec<u32> = Vec::with_capacity(n_activities);
    order.extend((0..n_activities as u32).filter(|&activity| in_degree[activity as usize] == 0));
    // `order` doubles as the FIFO queue: everything before `head` has been expanded.
    let mut head = 0;
    while head < order.len() {
        let activity = order[head] as usize;
        head += 1;
        for slot in successors.range(activity) {
            let next = successors.targets[slot];
            in_degree[next as usize] -= 1;
            if in_degree[next as usize] == 0 {
                order.push(next);
            }
        }
    }
    if order.len() == n_activities {
        return Ok(order);
    }
    Err(NetworkError::CycleDetected {
        cycle: find_cycle(&in_degree, predecessors),
    })
}

/// Finds one cycle among the activities Kahn's algorithm could not order.
///
/// Every unordered activity keeps at least one unordered predecessor, so walking backwards
/// through unordered predecessors must revisit an activity; the revisited stretch is a cycle.
fn find_cycle(in_degree: &[u32], predecessors: &Adjacency) -> Vec<usize> {
    let start = in_degree
        .iter()
        .position(|&degree| degree > 0)
        .expect("invariant: an incomplete topological order leaves an activity with predecessors");
    let mut visit_step = vec![usize::MAX; in_degree.len()];
    let mut walk: Vec<usize> = Vec::new();
    let mut current = start;
    while visit_step[current] == usize::MAX {
        visit_step[current] = walk.len();
        walk.push(current);
        current = predecessors
            .iter(current)
            .map(|(pred, _)| pred)
            .find(|&pred| in_degree[pred] > 0)
            .expect("invariant: an unordered activity has an unordered predecessor");
    }
    let mut cycle = walk.split_off(visit_step[current]);
    // The walk followed arcs backwards; reverse it so the cycle reads in arc direction.
    cycle.reverse();
    cycle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arcs(pairs: &[(usize, usize)]) -> Vec<Precedence> {
        pairs
            .iter()
            .map(|&(from, to)| Precedence::new(from, to))
            .collect()
    }

    fn assert_is_cycle(cycle: &[usize], pairs: &[(usize, usize)]) {
        assert!(!cycle.is_empty());
        for idx in 0..cycle.len() {
            let from = cycle[idx];
            let to = cycle[(idx + 1) % cycle.len()];
            assert!(pairs.contains(&(from, to)), "{from} → {to} is not an arc");
        }
    }

    #[test]
    fn rejects_dependency_that_closes_a_cycle() {
        let pairs = [(0, 1), (1, 2), (2, 3), (3, 1), (3, 4)];
        let error = Network::new(vec![1; 5], &arcs(&pairs)).expect_err("cycle");
        let NetworkError::CycleDetected { cycle } = &error else {
            panic!("{error}")
        };
        let mut sorted = cycle.clone();
        sorted.sort();
        assert_eq!(sorted, vec![1, 2, 3]);
        assert_is_cycle(cycle, &pairs);
        assert!(error.to_string().starts_with("dependency cycle: "));
    }

    #[test]
    fn names_a_self_loop_as_a_one_activity_cycle() {
        let error = Network::new(vec![1; 2], &arcs(&[(0, 1), (1, 1)])).expect_err("cycle");
        assert_eq!(error, NetworkError::CycleDetected { cycle: vec![1] });
    }

    #[test]
    fn orders_every_arc_forward() {
        let pairs = [(3, 1), (1, 0), (3, 2), (2, 0), (4, 3)];
        let network = Network::new(vec![1; 5], &arcs(&pairs)).expect("acyclic");
        let mut position = [0; 5];
        for (rank, activity) in network.topological_order().enumerate() {
            position[activity] = rank;
        }
        for (from, to) in pairs {
            assert!(position[from] < position[to]);
        }
    }

    #[test]
    fn rejects_unknown_activity_and_negative_duration() {
        assert!(matches!(
            Network::new(vec![1; 2], &arcs(&[(0, 2)])),
            Err(NetworkError::ActivityOutOfRange { activity: 2, .. })
        ));
        assert!(matches!(
            Network::new(vec![1, -3], &[]),
            Err(NetworkError::NegativeDuration {
                activity: 1,
                duration: -3
            })
        ));
    }
}
