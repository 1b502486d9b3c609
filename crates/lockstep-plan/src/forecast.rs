//! Monte Carlo forecast of finish times from three-point duration estimates.
//!
//! Each trial samples every duration (triangular, or PERT-beta drawn as a ratio of two
//! Marsaglia–Tsang gamma variates) and runs an earliest-start pass over the precedence arcs
//! plus, optionally, the *resource-flow arcs* of a planned schedule
//! ([`resource_flow_arcs`]): fixing who hands resources to whom keeps every trial
//! resource-feasible without re-scheduling. Trials are independent streams derived from the
//! seed by trial index and run in parallel, so the result does not depend on thread count.
//! An activity with a working calendar spends its sampled duration in working time
//! ([`Calendar::finish_after_work`], continuous so that 2.4 days stay 2.4 days); pins and
//! release dates enter as earliest starts.

use crate::calendar::Calendar;
use crate::network::{Network, NetworkError, Precedence};
use crate::rcpsp::{Problem, Schedule};
use crate::rng::SeededRng;
use rayon::prelude::*;
use thiserror::Error;

/// Optimistic, most likely and pessimistic duration of one activity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    optimistic: f64,
    most_likely: f64,
    pessimistic: f64,
}

impl Estimate {
    /// Requires finite `0 <= optimistic <= most_likely <= pessimistic`.
    pub fn new(
        optimistic: f64,
        most_likely: f64,
        pessimistic: f64,
    ) -> Result<Estimate, ForecastError> {
        let ordered = 0.0 <= optimistic && optimistic <= most_likely && most_likely <= pessimistic;
        if !(ordered && pessimistic.is_finite()) {
            return Err(ForecastError::InvalidEstimate {
                optimistic,
                most_likely,
                pessimistic,
            });
        }
        Ok(Estimate {
            optimistic,
            most_likely,
            pessimistic,
        })
    }
    /// A duration known exactly.
    pub fn fixed(duration: f64) -> Result<Estimate, ForecastError> {
        Estimate::new(duration, duration, duration)
    }
    /// Optimistic duration.
    pub fn optimistic(&self) -> f64 {
        self.optimistic
    }
    /// Most likely duration.
    pub fn most_likely(&self) -> f64 {
        self.most_likely
    }
    /// Pessimistic duration.
    pub fn pessimistic(&self) -> f64 {
        self.pessimistic
    }
}

/// Shape of the duration distribution between the optimistic and pessimistic values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationDistribution {
    /// Triangular with its mode at the most likely value.
    Triangular,
    /// PERT-beta: beta with shape `1 + 4·(m−o)/(p−o)` and `1 + 4·(p−m)/(p−o)`.
    PertBeta,
}

/// What to simulate and report.
#[derive(Debug, Clone, Copy)]
pub struct ForecastConfig<'a> {
    /// Number of trials.
    pub trials: usize,
    /// Seed of the whole simulation.
    pub seed: u64,
    /// Duration distribution.
    pub distribution: DurationDistribution,
    /// Percentiles to report, each in `(0, 100]`, e.g. `[50.0, 85.0, 95.0]`.
    pub percentiles: &'a [f64],
    /// Activities whose finish time is reported separately.
    pub milestones: &'a [usize],
    /// Project finish whose probability is reported.
    pub target: Option<f64>,
    /// Earliest start per activity (release dates, pins); all 0 when `None`.
    pub earliest_starts: Option<&'a [f64]>,
    /// Working calendar per activity: its sampled duration is working time there,
    /// paused outside it (interruptible); an activity without one, or all when `None`,
    /// takes its duration in elapsed time.
    pub calendars: Option<&'a [Option<&'a Calendar>]>,
}

/// Why a forecast could not run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ForecastError {
    /// An estimate is not ordered or not finite.
    #[error("invalid estimate ({optimistic}, {most_likely}, {pessimistic}): need 0 <= o <= m <= p")]
    InvalidEstimate {
        /// Optimistic value.
        optimistic: f64,
        /// Most likely value.
        most_likely: f64,
        /// Pessimistic value.
        pessimistic: f64,
    },
    /// Not one estimate (or earliest start) per activity.
    #[error("expected {expected} {what}, got {actual}")]
    Length {
        /// What was counted.
        what: &'static str,
        /// Activities in the network.
        expected: usize,
        /// Entries given.
        actual: usize,
    },
    /// A milestone is not an activity.
    #[error("milestone {activity} is not an activity")]
    UnknownMilestone {
        /// The index given.
        activity: usize,
    },
    /// A percentile is outside `(0, 100]`.
    #[error("percentile {percentile} is outside (0, 100]")]
    InvalidPercentile {
        /// The value given.
        percentile: f64,
    },
    /// Zero trials were requested.
    #[error("at least one trial is needed")]
    NoTrials,
    /// The extra arcs made the network invalid.
    #[error(transparent)]
    Network(#[from] NetworkError),
}

/// Percentiles of one finish time.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishDistribution {
    /// `(percentile, finish)` pairs in the order requested (nearest-rank method).
    pub percentiles: Vec<(f64, f64)>,
    /// Mean finish.
    pub mean: f64,
}

/// Result of a forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Project finish (latest activity finish).
    pub project: FinishDistribution,
    /// Finish of each requested milestone, in the order requested.
    pub milestones: Vec<(usize, FinishDistribution)>,
    /// Fraction of trials finishing at or before the target.
    pub probability_by_target: Option<f64>,
    /// Per activity: fraction of trials in which it was on a critical path.
    pub criticality: Vec<f64>,
}

/// Resource-flow arcs of a resource-feasible `schedule`: for each resource, units are handed
/// from activities that have finished to activities that start, preferring existing
/// predecessors and then the latest finisher. Adding the arcs where units change hands
/// keeps every delayed variant of the schedule resource-feasible (Artigues, Michelon and
/// Reusser 2003). Arcs already in the network are not repeated.
pub fn resource_flow_arcs(problem: &Problem, schedule: &Schedule) -> Vec<Precedence> {
    let network = problem.network();
    let starts = schedule.starts();
    let finishes = schedule.finishes();
    let mut by_start: Vec<usize> = (0..problem.n_activities())
        .filter(|&a| finishes[a] > starts[a])
        .collect();
    by_start.sort_unstable_by_key(|&a| (starts[a], problem.topological_rank[a]));
    let mut arcs = Vec::new();
    // A holder is (activity or None for the initial stock, units held, release time).
    let mut holders: Vec<(Option<usize>, i64, i64)> = Vec::new();
    for resource in 0..problem.n_resources() {
        holders.clear();
        holders.push((None, problem.capacities()[resource], i64::MIN));
        for &activity in &by_start {
            let mut needed = problem.demand(activity)[resource];
            if needed == 0 {
                continue;
            }
            let is_pred = |holder: Option<usize>| {
                holder.is_some_and(|h| network.predecessors(activity).any(|(pred, _)| pred == h))
            };
            holders.sort_by_key(|&(holder, _, release)| {
                (!is_pred(holder), std::cmp::Reverse(release))
            });
            for (holder, units, release) in holders.iter_mut() {
                if needed == 0 {
                    break;
                }
                if *release > starts[activity] || *units == 0 {
                    continue;
                }
                let moved = needed.min(*units);
                *units -= moved;
                needed -= moved;
                if let Some(from) = *holder
                    && !is_pred(Some(from))
                {
                    arcs.push(Precedence::new(from, activity));
                }
            }
            holders.retain(|&(_, units, _)| units > 0);
            holders.push((
                Some(activity),
                problem.demand(activity)[resource],
                finishes[activity],
            ));
        }
    }
    arcs.sort_unstable_by_key(|arc| (arc.from, arc.to));
    arcs.dedup();
    arcs
}

/// Per-activity sampling parameters, precomputed once.
#[derive(Debug, Clone, Copy)]
struct Sampler {
    low: f64,
    range: f64,
    /// Triangular: `(m − o) / (p − o)`. PERT: gamma constants of both shapes.
    mode_fraction: f64,
    alpha_d: f64,
    alpha_c: f64,
    beta_d: f64,
    beta_c: f64,
}

impl Sampler {
    fn new(estimate: &Estimate) -> Sampler {
        let range = estimate.pessimistic - estimate.optimistic;
        let mode_fraction = if range > 0.0 {
            (estimate.most_likely - estimate.optimistic) / range
        } else {
            0.5
        };
        let alpha = 1.0 + 4.0 * mode_fraction;
        let beta = 1.0 + 4.0 * (1.0 - mode_fraction);
        let (alpha_d, beta_d) = (alpha - 1.0 / 3.0, beta - 1.0 / 3.0);
        Sampler {
            low: estimate.optimistic,
            range,
            mode_fraction,
            alpha_d,
            alpha_c: 1.0 / (9.0 * alpha_d).sqrt(),
            beta_d,
            beta_c: 1.0 / (9.0 * beta_d).sqrt(),
        }
    }

    #[inline]
    fn triangular(&self, rng: &mut SeededRng) -> f64 {
        if self.range == 0.0 {
            return self.low;
        }
        let u = rng.next_f64();
        let fraction = if u < self.mode_fraction {
            (u * self.mode_fraction).sqrt()
        } else {
            1.0 - ((1.0 - u) * (1.0 - self.mode_fraction)).sqrt()
        };
        self.low + self.range * fraction
    }

    #[inline]
    fn pert(&self, rng: &mut SeededRng, normal: &Ziggurat) -> f64 {
        if self.range == 0.0 {
            return self.low;
        }
        let x = gamma(rng, normal, self.alpha_d, self.alpha_c);
        let y = gamma(rng, normal, self.beta_d, self.beta_c);
        self.low + self.range * (x / (x + y))
    }
}

/// Marsaglia and Tsang (2000) gamma variate for shape `>= 1`, given `d = shape − 1/3` and
/// `c = 1 / sqrt(9d)`. The squeeze accepts most draws without a logarithm.
#[inline]
fn gamma(rng: &mut SeededRng, normal: &Ziggurat, d: f64, c: f64) -> f64 {
    loop {
        let (x, u) = normal.sample_with_uniform(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let x2 = x * x;
        if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// Marsaglia and Tsang's (2000) ziggurat for standard normal variates, 128 layers. The
/// tables are computed per forecast rather than kept in a global, so the module holds no
/// state; a draw is usually one random word, one multiply and one comparison, several
/// times cheaper than the polar method, which matters at 10^8 gamma draws per forecast.
#[derive(Debug, Clone)]
struct Ziggurat {
    k: [u32; 128],
    w: [f64; 128],
    f: [f64; 128],
}

impl Ziggurat {
    const R: f64 = 3.442_619_855_899;

    fn new() -> Ziggurat {
        let m1 = 2_147_483_648.0f64;
        let volume = 9.912_563_035_262_17e-3;
        let mut dn = Ziggurat::R;
        let mut tn = dn;
        let q = volume / (-0.5 * dn * dn).exp();
        let mut k = [0u32; 128];
        let mut w = [0f64; 128];
        let mut f = [0f64; 128];
        k[0] = ((dn / q) * m1) as u32;
        k[1] = 0;
        w[0] = q / m1;
        w[127] = dn / m1;
        f[0] = 1.0;
        f[127] = (-0.5 * dn * dn).exp();
        for idx in (1..=126).rev() {
            dn = (-2.0 * (volume / dn + (-0.5 * dn * dn).exp()).ln()).sqrt();
            k[idx + 1] = ((dn / tn) * m1) as u32;
            tn = dn;
            f[idx] = (-0.5 * dn * dn).exp();
            w[idx] = dn / m1;
        }
        Ziggurat { k, w, f }
    }

    /// A standard normal variate and a uniform one in `(0, 1]`, independent of each other.
    /// The normal takes bits 0..7 and 32..64 of a random word; on the fast path (about 99%
    /// of draws) the uniform is made of the 25 bits in between, which saves the generator
    /// call a gamma variate's acceptance test would otherwise cost. Its resolution of
    /// 2^-25 moves that test's acceptance probability by less than 10^-7.
    #[inline]
    fn sample_with_uniform(&self, rng: &mut SeededRng) -> (f64, f64) {
        const SPARE_BITS: u32 = 25;
        loop {
            let bits = rng.next_u64();
            let hz = (bits >> 32) as u32 as i32;
            let layer = (bits & 127) as usize;
            let x = f64::from(hz) * self.w[layer];
            if hz.unsigned_abs() < self.k[layer] {
                let spare = ((bits >> 7) & ((1 << SPARE_BITS) - 1)) as f64;
                return (x, (spare + 0.5) / f64::from(1u32 << SPARE_BITS));
            }
            if let Some(x) = self.outside_the_core(hz, layer, x, rng) {
                return (x, 1.0 - rng.next_f64());
            }
        }
    }

    /// The slow path of a draw whose point fell outside the layer's core rectangle: the
    /// tail or the wedge test; `None` rejects the draw.
    #[cold]
    fn outside_the_core(&self, hz: i32, layer: usize, x: f64, rng: &mut SeededRng) -> Option<f64> {
        if layer == 0 {
            // Tail beyond R: Marsaglia's exponential rejection.
            loop {
                let tail = -(1.0 - rng.next_f64()).ln() / Ziggurat::R;
                let y = -(1.0 - rng.next_f64()).ln();
                if y + y >= tail * tail {
                    return Some(if hz > 0 {
                        Ziggurat::R + tail
                    } else {
                        -Ziggurat::R - tail
                    });
                }
            }
        }
        (self.f[layer] + rng.next_f64() * (self.f[layer - 1] - self.f[layer])
            < (-0.5 * x * x).exp())
        .then_some(x)
    }
}

/// The network relabelled in topological order, predecessors in flat arrays, so a trial
/// is one sequential sweep.
struct TrialGraph {
    /// Original activity at each position.
    activity_at: Vec<usize>,
    pred_offsets: Vec<u32>,
    pred_positions: Vec<u32>,
    pred_lags: Vec<f64>,
}

impl TrialGraph {
    fn new(network: &Network) -> TrialGraph {
        let activity_at: Vec<usize> = network.topological_order().collect();
        let mut position = vec![0u32; activity_at.len()];
        for (pos, &activity) in activity_at.iter().enumerate() {
            position[activity] = pos as u32;
        }
        let mut pred_offsets = Vec::with_capacity(activity_at.len() + 1);
        let mut pred_positions = Vec::with_capacity(network.n_arcs());
        let mut pred_lags = Vec::with_capacity(network.n_arcs());
        pred_offsets.push(0u32);
        for &activity in &activity_at {
            for (pred, lag) in network.predecessors(activity) {
                pred_positions.push(position[pred]);
                pred_lags.push(lag as f64);
            }
            pred_offsets.push(pred_positions.len() as u32);
        }
        TrialGraph {
            activity_at,
            pred_offsets,
            pred_positions,
            pred_lags,
        }
    }
}

/// Runs the simulation over `network` plus `extra_arcs` (typically [`resource_flow_arcs`]).
pub fn forecast(
    network: &Network,
    extra_arcs: &[Precedence],
    estimates: &[Estimate],
    config: &ForecastConfig<'_>,
) -> Result<Forecast, ForecastError> {
    let n_activities = network.len();
    // Every per-activity input must cover the network exactly.
    let lengths = [
        ("estimates", Some(estimates.len())),
        ("earliest starts", config.earliest_starts.map(<[f64]>::len)),
        (
            "calendars",
            config.calendars.map(<[Option<&Calendar>]>::len),
        ),
    ];
    for (what, actual) in lengths {
        if let Some(actual) = actual
            && actual != n_activities
        {
            return Err(ForecastError::Length {
                what,
                expected: n_activities,
                actual,
            });
        }
    }
    if let Some(&activity) = config.milestones.iter().find(|&&m| m >= n_activities) {
        return Err(ForecastError::UnknownMilestone { activity });
    }
    if let Some(&percentile) = config
        .percentiles
        .iter()
        .find(|&&p| !(p > 0.0 && p <= 100.0))
    {
        return Err(ForecastError::InvalidPercentile { percentile });
    }
    if config.trials == 0 {
        return Err(ForecastError::NoTrials);
    }
    let combined;
    let network = if extra_arcs.is_empty() {
        network
    } else {
        let arcs: Vec<Precedence> = network.arcs().chain(extra_arcs.iter().copied()).collect();
        combined = Network::new(network.durations().to_vec(), &arcs)?;
        &combined
    };
    let graph = TrialGraph::new(network);
    let normal = Ziggurat::new();
    let samplers: Vec<Sampler> = graph
        .activity_at
        .iter()
        .map(|&a| Sampler::new(&estimates[a]))
        .collect();
    let calendars: Vec<Option<&Calendar>> = match config.calendars {
        Some(calendars) => graph.activity_at.iter().map(|&a| calendars[a]).collect(),
        None => vec![None; n_activities],
    };
    let earliest: Vec<f64> = match config.earliest_starts {
        Some(earliest) => graph.activity_at.iter().map(|&a| earliest[a]).collect(),
        None => vec![0.0; n_activities],
    };
    let mut position = vec![0usize; n_activities];
    for (pos, &activity) in graph.activity_at.iter().enumerate() {
        position[activity] = pos;
    }
    let milestone_positions: Vec<usize> = config.milestones.iter().map(|&m| position[m]).collect();
    let stride = 1 + milestone_positions.len();
    let mut finishes = vec![0.0f64; config.trials * stride];
    const TRIALS_PER_TASK: usize = 32;
    let critical_counts: Vec<u32> = finishes
        .par_chunks_mut(TRIALS_PER_TASK * stride)
        .enumerate()
        .map(|(task_idx, rows)| {
            let mut start = vec![0.0f64; n_activities];
            let mut finish = vec![0.0f64; n_activities];
            let mut critical = vec![false; n_activities];
            let mut counts = vec![0u32; n_activities];
            for (row_idx, row) in rows.chunks_mut(stride).enumerate() {
                let trial = task_idx * TRIALS_PER_TASK + row_idx;
                let mut rng = SeededRng::derive(config.seed, trial as u64);
                let makespan = match config.distribution {
                    DurationDistribution::Triangular => run_trial(
                        &graph,
                        &earliest,
                        &calendars,
                        &mut start,
                        &mut finish,
                        |pos| samplers[pos].triangular(&mut rng),
                    ),
                    DurationDistribution::PertBeta => run_trial(
                        &graph,
                        &earliest,
                        &calendars,
                        &mut start,
                        &mut finish,
                        |pos| samplers[pos].pert(&mut rng, &normal),
                    ),
                };
                mark_critical(&graph, &start, &finish, makespan, &mut critical);
                for (count, &is_critical) in counts.iter_mut().zip(&critical) {
                    *count += u32::from(is_critical);
                }
                row[0] = makespan;
                for (slot, &pos) in row[1..].iter_mut().zip(&milestone_positions) {
                    *slot = finish[pos];
                }
            }
            counts
        })
        .reduce(
            || vec![0u32; n_activities],
            |mut total, part| {
                for (sum, count) in total.iter_mut().zip(part) {
                    *sum += count;
                }
                total
            },
        );
    let column = |col: usize| -> Vec<f64> { finishes.chunks(stride).map(|row| row[col]).collect() };
    let project_finishes = column(0);
    let probability_by_target = config.target.map(|target| {
        project_finishes
            .iter()
            .filter(|&&finish| finish <= target)
            .count() as f64
            / config.trials as f64
    });
    let project = summarize(project_finishes, config.percentiles);
    let milestones = config
        .milestones
        .iter()
        .enumerate()
        .map(|(idx, &activity)| (activity, summarize(column(idx + 1), config.percentiles)))
        .collect();
    let mut criticality = vec![0.0; n_activities];
    for (pos, &activity) in graph.activity_at.iter().enumerate() {
        criticality[activity] = f64::from(critical_counts[pos]) / config.trials as f64;
    }
    Ok(Forecast {
        project,
        milestones,
        probability_by_target,
        criticality,
    })
}

/// One earliest-start pass with sampled durations; returns the project finish. `start`
/// is when an activity is ready (the latest of its bounds), which for one in a calendar
/// may be outside working time.
#[inline]
fn run_trial(
    graph: &TrialGraph,
    earliest: &[f64],
    calendars: &[Option<&Calendar>],
    start: &mut [f64],
    finish: &mut [f64],
    mut sample: impl FnMut(usize) -> f64,
) -> f64 {
    let mut makespan = 0.0f64;
    for pos in 0..start.len() {
        let mut at = earliest[pos];
        for slot in graph.pred_offsets[pos] as usize..graph.pred_offsets[pos + 1] as usize {
            let candidate = finish[graph.pred_positions[slot] as usize] + graph.pred_lags[slot];
            if candidate > at {
                at = candidate;
            }
        }
        let duration = sample(pos);
        let end = calendars[pos]
            .and_then(|calendar| calendar.finish_after_work(at, duration))
            .unwrap_or(at + duration);
        start[pos] = at;
        finish[pos] = end;
        if end > makespan {
            makespan = end;
        }
    }
    makespan
}

/// Marks activities on a chain of tight arcs that ends at the project finish, walking
/// backwards from the finishing activities through the predecessors that bound each
/// critical start, so non-critical activities cost one comparison. Equality is exact
/// because a start is the maximum of the very sums compared here.
fn mark_critical(
    graph: &TrialGraph,
    start: &[f64],
    finish: &[f64],
    makespan: f64,
    critical: &mut [bool],
) {
    for (flag, &end) in critical.iter_mut().zip(finish) {
        *flag = end == makespan;
    }
    for pos in (0..start.len()).rev() {
        if !critical[pos] {
            continue;
        }
        for slot in graph.pred_offsets[pos] as usize..graph.pred_offsets[pos + 1] as usize {
            let pred = graph.pred_positions[slot] as usize;
            if finish[pred] + graph.pred_lags[slot] == start[pos] {
                critical[pred] = true;
            }
        }
    }
}

fn summarize(mut values: Vec<f64>, percentiles: &[f64]) -> FinishDistribution {
    values.sort_unstable_by(f64::total_cmp);
    let n_values = values.len();
    let mean = values.iter().sum::<f64>() / n_values as f64;
    let percentiles = percentiles
        .iter()
        .map(|&p| {
            let rank = ((p / 100.0) * n_values as f64).ceil() as usize;
            (p, values[rank.clamp(1, n_values) - 1])
        })
        .collect();
    FinishDistribution { percentiles, mean }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimates(triples: &[(f64, f64, f64)]) -> Vec<Estimate> {
        triples
            .iter()
            .map(|&(o, m, p)| Estimate::new(o, m, p).expect("ordered"))
            .collect()
    }

    #[test]
    fn samplers_stay_within_bounds_and_match_their_means() {
        let estimate = Estimate::new(2.0, 4.0, 12.0).expect("ordered");
        let sampler = Sampler::new(&estimate);
        let normal = Ziggurat::new();
        let mut rng = SeededRng::new(3);
        let n_draws = 200_000;
        let (mut triangular_sum, mut pert_sum) = (0.0, 0.0);
        for _ in 0..n_draws {
            let t = sampler.triangular(&mut rng);
            let p = sampler.pert(&mut rng, &normal);
            assert!((2.0..=12.0).contains(&t) && (2.0..=12.0).contains(&p));
            triangular_sum += t;
            pert_sum += p;
        }
        // Triangular mean (o + m + p) / 3 = 6; PERT mean (o + 4m + p) / 6 = 5.
        assert!((triangular_sum / n_draws as f64 - 6.0).abs() < 0.05);
        assert!((pert_sum / n_draws as f64 - 5.0).abs() < 0.05);
    }

    #[test]
    fn ziggurat_draws_have_standard_normal_moments_and_an_independent_uniform() {
        let normal = Ziggurat::new();
        let mut rng = SeededRng::new(5);
        let n_draws = 400_000;
        let pairs: Vec<(f64, f64)> = (0..n_draws)
            .map(|_| normal.sample_with_uniform(&mut rng))
            .collect();
        let uniforms: Vec<f64> = pairs.iter().map(|&(_, u)| u).collect();
        assert!(uniforms.iter().all(|&u| u > 0.0 && u <= 1.0));
        let u_mean = uniforms.iter().sum::<f64>() / n_draws as f64;
        let u_variance = uniforms
            .iter()
            .map(|u| (u - u_mean) * (u - u_mean))
            .sum::<f64>()
            / n_draws as f64;
        assert!((u_mean - 0.5).abs() < 0.005, "uniform mean {u_mean}");
        assert!(
            (u_variance - 1.0 / 12.0).abs() < 0.002,
            "uniform variance {u_variance}"
        );
        // The gamma acceptance test pairs u with x²: they must not be correlated.
        let covariance = pairs
            .iter()
            .map(|&(x, u)| (x * x - 1.0) * (u - 0.5))
            .sum::<f64>()
            / n_draws as f64;
        assert!(
            covariance.abs() < 0.003,
            "covariance of x² and u {covariance}"
        );
        let draws: Vec<f64> = pairs.iter().map(|&(x, _)| x).collect();
        let mean = draws.iter().sum::<f64>() / n_draws as f64;
        let variance = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n_draws as f64;
        let beyond_two = draws.iter().filter(|x| x.abs() > 2.0).count() as f64 / n_draws as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.01, "variance {variance}");
        assert!(
            (beyond_two - 0.0455).abs() < 0.002,
            "tail mass {beyond_two}"
        );
    }

    #[test]
    fn fixed_durations_give_the_critical_path_and_its_criticality() {
        let arcs = [
            Precedence::new(0, 1),
            Precedence::new(0, 2),
            Precedence::new(1, 3),
            Precedence::new(2, 3),
        ];
        let network = Network::new(vec![0; 4], &arcs).expect("acyclic");
        let config = ForecastConfig {
            trials: 50,
            seed: 1,
            distribution: DurationDistribution::PertBeta,
            percentiles: &[50.0, 95.0],
            milestones: &[1],
            target: Some(8.0),
            earliest_starts: None,
            calendars: None,
        };
        let fixed = estimates(&[
            (1.0, 1.0, 1.0),
            (2.0, 2.0, 2.0),
            (5.0, 5.0, 5.0),
            (1.0, 1.0, 1.0),
        ]);
        let result = forecast(&network, &[], &fixed, &config).expect("valid");
        assert_eq!(result.project.percentiles, vec![(50.0, 7.0), (95.0, 7.0)]);
        assert_eq!(
            result.milestones,
            vec![(
                1,
                FinishDistribution {
                    percentiles: vec![(50.0, 3.0), (95.0, 3.0)],
                    mean: 3.0
                }
            )]
        );
        assert_eq!(result.probability_by_target, Some(1.0));
        assert_eq!(result.criticality, vec![1.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn same_seed_gives_same_forecast() {
        let arcs = [Precedence::new(0, 1), Precedence::new(0, 2)];
        let network = Network::new(vec![0; 3], &arcs).expect("acyclic");
        let spread = estimates(&[(1.0, 2.0, 6.0), (1.0, 3.0, 4.0), (2.0, 2.5, 5.0)]);
        let config = ForecastConfig {
            trials: 1000,
            seed: 9,
            distribution: DurationDistribution::Triangular,
            percentiles: &[50.0, 85.0],
            milestones: &[],
            target: Some(6.0),
            earliest_starts: None,
            calendars: None,
        };
        let first = forecast(&network, &[], &spread, &config).expect("valid");
        let second = forecast(&network, &[], &spread, &config).expect("valid");
        assert_eq!(first, second);
        assert!(first.criticality[1] > 0.0 && first.criticality[2] > 0.0);
    }

    #[test]
    fn inputs_that_do_not_cover_the_network_are_refused_by_name() {
        let network = Network::new(vec![0; 2], &[Precedence::new(0, 1)]).expect("acyclic");
        let two = estimates(&[(1.0, 2.0, 3.0), (1.0, 2.0, 3.0)]);
        let config = ForecastConfig {
            trials: 10,
            seed: 1,
            distribution: DurationDistribution::PertBeta,
            percentiles: &[50.0],
            milestones: &[],
            target: None,
            earliest_starts: None,
            calendars: None,
        };
        let refused = |estimates: &[Estimate], config: &ForecastConfig<'_>| match forecast(
            &network,
            &[],
            estimates,
            config,
        ) {
            Err(ForecastError::Length {
                what,
                expected: 2,
                actual: 1,
            }) => what,
            other => panic!("expected a length error, got {other:?}"),
        };
        assert_eq!(refused(&two[..1], &config), "estimates");
        let one_start = [0.0];
        let starts = ForecastConfig {
            earliest_starts: Some(&one_start),
            ..config
        };
        assert_eq!(refused(&two, &starts), "earliest starts");
        let one_calendar = [None];
        let calendars = ForecastConfig {
            calendars: Some(&one_calendar),
            ..config
        };
        assert_eq!(refused(&two, &calendars), "calendars");
        assert!(forecast(&network, &[], &two, &config).is_ok());
    }

    #[test]
    fn resource_flow_arcs_serialize_activities_sharing_a_resource() {
        use crate::rcpsp::ProblemBuilder;
        let mut builder = ProblemBuilder::new(vec![2]);
        builder.activity(3, &[2]);
        builder.activity(2, &[1]);
        builder.activity(2, &[1]);
        let problem = builder.build().expect("well-formed");
        let schedule = Schedule::new(vec![0, 3, 3], vec![3, 5, 5]);
        assert_eq!(
            resource_flow_arcs(&problem, &schedule),
            vec![Precedence::new(0, 1), Precedence::new(0, 2)]
        );
    }
}
