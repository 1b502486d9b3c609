//! The objective decides between a short project and activities on time: the same
//! problem solved for makespan and for tardiness gives the schedule each asks for.

use lockstep_plan::ga::{self, Budget, GaConfig};
use lockstep_plan::{Objective, Problem, ProblemBuilder, check_schedule};

/// One lab (capacity 1). `hotfix` needs it for 3 days and is due by day 3;
/// `feature` needs it for 3 days and is followed by 5 days of `rollout`, which
/// needs no lab. Feature first finishes everything on day 8 but the hotfix late
/// (day 6); hotfix first is on time but ends on day 11.
fn lab_problem(objective: Objective) -> (Problem, usize) {
    let mut builder = ProblemBuilder::new(vec![1]);
    let hotfix = builder.activity(3, &[1]);
    let feature = builder.activity(3, &[1]);
    let rollout = builder.activity(5, &[0]);
    builder.precedence(feature, rollout, 0);
    builder.due(hotfix, 3);
    builder.minimize(objective);
    (builder.build().expect("well-formed"), hotfix)
}

#[test]
fn makespan_first_finishes_early_and_lets_the_due_date_slip() {
    let (problem, hotfix) = lab_problem(Objective::Makespan);
    assert_eq!(problem.objective(), Objective::Makespan);
    let solution =
        ga::solve(&problem, &Budget::schedules(200), &GaConfig::default(), 7).expect("feasible");
    let schedule = solution.schedule();
    check_schedule(&problem, schedule).expect("valid");
    assert_eq!(schedule.makespan(), 8);
    assert_eq!(schedule.finishes()[hotfix], 6);
    assert_eq!(schedule.total_tardiness(&problem), 3);
}

#[test]
fn tardiness_first_keeps_the_due_date_at_the_cost_of_length() {
    let (problem, hotfix) = lab_problem(Objective::Tardiness);
    let solution =
        ga::solve(&problem, &Budget::schedules(200), &GaConfig::default(), 7).expect("feasible");
    let schedule = solution.schedule();
    check_schedule(&problem, schedule).expect("valid");
    assert_eq!(schedule.finishes()[hotfix], 3);
    assert_eq!(schedule.total_tardiness(&problem), 0);
    assert_eq!(schedule.makespan(), 11);
}

#[test]
fn the_default_objective_is_makespan() {
    let mut builder = ProblemBuilder::new(vec![1]);
    builder.activity(1, &[1]);
    assert_eq!(
        builder.build().expect("well-formed").objective(),
        Objective::Makespan
    );
}
