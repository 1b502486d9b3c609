//! Properties every produced schedule must have, on random problems: precedence with lags,
//! capacity at every instant, calendars and pinned starts hold; the same seed gives the
//! same result; the critical path method gives non-negative slack and zero slack on
//! critical activities.

use lockstep_plan::calendar::{ActivityMode, Calendar, Interval};
use lockstep_plan::ga::{self, Budget, GaConfig};
use lockstep_plan::generate::{LayeredDagConfig, layered_dag};
use lockstep_plan::{
    CpmOptions, Network, Problem, ProblemBuilder, ScheduleError, check_schedule, critical_path,
    replan, sgs,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Scenario {
    n_activities: usize,
    layer_width: usize,
    n_resources: usize,
    seed: u64,
    with_calendars: bool,
    pin_every: usize,
}

fn scenarios() -> impl Strategy<Value = Scenario> {
    (
        2usize..30,
        1usize..6,
        0usize..3,
        any::<u64>(),
        any::<bool>(),
        0usize..4,
    )
        .prop_map(
            |(n_activities, layer_width, n_resources, seed, with_calendars, pin_every)| Scenario {
                n_activities,
                layer_width,
                n_resources,
                seed,
                with_calendars,
                pin_every,
            },
        )
}

/// Builds the scenario's problem; pins come from a schedule of the unpinned problem, so
/// the pinned problem is feasible by construction.
fn build(scenario: &Scenario, pins: Option<&[i64]>) -> Problem {
    let dag = LayeredDagConfig {
        n_activities: scenario.n_activities,
        layer_width: scenario.layer_width,
        arcs_per_activity: 2,
        max_duration: 6,
        max_lag: 2,
    };
    let (durations, arcs) = layered_dag(&dag, scenario.seed);
    let mut builder = ProblemBuilder::new(vec![4; scenario.n_resources]);
    let mut draw = scenario.seed;
    let calendar = builder.add_calendar(Calendar::new(
        (0..200).map(|day| Interval::new(day * 10, day * 10 + 7)),
    ));
    for (activity, &duration) in durations.iter().enumerate() {
        let demand: Vec<i64> = (0..scenario.n_resources)
            .map(|_| lockstep_plan::rng::splitmix64(&mut draw) as i64 & 3)
            .collect();
        builder.activity(duration, &demand);
        if scenario.with_calendars && activity % 3 == 1 {
            let mode = if activity % 2 == 0 {
                ActivityMode::Interruptible
            } else {
                ActivityMode::NonInterruptible
            };
            builder.use_calendar(activity, calendar, mode);
        }
        if activity % 4 == 3 {
            builder.release(activity, (activity as i64) % 5);
        }
    }
    for arc in arcs {
        builder.precedence(arc.from, arc.to, arc.lag);
    }
    if let (Some(starts), true) = (pins, scenario.pin_every > 0) {
        for activity in (0..scenario.n_activities).step_by(scenario.pin_every + 1) {
            builder.pin(activity, starts[activity]);
        }
    }
    builder.build().expect("generated problems are well-formed")
}

fn assert_valid_or_not_found(
    problem: &Problem,
    result: Result<&lockstep_plan::Schedule, &ScheduleError>,
) {
    match result {
        Ok(schedule) => {
            if let Err(violation) = check_schedule(problem, schedule) {
                panic!("invalid schedule: {violation}");
            }
        }
        // Pins make the problem hard for heuristics; a reported failure is acceptable, an
        // invalid schedule is not.
        Err(ScheduleError::NotFound { .. }) => {
            assert!(problem.pinned_starts().iter().any(Option::is_some))
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_scheduler_respects_precedence_capacity_calendars_and_pins(scenario in scenarios()) {
        let unpinned = build(&scenario, None);
        let budget = Budget::schedules(200);
        let base = ga::solve(&unpinned, &budget, &GaConfig::default(), scenario.seed)
            .expect("unpinned problems with demand <= capacity are feasible");
        check_schedule(&unpinned, base.schedule()).expect("valid");
        let problem = build(&scenario, Some(base.schedule().starts()));

        let solved = ga::solve(&problem, &budget, &GaConfig::default(), scenario.seed);
        assert_valid_or_not_found(&problem, solved.as_ref().map(|s| s.schedule()));

        for rule in sgs::PriorityRule::ALL {
            let priorities = sgs::priority_values(&problem, rule);
            let list = sgs::priority_list(&problem, &priorities);
            assert_valid_or_not_found(&problem, sgs::serial_sgs(&problem, &list).as_ref());
            assert_valid_or_not_found(&problem, sgs::parallel_sgs(&problem, &priorities).as_ref());
        }

        let previous: Vec<Option<i64>> = base.schedule().starts().iter().map(|&s| Some(s)).collect();
        let replanned = replan(&problem, &previous);
        assert_valid_or_not_found(&problem, replanned.as_ref().map(|r| r.schedule()));
        if let Ok(replanned) = replanned {
            // Unpinning nothing else changed, so nothing needs to move.
            if scenario.pin_every == 0 {
                prop_assert!(replanned.moved().is_empty());
            }
        }
    }

    #[test]
    fn same_seed_gives_the_same_solution(scenario in scenarios()) {
        let problem = build(&scenario, None);
        let config = GaConfig { islands: 3, ..GaConfig::default() };
        let first = ga::solve(&problem, &Budget::schedules(300), &config, scenario.seed).expect("feasible");
        let second = ga::solve(&problem, &Budget::schedules(300), &config, scenario.seed).expect("feasible");
        prop_assert_eq!(first, second);
    }

    #[test]
    fn cpm_slack_is_non_negative_and_zero_on_critical_activities(
        n_activities in 1usize..200,
        layer_width in 1usize..20,
        seed in any::<u64>(),
    ) {
        let dag = LayeredDagConfig { n_activities, layer_width, arcs_per_activity: 3, max_duration: 9, max_lag: 3 };
        let (durations, arcs) = layered_dag(&dag, seed);
        let network = Network::new(durations.clone(), &arcs).expect("layered DAGs are acyclic");
        let cpm = critical_path(&network, &CpmOptions::default()).expect("no deadline");
        for activity in 0..n_activities {
            prop_assert!(cpm.total_slack(activity) >= 0);
            prop_assert!(cpm.free_slack()[activity] >= 0);
            prop_assert!(cpm.free_slack()[activity] <= cpm.total_slack(activity));
        }
        for arc in &arcs {
            prop_assert!(cpm.earliest_start()[arc.to] >= cpm.earliest_finish()[arc.from] + arc.lag);
        }
        let critical = cpm.critical_activities();
        prop_assert!(!critical.is_empty());
        for &activity in &critical {
            prop_assert_eq!(cpm.total_slack(activity), 0);
        }
        let path = cpm.critical_path(&network);
        let length: i64 = path.iter().map(|&a| durations[a]).sum::<i64>()
            + path.windows(2).map(|pair| {
                arcs.iter().filter(|arc| arc.from == pair[0] && arc.to == pair[1]).map(|arc| arc.lag).max().unwrap_or(0)
            }).sum::<i64>();
        prop_assert_eq!(length, cpm.makespan());
    }
}
