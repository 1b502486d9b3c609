//! Hartmann's activity-list genetic algorithm for the RCPSP (Hartmann 1998), with double
//! justification (forward-backward improvement, Valls, Ballestín and Quintanilla 2005) of
//! every promising child, run as deterministic islands in parallel.
//!
//! Individuals are precedence-feasible activity lists decoded by the serial SGS. The initial
//! population holds one list per priority rule plus regret-based biased random samples
//! around the latest-finish-time rule; children come from two-point crossover and adjacent
//! swap mutation; selection ranks parents and children together and keeps the best, a child
//! before a parent of equal fitness. A child whose schedule is clearly worse than the whole
//! population is not justified, which saves two thirds of its cost.
//! Islands evolve independently between migrations with seeds derived from the caller's
//! seed, so the result depends only on the seed and the schedule budget, never on thread
//! timing. This module reads no clock: a time budget is the caller's `should_stop` callback
//! (and a result bounded by it is naturally not reproducible).
//!
//! Measured on PSPLIB subsets at 50,000 schedules and left out because they did not beat
//! this scheme beyond noise: peak crossover and a second phase restarted around the best
//! schedule (Valls, Ballestín and Quintanilla 2008), a small GA re-sequencing a time window
//! of the best schedule (after Debels and Vanhoucke 2007), judged by the project's makespan
//! or by the window's own finish, two populations decoded in opposite directions at one
//! pass per child (ibid.), decoding a child backward from its reversed list, a parallel-SGS
//! decode for part of the children before justification, one population with children
//! decoded in parallel instead of two islands, four islands, duplicate elimination on start
//! times, uniform precedence-preserving crossover, tournament selection of parents,
//! secondary criteria on equal makespans (sum or squares of finishes), and mutation rates
//! of 0.02 and 0.1.
//!
//! Also measured on 100 j120 instances (31.53% above the critical-path bound for this
//! scheme, 31.53–31.66% across seeds) and left out: two populations of 60, 126 or 250
//! decoded in opposite directions at one pass per child (31.63–32.24%; 33.16% against
//! 33.29% at 5,000 schedules); random-key two-point crossover over activity indices
//! (31.86%); an insertion mutation beside the adjacent swap (31.53–31.54%);
//! backward-then-forward decoding at two passes per child (33.16%); repeating
//! justification while it improves (32.40%); lists kept in left- instead of
//! right-justified start order (31.64%); random ties in justification (31.67%); moving
//! activities of the best schedule's critical chain ahead of the activity that held their
//! resource (31.77–31.82%); deterministic crowding with populations of 24 to 126
//! (31.64–32.88%); skipping the justification of children whose schedule was already
//! seen, about one in five (31.55%); heavily mutated immigrants after 5 or 15 generations
//! without progress (31.65–31.66%); and a decomposition closer to Debels and Vanhoucke's,
//! where every ten generations a window of 10–50% of the best schedule's activities is
//! re-sequenced by a small GA in the capacity the fixed others leave, their starts acting
//! as deadlines, then merged and justified (31.66–31.89%; one merge in thirty shortened
//! the project). Three times the budget reaches only 31.15%: the search saturates rather
//! than runs short of schedules.
//!
//! Measured later on another 100 j120 instances (this scheme: 31.35, 31.42 and 31.21% for
//! seeds 1–3) and left out as well: steady-state generations of a quarter or a sixteenth
//! of the population (31.38%, 31.37%); duplicates recognised by their schedule rather than
//! their list (31.36%, 31.40% for seeds 1 and 2); and a ruin-and-recreate mutation that
//! re-samples a segment of 3–50% of a child's list by regret-biased latest-finish-time
//! sampling, for 10–50% of children (31.26–31.42%; 31.26, 31.25 and 31.38% for seeds 1–3 at
//! its best setting).
//!
//! Measured in a fourth session on a third 100 j120 instances (this scheme: 31.53, 31.66 and
//! 31.55% for seeds 1–3) and left out: moving a whole event of a parent (the activities that
//! share a right-justified start) earlier or later in its list, as far as precedence allows,
//! for 10 or 30% of children (31.68%); and ending justification after the backward pass,
//! ranking a child by its right-justified makespan at two passes instead of three (31.48,
//! 31.48 and 31.50% on j120, but 10.80% against 10.75–10.78% on 200 j60 instances), with
//! populations of 90 to 300 (31.39–32.04%).
//!
//! Measured in a fifth session on the first 100 j120 instances (this scheme: 31.53 and
//! 31.66% for seeds 1 and 2) and left out: handing the last 20–50% of the budget to a
//! late-acceptance hill climb (history of 20–1,000) from each island's best list, whose
//! steps are 1–8 precedence-feasible insertions decoded and justified like children
//! (31.56–31.68%).
//!
//! Measured in a seventh session on the same 100 j120 instances (this scheme: 33.29 and 33.26%
//! at 5,000 schedules, 31.53 and 31.66% at 50,000, for seeds 1 and 2) and left out: Debels
//! and Vanhoucke's bi-population GA put together as a whole, with schedules as individuals,
//! a population of left-justified and one of right-justified schedules per island, each
//! child made from two 2-tournament parents of the other population by peak crossover (the
//! activities starting in the mother's most utilised interval, Σ r/R over time, keep her
//! start or finish, the others take the father's), decoded once, backward for the right
//! and forward for the left population, and kept by elitist selection of distinct
//! schedules. At 5,000 schedules it is the better search: 32.97 and 33.06% with populations
//! of 40 and intervals of 15–50% of the makespan (25–75%: 33.32%; 10–40%: 33.04%; 5–30%:
//! 33.40%; populations of 20, 30, 80: 34.31, 33.56, 33.49%; one island of 40 or 60: 33.77,
//! 33.47%; steady-state replacement of the worst: 34.23%; the peak kept as a block between
//! the father's earlier and later activities: 33.28%). At 50,000 it needs diversity: 31.92%
//! without mutation at populations of 126 (40, 60, 200: 32.81, 32.53, 31.55%); copying a
//! random activity's key with probability 0.005, 0.01, 0.02: 31.56, 31.34, 31.74% (31.50%
//! for seed 2; 31.45% with populations of 200; but 33.18 and 33.49% at 5,000); swapping
//! neighbours in key order with probability 0.03 or 0.06: 31.67, 31.53% (31.42% with
//! populations of 160). Its best setting (0.8·√share per population, intervals of 15–50%,
//! key copying at 0.01) then gave 10.80 and 10.79% on all 480 j60 instances (this scheme:
//! 10.77 and 10.74%) and 31.33% on all 600 j120 instances for seed 1 (this scheme: 31.37%),
//! though it matched the best known makespan on 242 of them against 252. Adding the
//! decomposition (DBGA: every 5 or 10 generations, a run of 5–40% of the best
//! schedule's activities in start order re-sequenced by a sub-GA of 10–20 schedules per
//! population over 10 generations, children decoded as the whole project with the other
//! activities keeping their keys, its best offered back to both populations) made it worse:
//! 31.48–31.82% at 50,000, 33.07–33.54% at 5,000.

use crate::rcpsp::{Problem, Schedule, ScheduleError, diagnose};
use crate::rng::SeededRng;
use crate::sgs::{
    Evaluator, Fitness, PriorityRule, not_found, priority_list, priority_values, time_window,
};
use rayon::prelude::*;

/// How much search to spend. With neither limit set, [`Budget::DEFAULT_SCHEDULES`] applies.
#[derive(Clone, Copy, Default)]
pub struct Budget<'a> {
    /// Maximum number of generated schedules (every SGS pass counts, including the two
    /// passes of each justification), summed over islands.
    pub max_schedules: Option<u64>,
    /// Polled between generations; returning true stops the search. This is how a wall-time
    /// budget is expressed without the crate reading the clock.
    pub should_stop: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl std::fmt::Debug for Budget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("max_schedules", &self.max_schedules)
            .field("should_stop", &self.should_stop.map(|_| "callback"))
            .finish()
    }
}

impl<'a> Budget<'a> {
    /// Schedules generated when no limit is given.
    pub const DEFAULT_SCHEDULES: u64 = 5_000;

    /// A budget of `max_schedules` generated schedules.
    pub fn schedules(max_schedules: u64) -> Budget<'a> {
        Budget {
            max_schedules: Some(max_schedules),
            should_stop: None,
        }
    }

    /// A budget that ends when `should_stop` returns true.
    pub fn until(should_stop: &'a (dyn Fn() -> bool + Sync)) -> Budget<'a> {
        Budget {
            max_schedules: None,
            should_stop: Some(should_stop),
        }
    }

    fn stopped(&self) -> bool {
        self.should_stop.is_some_and(|stop| stop())
    }
}

/// Tuning of the genetic algorithm; the defaults follow Hartmann (1998).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaConfig {
    /// Individuals per island; `None` sizes it from the budget.
    pub population: Option<usize>,
    /// Probability of swapping each pair of adjacent, unrelated activities.
    pub mutation_probability: f64,
    /// Independent populations, evolved in parallel. The result depends on this number,
    /// not on how many threads run them.
    pub islands: usize,
    /// Generations between migrations of each island's best list to the next island.
    pub migration_interval: usize,
}

impl Default for GaConfig {
    fn default() -> GaConfig {
        GaConfig {
            population: None,
            mutation_probability: 0.05,
            islands: 2,
            migration_interval: 10,
        }
    }
}

/// The best schedule found and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    schedule: Schedule,
    activity_list: Vec<usize>,
    schedules_generated: u64,
}

impl Solution {
    /// The schedule (every hard constraint holds).
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
    /// Its makespan.
    pub fn makespan(&self) -> i64 {
        self.schedule.makespan()
    }
    /// An activity list whose serial SGS decoding is the schedule.
    pub fn activity_list(&self) -> &[usize] {
        &self.activity_list
    }
    /// Schedules generated during the search.
    pub fn schedules_generated(&self) -> u64 {
        self.schedules_generated
    }
}

#[derive(Debug, Clone)]
struct Individual {
    list: Vec<usize>,
    fitness: Fitness,
}

#[derive(Debug)]
struct Island<'p> {
    evaluator: Evaluator<'p>,
    rng: SeededRng,
    population: Vec<Individual>,
    schedule_budget: u64,
    population_size: usize,
    exhausted: bool,
}

/// Searches for a makespan-minimal schedule. Fails with [`ScheduleError::Infeasible`] when
/// [`diagnose`] finds contradicting constraints, and with [`ScheduleError::NotFound`] when
/// no schedule meeting pins and deadline was found within the budget.
pub fn solve(
    problem: &Problem,
    budget: &Budget<'_>,
    config: &GaConfig,
    seed: u64,
) -> Result<Solution, ScheduleError> {
    let conflicts = diagnose(problem);
    if !conflicts.is_empty() {
        return Err(ScheduleError::Infeasible { conflicts });
    }
    let n_islands = config.islands.max(1);
    let total_budget = match (budget.max_schedules, budget.should_stop) {
        (Some(limit), _) => limit,
        (None, Some(_)) => u64::MAX,
        (None, None) => Budget::DEFAULT_SCHEDULES,
    };
    let latest_finish = time_window(problem).1;
    let rule_lists: Vec<Vec<usize>> = PriorityRule::ALL
        .iter()
        .map(|&rule| priority_list(problem, &priority_values(problem, rule)))
        .collect();
    let mut islands: Vec<Island<'_>> = (0..n_islands)
        .map(|island_idx| {
            let share = total_budget / n_islands as u64
                + u64::from((island_idx as u64) < total_budget % n_islands as u64);
            let population_size = config
                .population
                .unwrap_or_else(|| auto_population(share))
                .max(2);
            Island {
                evaluator: Evaluator::new(problem),
                rng: SeededRng::derive(seed, island_idx as u64),
                population: Vec::with_capacity(2 * population_size),
                schedule_budget: share,
                population_size,
                exhausted: false,
            }
        })
        .collect();
    islands
        .par_iter_mut()
        .for_each(|island| island.initialize(problem, &rule_lists, &latest_finish, budget));
    loop {
        islands.par_iter_mut().for_each(|island| {
            for _ in 0..config.migration_interval.max(1) {
                if island.exhausted || budget.stopped() {
                    island.exhausted = true;
                    break;
                }
                island.generation(problem, config.mutation_probability);
            }
        });
        if islands.iter().all(|island| island.exhausted) {
            break;
        }
        migrate(&mut islands);
    }
    let (best_island, best) = islands
        .iter()
        .enumerate()
        .filter_map(|(idx, island)| island.population.first().map(|best| (idx, best)))
        .min_by_key(|(idx, individual)| (individual.fitness, *idx))
        .ok_or_else(|| not_found(problem))?;
    let schedules_generated: u64 = islands
        .iter()
        .map(|island| island.evaluator.schedules_generated)
        .sum();
    let best = best.clone();
    let evaluator = &mut islands[best_island].evaluator;
    let replay = evaluator.forward(&best.list, None);
    debug_assert_eq!(
        replay, best.fitness,
        "invariant: a list reproduces its fitness"
    );
    if replay.violations > 0 {
        return Err(not_found(problem));
    }
    Ok(Solution {
        schedule: evaluator.schedule(),
        activity_list: best.list,
        schedules_generated,
    })
}

/// A child is justified only when its serial SGS makespan is at most the population's worst
/// plus 1/20 of it. Justification rarely improves a schedule by more than that, so such a
/// child would not survive selection anyway; skipping its two justification passes leaves
/// budget for more children. Measured at 50,000 schedules on j120 (100 instances): 31.64%
/// -> 31.55% above the critical-path bound (margins 1/50 and 1/10: 31.58%, 31.66%).
const JUSTIFICATION_MARGIN: i64 = 20;

/// Population size from the schedules an island may generate: small budgets need fast
/// convergence, large ones diversity. About 0.4·√share up to 5,000 schedules, rising to
/// twice that from 20,000 on: 126 for the 25,000 schedules of each island in a
/// 50,000-schedule run. Measured there on j60 and j120: 120 and 150 beat the former 63,
/// while 200 and 350 were worse again on j120.
fn auto_population(share: u64) -> usize {
    let share = share as f64;
    let scale = (share / 5_000.0).sqrt().clamp(1.0, 2.0);
    (share.sqrt() * 0.4 * scale).clamp(10.0, 160.0) as usize
}

fn migrate(islands: &mut [Island<'_>]) {
    let n_islands = islands.len();
    if n_islands < 2 {
        return;
    }
    let bests: Vec<Option<Individual>> = islands
        .iter()
        .map(|island| island.population.first().cloned())
        .collect();
    for (idx, best) in bests.into_iter().enumerate() {
        let Some(best) = best else { continue };
        let target = &mut islands[(idx + 1) % n_islands];
        if target
            .population
            .iter()
            .any(|other| other.fitness == best.fitness && other.list == best.list)
        {
            continue;
        }
        if let Some(worst) = target.population.last_mut()
            && best.fitness < worst.fitness
        {
            *worst = best;
            target
                .population
                .sort_by_key(|individual| individual.fitness);
        }
    }
}

impl Island<'_> {
    fn can_afford(&self) -> bool {
        // A child costs up to three SGS passes (forward, backward, forward).
        self.evaluator.schedules_generated + 3 <= self.schedule_budget
    }

    /// Decodes `list` and justifies the schedule, unless its makespan is above
    /// `justify_up_to`: then the two justification passes are saved (see
    /// [`JUSTIFICATION_MARGIN`]).
    fn evaluate(&mut self, mut list: Vec<usize>, justify_up_to: i64) -> Individual {
        let fitness = self.evaluator.forward(&list, None);
        let fitness = if fitness.makespan > justify_up_to {
            fitness
        } else {
            self.evaluator.justify(&mut list, fitness)
        };
        Individual { list, fitness }
    }

    fn initialize(
        &mut self,
        problem: &Problem,
        rule_lists: &[Vec<usize>],
        latest_finish: &[i64],
        budget: &Budget<'_>,
    ) {
        for list in rule_lists.iter().take(self.population_size) {
            if !self.can_afford() && !self.population.is_empty() {
                break;
            }
            let individual = self.evaluate(list.clone(), i64::MAX);
            self.population.push(individual);
        }
        while self.population.len() < self.population_size && self.can_afford() && !budget.stopped()
        {
            let list = biased_random_list(problem, latest_finish, &mut self.rng);
            let individual = self.evaluate(list, i64::MAX);
            self.population.push(individual);
        }
        self.population.sort_by_key(|individual| individual.fitness);
        self.exhausted = !self.can_afford();
    }

    fn generation(&mut self, problem: &Problem, mutation_probability: f64) {
        let n_parents = self.population.len();
        let mut order: Vec<usize> = (0..n_parents).collect();
        for idx in (1..n_parents).rev() {
            order.swap(idx, self.rng.below(idx + 1));
        }
        let mut children: Vec<Individual> = Vec::with_capacity(n_parents + 1);
        let mut taken = vec![false; problem.n_activities()];
        // Judging a child by its makespan alone is only right when the makespan comes first.
        let justify_up_to = match (problem.objective(), self.population.last()) {
            (crate::rcpsp::Objective::Makespan, Some(worst)) => {
                let makespan = worst.fitness.makespan;
                makespan.saturating_add(makespan.max(0) / JUSTIFICATION_MARGIN)
            }
            _ => i64::MAX,
        };
        for pair in order.chunks(2) {
            let (mother, father) = (pair[0], pair[pair.len() - 1]);
            for (first, second) in [(mother, father), (father, mother)] {
                if !self.can_afford() {
                    self.exhausted = true;
                    break;
                }
                let mut list = crossover(
                    &self.population[first].list,
                    &self.population[second].list,
                    &mut self.rng,
                    &mut taken,
                );
                mutate(problem, &mut list, mutation_probability, &mut self.rng);
                let child = self.evaluate(list, justify_up_to);
                children.push(child);
            }
        }
        // Ranking selection over parents and children; identical lists are kept once so the
        // population does not collapse onto one schedule. Children come first so that the
        // stable sort lets a child displace a parent of equal fitness: the search then drifts
        // across the large plateaus of equal makespan instead of freezing on the first lists
        // that reached them.
        children.append(&mut self.population);
        self.population = children;
        self.population.sort_by_key(|individual| individual.fitness);
        let mut survivors: Vec<Individual> = Vec::with_capacity(self.population_size);
        for individual in self.population.drain(..) {
            if survivors.len() == self.population_size {
                break;
            }
            let duplicate = survivors
                .iter()
                .rev()
                .take_while(|kept| kept.fitness == individual.fitness)
                .any(|kept| kept.list == individual.list);
            if !duplicate {
                survivors.push(individual);
            }
        }
        self.population = survivors;
        if !self.can_afford() {
            self.exhausted = true;
        }
    }
}

/// Hartmann's two-point crossover: positions before `q1` and from `q2` on follow `mother`,
/// the middle follows `father`'s relative order. Both parents being precedence-feasible, so
/// is the child.
fn crossover(
    mother: &[usize],
    father: &[usize],
    rng: &mut SeededRng,
    taken: &mut [bool],
) -> Vec<usize> {
    let n_activities = mother.len();
    let mut cut_a = rng.below(n_activities + 1);
    let mut cut_b = rng.below(n_activities + 1);
    if cut_a > cut_b {
        std::mem::swap(&mut cut_a, &mut cut_b);
    }
    taken.fill(false);
    let mut child = Vec::with_capacity(n_activities);
    for &activity in &mother[..cut_a] {
        taken[activity] = true;
        child.push(activity);
    }
    for &activity in father {
        if child.len() == cut_b {
            break;
        }
        if !taken[activity] {
            taken[activity] = true;
            child.push(activity);
        }
    }
    for &activity in mother {
        if !taken[activity] {
            taken[activity] = true;
            child.push(activity);
        }
    }
    child
}

/// Swaps adjacent activities with the given probability unless one directly precedes the
/// other (only a direct arc can relate neighbours in a precedence-feasible list).
fn mutate(problem: &Problem, list: &mut [usize], probability: f64, rng: &mut SeededRng) {
    let network = problem.network();
    for idx in 0..list.len().saturating_sub(1) {
        if rng.next_f64() < probability {
            let (first, second) = (list[idx], list[idx + 1]);
            if !network.successors(first).any(|(succ, _)| succ == second) {
                list.swap(idx, idx + 1);
            }
        }
    }
}

/// Regret-based biased random sampling on latest finish times (Kolisch and Drexl 1996):
/// an eligible activity is drawn with probability proportional to `1 + LFT_max − LFT_j`.
fn biased_random_list(problem: &Problem, latest_finish: &[i64], rng: &mut SeededRng) -> Vec<usize> {
    let network = problem.network();
    let n_activities = problem.n_activities();
    let mut waiting: Vec<usize> = (0..n_activities)
        .map(|a| network.predecessors(a).count())
        .collect();
    let mut eligible: Vec<usize> = (0..n_activities).filter(|&a| waiting[a] == 0).collect();
    let mut list = Vec::with_capacity(n_activities);
    while !eligible.is_empty() {
        let worst = eligible
            .iter()
            .map(|&a| latest_finish[a])
            .max()
            .expect("invariant: eligible is non-empty");
        let total: f64 = eligible
            .iter()
            .map(|&a| (1 + worst - latest_finish[a]) as f64)
            .sum();
        let mut pick = rng.next_f64() * total;
        let mut chosen = eligible.len() - 1;
        for (idx, &activity) in eligible.iter().enumerate() {
            pick -= (1 + worst - latest_finish[activity]) as f64;
            if pick < 0.0 {
                chosen = idx;
                break;
            }
        }
        let activity = eligible.swap_remove(chosen);
        list.push(activity);
        for (succ, _) in network.successors(activity) {
            waiting[succ] -= 1;
            if waiting[succ] == 0 {
                eligible.push(succ);
            }
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rcpsp::{ProblemBuilder, check_schedule};

    /// Four activities of one unit each, pairwise conflicting on resource 0 except (0, 1)
    /// and (2, 3); the optimum runs those pairs in parallel: makespan 2 × 3 = 6.
    fn pairing_problem() -> Problem {
        let mut builder = ProblemBuilder::new(vec![4]);
        builder.activity(3, &[2]);
        builder.activity(3, &[2]);
        builder.activity(3, &[3]);
        builder.activity(3, &[1]);
        builder.build().expect("well-formed")
    }

    #[test]
    fn finds_the_known_optimum_of_a_small_instance() {
        let problem = pairing_problem();
        let solution =
            solve(&problem, &Budget::schedules(300), &GaConfig::default(), 1).expect("feasible");
        check_schedule(&problem, solution.schedule()).expect("valid");
        assert_eq!(solution.makespan(), 6);
        assert!(solution.schedules_generated() <= 300);
    }

    #[test]
    fn stops_when_the_callback_says_so() {
        let problem = pairing_problem();
        let stop = || true;
        let solution =
            solve(&problem, &Budget::until(&stop), &GaConfig::default(), 1).expect("feasible");
        check_schedule(&problem, solution.schedule()).expect("valid");
    }
}
