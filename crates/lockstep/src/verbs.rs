//! Daily verbs: `item status`, `item eta`, `item update`.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use lockstep_core::{Command, EventMeta, ItemStatus, Name, StatusUpdate, decide};

use crate::apply::open;
use crate::cli::{Global, ItemArgs, ItemVerb, Output};

fn parse_date(raw: &str) -> anyhow::Result<jiff::civil::Date> {
    raw.parse()
        .with_context(|| format!("`{raw}` is not a date: use YYYY-MM-DD"))
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
