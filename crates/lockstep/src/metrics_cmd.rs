//! `lockstep metrics` and `lockstep retro`: release metrics of a period and a release's
//! post-release review, on the database or against a server. Both paths print the same
//! JSON document, so one printer serves them.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use jiff::Timestamp;
use jiff::civil::Date;
use lockstep_core::Name;
use lockstep_core::metrics::Ledger;
use serde_json::Value;

use crate::cli::{Global, Output};
use crate::read::print_table;
use crate::remote::Client;

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// First day of the period (YYYY-MM-DD, UTC); 90 days before `--to` by default.
    #[arg(long)]
    pub from: Option<Date>,
    /// Last day of the period (YYYY-MM-DD, UTC); today by default.
    #[arg(long)]
    pub to: Option<Date>,
}

#[derive(Debug, Args)]
pub struct RetroArgs {
    /// The release.
    pub release: String,
    /// Keep this lesson with the release ("What would we do differently?") instead of
    /// printing the review.
    #[arg(long)]
    pub lesson: Option<String>,
}

/// `lockstep metrics`
pub async fn metrics(global: &Global, args: MetricsArgs) -> anyhow::Result<ExitCode> {
    let report = match &global.server {
        Some(_) => {
            let mut query = Vec::new();
            if let Some(from) = args.from {
                query.push(format!("from={from}"));
            }
            if let Some(to) = args.to {
                query.push(format!("to={to}"));
            }
            let path = format!("/api/v1/metrics?{}", query.join("&"));
            Client::connect(global)?.get_json(&path).await?
        }
        None => {
            let (from, to) = lockstep_server::metrics::period(args.from, args.to, Timestamp::now())
                .map_err(anyhow::Error::msg)?;
            let program = crate::apply::open(global).await?;
            let mut ledger = Ledger::new();
            program.fold_ledger(&mut ledger).await?;
            let state = program.load().await?;
            let zones = crate::plan_cmd::time_zones(&state)?;
            serde_json::to_value(ledger.metrics(&state, &zones, from, to))?
        }
    };
    match global.output {
        Output::Json => println!("{report:#}"),
        Output::Yaml => anyhow::bail!("metrics print as a table or JSON, not YAML"),
        Output::Table => print_metrics(&report),
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockstep retro RELEASE`: Markdown, or JSON with `-o json`.
pub async fn retro(global: &Global, args: RetroArgs) -> anyhow::Result<ExitCode> {
    let release = Name::parse(&args.release)?;
    if let Some(text) = args.lesson {
        return match &global.server {
            Some(_) => {
                let answer = Client::connect(global)?
                    .post_json(
                        &format!("/api/v1/releases/{release}/lessons"),
                        &serde_json::json!({ "text": text }),
                    )
                    .await?;
                crate::remote::print_changes(global, &answer);
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let command = lockstep_core::Command::RecordLesson {
                    release,
                    text,
                    by: global.actor.clone(),
                };
                crate::verbs::commit(global, command, None, jiff::Timestamp::now()).await
            }
        };
    }
    let report = match &global.server {
        Some(_) => {
            Client::connect(global)?
                .get_json(&format!("/api/v1/releases/{release}/retrospective"))
                .await?
        }
        None => {
            let program = crate::apply::open(global).await?;
            let mut ledger = Ledger::new();
            program.fold_ledger(&mut ledger).await?;
            let state = program.load().await?;
            let retro = ledger
                .retrospective(&state, &release)
                .with_context(|| format!("no release named `{release}`"))?;
            serde_json::to_value(retro)?
        }
    };
    match global.output {
        Output::Json => println!("{report:#}"),
        Output::Yaml => anyhow::bail!("a retrospective prints as Markdown or JSON, not YAML"),
        Output::Table => {
            let retro: lockstep_core::metrics::Retrospective =
                serde_json::from_value(report).context("the retrospective is not readable")?;
            print!("{}", retro.to_markdown());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn percent(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "n/a".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

fn days(summary: &Value) -> String {
    match summary.get("median").and_then(Value::as_f64) {
        Some(median) => format!(
            "median {median:.1} d, p85 {:.1} d, max {:.1} d ({} measured)",
            summary["p85"].as_f64().unwrap_or_default(),
            summary["max"].as_f64().unwrap_or_default(),
            summary["count"]
        ),
        None => "n/a".to_owned(),
    }
}

fn print_metrics(report: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let day = |v: &Value| text(v).get(..10).unwrap_or_default().to_owned();
    let runs = &report["runs"];
    let windows = &report["windows"];
    println!(
        "Release metrics from {} to {} (UTC, end exclusive)\n",
        day(&report["from"]),
        day(&report["to"])
    );
    let rows = [
        (
            "releases shipped",
            format!(
                "{} ({:.1} per month), {} on time, {} hotfix or emergency",
                report["releasesShipped"],
                report["releasesPerMonth"].as_f64().unwrap_or_default(),
                report["onTime"],
                report["hotfixes"]
            ),
        ),
        (
            "deployment success rate",
            format!(
                "{} ({} succeeded, {} rolled back, {} unfinished)",
                percent(&report["deploymentSuccessRate"]),
                runs["succeeded"],
                runs["rolledBack"],
                runs["unfinished"]
            ),
        ),
        ("code complete to production", days(&report["leadTimeDays"])),
        ("planned to shipped", days(&report["preparationDays"])),
        (
            "rollbacks, incidents",
            format!("{}, {}", report["rollbacks"], report["incidents"]),
        ),
        (
            "surprise dependencies",
            report["surpriseDependencies"].to_string(),
        ),
        (
            "windows free of conflicts",
            format!(
                "{} ({} of {} open deployment windows clash)",
                percent(&windows["freeRate"]),
                windows["withConflicts"],
                windows["total"]
            ),
        ),
    ];
    for (label, value) in rows {
        println!("{label:<28} {value}");
    }
    let releases = report["releases"].as_array().cloned().unwrap_or_default();
    if releases.is_empty() {
        return;
    }
    println!();
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            vec![
                text(&r["release"]),
                text(&r["kind"]),
                text(&r["target"]),
                text(&r["released"]),
                r["slipDays"].to_string(),
                r["leadTimeDays"]["median"]
                    .as_f64()
                    .map_or_else(|| "-".to_owned(), |m| format!("{m:.1}")),
                r["rollbacks"].to_string(),
                r["incidents"].to_string(),
                r["surpriseDependencies"].to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "RELEASE",
            "KIND",
            "TARGET",
            "RELEASED",
            "DAYS LATE",
            "LEAD (MEDIAN D)",
            "ROLLBACKS",
            "INCIDENTS",
            "SURPRISES",
        ],
        &rows,
    );
}
