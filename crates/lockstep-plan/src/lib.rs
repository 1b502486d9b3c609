//! Pure scheduling algorithms: precedence networks and the critical path, working-time
//! calendars, resource-constrained scheduling (schedule generation schemes, a genetic
//! algorithm, incremental re-planning, infeasibility explanations), Monte Carlo
//! forecasting and the PSPLIB benchmark format.
//!
//! Everything works on activity indices `0..n` and integer time units chosen by the caller.
//! This crate deliberately has no domain words, no I/O, no clock and no ambient randomness:
//! inputs come in as values, time budgets as a callback, randomness from a seed.
#![deny(missing_docs)]

pub mod calendar;
pub mod cpm;
pub mod forecast;
pub mod ga;
pub mod generate;
pub mod network;
pub mod psplib;
pub mod rcpsp;
pub mod replan;
pub mod rng;
pub mod sgs;

pub use calendar::{ActivityMode, Calendar, Interval};
pub use cpm::{CpmError, CpmOptions, CpmSchedule, critical_path};
pub use forecast::{
    DurationDistribution, Estimate, Forecast, ForecastConfig, ForecastError, forecast,
    resource_flow_arcs,
};
pub use ga::{Budget, GaConfig, Solution};
pub use network::{Network, NetworkError, Precedence};
pub use rcpsp::{
    CalendarId, Conflict, Objective, Problem, ProblemBuilder, ProblemError, Schedule,
    ScheduleError, Violation, check_schedule, diagnose,
};
pub use replan::{Move, Replan, replan};
pub use sgs::{PriorityRule, ResourceProfile};

/// Formats a chain of activities as `1 → 3 → 7`.
pub(crate) fn format_path(path: &[usize]) -> String {
    let names: Vec<String> = path.iter().map(usize::to_string).collect();
    names.join(" → ")
}
