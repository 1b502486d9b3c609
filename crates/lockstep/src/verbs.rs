//! Daily verbs: `item status`, `item eta`, `item update`, `integration result`,
//! `risk status`.

use std::process::ExitCode;

use anyhow::anyhow;
use lockstep_core::{
    Command, EventMeta, ItemStatus, Name, RiskStatus, ScenarioResult, StatusUpdate, decide,
};

use crate::apply::open;
use crate::cli::{
    Global, IntegrationArgs, IntegrationVerb, ItemArgs, ItemVerb, Output, RiskArgs, RiskVerb,
};

/// A date argument, refused in words.
pub(crate) fn parse_date(raw: &str) -> anyhow::Result<jiff::civil::Date> {
    lockstep_core::parse_date(raw).map_err(anyhow::Error::msg)
}

pub async fn item(global: &Global, args: ItemArgs) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    let (command, reason) = match args.verb {
        ItemVerb::Status {
            item,
            status,
            reason,
        } => {
            let to = ItemStatus::parse(&status).ok_or_else(|| {
                let names: Vec<&str> = ItemStatus::COLUMNS.iter().map(|s| s.as_str()).collect();
                anyhow!("unknown status `{status}`: use one of {}", names.join(", "))
            })?;
            (
                Command::MoveItem {
                    item: Name::parse(&item)?,
                    to,
                },
                reason,
            )
        }
        ItemVerb::Eta { item, eta, reason } => {
            let eta = if eta == "none" {
                None
            } else {
                Some(parse_date(&eta)?)
            };
            (
                Command::SetEta {
                    item: Name::parse(&item)?,
                    eta,
                },
                reason,
            )
        }
        ItemVerb::Update { item, text, date } => {
            let date = match date {
                Some(date) => parse_date(&date)?,
                None => now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
            };
            (
                Command::PostUpdate {
                    item: Name::parse(&item)?,
                    update: StatusUpdate { date, text },
                },
                None,
            )
        }
    };
    if args.dry_run {
        return preview(global, command, now).await;
    }
    commit(global, command, reason, now).await
}

/// Decides `command` on the database and prints what it would do; records nothing.
async fn preview(
    global: &Global,
    command: Command,
    now: jiff::Timestamp,
) -> anyhow::Result<ExitCode> {
    let state = open(global).await?.load().await?;
    let events = decide(&state, command, now)?;
    let impact = lockstep_core::change::impact(&state, &events);
    let changes: Vec<serde_json::Value> = events
        .iter()
        .map(|event| serde_json::json!({ "summary": event.describe(), "event": event }))
        .collect();
    print_preview(global.output, &changes, &impact);
    Ok(ExitCode::SUCCESS)
}

/// Prints a dry run: the changes and their impact as Markdown, or all of it as JSON.
pub(crate) fn print_preview(
    output: Output,
    changes: &[serde_json::Value],
    impact: &lockstep_core::change::Impact,
) {
    match output {
        Output::Json => println!(
            "{:#}",
            serde_json::json!({ "dryRun": true, "changes": changes, "impact": impact })
        ),
        _ => {
            print!("{}", impact.to_markdown());
            println!("\ndry run: nothing changed");
        }
    }
}

/// The result a scenario is given, or the error that lists the results there are.
pub fn scenario_result(raw: &str) -> anyhow::Result<ScenarioResult> {
    ScenarioResult::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = ScenarioResult::ALL.iter().map(|r| r.as_str()).collect();
        anyhow!("unknown result `{raw}`: use one of {}", names.join(", "))
    })
}

pub async fn integration(global: &Global, args: IntegrationArgs) -> anyhow::Result<ExitCode> {
    let IntegrationVerb::Result {
        task,
        scenario,
        result,
        reason,
    } = args.verb;
    let command = Command::RecordScenarioResult {
        task: Name::parse(&task)?,
        scenario: scenario
            .checked_sub(1)
            .ok_or_else(|| anyhow!("scenarios are numbered from 1"))?,
        result: scenario_result(&result)?,
    };
    commit(global, command, reason, jiff::Timestamp::now()).await
}

/// The status a risk is moved to, or the error that lists the statuses there are.
pub fn risk_status(raw: &str) -> anyhow::Result<RiskStatus> {
    RiskStatus::parse(raw).ok_or_else(|| {
        let names = RiskStatus::ALL.map(RiskStatus::as_str);
        anyhow!(
            "unknown risk status `{raw}`{}: use one of {}",
            lockstep_core::suggest::hint(raw, names),
            names.join(", ")
        )
    })
}

/// A reason that says something: the history's WHY column is what the weekly sync reads.
pub fn risk_reason(reason: &str) -> anyhow::Result<()> {
    if reason.trim().is_empty() {
        anyhow::bail!("--reason must say why the risk's status changes");
    }
    Ok(())
}

pub async fn risk(global: &Global, args: RiskArgs) -> anyhow::Result<ExitCode> {
    let RiskVerb::Status {
        risk,
        status,
        reason,
    } = args.verb;
    risk_reason(&reason)?;
    let command = Command::ChangeRiskStatus {
        risk: Name::parse(&risk)?,
        to: risk_status(&status)?,
    };
    commit(global, command, Some(reason), jiff::Timestamp::now()).await
}

/// Decides `command` on the database and commits what it decided, printing the change.
pub(crate) async fn commit(
    global: &Global,
    command: Command,
    reason: Option<String>,
    now: jiff::Timestamp,
) -> anyhow::Result<ExitCode> {
    let program = crate::serve_delivery::with_configured_policy(open(global).await?)?;
    let mut state = program.load().await?;
    let meta = EventMeta {
        actor: global.actor.clone(),
        at: now,
        reason,
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
                            .map(|r| serde_json::json!({ "position": r.position, "summary": r.event.describe(), "event": r.event }))
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
