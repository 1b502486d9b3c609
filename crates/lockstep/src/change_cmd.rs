//! `lockstep change …`: change requests on the database or against a server. Both paths
//! print the same: the request's Markdown (impact while it is open) or its JSON view.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use lockstep_core::change::ChangeSource;
use lockstep_core::{Command, Event, EventMeta, Name, State, decide};
use lockstep_manifest::Limits;
use lockstep_server::changes::{parse_status, rows, view};
use serde_json::{Value, json};

use crate::apply::{open, read_sources};
use crate::cli::{ChangeArgs, ChangeVerb, Global, Output};
use crate::remote::Client;

pub async fn run(global: &Global, args: ChangeArgs) -> anyhow::Result<ExitCode> {
    if global.server.is_some() {
        return remote(global, args.verb).await;
    }
    let program = crate::serve_delivery::with_configured_policy(open(global).await?)?;
    let mut state = program.load().await?;
    let now = jiff::Timestamp::now();
    let by = global.actor.clone();
    let (command, reason) = match args.verb {
        ChangeVerb::List { status } => {
            let status = status
                .as_deref()
                .map(parse_status)
                .transpose()
                .map_err(|e| anyhow!(e))?;
            print_list(global.output, &rows(&state, status));
            return Ok(ExitCode::SUCCESS);
        }
        ChangeVerb::Show { change } => {
            let change = Name::parse(&change)?;
            let request =
                lockstep_manifest::change::find(&state, &change).map_err(|e| anyhow!(e))?;
            print_view(global.output, &view(&state, request, now));
            return Ok(ExitCode::SUCCESS);
        }
        ChangeVerb::Propose {
            files,
            title,
            reason,
        } => {
            let sources: Vec<ChangeSource> = read_sources(&files, Limits::default())?
                .into_iter()
                .map(|s| ChangeSource {
                    name: s.name,
                    text: s.text,
                })
                .collect();
            (
                Command::ProposeChange {
                    title,
                    sources,
                    releases: Vec::new(),
                    by,
                },
                reason,
            )
        }
        ChangeVerb::Move {
            release,
            to,
            reason,
        } => {
            let release = Name::parse(&release)?;
            let to = to.as_deref().map(parse_start).transpose()?;
            let zones = crate::plan_cmd::time_zones(&state)?;
            let moved = lockstep_manifest::change::move_release(&state, &zones, &release, to)
                .map_err(|e| anyhow!(e))?;
            (
                Command::ProposeChange {
                    title: moved.title,
                    sources: moved.sources,
                    releases: Vec::new(),
                    by,
                },
                reason,
            )
        }
        ChangeVerb::Approve { change, note } => (
            Command::DecideChange {
                change: Name::parse(&change)?,
                approve: true,
                by,
                rationale: note,
            },
            None,
        ),
        ChangeVerb::Reject { change, reason } => (
            Command::DecideChange {
                change: Name::parse(&change)?,
                approve: false,
                by,
                rationale: Some(reason),
            },
            None,
        ),
        ChangeVerb::Withdraw { change } => (
            Command::WithdrawChange {
                change: Name::parse(&change)?,
                by,
            },
            None,
        ),
    };
    lockstep_core::limits::check(&command)?;
    let meta = EventMeta {
        actor: global.actor.clone(),
        at: now,
        reason,
    };
    // A concurrent writer may commit between our read and our append; the append then
    // conflicts and we decide again on the newer state.
    for attempt in 1..=3 {
        let events = match decide_change(&state, &command, now) {
            Ok(events) => events,
            Err(error) => {
                if let Some(refused) = error.downcast_ref::<lockstep_core::DomainError>() {
                    let refused = refused.clone();
                    return Err(crate::run_cmd::refused(global, &state, &command, refused).await);
                }
                return Err(error);
            }
        };
        let change = match (&command, events.first()) {
            (_, Some(Event::ChangeProposed { change, .. })) => change.clone(),
            (Command::DecideChange { change, .. } | Command::WithdrawChange { change, .. }, _) => {
                change.clone()
            }
            _ => bail!("the proposal decided nothing"),
        };
        match program.commit(&mut state, events, &meta, &[]).await {
            Ok(_) => {
                let request =
                    lockstep_manifest::change::find(&state, &change).map_err(|e| anyhow!(e))?;
                print_view(global.output, &view(&state, request, now));
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

/// The events of `command`: a proposal only when its manifests apply now, an approval
/// with the events its manifests decide to.
fn decide_change(
    state: &State,
    command: &Command,
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<Event>> {
    match command {
        Command::ProposeChange { sources, .. } => {
            // The releases it touches come from its assessment.
            let impact =
                lockstep_manifest::change::assess(state, sources, now).map_err(|problem| {
                    anyhow!("the change does not apply as the program stands: {problem}")
                })?;
            let command = lockstep_core::change::with_releases(command.clone(), &impact);
            return Ok(decide(state, command, now)?);
        }
        Command::DecideChange {
            change,
            approve: true,
            by,
            rationale,
        } => {
            let request = lockstep_manifest::change::find(state, change).map_err(|e| anyhow!(e))?;
            return lockstep_manifest::change::approve(state, request, by, rationale.clone(), now)
                .map_err(|e| anyhow!(e));
        }
        _ => {}
    }
    Ok(decide(state, command.clone(), now)?)
}

fn print_view(output: Output, view: &Value) {
    match output {
        Output::Json => println!("{view:#}"),
        _ => print!("{}", view["markdown"].as_str().unwrap_or_default()),
    }
}

fn print_list(output: Output, rows: &[Value]) {
    if output == Output::Json {
        println!("{:#}", json!({ "items": rows }));
        return;
    }
    if rows.is_empty() {
        println!("no change requests");
        return;
    }
    let text = |row: &Value, key: &str| row[key].as_str().unwrap_or_default().to_owned();
    let table: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            [
                text(row, "name"),
                text(row, "status"),
                text(row, "requestedBy"),
                row["decision"]["by"].as_str().unwrap_or("-").to_owned(),
                text(row, "title"),
            ]
        })
        .collect();
    let headers = ["NAME", "STATUS", "PROPOSED BY", "DECIDED BY", "TITLE"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(headers));
    for row in &table {
        println!("{}", line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
}

async fn remote(global: &Global, verb: ChangeVerb) -> anyhow::Result<ExitCode> {
    let client = Client::connect(global)?;
    let path = |change: &str| -> anyhow::Result<String> {
        Ok(format!("/api/v1/change-requests/{}", Name::parse(change)?))
    };
    let answer = match verb {
        ChangeVerb::List { status } => {
            let query = match status {
                Some(status) => {
                    let status = parse_status(&status).map_err(|e| anyhow!(e))?;
                    format!("?status={status}")
                }
                None => String::new(),
            };
            let list = client
                .get_json(&format!("/api/v1/change-requests{query}"))
                .await?;
            let rows = list["items"].as_array().cloned().unwrap_or_default();
            print_list(global.output, &rows);
            return Ok(ExitCode::SUCCESS);
        }
        ChangeVerb::Show { change } => client.get_json(&path(&change)?).await?,
        ChangeVerb::Propose {
            files,
            title,
            reason,
        } => {
            let sources = read_sources(&files, Limits::default())?;
            let body = json!({
                "title": title,
                "sources": sources.iter().map(|s| json!({"name": s.name, "text": s.text})).collect::<Vec<_>>(),
                "reason": reason,
            });
            client.post_json("/api/v1/change-requests", &body).await?
        }
        ChangeVerb::Move {
            release,
            to,
            reason,
        } => {
            if let Some(to) = &to {
                parse_start(to)?;
            }
            let path = format!("/api/v1/releases/{}/move", Name::parse(&release)?);
            client
                .post_json(&path, &json!({ "to": to, "reason": reason }))
                .await?
        }
        ChangeVerb::Approve { change, note } => {
            client
                .post_json(
                    &format!("{}/approve", path(&change)?),
                    &json!({ "rationale": note }),
                )
                .await?
        }
        ChangeVerb::Reject { change, reason } => {
            client
                .post_json(
                    &format!("{}/reject", path(&change)?),
                    &json!({ "rationale": reason }),
                )
                .await?
        }
        ChangeVerb::Withdraw { change } => {
            client
                .post_json(&format!("{}/withdraw", path(&change)?), &json!({}))
                .await?
        }
    };
    print_view(global.output, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `--to` as a local date and time.
fn parse_start(raw: &str) -> anyhow::Result<jiff::civil::DateTime> {
    lockstep_manifest::change::parse_start(raw).map_err(|e| anyhow!("--to: {e}"))
}
