//! PSPLIB reader and solver on a small hand-written instance (not one of the PSPLIB files).

use lockstep_plan::ga::Budget;
use lockstep_plan::psplib::{self, KnownBound, PsplibError};
use lockstep_plan::{check_schedule, sgs};

/// Six real jobs between a dummy source (1) and sink (8) on one resource of capacity 4.
const SMALL_SM: &str = "\
************************************************************************
file with basedata            : handmade.bas
************************************************************************
projects                      :  1
jobs (incl. supersource/sink ):  8
horizon                       :  30
RESOURCES
  - renewable                 :  1   R
  - nonrenewable              :  0   N
  - doubly constrained        :  0   D
************************************************************************
PRECEDENCE RELATIONS:
jobnr.    #modes  #successors   successors
   1        1          4           2   3   4   5
   2        1          1           6
   3        1          1           8
   4        1          1           7
   5        1          1           8
   6        1          1           8
   7        1          1           8
   8        1          0
************************************************************************
REQUESTS/DURATIONS:
jobnr. mode duration  R 1
------------------------------------------------------------------------
  1      1     0       0
  2      1     3       2
  3      1     3       2
  4      1     2       4
  5      1     4       3
  6      1     4       1
  7      1     2       2
  8      1     0       0
************************************************************************
RESOURCEAVAILABILITIES:
  R 1
    4
************************************************************************
";

/// Optimum by exhaustive search: the serial SGS reaches an optimal (active) schedule from
/// some precedence-feasible list, so trying every list finds it.
fn exhaustive_optimum(problem: &lockstep_plan::Problem) -> i64 {
    fn extend(problem: &lockstep_plan::Problem, list: &mut Vec<usize>, best: &mut i64) {
        let n_activities = problem.n_activities();
        if list.len() == n_activities {
            if let Ok(schedule) = sgs::serial_sgs(problem, list) {
                *best = (*best).min(schedule.makespan());
            }
            return;
        }
        for activity in 0..n_activities {
            let ready = !list.contains(&activity)
                && problem
                    .network()
                    .predecessors(activity)
                    .all(|(pred, _)| list.contains(&pred));
            if ready {
                list.push(activity);
                extend(problem, list, best);
                list.pop();
            }
        }
    }
    let mut best = i64::MAX;
    extend(problem, &mut Vec::new(), &mut best);
    best
}

#[test]
fn reads_a_single_mode_instance() {
    let problem = psplib::parse_sm(SMALL_SM).expect("valid instance");
    assert_eq!(problem.n_activities(), 8);
    assert_eq!(problem.capacities(), &[4]);
    assert_eq!(problem.duration(4), 4);
    assert_eq!(problem.demand(4), &[3]);
    assert_eq!(problem.network().successors(0).count(), 4);
    assert_eq!(problem.critical_path_bound(), 7);
}

#[test]
fn solves_a_small_instance_to_its_known_optimum() {
    let problem = psplib::parse_sm(SMALL_SM).expect("valid instance");
    let optimum = exhaustive_optimum(&problem);
    assert_eq!(optimum, 11);
    let solution = psplib::solve(&problem, &Budget::schedules(1_000), 7).expect("feasible");
    check_schedule(&problem, solution.schedule()).expect("valid schedule");
    assert_eq!(solution.makespan(), optimum);
}

#[test]
fn rejects_a_malformed_request_row_with_its_line_number() {
    let broken = SMALL_SM.replace("  5      1     4       3", "  5      1     4       x");
    let error = psplib::parse_sm(&broken).expect_err("malformed");
    assert_eq!(
        error,
        PsplibError::Malformed {
            line: 30,
            reason: "expected an integer, found `x`".into()
        }
    );
    assert_eq!(error.to_string(), "line 30: expected an integer, found `x`");
}

#[test]
fn rejects_a_successor_count_that_does_not_match_the_list() {
    let broken = SMALL_SM.replace(
        "   2        1          1           6",
        "   2        1          2           6",
    );
    let error = psplib::parse_sm(&broken).expect_err("malformed");
    assert_eq!(
        error.to_string(),
        "line 15: job 2 declares 2 successors but lists 1"
    );
}

#[test]
fn rejects_a_truncated_file() {
    let truncated: String = SMALL_SM.lines().take(30).collect::<Vec<_>>().join("\n");
    let error = psplib::parse_sm(&truncated).expect_err("truncated");
    assert_eq!(error.to_string(), "line 31: missing request rows");
}

#[test]
fn reads_optimum_lower_bound_and_best_known_forms() {
    let bounds = psplib::parse_optimum_csv(
        "problem,optimum\nj301_1.sm,43\nj1201_1.sm,104..105\nj1202_3.sm,..103\n",
    )
    .expect("valid csv");
    assert_eq!(
        bounds,
        vec![
            KnownBound {
                instance: "j301_1.sm".into(),
                lower_bound: Some(43),
                best_known: 43
            },
            KnownBound {
                instance: "j1201_1.sm".into(),
                lower_bound: Some(104),
                best_known: 105
            },
            KnownBound {
                instance: "j1202_3.sm".into(),
                lower_bound: None,
                best_known: 103
            },
        ]
    );
    assert!(bounds[0].is_optimal() && !bounds[1].is_optimal());
    let error =
        psplib::parse_optimum_csv("problem,optimum\nj301_1.sm,4x\n").expect_err("malformed");
    assert_eq!(error.to_string(), "line 2: expected a makespan, found `4x`");
}

#[test]
fn summarizes_deviations_like_the_literature() {
    use psplib::{InstanceOutcome, summarize};
    let summary = summarize(&[
        InstanceOutcome {
            makespan: 44,
            critical_path_bound: 40,
            best_known: Some(44),
        },
        InstanceOutcome {
            makespan: 55,
            critical_path_bound: 50,
            best_known: Some(50),
        },
    ]);
    assert_eq!(summary.instances, 2);
    assert!((summary.mean_deviation_from_critical_path - 10.0).abs() < 1e-9);
    assert_eq!(summary.mean_deviation_from_best_known, Some(5.0));
    assert_eq!(summary.matching_best_known, 1);
}

mod hostile_numbers {
    //! Any number of the instance replaced by another (zero, huge, negative, not a
    //! number): the reader refuses it at a line of the file, or the solver schedules it
    //! or says why it cannot. Nothing panics or loops.

    use super::*;
    use proptest::prelude::*;

    const VALUES: [&str; 10] = [
        "0",
        "1",
        "9",
        "5",
        "-1",
        "99",
        "4294967296",
        "99999999999999999999999",
        "x",
        "",
    ];

    /// The byte ranges of the numbers in `text`.
    fn numbers(text: &str) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
            match (c.is_ascii_digit(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    ranges.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        ranges
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn are_refused_at_a_line_or_scheduled(
            picks in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(VALUES.to_vec())), 1..4),
        ) {
            let mut text = SMALL_SM.to_owned();
            for (index, value) in &picks {
                let ranges = numbers(&text);
                let (start, end) = ranges[index.index(ranges.len())];
                text.replace_range(start..end, value);
            }
            let lines = text.lines().count();
            match psplib::parse_sm(&text) {
                Err(PsplibError::Malformed { line, reason }) => {
                    prop_assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}: {reason}");
                    prop_assert!(!reason.is_empty());
                }
                Err(PsplibError::Problem(error)) => prop_assert!(!error.to_string().is_empty()),
                Ok(problem) => {
                    if let Ok(solution) = psplib::solve(&problem, &Budget::schedules(50), 1) {
                        prop_assert!(check_schedule(&problem, solution.schedule()).is_ok());
                    }
                }
            }
        }
    }
}
