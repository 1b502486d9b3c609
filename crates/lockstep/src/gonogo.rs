//! `lockstep signal record …` (a signal that has no webhook, straight into the log)
//! and `lockstep gonogo RELEASE` (the verdict with its evidence; exit 0 go, 1 no-go).
//!
//! Thin glue over `lockstep_core::readiness` and `Command::RecordSignal`; the rules
//! live in core. This module does not talk to a server: like the other verbs it
//! writes the log the server follows.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use lockstep_core::{CiConclusion, Command, EventMeta, Name, Signal, SignalReading, decide};

use crate::apply::open;
use crate::cli::{Global, Output};

/// `lockstep signal …`
#[derive(Debug, Args)]
pub struct SignalArgs {
    #[command(subcommand)]
    pub verb: SignalVerb,
}

#[derive(Debug, Subcommand)]
pub enum SignalVerb {
    /// Record a signal about a component.
    Record {
        #[command(subcommand)]
        reading: ReadingArgs,
    },
}

/// What every signal names.
#[derive(Debug, Args)]
pub struct Common {
    /// The component (or use --repository).
    #[arg(required_unless_present = "repository")]
    pub component: Option<String>,
    /// The component's repository (`github.com/acme/api`), instead of its name.
    #[arg(long, conflicts_with = "component")]
    pub repository: Option<String>,
    /// The environment it was observed in.
    #[arg(long)]
    pub environment: Option<String>,
    /// Delivery id; recording the same id again changes nothing. Default: generated.
    #[arg(long)]
    pub delivery: Option<String>,
    /// When it was observed (RFC 3339). Default: now.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReadingArgs {
    /// A CI run's result.
    Ci {
        #[command(flatten)]
        common: Common,
        /// success, failure, cancelled or pending (GitHub and GitLab spellings work).
        #[arg(long)]
        conclusion: String,
        /// Workflow or pipeline name.
        #[arg(long, default_value = "CI")]
        workflow: String,
        #[arg(long)]
        branch: Option<String>,
        #[arg(long)]
        commit: Option<String>,
    },
    /// Open bugs by severity.
    Bugs {
        #[command(flatten)]
        common: Common,
        /// P0 / critical.
        #[arg(long, default_value_t = 0)]
        critical: u32,
        /// P1 / high.
        #[arg(long, default_value_t = 0)]
        high: u32,
        #[arg(long, default_value_t = 0)]
        medium: u32,
        #[arg(long, default_value_t = 0)]
        low: u32,
    },
    /// A security scan's findings.
    SecurityScan {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 0)]
        critical: u32,
        #[arg(long, default_value_t = 0)]
        high: u32,
    },
    /// A smoke-test run: passed unless --failed is above zero.
    SmokeTest {
        #[command(flatten)]
        common: Common,
        /// Failing tests.
        #[arg(long, default_value_t = 0)]
        failed: u32,
    },
    /// An error-rate sample, in percent.
    ErrorRate {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        percent: f64,
    },
    /// A latency sample.
    Latency {
        #[command(flatten)]
        common: Common,
        /// 95th percentile in milliseconds.
        #[arg(long)]
        p95_ms: u32,
    },
}

/// `lockstep gonogo RELEASE`
#[derive(Debug, Args)]
pub struct GonogoArgs {
    /// The release.
    pub release: String,
}

pub fn reading(args: ReadingArgs) -> anyhow::Result<(Common, SignalReading)> {
    Ok(match args {
        ReadingArgs::Ci {
            common,
            conclusion,
            workflow,
            branch,
            commit,
        } => {
            let conclusion = CiConclusion::parse(&conclusion).ok_or_else(|| {
                anyhow!(
                    "unknown conclusion `{conclusion}`: use success, failure, cancelled or pending"
                )
            })?;
            (
                common,
                SignalReading::Ci {
                    workflow,
                    conclusion,
                    branch,
                    commit,
                },
            )
        }
        ReadingArgs::Bugs {
            common,
            critical,
            high,
            medium,
            low,
        } => (
            common,
            SignalReading::Bugs {
                critical,
                high,
                medium,
                low,
            },
        ),
        ReadingArgs::SecurityScan {
            common,
            critical,
            high,
        } => (common, SignalReading::SecurityScan { critical, high }),
        ReadingArgs::SmokeTest { common, failed } => (
            common,
            SignalReading::SmokeTest {
                passed: failed == 0,
                failed,
            },
        ),
        ReadingArgs::ErrorRate { common, percent } => {
            if !(0.0..=100.0).contains(&percent) {
                return Err(anyhow!("an error rate is between 0 and 100 percent"));
            }
            // Basis points keep core comparisons exact at 0.01% resolution.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let basis_points = (percent * 100.0).round() as u32;
            (common, SignalReading::ErrorRate { basis_points })
        }
        ReadingArgs::Latency { common, p95_ms } => (common, SignalReading::Latency { p95_ms }),
    })
}

pub async fn signal(global: &Global, args: SignalArgs) -> anyhow::Result<ExitCode> {
    let SignalVerb::Record { reading: args } = args.verb;
    let now = jiff::Timestamp::now();
    let (common, reading) = reading(args)?;
    let observed_at = match &common.at {
        Some(raw) => raw
            .parse()
            .with_context(|| format!("`{raw}` is not an RFC 3339 instant"))?,
        None => now,
    };
    let environment = common.environment.as_deref().map(Name::parse).transpose()?;
    // A signal may trip a run's rollback trigger: its incident is written in the same
    // commit, as the server writes it.
    let program = crate::serve_delivery::with_configured_policy(open(global).await?)?;
    let mut state = program.load().await?;
    let component = match (&common.component, &common.repository) {
        (Some(component), _) => Name::parse(component)?,
        (None, Some(repository)) => state
            .component_by_repository(repository)
            .map(|c| c.name.clone())
            .ok_or_else(|| anyhow!("no component has the repository `{repository}`"))?,
        (None, None) => return Err(anyhow!("name a component or a --repository")),
    };
    let delivery = common
        .delivery
        .unwrap_or_else(|| format!("cli:{}", now.as_nanosecond()));
    let command = Command::RecordSignal {
        signal: Signal {
            component,
            environment,
            source: "cli".to_owned(),
            delivery,
            observed_at,
            reading,
        },
    };
    let meta = EventMeta {
        actor: global.actor.clone(),
        at: now,
        reason: None,
    };
    for attempt in 1..=3 {
        let events = match decide(&state, command.clone(), now) {
            Ok(events) => events,
            Err(error) => {
                return Err(crate::run_cmd::refused(global, &state, &command, error).await);
            }
        };
        match program.commit(&mut state, events, &meta, &[]).await {
            Ok(recorded) => {
                match global.output {
                    Output::Json => {
                        let rows: Vec<_> = recorded
                            .iter()
                            .map(|r| serde_json::json!({ "position": r.position, "summary": r.event.describe() }))
                            .collect();
                        println!("{:#}", serde_json::json!({ "changes": rows }));
                    }
                    _ if recorded.is_empty() => println!("no changes"),
                    _ => recorded
                        .iter()
                        .for_each(|r| println!("{}", r.event.describe())),
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(error) if error.is_conflict() && attempt < 3 => {
                program.catch_up(&mut state, |_| {}).await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

pub async fn gonogo(global: &Global, args: GonogoArgs) -> anyhow::Result<ExitCode> {
    let release = Name::parse(&args.release)?;
    let program = open(global).await?;
    let state = program.load().await?;
    // The signals' verdict plus the checklist and the meeting's sign-offs.
    let assessment = lockstep_core::checklist::assess(&state, &release)?;
    Ok(print_verdict(
        global.output,
        &lockstep_server::checklists::assessment_json(&assessment),
    ))
}

/// Prints a go/no-go assessment (JSON as the API sends it); exit 0 go, 1 no-go.
pub fn print_verdict(output: Output, verdict: &serde_json::Value) -> ExitCode {
    match output {
        Output::Json | Output::Yaml => println!("{verdict:#}"),
        Output::Table => {
            print!("{}", verdict_text(verdict));
            if verdict["path"] == "expedited" {
                println!("path: expedited (hotfix/emergency checklist, named approvers)");
            }
            if !verdict["signoffs"].is_null() {
                print!(
                    "{}",
                    crate::checklist_cmd::meeting_text(&verdict["signoffs"])
                );
            }
        }
    }
    if verdict["verdict"] == "go" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The verdict as text, from its JSON form (`lockstep_server::signals::verdict_json`),
/// so that the local verdict and a server's print the same.
pub fn verdict_text(verdict: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let lines = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default()
    };
    let go = verdict["verdict"] == "go";
    let mut out = format!(
        "{}: {}\n",
        text(&verdict["release"]),
        if go { "GO" } else { "NO-GO" }
    );
    for criterion in verdict["criteria"].as_array().into_iter().flatten() {
        let status = text(&criterion["status"]);
        let mark = match status.as_str() {
            "met" => "✓",
            "failed" => "✗",
            _ => "?",
        };
        out.push_str(&format!(
            "{mark} {} — {} ({status})\n",
            text(&criterion["id"]),
            text(&criterion["title"]),
        ));
        for line in lines(&criterion["missing"]) {
            out.push_str(&format!("    missing: {line}\n"));
        }
        for line in lines(&criterion["evidence"]) {
            out.push_str(&format!("    evidence: {line}\n"));
        }
    }
    out
}
