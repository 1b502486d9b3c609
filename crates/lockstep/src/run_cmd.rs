//! `lockstep runbook RELEASE`, `lockstep run start|step|rollback|status …` and
//! `lockstep audit`: the release-day runbook, its live execution, and the refused
//! attempts.
//!
//! Thin glue over `lockstep_core::runbook` and `lockstep_core::run`; like the other
//! verbs it writes the log the server follows, and it records every command that core
//! refuses in the audit table (`lockstep_store::audit`). Time zones are resolved here,
//! at the edge. JSON shapes are the server's (`lockstep_server::runs`).

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use lockstep_core::run::RunOptions;
use lockstep_core::runbook::{Runbook, generate};
use lockstep_core::{Command, DomainError, EventMeta, Name, State, decide};
use lockstep_server::runs::{parse_action, refusal_json, run_json, runbook_json};
use lockstep_store::audit::{AuditLog, Refusal};
use lockstep_store::program::Program;

use crate::apply::open;
use crate::cli::{Global, Output};
use crate::plan_cmd::time_zones;
use crate::read::print_table;

/// `lockstep runbook RELEASE`
#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// The release.
    pub release: String,
    /// Markdown (the seed's layout) or JSON.
    #[arg(long, value_enum, default_value_t = RunbookFormat::Markdown)]
    pub format: RunbookFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunbookFormat {
    Markdown,
    Json,
}

/// `lockstep run …`
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(subcommand)]
    pub verb: RunVerb,
}

#[derive(Debug, Subcommand)]
pub enum RunVerb {
    /// Start executing the release's runbook.
    Start {
        release: String,
        /// Start the rollback as soon as a rollback trigger trips.
        #[arg(long)]
        auto_rollback: bool,
        /// Override a deny window (blackout); needs --reason, and is audited.
        #[arg(long, requires = "reason")]
        break_glass: bool,
        /// Why the break-glass override is needed.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Move a step: start, verify, done, fail or skip. During a rollback, the
    /// rollback's steps.
    Step {
        release: String,
        /// The step (its component).
        step: String,
        /// start, verify, done, fail or skip.
        action: String,
        /// A note (why it failed, why it is skipped).
        #[arg(long)]
        note: Option<String>,
        /// Start inside a deny window; needs --reason, and is audited.
        #[arg(long, requires = "reason")]
        break_glass: bool,
        /// Why the break-glass override is needed.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Roll back the run: its deployed steps, in reverse dependency order.
    Rollback {
        release: String,
        /// Why (default: the tripped trigger).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Show the run: steps, who did what when, tripped triggers, rollback.
    Status { release: String },
}

/// `lockstep audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only refusals about this release.
    #[arg(long)]
    pub release: Option<String>,
    /// At most this many (the most recent).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

fn resolve_runbook(state: &State, release: &Name) -> anyhow::Result<Runbook> {
    let zones = time_zones(state)?;
    Ok(generate(state, release, &zones, jiff::Timestamp::now())?)
}

pub async fn runbook(global: &Global, args: RunbookArgs) -> anyhow::Result<ExitCode> {
    let release = Name::parse(&args.release)?;
    let program = open(global).await?;
    let state = program.load().await?;
    let runbook = resolve_runbook(&state, &release)?;
    match (args.format, global.output) {
        (RunbookFormat::Json, _) | (_, Output::Json) => {
            println!("{:#}", runbook_json(&runbook))
        }
        _ => print!("{}", runbook.to_markdown()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Records a refused command in the audit table, then hands the refusal back.
pub async fn refused(
    global: &Global,
    state: &State,
    command: &Command,
    error: DomainError,
) -> anyhow::Error {
    let (target, release) = lockstep_core::access::subject(state, command);
    let refusal = Refusal {
        at: jiff::Timestamp::now(),
        actor: global.actor.clone(),
        source: "cli".to_owned(),
        command: lockstep_core::access::action(command),
        target,
        release: release.map(|r| r.to_string()),
        kind: "domain".to_owned(),
        error: error.to_string(),
    };
    let recorded = match AuditLog::open(&global.database_url, &Default::default()).await {
        Ok(audit) => audit.record(&refusal).await,
        Err(error) => Err(error),
    };
    if let Err(audit_error) = recorded {
        // The refusal is what the user needs to see; a broken audit table is logged.
        tracing::warn!(%audit_error, "cannot record the refused attempt");
    }
    error.into()
}

/// Records a refused `apply` (a manifest error or a rule a command broke, located in
/// its file) in the audit table, as kind `manifest`.
pub async fn refused_apply(global: &Global, files: &[std::path::PathBuf], error: &anyhow::Error) {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let refusal = Refusal {
        at: jiff::Timestamp::now(),
        actor: global.actor.clone(),
        source: "cli".to_owned(),
        command: format!("apply {}", names.join(" ")),
        target: "program".to_owned(),
        release: None,
        kind: "manifest".to_owned(),
        error: format!("{error:#}"),
    };
    let recorded = match AuditLog::open(&global.database_url, &Default::default()).await {
        Ok(audit) => audit.record(&refusal).await,
        Err(error) => Err(error),
    };
    if let Err(audit_error) = recorded {
        tracing::warn!(%audit_error, "cannot record the refused apply");
    }
}

/// Decides `command` (built from the state, so rebuilt after a conflict), records a
/// refusal, commits with up to three attempts, and prints what changed.
async fn commit(
    global: &Global,
    program: &Program,
    state: &mut State,
    build: impl Fn(&State) -> anyhow::Result<Command>,
    reason: Option<String>,
) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    let meta = EventMeta {
        actor: global.actor.clone(),
        at: now,
        reason,
    };
    for attempt in 1..=3 {
        let command = build(state)?;
        let events = match decide(state, command.clone(), now) {
            Ok(events) => events,
            Err(error) => return Err(refused(global, state, &command, error).await),
        };
        match program.commit(state, events, &meta, &[]).await {
            Ok(recorded) => {
                match global.output {
                    Output::Json => {
                        let rows: Vec<_> = recorded
                            .iter()
                            .map(|r| serde_json::json!({ "position": r.position, "summary": r.event.describe() }))
                            .collect();
                        println!("{:#}", serde_json::json!({ "changes": rows }));
                    }
                    _ => recorded
                        .iter()
                        .for_each(|r| println!("{}", r.event.describe())),
                }
                return Ok(ExitCode::SUCCESS);
            }
            // Another writer moved the run: decide again on what it wrote, which
            // turns a lost race for one step into a clear refusal.
            Err(error) if error.is_conflict() && attempt < 3 => {
                program.catch_up(state, |_| {}).await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

pub async fn run(global: &Global, args: RunArgs) -> anyhow::Result<ExitCode> {
    // A failed step, a rollback and a run's end are announced in the commit that
    // records them, when a notification file is configured (as `item` and `apply` do).
    let program = match &args.verb {
        RunVerb::Status { .. } => open(global).await?,
        _ => crate::serve_delivery::with_configured_policy(open(global).await?)?,
    };
    let mut state = program.load().await?;
    let by = global.actor.clone();
    match args.verb {
        RunVerb::Start {
            release,
            auto_rollback,
            break_glass,
            reason,
        } => {
            let release = Name::parse(&release)?;
            let break_glass = break_glass.then(|| reason.clone().unwrap_or_default());
            let build = |state: &State| {
                Ok(Command::StartRun {
                    release: release.clone(),
                    runbook: Box::new(resolve_runbook(state, &release)?),
                    by: by.clone(),
                    options: RunOptions {
                        auto_rollback,
                        break_glass: break_glass.clone(),
                    },
                })
            };
            commit(global, &program, &mut state, build, reason).await
        }
        RunVerb::Step {
            release,
            step,
            action,
            note,
            break_glass,
            reason,
        } => {
            let release = Name::parse(&release)?;
            let step = Name::parse(&step).context("a step is named by its component")?;
            let to = parse_action(&action).map_err(|e| anyhow!(e))?;
            let break_glass = break_glass.then(|| reason.clone().unwrap_or_default());
            let build = |state: &State| {
                let zones = crate::plan_cmd::time_zones(state)?;
                Ok(Command::ChangeRunStep {
                    release: release.clone(),
                    step: step.clone(),
                    to,
                    by: by.clone(),
                    note: note.clone(),
                    break_glass: break_glass.clone(),
                    freezes: lockstep_core::runbook::freezes_at(
                        state,
                        &release,
                        &zones,
                        jiff::Timestamp::now(),
                    ),
                })
            };
            commit(global, &program, &mut state, build, reason.or(note.clone())).await
        }
        RunVerb::Rollback { release, reason } => {
            let release = Name::parse(&release)?;
            let build = |_: &State| {
                Ok(Command::StartRollback {
                    release: release.clone(),
                    by: by.clone(),
                    reason: reason.clone(),
                })
            };
            commit(global, &program, &mut state, build, reason.clone()).await
        }
        RunVerb::Status { release } => {
            let release = Name::parse(&release)?;
            let run = state.runs().get(&release).ok_or_else(|| {
                if state.releases().contains_key(&release) {
                    anyhow!("release `{release}` has no deployment run")
                } else {
                    anyhow!(lockstep_core::suggest::unknown(
                        "release",
                        release.as_str(),
                        state.releases().keys().map(Name::as_str)
                    ))
                }
            })?;
            match global.output {
                Output::Json | Output::Yaml => println!("{:#}", run_json(run)),
                Output::Table => print_run(&run_json(run)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn step_rows(steps: &serde_json::Value) -> Vec<Vec<String>> {
    steps
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, step)| {
            let after: Vec<String> = step["after"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            let last = step["history"]
                .as_array()
                .and_then(|h| h.last())
                .map(|t| {
                    format!(
                        "{} → {} by {} at {}",
                        text(&t["from"]),
                        text(&t["to"]),
                        text(&t["by"]),
                        text(&t["at"])
                    )
                })
                .unwrap_or_default();
            vec![
                (index + 1).to_string(),
                text(&step["component"]),
                text(&step["status"]),
                after.join(", "),
                last,
            ]
        })
        .collect()
}

/// Prints a run from its wire form (`run_json`), so that `run status` prints the
/// same against the database and against a server.
pub fn print_run(run: &serde_json::Value) {
    println!(
        "run {} of {}: {} (started by {} at {}; auto-rollback {})",
        text(&run["number"]),
        text(&run["release"]),
        text(&run["status"]),
        text(&run["startedBy"]),
        text(&run["startedAt"]),
        if run["autoRollback"] == true {
            "on"
        } else {
            "off"
        }
    );
    print_table(
        &["#", "STEP", "STATUS", "AFTER", "LAST CHANGE"],
        &step_rows(&run["steps"]),
    );
    let triggers: Vec<String> = run["rollbackTriggers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    println!("rollback triggers: {}", triggers.join("; "));
    for tripped in run["tripped"].as_array().into_iter().flatten() {
        println!(
            "TRIPPED: {} on {}: {}",
            text(&tripped["trigger"]),
            text(&tripped["component"]),
            text(&tripped["detail"])
        );
    }
    if run["rollbackProposed"] == true {
        println!(
            "a rollback is proposed: lockstep run rollback {}",
            text(&run["release"])
        );
    }
    for glass in run["breakGlass"].as_array().into_iter().flatten() {
        println!(
            "break glass ({}) by {}: {}",
            text(&glass["scope"]),
            text(&glass["by"]),
            text(&glass["reason"])
        );
    }
    let rollback = &run["rollback"];
    if rollback.is_object() {
        println!(
            "rollback ({}, by {} at {}): {}",
            if rollback["automatic"] == true {
                "automatic"
            } else {
                "manual"
            },
            text(&rollback["by"]),
            text(&rollback["at"]),
            text(&rollback["reason"])
        );
        print_table(
            &["#", "STEP", "STATUS", "AFTER", "LAST CHANGE"],
            &step_rows(&rollback["steps"]),
        );
    }
}

/// Prints refused attempts from their wire form (`refusal_json`).
pub fn print_refusals(output: Output, refusals: &[serde_json::Value]) {
    match output {
        Output::Json | Output::Yaml => {
            println!("{:#}", serde_json::json!({ "refusals": refusals }))
        }
        Output::Table => {
            let rows: Vec<Vec<String>> = refusals
                .iter()
                .map(|r| {
                    ["at", "actor", "source", "command", "target", "error"]
                        .iter()
                        .map(|field| text(&r[*field]))
                        .collect()
                })
                .collect();
            print_table(
                &["AT", "ACTOR", "SOURCE", "COMMAND", "TARGET", "ERROR"],
                &rows,
            );
        }
    }
}

pub async fn audit(global: &Global, args: AuditArgs) -> anyhow::Result<ExitCode> {
    if !(1..=10_000).contains(&args.limit) {
        return Err(anyhow!("--limit must be between 1 and 10000"));
    }
    let release = args.release.as_deref().map(Name::parse).transpose()?;
    // Opening the log first migrates the schema, audit table included.
    let _program = open(global).await?;
    let audit = AuditLog::open(&global.database_url, &Default::default())
        .await
        .context("cannot open the audit log")?;
    let refusals = audit
        .list(release.as_ref().map(Name::as_str), args.limit)
        .await?;
    let refusals: Vec<serde_json::Value> = refusals.iter().map(refusal_json).collect();
    print_refusals(global.output, &refusals);
    Ok(ExitCode::SUCCESS)
}
