//! Criterion benchmarks of the promised figures: critical path on a generated
//! 1,000,000-activity DAG, the genetic algorithm on a 30-job instance, and a Monte Carlo
//! forecast of 10,000 trials over 10,000 activities. Run with
//! `cargo bench -p lockstep-plan --bench plan`. Timing thresholds live here, never in tests.

use criterion::{Criterion, criterion_group, criterion_main};
use lockstep_plan::forecast::{DurationDistribution, Estimate, ForecastConfig, forecast};
use lockstep_plan::ga::{Budget, GaConfig};
use lockstep_plan::generate::{LayeredDagConfig, layered_dag};
use lockstep_plan::{CpmOptions, Network, critical_path, ga, psplib};
use std::hint::black_box;

/// A 30-job single-mode instance in PSPLIB format, generated for this benchmark (it is not
/// one of the PSPLIB files).
const J30_LIKE: &str = "\
************************************************************************
file with basedata            : lockstep-bench.bas
************************************************************************
projects                      :  1
jobs (incl. supersource/sink ):  32
horizon                       :  160
RESOURCES
  - renewable                 :  4   R
  - nonrenewable              :  0   N
  - doubly constrained        :  0   D
************************************************************************
PRECEDENCE RELATIONS:
jobnr.    #modes  #successors   successors
   1        1          9        2   3   4   5   6   7   9  12  14
   2        1          3       13  18  29
   3        1          1        8
   4        1          3       22  26  30
   5        1          1       11
   6        1          2       11  19
   7        1          3       15  26  31
   8        1          3       10  17  19
   9        1          3       17  25  28
  10        1          2       18  20
  11        1          3       16  17  29
  12        1          2       27  31
  13        1          3       18  21  29
  14        1          2       29  31
  15        1          3       17  20  30
  16        1          3       18  22  28
  17        1          1       18
  18        1          3       23  28  31
  19        1          1       29
  20        1          3       21  29  31
  21        1          2       26  28
  22        1          2       25  31
  23        1          2       24  26
  24        1          3       25  27  28
  25        1          3       27  30  31
  26        1          2       28  29
  27        1          2       28  29
  28        1          3       29  30  31
  29        1          2       30  31
  30        1          1       31
  31        1          1       32
  32        1          0       
************************************************************************
REQUESTS/DURATIONS:
jobnr. mode duration  R 1  R 2  R 3  R 4
------------------------------------------------------------------------
   1      1     0      0    0    0    0
   2      1     6      0    0    9    0
   3      1     5      7    0    2   10
   4      1     2      8    0    0    6
   5      1     4      0    0    0    0
   6      1     5      5    0    8    1
   7      1     8      7    0    7    2
   8      1     9      7    0    0    0
   9      1     2      3    0    0    7
  10      1     3      0    4    0    2
  11      1     2      0    8    5   10
  12      1    10      3    2    0    0
  13      1     7      0    0    0    5
  14      1     2      0    0    0    0
  15      1    10      3    4    9    0
  16      1    10      6    0    5    6
  17      1     9      0    0    6    0
  18      1     6      1    0    0   10
  19      1     3      0    0    5    6
  20      1     1      3    0    5   10
  21      1     3      9    0    0    0
  22      1     3      4   10    0    0
  23      1     2      1    0    0    0
  24      1     6      2    0    1    0
  25      1     6      0    2    0    0
  26      1     6      8    0    6    0
  27      1     6     10    2    0    0
  28      1     1      0    6    0   10
  29      1     2      0    6    0    0
  30      1     4      0    0    8    0
  31      1     7      4    4    0    0
  32      1     0      0    0    0    0
************************************************************************
RESOURCEAVAILABILITIES:
  R 1  R 2  R 3  R 4
   17   13   12   20
************************************************************************
";

fn cpm_million(c: &mut Criterion) {
    let dag = LayeredDagConfig {
        n_activities: 1_000_000,
        layer_width: 1_000,
        arcs_per_activity: 3,
        max_duration: 20,
        max_lag: 2,
    };
    let (durations, arcs) = layered_dag(&dag, 42);
    let mut group = c.benchmark_group("cpm");
    group.sample_size(10);
    group.bench_function("build_network_1m_activities_3m_arcs", |b| {
        b.iter(|| Network::new(black_box(durations.clone()), black_box(&arcs)).expect("acyclic"))
    });
    let network = Network::new(durations.clone(), &arcs).expect("acyclic");
    group.bench_function("critical_path_1m_activities_3m_arcs", |b| {
        b.iter(|| critical_path(black_box(&network), &CpmOptions::default()).expect("no deadline"))
    });
    group.finish();
}

fn ga_j30(c: &mut Criterion) {
    let problem = psplib::parse_sm(J30_LIKE).expect("valid instance");
    let mut group = c.benchmark_group("ga");
    group.sample_size(10);
    for schedules in [5_000u64, 50_000] {
        group.bench_function(format!("j30_like_{schedules}_schedules"), |b| {
            b.iter(|| {
                ga::solve(
                    &problem,
                    &Budget::schedules(schedules),
                    &GaConfig::default(),
                    1,
                )
                .expect("feasible")
            })
        });
    }
    group.finish();
}

fn monte_carlo(c: &mut Criterion) {
    let dag = LayeredDagConfig {
        n_activities: 10_000,
        layer_width: 100,
        arcs_per_activity: 3,
        max_duration: 20,
        max_lag: 0,
    };
    let (durations, arcs) = layered_dag(&dag, 7);
    let network = Network::new(durations.clone(), &arcs).expect("acyclic");
    let estimates: Vec<Estimate> = durations
        .iter()
        .map(|&d| Estimate::new(d as f64 * 0.8, d as f64, d as f64 * 1.6).expect("ordered"))
        .collect();
    let mut group = c.benchmark_group("forecast");
    group.sample_size(10);
    for distribution in [
        DurationDistribution::PertBeta,
        DurationDistribution::Triangular,
    ] {
        let config = ForecastConfig {
            trials: 10_000,
            seed: 1,
            distribution,
            percentiles: &[50.0, 85.0, 95.0],
            milestones: &[9_999],
            target: Some(1_000.0),
            earliest_starts: None,
            calendars: None,
        };
        group.bench_function(format!("{distribution:?}_10k_trials_10k_activities"), |b| {
            b.iter(|| forecast(&network, &[], &estimates, &config).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, cpm_million, ga_j30, monte_carlo);
criterion_main!(benches);
