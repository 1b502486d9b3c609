//! Seeded generators of random layered DAGs and RCPSP instances, for benchmarks and
//! property tests.
//!
//! Activities are split into layers of fixed width; every activity outside the first layer
//! gets predecessors drawn mostly from the previous layer and sometimes from any earlier
//! one, which gives long chains and wide fan-in like real plans. The generators are
//! deterministic in their seed and make no claim to follow any published instance
//! generator (use PSPLIB for comparable figures).

use crate::network::Precedence;
use crate::rcpsp::{Problem, ProblemBuilder};
use crate::rng::SeededRng;

/// Shape of a random layered DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayeredDagConfig {
    /// Number of activities.
    pub n_activities: usize,
    /// Activities per layer.
    pub layer_width: usize,
    /// Predecessors drawn per activity outside the first layer (duplicates are dropped).
    pub arcs_per_activity: usize,
    /// Durations are drawn from `0..=max_duration`.
    pub max_duration: i64,
    /// Lags are drawn from `0..=max_lag`.
    pub max_lag: i64,
}

/// Durations and arcs of a random layered DAG.
pub fn layered_dag(config: &LayeredDagConfig, seed: u64) -> (Vec<i64>, Vec<Precedence>) {
    let mut rng = SeededRng::new(seed);
    let width = config.layer_width.max(1);
    let durations: Vec<i64> = (0..config.n_activities)
        .map(|_| rng.below(config.max_duration.max(0) as usize + 1) as i64)
        .collect();
    let mut arcs = Vec::with_capacity(config.n_activities * config.arcs_per_activity);
    let mut chosen: Vec<usize> = Vec::with_capacity(config.arcs_per_activity);
    for activity in width.min(config.n_activities)..config.n_activities {
        let layer_start = activity / width * width;
        let previous_start = layer_start - width;
        chosen.clear();
        for _ in 0..config.arcs_per_activity {
            // Mostly the previous layer; one arc in five reaches further back.
            let pred = if rng.below(5) == 0 {
                rng.below(layer_start)
            } else {
                previous_start + rng.below(width)
            };
            if !chosen.contains(&pred) {
                chosen.push(pred);
                let lag = rng.below(config.max_lag.max(0) as usize + 1) as i64;
                arcs.push(Precedence::with_lag(pred, activity, lag));
            }
        }
    }
    (durations, arcs)
}

/// Shape of a random RCPSP instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomProblemConfig {
    /// The precedence network.
    pub dag: LayeredDagConfig,
    /// Number of renewable resources.
    pub n_resources: usize,
    /// Capacity of every resource.
    pub capacity: i64,
    /// Demands are drawn from `0..=max_demand` (keep it at most `capacity` for feasibility).
    pub max_demand: i64,
}

/// A random RCPSP instance.
pub fn random_problem(config: &RandomProblemConfig, seed: u64) -> Problem {
    let (durations, arcs) = layered_dag(&config.dag, seed);
    let mut rng = SeededRng::derive(seed, 1);
    let mut builder = ProblemBuilder::new(vec![config.capacity; config.n_resources]);
    let mut demand = vec![0i64; config.n_resources];
    for duration in durations {
        for slot in demand.iter_mut() {
            *slot = rng.below(config.max_demand.max(0) as usize + 1) as i64;
        }
        builder.activity(duration, &demand);
    }
    for arc in arcs {
        builder.precedence(arc.from, arc.to, arc.lag);
    }
    builder
        .build()
        .expect("invariant: layered arcs point forward and sizes match")
}
