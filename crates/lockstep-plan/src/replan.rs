//! Incremental re-planning: a new schedule for a changed problem that keeps activities at
//! their previous start whenever that is still feasible, and reports what moved.
//!
//! The serial SGS takes activities in order of their previous start (new activities
//! after all of them, by their earliest start) and uses each previous start as a floor, so
//! an activity moves later only when a changed constraint pushes it. It moves earlier only
//! when that gains something: if dropping every floor would give a better objective (a
//! shorter project, less lateness), floors are released in start order until the gain is
//! reached, and then every release that is not needed for it is taken back, so the
//! activities that move are the ones the gain needs. Stability is the point of
//! re-planning; a full optimisation is `ga::solve`. The caller maps old activity
//! identities onto the new indices.

use crate::rcpsp::{Problem, Schedule, ScheduleError, diagnose};
use crate::sgs::{Evaluator, Fitness, not_found, priority_list, time_window};

/// An activity whose start changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Move {
    /// The activity.
    pub activity: usize,
    /// Its start in the previous schedule.
    pub previous_start: i64,
    /// Its start now.
    pub new_start: i64,
}

/// The result of re-planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replan {
    schedule: Schedule,
    moved: Vec<Move>,
}

impl Replan {
    /// The new schedule (every hard constraint holds).
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
    /// Activities that had a previous start and now start elsewhere, in index order.
    pub fn moved(&self) -> &[Move] {
        &self.moved
    }
}

/// Re-plans `problem` given `previous_starts` (one per activity of the *new* problem;
/// `None` for activities that are new).
pub fn replan(problem: &Problem, previous_starts: &[Option<i64>]) -> Result<Replan, ScheduleError> {
    let n_activities = problem.n_activities();
    if previous_starts.len() != n_activities {
        return Err(ScheduleError::PreviousStartsLength {
            expected: n_activities,
            actual: previous_starts.len(),
        });
    }
    let conflicts = diagnose(problem);
    if !conflicts.is_empty() {
        return Err(ScheduleError::Infeasible { conflicts });
    }
    let earliest = time_window(problem).0;
    // New activities come after every planned one in the list: where they compete
    // for a resource, what was already booked keeps it.
    let after_planned = previous_starts.iter().flatten().max().map_or(0, |s| s + 1);
    let priorities: Vec<i64> = (0..n_activities)
        .map(|activity| {
            previous_starts[activity].unwrap_or(after_planned.saturating_add(earliest[activity]))
        })
        .collect();
    let list = priority_list(problem, &priorities);
    let mut evaluator = Evaluator::new(problem);
    let mut floors = previous_starts.to_vec();
    let mut fitness = evaluator.forward(&list, Some(&floors));
    if fitness.violations > 0 {
        // Holding everything at its old start blocked a pin or the deadline: let activities
        // move earlier too, keeping the old order.
        floors.fill(None);
        fitness = evaluator.forward(&list, None);
    }
    if fitness.violations > 0 {
        return Err(not_found(problem));
    }
    release_floors_that_gain(&mut evaluator, &list, &mut floors, fitness);
    evaluator.forward(&list, Some(&floors));
    let schedule = evaluator.schedule();
    let moved = previous_starts
        .iter()
        .enumerate()
        .filter_map(|(activity, previous)| {
            let previous_start = (*previous)?;
            let new_start = schedule.starts()[activity];
            (new_start != previous_start).then_some(Move {
                activity,
                previous_start,
                new_start,
            })
        })
        .collect();
    Ok(Replan { schedule, moved })
}

/// Most floors considered for release: each costs up to two schedule generations.
const MAX_RELEASES: usize = 1_000;

/// Drops the floors (previous starts) whose release the best objective needs: all of
/// them in start order until the schedule is as good as it gets, then each back again,
/// latest first, where the schedule stays as good without its release.
fn release_floors_that_gain(
    evaluator: &mut Evaluator<'_>,
    list: &[usize],
    floors: &mut [Option<i64>],
    stable: Fitness,
) {
    let stable_starts = evaluator.starts.clone();
    let free = evaluator.forward(list, None);
    if free >= stable {
        return;
    }
    let mut candidates: Vec<usize> = (0..floors.len())
        .filter(|&a| floors[a].is_some() && evaluator.starts[a] < stable_starts[a])
        .collect();
    if candidates.len() > MAX_RELEASES {
        return;
    }
    candidates.sort_unstable_by_key(|&a| (stable_starts[a], a));
    let mut best = stable;
    let mut needed = 0;
    let mut saved = Vec::with_capacity(candidates.len());
    for (idx, &activity) in candidates.iter().enumerate() {
        saved.push(floors[activity].take());
        let fitness = evaluator.forward(list, Some(floors));
        if fitness < best {
            best = fitness;
            needed = idx + 1;
        }
    }
    if needed == 0 {
        for (&activity, floor) in candidates.iter().zip(saved) {
            floors[activity] = floor;
        }
        return;
    }
    for (&activity, &floor) in candidates[needed..].iter().zip(&saved[needed..]) {
        floors[activity] = floor;
    }
    for (&activity, &floor) in candidates[..needed].iter().zip(&saved[..needed]).rev() {
        floors[activity] = floor;
        if evaluator.forward(list, Some(floors)) > best {
            floors[activity] = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rcpsp::{ProblemBuilder, check_schedule};

    #[test]
    fn a_new_activity_does_not_take_a_booked_resource() {
        // Capacity 1: two booked activities back to back, then a new, short one that
        // could start first. It waits; nothing booked moves.
        let mut builder = ProblemBuilder::new(vec![1]);
        builder.activity(3, &[1]);
        builder.activity(3, &[1]);
        builder.activity(1, &[1]);
        let problem = builder.build().expect("well-formed");
        let replanned = replan(&problem, &[Some(0), Some(3), None]).expect("feasible");
        check_schedule(&problem, replanned.schedule()).expect("valid");
        assert_eq!(replanned.schedule().starts(), &[0, 3, 6]);
        assert!(replanned.moved().is_empty());
    }

    #[test]
    fn moves_earlier_only_what_the_gain_needs() {
        // Capacity 1: `lab` then `queue` held it back to back, and `follow` came after
        // `queue`; `side`, unrelated, was booked at 2. The first booking is gone (a new
        // problem without it), so the queue and what follows it can start 3 days
        // sooner; `side` gains nothing by moving and stays.
        let mut builder = ProblemBuilder::new(vec![1]);
        let queue = builder.activity(3, &[1]);
        let follow = builder.activity(2, &[0]);
        let side = builder.activity(1, &[0]);
        builder.precedence(queue, follow, 0);
        let problem = builder.build().expect("well-formed");
        let replanned = replan(&problem, &[Some(3), Some(6), Some(2)]).expect("feasible");
        check_schedule(&problem, replanned.schedule()).expect("valid");
        assert_eq!(replanned.schedule().starts()[side], 2);
        assert_eq!(replanned.schedule().starts(), &[0, 3, 2]);
        assert_eq!(
            replanned.moved(),
            &[
                Move {
                    activity: queue,
                    previous_start: 3,
                    new_start: 0
                },
                Move {
                    activity: follow,
                    previous_start: 6,
                    new_start: 3
                }
            ]
        );
    }

    #[test]
    fn keeps_unaffected_activities_and_reports_the_ones_that_moved() {
        // Resource of capacity 1: three independent activities in a row.
        let build = |first_duration: i64| {
            let mut builder = ProblemBuilder::new(vec![1]);
            builder.activity(first_duration, &[1]);
            builder.activity(2, &[1]);
            builder.activity(2, &[0]);
            builder.activity(3, &[1]);
            builder.precedence(2, 3, 0);
            builder.build().expect("well-formed")
        };
        let previous = [Some(0), Some(2), Some(0), Some(4)];
        let unchanged = replan(&build(2), &previous).expect("feasible");
        assert!(unchanged.moved().is_empty());
        let longer = build(3);
        let replanned = replan(&longer, &previous).expect("feasible");
        check_schedule(&longer, replanned.schedule()).expect("valid");
        assert_eq!(
            replanned.moved(),
            &[
                Move {
                    activity: 1,
                    previous_start: 2,
                    new_start: 3
                },
                Move {
                    activity: 3,
                    previous_start: 4,
                    new_start: 5
                }
            ]
        );
    }
}
