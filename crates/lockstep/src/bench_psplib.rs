//! `lockstep bench psplib`: solves every PSPLIB instance of a folder and reports the
//! figures the literature compares (Kolisch and Hartmann 2006), optionally beside a peer
//! solver's results from the same machine (see `scripts/psplib_cpsat.py`).
//!
//! This is glue: reading files, timing and printing. The algorithms and the summary
//! arithmetic live in `lockstep_plan::psplib`. It deliberately does not copy or cache
//! instance data.

use anyhow::{Context, bail};
use lockstep_plan::ga::Budget;
use lockstep_plan::psplib::{self, BenchmarkSummary, InstanceOutcome, KnownBound};
use rayon::prelude::*;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Budget per instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchBudget {
    /// Generated schedules (the literature's measure; reproducible).
    Schedules(u64),
    /// Wall-clock milliseconds (comparable with a time-limited peer; not reproducible).
    Millis(u64),
}

/// Where the two cores go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BenchParallelism {
    /// Several instances at once, each GA on its islands. Same throughput as `Islands` on
    /// 2 cores (j120, 20 instances, 50,000 schedules: 17.9 s against 17.5 s) but each
    /// instance takes twice as long.
    Instances,
    /// One instance at a time, its GA islands in parallel: the per-instance wall time is
    /// what a user waits for, so this is the default.
    #[default]
    Islands,
}

/// Arguments of `lockstep bench psplib DIR`.
#[derive(Debug, Clone)]
pub struct PsplibBenchArgs {
    /// Folder with `.sm` files and `optimum.csv`.
    pub dir: PathBuf,
    /// Budget per instance.
    pub budget: BenchBudget,
    /// Solve only this many instances, spread evenly over the sorted set.
    pub limit: Option<usize>,
    /// Peer results (JSON rows with `name`, `makespan`, `time`, `status`).
    pub peer_json: Option<PathBuf>,
    /// Seed of every GA run.
    pub seed: u64,
    /// How to use the cores.
    pub parallelism: BenchParallelism,
}

/// One solved instance.
#[derive(Debug, Clone)]
pub struct InstanceRow {
    /// File name.
    pub name: String,
    /// Makespan found.
    pub makespan: i64,
    /// Critical-path lower bound.
    pub critical_path_bound: i64,
    /// Optimum or best known makespan from `optimum.csv`.
    pub best_known: Option<i64>,
    /// Wall time spent on the instance.
    pub wall: Duration,
    /// Schedules generated.
    pub schedules: u64,
}

/// Figures of one solver over a set.
#[derive(Debug, Clone)]
pub struct SolverFigures {
    /// Deviation figures.
    pub summary: BenchmarkSummary,
    /// Mean wall time per instance.
    pub mean_wall: Duration,
    /// Largest wall time of an instance.
    pub max_wall: Duration,
}

/// The benchmark result.
#[derive(Debug, Clone)]
pub struct PsplibReport {
    /// Folder benchmarked.
    pub dir: PathBuf,
    /// Budget per instance.
    pub budget: BenchBudget,
    /// `.sm` files in the folder.
    pub available: usize,
    /// Every solved instance.
    pub rows: Vec<InstanceRow>,
    /// Our figures.
    pub ours: SolverFigures,
    /// Total wall time of the run.
    pub total_wall: Duration,
    /// The peer's figures over the instances both solved, with ours over the same ones.
    pub peer: Option<(SolverFigures, SolverFigures)>,
}

#[derive(Debug, serde::Deserialize)]
struct PeerRow {
    name: String,
    makespan: Option<i64>,
    time: f64,
    #[allow(dead_code)]
    status: String,
}

/// Runs the benchmark.
pub fn run(args: &PsplibBenchArgs) -> anyhow::Result<PsplibReport> {
    let started = Instant::now();
    let bounds_path = args.dir.join("optimum.csv");
    let bounds_text = std::fs::read_to_string(&bounds_path)
        .with_context(|| format!("reading {}", bounds_path.display()))?;
    let bounds: HashMap<String, KnownBound> = psplib::parse_optimum_csv(&bounds_text)
        .with_context(|| format!("parsing {}", bounds_path.display()))?
        .into_iter()
        .map(|bound| (bound.instance.clone(), bound))
        .collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("listing {}", args.dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "sm"));
    files.sort_by_key(|path| natural_key(&file_name(path)));
    let available = files.len();
    if available == 0 {
        bail!("no .sm files in {}", args.dir.display());
    }
    if let Some(limit) = args.limit
        && limit < available
    {
        // Evenly spaced picks cover every parameter class, unlike the first `limit` files.
        files = (0..limit)
            .map(|idx| files[idx * available / limit].clone())
            .collect();
    }
    let solve_one = |path: &PathBuf| -> anyhow::Result<InstanceRow> {
        let name = file_name(path);
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let problem =
            psplib::parse_sm(&text).with_context(|| format!("parsing {}", path.display()))?;
        let instance_started = Instant::now();
        let solution = match args.budget {
            BenchBudget::Schedules(n) => psplib::solve(&problem, &Budget::schedules(n), args.seed),
            BenchBudget::Millis(millis) => {
                let should_stop =
                    move || instance_started.elapsed() >= Duration::from_millis(millis);
                psplib::solve(&problem, &Budget::until(&should_stop), args.seed)
            }
        }
        .with_context(|| format!("solving {name}"))?;
        Ok(InstanceRow {
            best_known: bounds.get(&name).map(|bound| bound.best_known),
            name,
            makespan: solution.makespan(),
            critical_path_bound: problem.critical_path_bound(),
            wall: instance_started.elapsed(),
            schedules: solution.schedules_generated(),
        })
    };
    let rows: Vec<InstanceRow> = match args.parallelism {
        BenchParallelism::Instances => files
            .par_iter()
            .map(solve_one)
            .collect::<anyhow::Result<_>>()?,
        BenchParallelism::Islands => files.iter().map(solve_one).collect::<anyhow::Result<_>>()?,
    };
    let ours = figures(
        rows.iter()
            .map(|row| (outcome(row, row.makespan), row.wall)),
    );
    let peer = match &args.peer_json {
        None => None,
        Some(path) => Some(peer_figures(path, &rows)?),
    };
    Ok(PsplibReport {
        dir: args.dir.clone(),
        budget: args.budget,
        available,
        rows,
        ours,
        total_wall: started.elapsed(),
        peer,
    })
}

fn peer_figures(
    path: &Path,
    rows: &[InstanceRow],
) -> anyhow::Result<(SolverFigures, SolverFigures)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let peer_rows: Vec<PeerRow> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let by_name: HashMap<&str, &PeerRow> = peer_rows
        .iter()
        .map(|row| (row.name.as_str(), row))
        .collect();
    let common: Vec<(&InstanceRow, &PeerRow, i64)> = rows
        .iter()
        .filter_map(|row| {
            let peer = by_name.get(row.name.as_str())?;
            Some((row, *peer, peer.makespan?))
        })
        .collect();
    if common.is_empty() {
        bail!(
            "{} has no solved instance in common with this run",
            path.display()
        );
    }
    let theirs = figures(common.iter().map(|(row, peer, makespan)| {
        (
            outcome(row, *makespan),
            Duration::from_secs_f64(peer.time.max(0.0)),
        )
    }));
    let ours = figures(
        common
            .iter()
            .map(|(row, _, _)| (outcome(row, row.makespan), row.wall)),
    );
    Ok((ours, theirs))
}

fn outcome(row: &InstanceRow, makespan: i64) -> InstanceOutcome {
    InstanceOutcome {
        makespan,
        critical_path_bound: row.critical_path_bound,
        best_known: row.best_known,
    }
}

fn figures(items: impl Iterator<Item = (InstanceOutcome, Duration)>) -> SolverFigures {
    let (outcomes, walls): (Vec<InstanceOutcome>, Vec<Duration>) = items.unzip();
    let total: Duration = walls.iter().sum();
    SolverFigures {
        summary: psplib::summarize(&outcomes),
        mean_wall: total / walls.len().max(1) as u32,
        max_wall: walls.iter().copied().max().unwrap_or_default(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `j3010_2` sorts before `j3010_10`: digit runs compare as numbers.
fn natural_key(name: &str) -> Vec<(u64, String)> {
    let mut key = Vec::new();
    let mut digits = String::new();
    let mut text = String::new();
    for ch in name.chars() {
        if ch.is_ascii_digit() {
            if !text.is_empty() {
                key.push((0, std::mem::take(&mut text)));
            }
            digits.push(ch);
        } else {
            if !digits.is_empty() {
                key.push((digits.parse().unwrap_or(u64::MAX), String::new()));
                digits.clear();
            }
            text.push(ch);
        }
    }
    if !digits.is_empty() {
        key.push((digits.parse().unwrap_or(u64::MAX), String::new()));
    }
    if !text.is_empty() {
        key.push((0, text));
    }
    key
}

fn write_figures(f: &mut fmt::Formatter<'_>, label: &str, figures: &SolverFigures) -> fmt::Result {
    let summary = &figures.summary;
    writeln!(f, "{label}")?;
    writeln!(
        f,
        "  instances solved                   {}",
        summary.instances
    )?;
    writeln!(
        f,
        "  avg % above critical-path bound    {:.2}",
        summary.mean_deviation_from_critical_path
    )?;
    match summary.mean_deviation_from_best_known {
        Some(deviation) => writeln!(f, "  avg % above optimum/best known     {deviation:.2}")?,
        None => writeln!(f, "  avg % above optimum/best known     n/a")?,
    }
    writeln!(
        f,
        "  matching best known                {}/{}",
        summary.matching_best_known, summary.with_best_known
    )?;
    writeln!(
        f,
        "  wall time per instance  mean {:.3} s, max {:.3} s",
        figures.mean_wall.as_secs_f64(),
        figures.max_wall.as_secs_f64()
    )
}

impl fmt::Display for PsplibReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let budget = match self.budget {
            BenchBudget::Schedules(n) => format!("{n} schedules"),
            BenchBudget::Millis(m) => format!("{m} ms"),
        };
        writeln!(
            f,
            "PSPLIB {} — {} of {} instances, budget {budget} per instance, total {:.1} s",
            self.dir.display(),
            self.rows.len(),
            self.available,
            self.total_wall.as_secs_f64()
        )?;
        write_figures(f, "lockstep (activity-list GA + justification)", &self.ours)?;
        let schedules: u64 = self.rows.iter().map(|row| row.schedules).sum();
        writeln!(
            f,
            "  schedules generated per instance   {}",
            schedules / self.rows.len().max(1) as u64
        )?;
        if let Some((ours, theirs)) = &self.peer {
            write_figures(f, "lockstep on the instances the peer solved", ours)?;
            write_figures(f, "peer", theirs)?;
            let ratio = |a: f64, b: f64| if b == 0.0 { f64::NAN } else { a / b };
            writeln!(
                f,
                "ratio lockstep/peer: avg % above bound {:.2}, mean wall time {:.2}",
                ratio(
                    ours.summary.mean_deviation_from_critical_path,
                    theirs.summary.mean_deviation_from_critical_path
                ),
                ratio(ours.mean_wall.as_secs_f64(), theirs.mean_wall.as_secs_f64())
            )?;
        }
        Ok(())
    }
}
