//! `lockstep metrics` and `lockstep retro`: release metrics of a period and a release's
//! post-release review, on the database or against a server. Both paths print the same
//! JSON document, so one printer serves them.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use lockstep_core::Name;
use lockstep_core::coordination::{Activity, CoordinationReport, LATE_CHANGE_HOURS};
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

#[derive(Debug, Args)]
pub struct CoordinationArgs {
    /// The release.
    pub release: String,
    /// Record time spent coordinating it outside Lockstep: `45m`, `1h30m`, or minutes.
    #[arg(long, value_name = "DURATION", value_parser = parse_minutes, conflicts_with = "retract")]
    pub log: Option<u32>,
    /// What it was: meeting, call, email, chat or other.
    #[arg(long, default_value = "meeting", value_parser = parse_activity, requires = "log")]
    pub activity: Activity,
    /// How many people it took.
    #[arg(long, default_value_t = 1, requires = "log")]
    pub people: u32,
    /// The day it happened (YYYY-MM-DD, UTC); today by default.
    #[arg(long, requires = "log")]
    pub on: Option<Date>,
    /// What it was about.
    #[arg(long, requires = "log")]
    pub note: Option<String>,
    /// Withdraw record N, entered by mistake (yours, or any as a release manager).
    #[arg(long, value_name = "N", conflicts_with = "rate")]
    pub retract: Option<u32>,
    /// Rate how coordinating the release went: 5 effortless … 1 painful (a later rating
    /// replaces yours).
    #[arg(long, value_name = "1-5", conflicts_with = "log")]
    pub rate: Option<u8>,
    /// Why, with --rate.
    #[arg(long, requires = "rate")]
    pub comment: Option<String>,
}

#[derive(Debug, Args)]
pub struct LessonsArgs {
    /// Only lessons whose text or release contain this (case-insensitive).
    #[arg(long)]
    pub search: Option<String>,
}

/// `lockstep lessons [--search TEXT]`
pub async fn lessons(global: &Global, args: LessonsArgs) -> anyhow::Result<ExitCode> {
    let found = match &global.server {
        Some(_) => {
            let mut path = "/api/v1/lessons".to_owned();
            if let Some(search) = &args.search {
                path.push_str("?q=");
                path.push_str(&crate::remote::percent_encode(search));
            }
            Client::connect(global)?.get_json(&path).await?
        }
        None => {
            let state = crate::apply::open(global).await?.load().await?;
            let items: Vec<Value> = state
                .lessons(args.search.as_deref())
                .into_iter()
                .map(|(release, lesson)| {
                    serde_json::json!({ "release": release, "text": lesson.text,
                        "by": lesson.by, "at": lesson.at })
                })
                .collect();
            serde_json::json!({ "items": items })
        }
    };
    match global.output {
        Output::Json => println!("{found:#}"),
        Output::Yaml => anyhow::bail!("lessons print as a list or JSON, not YAML"),
        Output::Table => {
            let items = found["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!(
                    "No lesson kept{}.",
                    if args.search.is_some() {
                        " says that"
                    } else {
                        " yet"
                    }
                );
            }
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            for lesson in &items {
                println!(
                    "- {} ({}, {}, {})",
                    text(&lesson["text"]),
                    text(&lesson["release"]),
                    text(&lesson["by"]),
                    text(&lesson["at"]).get(..10).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `45m`, `1h30m`, `1 hour`, or a number of minutes: whole minutes, at least one.
fn parse_minutes(raw: &str) -> Result<u32, String> {
    let minutes = match raw.trim().parse::<u32>() {
        Ok(minutes) => i64::from(minutes),
        Err(_) => {
            let duration: SignedDuration = raw.trim().parse().map_err(|_| {
                format!("`{raw}` is not a duration: write 45m, 1h30m or a number of minutes")
            })?;
            if duration.as_secs() % 60 != 0 {
                return Err(format!("`{raw}` is not a whole number of minutes"));
            }
            duration.as_mins()
        }
    };
    u32::try_from(minutes)
        .ok()
        .filter(|m| *m > 0)
        .ok_or_else(|| format!("`{raw}` is not a positive duration"))
}

fn parse_activity(raw: &str) -> Result<Activity, String> {
    Activity::parse(raw).ok_or_else(|| {
        let all: Vec<&str> = Activity::ALL.iter().map(|a| a.as_str()).collect();
        format!("`{raw}` is not an activity: one of {}", all.join(", "))
    })
}

/// `lockstep coordination RELEASE [--log DURATION … | --retract N]`
pub async fn coordination(global: &Global, args: CoordinationArgs) -> anyhow::Result<ExitCode> {
    let release = Name::parse(&args.release)?;
    if let Some(minutes) = args.log {
        let body = serde_json::json!({
            "activity": args.activity,
            "minutes": minutes,
            "people": args.people,
            "on": args.on,
            "note": args.note,
        });
        let command = lockstep_core::Command::RecordCoordination {
            release: release.clone(),
            activity: args.activity,
            minutes,
            people: args.people,
            on: args.on,
            note: args.note,
            by: global.actor.clone(),
        };
        return write(global, &release, "coordination", body, command).await;
    }
    if let Some(score) = args.rate {
        let body = serde_json::json!({ "score": score, "comment": args.comment });
        let command = lockstep_core::Command::RateCoordination {
            release: release.clone(),
            score,
            comment: args.comment,
            by: global.actor.clone(),
        };
        return write(global, &release, "coordination/rating", body, command).await;
    }
    if let Some(number) = args.retract {
        let command = lockstep_core::Command::RetractCoordination {
            release: release.clone(),
            number,
            by: global.actor.clone(),
        };
        let path = format!("coordination/{number}/retract");
        return write(global, &release, &path, serde_json::json!({}), command).await;
    }
    let report = release_view(global, &release, "coordination", Ledger::coordination).await?;
    match global.output {
        Output::Json => println!("{report:#}"),
        Output::Yaml => anyhow::bail!("coordination prints as a table or JSON, not YAML"),
        Output::Table => {
            let report: CoordinationReport = serde_json::from_value(report)
                .context("the coordination report is not readable")?;
            print_coordination(&report);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `view` reads off the ledger about `release`, as the server's
/// `/releases/{release}/{path}` answers it: asked of the server, or folded from the
/// database.
async fn release_view<T: serde::Serialize>(
    global: &Global,
    release: &Name,
    path: &str,
    view: impl Fn(
        &Ledger,
        &lockstep_core::State,
        &std::collections::BTreeMap<String, jiff::tz::TimeZone>,
        &Name,
    ) -> Option<T>,
) -> anyhow::Result<Value> {
    if global.server.is_some() {
        return Client::connect(global)?
            .get_json(&format!("/api/v1/releases/{release}/{path}"))
            .await;
    }
    let (program, ledger) = local_ledger(global).await?;
    let state = program.load().await?;
    let zones = crate::plan_cmd::time_zones(&state)?;
    let found = view(&ledger, &state, &zones, release)
        .with_context(|| format!("no release named `{release}`"))?;
    Ok(serde_json::to_value(found)?)
}

/// The database's program and its ledger, with the automation accounts of its users.
async fn local_ledger(
    global: &Global,
) -> anyhow::Result<(lockstep_store::program::Program, Ledger)> {
    let program = crate::apply::open(global).await?;
    let mut ledger = Ledger::new();
    program.fold_ledger(&mut ledger).await?;
    let users = lockstep_store::auth::AuthStore::open(&global.database_url, &Default::default())
        .await
        .context("cannot open the credential store")?;
    ledger.set_automation(users.automation_accounts().await?);
    Ok((program, ledger))
}

/// A write on a release's sub-resource `path`: posted to the server, or committed to
/// the database.
async fn write(
    global: &Global,
    release: &Name,
    path: &str,
    body: Value,
    command: lockstep_core::Command,
) -> anyhow::Result<ExitCode> {
    match &global.server {
        Some(_) => {
            let answer = Client::connect(global)?
                .post_json(&format!("/api/v1/releases/{release}/{path}"), &body)
                .await?;
            crate::remote::print_changes(global, &answer);
            Ok(ExitCode::SUCCESS)
        }
        None => crate::verbs::commit(global, command, None, Timestamp::now()).await,
    }
}

fn print_coordination(report: &CoordinationReport) {
    println!("{}", report.summary());
    if let Some(line) = report.satisfaction_line() {
        println!("{line}");
    }
    println!();
    if !report.entries.is_empty() {
        let rows: Vec<Vec<String>> = report
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.number.to_string(),
                    e.on.to_string(),
                    e.activity.to_string(),
                    e.minutes.to_string(),
                    e.people.to_string(),
                    e.person_minutes().to_string(),
                    e.by.clone(),
                    match &e.retracted {
                        Some(r) => format!("retracted by {}", r.by),
                        None => e.note.clone().unwrap_or_default(),
                    },
                ]
            })
            .collect();
        print_table(
            &[
                "#",
                "DAY",
                "ACTIVITY",
                "MINUTES",
                "PEOPLE",
                "PERSON-MIN",
                "BY",
                "NOTE",
            ],
            &rows,
        );
        println!();
    }
    if !report.in_tool.is_empty() {
        let rows: Vec<Vec<String>> = report
            .in_tool
            .iter()
            .map(|p| {
                vec![
                    p.actor.clone(),
                    p.actions.to_string(),
                    p.sittings.to_string(),
                    p.minutes.to_string(),
                ]
            })
            .collect();
        print_table(&["IN LOCKSTEP", "ACTIONS", "SITTINGS", "MINUTES"], &rows);
        println!();
    }
    for account in &report.automation {
        let n = account.actions;
        println!(
            "Left out, as no one's time: {n} {} by the automation account {}.",
            if n == 1 { "action" } else { "actions" },
            account.actor
        );
    }
    println!(
        "Plan changes in the {LATE_CHANGE_HOURS} h before the deployment ({}): {}",
        report.deployment_start.strftime("%Y-%m-%d %H:%M UTC"),
        report.late_changes.len()
    );
    for change in &report.late_changes {
        println!(
            "  {}  {}  {}",
            change.at.strftime("%Y-%m-%d %H:%M"),
            change.actor,
            change.change
        );
    }
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
                .map_err(|(field, detail)| anyhow::anyhow!("--{field}: {detail}"))?;
            let (program, ledger) = local_ledger(global).await?;
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
        let body = serde_json::json!({ "text": text });
        let command = lockstep_core::Command::RecordLesson {
            release: release.clone(),
            text,
            by: global.actor.clone(),
        };
        return write(global, &release, "lessons", body, command).await;
    }
    let report = release_view(global, &release, "retrospective", Ledger::retrospective).await?;
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
        ("coordination per release", {
            let c = &report["coordination"];
            format!(
                "{} ({} of {} within {} min), rated {}; {} plan changes in the {LATE_CHANGE_HOURS} h before a deployment",
                c["minutes"]["median"]
                    .as_f64()
                    .map_or_else(|| "n/a".to_owned(), |m| format!("median {m:.0} person-min")),
                c["withinTarget"],
                report["releasesShipped"],
                c["targetMinutes"],
                c["satisfaction"]
                    .as_f64()
                    .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1} of 5")),
                c["lateChanges"]
            )
        }),
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
                r["coordinationMinutes"].to_string(),
                r["lateChanges"].to_string(),
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
            "COORDINATION (PERSON-MIN)",
            "LATE CHANGES",
        ],
        &rows,
    );
}
