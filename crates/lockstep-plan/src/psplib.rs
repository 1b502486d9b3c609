//! PSPLIB single-mode RCPSP instances (`.sm`) and their known bounds (`optimum.csv`), read
//! from text, plus the solver entry point and the summary figures used in the literature.
//!
//! The reader takes a `&str`: this crate never opens files, the caller does. Malformed
//! input is reported with its 1-based line number and the reason. Only renewable
//! resources are supported (which is all the `.sm` single-mode sets use). Deviations are
//! measured as in Kolisch and Hartmann (2006): from the optimum or best known makespan, and
//! from the critical-path lower bound.

use crate::ga::{self, Budget, GaConfig, Solution};
use crate::rcpsp::{Problem, ProblemBuilder, ProblemError, ScheduleError};
use thiserror::Error;

/// Why an instance or bounds file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PsplibError {
    /// The text does not follow the format.
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number (one past the end when something is missing).
        line: usize,
        /// What is wrong there.
        reason: String,
    },
    /// The text parsed but describes an invalid problem (for example a cycle).
    #[error(transparent)]
    Problem(#[from] ProblemError),
}

struct Lines<'t> {
    lines: Vec<&'t str>,
    next: usize,
}

impl<'t> Lines<'t> {
    fn error<T>(&self, line: usize, reason: impl Into<String>) -> Result<T, PsplibError> {
        Err(PsplibError::Malformed {
            line,
            reason: reason.into(),
        })
    }

    /// Moves past the first line (from the current one) that starts with `prefix`.
    fn seek(&mut self, prefix: &str) -> Result<usize, PsplibError> {
        while self.next < self.lines.len() {
            let idx = self.next;
            self.next += 1;
            if self.lines[idx].trim_start().starts_with(prefix) {
                return Ok(idx + 1);
            }
        }
        self.error(self.lines.len() + 1, format!("missing `{prefix}`"))
    }

    /// The next line that is not blank or a `***`/`---` rule.
    fn content(&mut self, what: &str) -> Result<(usize, &'t str), PsplibError> {
        while self.next < self.lines.len() {
            let idx = self.next;
            self.next += 1;
            let line = self.lines[idx].trim();
            if !(line.is_empty() || line.starts_with("***") || line.starts_with("---")) {
                return Ok((idx + 1, line));
            }
        }
        self.error(self.lines.len() + 1, format!("missing {what}"))
    }

    fn value_after_colon(&mut self, prefix: &str) -> Result<i64, PsplibError> {
        let line_no = self.seek(prefix)?;
        let line = self.lines[line_no - 1];
        let Some((_, value)) = line.split_once(':') else {
            return self.error(line_no, format!("expected `{prefix} : number`"));
        };
        let token = value.split_whitespace().next().unwrap_or("");
        token.parse().or_else(|_| {
            self.error(
                line_no,
                format!("expected a number after `{prefix}`, found `{token}`"),
            )
        })
    }
}

fn integers(line_no: usize, line: &str) -> Result<Vec<i64>, PsplibError> {
    line.split_whitespace()
        .map(|token| {
            token.parse().map_err(|_| PsplibError::Malformed {
                line: line_no,
                reason: format!("expected an integer, found `{token}`"),
            })
        })
        .collect()
}

/// Parses a single-mode `.sm` instance. Jobs `1..=n` become activities `0..n` (including
/// the dummy source and sink).
pub fn parse_sm(text: &str) -> Result<Problem, PsplibError> {
    let mut lines = Lines {
        lines: text.lines().collect(),
        next: 0,
    };
    let n_jobs = lines.value_after_colon("jobs (incl. supersource/sink )")?;
    let n_jobs_line = lines.next;
    let n_renewable = lines.value_after_colon("- renewable")?;
    let n_nonrenewable = lines.value_after_colon("- nonrenewable")?;
    if n_jobs <= 0 {
        return lines.error(
            n_jobs_line,
            format!("expected a positive number of jobs, found {n_jobs}"),
        );
    }
    if n_renewable < 0 {
        return lines.error(
            lines.next,
            format!("negative number of renewable resources {n_renewable}"),
        );
    }
    if n_nonrenewable != 0 {
        return lines.error(lines.next, "nonrenewable resources are not supported");
    }
    let (n_jobs, n_resources) = (n_jobs as usize, n_renewable as usize);
    let job = |lines: &Lines<'_>, line_no: usize, number: i64| -> Result<usize, PsplibError> {
        if number >= 1 && number as usize <= n_jobs {
            Ok(number as usize - 1)
        } else {
            lines.error(line_no, format!("job {number} is not in 1..={n_jobs}"))
        }
    };

    lines.seek("PRECEDENCE RELATIONS")?;
    lines.content("precedence header")?;
    let mut arcs: Vec<(usize, usize)> = Vec::new();
    for expected in 1..=n_jobs {
        let (line_no, line) = lines.content("precedence rows")?;
        let fields = integers(line_no, line)?;
        if fields.len() < 3 || fields[0] != expected as i64 {
            return lines.error(
                line_no,
                format!("expected precedence row of job {expected}"),
            );
        }
        let n_successors = fields[2];
        if n_successors < 0 || fields.len() != 3 + n_successors as usize {
            return lines.error(
                line_no,
                format!(
                    "job {expected} declares {n_successors} successors but lists {}",
                    fields.len() - 3
                ),
            );
        }
        for &successor in &fields[3..] {
            arcs.push((expected - 1, job(&lines, line_no, successor)?));
        }
    }

    lines.seek("REQUESTS/DURATIONS")?;
    lines.content("requests header")?;
    let mut demands: Vec<(i64, Vec<i64>)> = Vec::with_capacity(n_jobs);
    for expected in 1..=n_jobs {
        let (line_no, line) = lines.content("request rows")?;
        let fields = integers(line_no, line)?;
        if fields.len() != 3 + n_resources || fields[0] != expected as i64 {
            return lines.error(
                line_no,
                format!("expected job {expected}, mode, duration and {n_resources} requests"),
            );
        }
        if fields[2] < 0 || fields[3..].iter().any(|&d| d < 0) {
            return lines.error(line_no, "durations and requests must be non-negative");
        }
        demands.push((fields[2], fields[3..].to_vec()));
    }

    lines.seek("RESOURCEAVAILABILITIES")?;
    lines.content("availability header")?;
    let (line_no, line) = lines.content("resource availabilities")?;
    let capacities = integers(line_no, line)?;
    if capacities.len() != n_resources {
        return lines.error(
            line_no,
            format!(
                "expected {n_resources} capacities, found {}",
                capacities.len()
            ),
        );
    }
    let mut builder = ProblemBuilder::new(capacities);
    for (duration, demand) in &demands {
        builder.activity(*duration, demand);
    }
    for (from, to) in arcs {
        builder.precedence(from, to, 0);
    }
    Ok(builder.build()?)
}

/// A row of `optimum.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KnownBound {
    /// Instance file name, e.g. `j301_1.sm`.
    pub instance: String,
    /// Proven lower bound on the optimal makespan, when known.
    pub lower_bound: Option<i64>,
    /// Best known makespan (the optimum when it equals the lower bound).
    pub best_known: i64,
}

impl KnownBound {
    /// Whether the best known makespan is proven optimal.
    pub fn is_optimal(&self) -> bool {
        self.lower_bound == Some(self.best_known)
    }
}

/// Parses `optimum.csv`: an optional `problem,optimum` header, then rows whose value is
/// `43` (optimum), `104..105` (lower bound and best known) or `..103` (best known only).
pub fn parse_optimum_csv(text: &str) -> Result<Vec<KnownBound>, PsplibError> {
    let mut bounds = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() || (idx == 0 && line.starts_with("problem")) {
            continue;
        }
        let malformed = |reason: String| PsplibError::Malformed {
            line: line_no,
            reason,
        };
        let (instance, value) = line
            .split_once(',')
            .ok_or_else(|| malformed("expected `instance,value`".to_string()))?;
        let number = |text: &str| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| malformed(format!("expected a makespan, found `{text}`")))
        };
        let (lower_bound, best_known) = match value.split_once("..") {
            None => {
                let optimum = number(value)?;
                (Some(optimum), optimum)
            }
            Some((lower, upper)) if lower.trim().is_empty() => (None, number(upper)?),
            Some((lower, upper)) => (Some(number(lower)?), number(upper)?),
        };
        bounds.push(KnownBound {
            instance: instance.trim().to_string(),
            lower_bound,
            best_known,
        });
    }
    Ok(bounds)
}

/// Solves an instance with the genetic algorithm and its default configuration.
pub fn solve(problem: &Problem, budget: &Budget<'_>, seed: u64) -> Result<Solution, ScheduleError> {
    ga::solve(problem, budget, &GaConfig::default(), seed)
}

/// `100 · (makespan − reference) / reference`; 0 when the reference is 0.
pub fn deviation_percent(makespan: i64, reference: i64) -> f64 {
    if reference == 0 {
        0.0
    } else {
        100.0 * (makespan - reference) as f64 / reference as f64
    }
}

/// One solved instance, for [`summarize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceOutcome {
    /// Makespan found.
    pub makespan: i64,
    /// Critical-path lower bound.
    pub critical_path_bound: i64,
    /// Optimum or best known makespan, when listed.
    pub best_known: Option<i64>,
}

/// Averages over a benchmark set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchmarkSummary {
    /// Instances summarized.
    pub instances: usize,
    /// Mean % deviation from the critical-path lower bound.
    pub mean_deviation_from_critical_path: f64,
    /// Mean % deviation from the optimum / best known, over instances that have one.
    pub mean_deviation_from_best_known: Option<f64>,
    /// Instances with a best known makespan.
    pub with_best_known: usize,
    /// Instances where the makespan found is at most the best known.
    pub matching_best_known: usize,
}

/// Summary figures of a benchmark run.
pub fn summarize(outcomes: &[InstanceOutcome]) -> BenchmarkSummary {
    let instances = outcomes.len();
    let mean = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let from_bound: Vec<f64> = outcomes
        .iter()
        .map(|o| deviation_percent(o.makespan, o.critical_path_bound))
        .collect();
    let from_best: Vec<f64> = outcomes
        .iter()
        .filter_map(|o| o.best_known.map(|best| deviation_percent(o.makespan, best)))
        .collect();
    BenchmarkSummary {
        instances,
        mean_deviation_from_critical_path: mean(from_bound).unwrap_or(0.0),
        with_best_known: from_best.len(),
        mean_deviation_from_best_known: mean(from_best),
        matching_best_known: outcomes
            .iter()
            .filter(|o| o.best_known.is_some_and(|best| o.makespan <= best))
            .count(),
    }
}
