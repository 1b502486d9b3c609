//! Communication verbs: `message` (preview generated messages), `calendar` (iCalendar
//! export) and `outbox` (schedule, deliver, dead letters, replay, acknowledge).
//!
//! Thin glue over `lockstep-comms` (pure) and `lockstep-delivery` (I/O): read the log,
//! read template overrides and the notification file, read the clock once, print.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use lockstep_comms::calendar::{Scope, feed};
use lockstep_comms::{Compose, Format, MessageKind, Provenance, Request, Templates};
use lockstep_core::{Name, Role};

use crate::apply::open;
use crate::cli::{Global, Output};
use crate::read::print_table;

/// `lockstep message …`
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// Directory of template overrides (`daily-update.j2`, …); embedded ones otherwise.
    #[arg(long, global = true, env = "LOCKSTEP_TEMPLATES")]
    pub templates: Option<PathBuf>,
    #[command(subcommand)]
    pub verb: MessageVerb,
}

/// What to do with messages.
#[derive(Debug, Subcommand)]
pub enum MessageVerb {
    /// Render a generated message for a release.
    Preview(PreviewArgs),
    /// Print the embedded template of a kind, to start an override from.
    Template {
        /// pre-release-announcement, completion-announcement, daily-update,
        /// weekly-agenda, release-notes, stakeholder-notice, escalation,
        /// deployment-incident, rollback-started, deployment-status, change-request,
        /// interface-change.
        kind: String,
    },
    /// Time rendering the daily updates of a generated program with many teams.
    Bench {
        /// Teams in the generated program.
        #[arg(long, default_value_t = 200)]
        teams: usize,
        /// Items per team.
        #[arg(long, default_value_t = 5)]
        items_per_team: usize,
        /// Repetitions (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

/// `lockstep message preview`
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// pre-release-announcement, completion-announcement, daily-update, weekly-agenda,
    /// release-notes, stakeholder-notice.
    pub kind: String,
    /// The release.
    #[arg(long)]
    pub release: String,
    /// Only this team (daily updates).
    #[arg(long)]
    pub team: Option<String>,
    /// The stakeholder role (stakeholder notices): support-liaison, security, …
    #[arg(long)]
    pub role: Option<String>,
    /// The day (daily update) or last day of the week (weekly agenda); default today (UTC).
    #[arg(long)]
    pub date: Option<String>,
    /// Body format; `-o json` gives the whole message as JSON.
    #[arg(long, value_enum, default_value_t = BodyFormat::Text)]
    pub format: BodyFormat,
}

/// The body format of a preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BodyFormat {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// The message as JSON: subject, Markdown body, sources.
    Json,
}

/// `lockstep calendar …`
#[derive(Debug, Args)]
pub struct CalendarArgs {
    #[command(subcommand)]
    pub verb: CalendarVerb,
}

/// Calendar verbs.
#[derive(Debug, Subcommand)]
pub enum CalendarVerb {
    /// Write the iCalendar feed to stdout: organization-wide, or one release or team.
    Export {
        /// Only this release.
        #[arg(long, conflicts_with = "team")]
        release: Option<String>,
        /// Only this team's releases and deployment steps.
        #[arg(long)]
        team: Option<String>,
        /// The feed's DTSTAMP (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// The release calendar of a period: conflicts with their proposed moves, the
    /// standing rules, then release dates, freezes, milestones, deployment windows and
    /// blackouts by day (on the database, or asked of `--server`).
    Show {
        /// First day (YYYY-MM-DD); the first of this month by default.
        #[arg(long)]
        from: Option<Date>,
        /// Last day (YYYY-MM-DD); three months after `--from` by default.
        #[arg(long)]
        to: Option<Date>,
    },
}

fn parse_name(raw: &str, what: &str) -> anyhow::Result<Name> {
    Name::parse(raw).with_context(|| format!("invalid {what} name `{raw}`"))
}

fn today() -> Date {
    Timestamp::now().to_zoned_datetime(TimeZone::UTC).date()
}

fn parse_role(raw: &str) -> anyhow::Result<Role> {
    Role::parse(raw).with_context(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!(
            "unknown role `{raw}` (expected one of: {})",
            names.join(", ")
        )
    })
}

/// Reads every `*.j2` file of `dir` as a template override.
pub fn load_templates(dir: Option<&Path>) -> anyhow::Result<Templates> {
    let Some(dir) = dir else {
        return Ok(Templates::embedded());
    };
    let mut overrides = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the template directory {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("j2") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("template file names must be UTF-8")?
            .to_owned();
        let source = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        overrides.push((name, source));
    }
    overrides.sort();
    Ok(Templates::with_overrides(overrides)?)
}

pub async fn message(global: &Global, args: MessageArgs) -> anyhow::Result<ExitCode> {
    match args.verb {
        MessageVerb::Preview(preview) => {
            let templates = load_templates(args.templates.as_deref())?;
            let kind = MessageKind::parse(&preview.kind)?;
            let format = if global.output == Output::Json {
                BodyFormat::Json
            } else {
                preview.format
            };
            let request = Request {
                kind,
                release: parse_name(&preview.release, "release")?,
                team: preview
                    .team
                    .as_deref()
                    .map(|t| parse_name(t, "team"))
                    .transpose()?,
                role: preview.role.as_deref().map(parse_role).transpose()?,
                date: match preview.date.as_deref() {
                    Some(raw) => crate::verbs::parse_date(raw)?,
                    None => today(),
                },
                format: match format {
                    BodyFormat::Text => Format::Text,
                    BodyFormat::Markdown | BodyFormat::Json => Format::Markdown,
                },
                escalation: None,
                run: None,
                late: None,
            };
            if kind == MessageKind::Escalation {
                bail!("escalations are written by the outbox policy, not previewed");
            }
            if matches!(
                kind,
                MessageKind::DeploymentIncident
                    | MessageKind::RollbackStarted
                    | MessageKind::DeploymentStatus
            ) {
                bail!(
                    "{kind} messages are written by the outbox policy when a run's step fails, \
                     a trigger trips, a rollback starts or the run ends, not previewed"
                );
            }
            if matches!(
                kind,
                MessageKind::ChangeRequest | MessageKind::InterfaceChange
            ) {
                bail!(
                    "{kind} messages are written by the outbox policy when a change request or an \
                     interface change is proposed or decided, not previewed for a release"
                );
            }
            let program = open(global).await?;
            let state = program.load().await?;
            let history = program.history(0, i64::MAX).await?;
            let provenance = Provenance::new(&history);
            let risk = lockstep_core::risk::assess(&state);
            let message = lockstep_comms::compose(
                Compose {
                    state: &state,
                    history: &history,
                    provenance: &provenance,
                    risk: &risk,
                    templates: &templates,
                },
                &request,
            )?;
            match format {
                BodyFormat::Json => println!("{}", serde_json::to_string_pretty(&message)?),
                BodyFormat::Text | BodyFormat::Markdown => {
                    println!("Subject: {}\n", message.subject);
                    print!("{}", message.body);
                    let sources: Vec<String> = message.sources.iter().map(i64::to_string).collect();
                    println!("\n(built from events {})", sources.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        MessageVerb::Template { kind } => {
            print!("{}", Templates::embedded_source(MessageKind::parse(&kind)?));
            Ok(ExitCode::SUCCESS)
        }
        MessageVerb::Bench {
            teams,
            items_per_team,
            runs,
        } => bench::daily_updates(teams, items_per_team, runs),
    }
}

pub async fn calendar(global: &Global, args: CalendarArgs) -> anyhow::Result<ExitCode> {
    match args.verb {
        CalendarVerb::Export { release, team, now } => {
            let scope = match (release, team) {
                (Some(release), _) => Scope::Release(parse_name(&release, "release")?),
                (None, Some(team)) => Scope::Team(parse_name(&team, "team")?),
                (None, None) => Scope::Organization,
            };
            let now = match now {
                Some(raw) => raw
                    .parse::<Timestamp>()
                    .with_context(|| format!("invalid instant `{raw}` (expected RFC 3339)"))?,
                None => Timestamp::now(),
            };
            let state = open(global).await?.load().await?;
            print!("{}", feed(&state, &scope, now)?);
            Ok(ExitCode::SUCCESS)
        }
        CalendarVerb::Show { from, to } => show_calendar(global, from, to).await,
    }
}

/// `lockstep calendar show`: the same document as `GET /api/v1/calendar`, printed.
async fn show_calendar(
    global: &Global,
    from: Option<Date>,
    to: Option<Date>,
) -> anyhow::Result<ExitCode> {
    let calendar = match &global.server {
        Some(_) => {
            let mut query = Vec::new();
            query.extend(from.map(|d| format!("from={d}")));
            query.extend(to.map(|d| format!("to={d}")));
            crate::remote::Client::connect(global)?
                .get_json(&format!("/api/v1/calendar?{}", query.join("&")))
                .await?
        }
        None => {
            let (from, to) =
                lockstep_core::calendar::period(from, to, today()).map_err(anyhow::Error::msg)?;
            let state = open(global).await?.load().await?;
            let zones = crate::plan_cmd::time_zones(&state)?;
            let calendar = lockstep_core::calendar::calendar(&state, &zones, from, to)
                .map_err(anyhow::Error::msg)?;
            serde_json::to_value(calendar)?
        }
    };
    match global.output {
        Output::Json => println!("{calendar:#}"),
        Output::Yaml => anyhow::bail!("the calendar prints as a table or JSON, not YAML"),
        Output::Table => print_calendar(&calendar),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_calendar(calendar: &serde_json::Value) {
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    let list = |key: &str| calendar[key].as_array().cloned().unwrap_or_default();
    let conflicts: Vec<String> = list("conflicts")
        .iter()
        .chain(list("windowConflicts").iter())
        .map(|c| text(&c["explanation"]))
        .collect();
    println!(
        "Calendar {} to {}: {} conflict{}",
        text(&calendar["from"]),
        calendar["to"]
            .as_str()
            .and_then(|to| to.parse::<Date>().ok())
            .and_then(|to| to.yesterday().ok())
            .map(|d| d.to_string())
            .unwrap_or_default(),
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" }
    );
    for conflict in &conflicts {
        println!("  ! {conflict}");
    }
    let rules = list("rules");
    if !rules.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = rules
            .iter()
            .map(|r| {
                let time = |key: &str| text(&r[key]).chars().take(5).collect::<String>();
                vec![
                    format!("{} {}", text(&r["kind"]), text(&r["title"])),
                    format!(
                        "{}–{} {}",
                        time("starts"),
                        time("ends"),
                        text(&r["timeZone"])
                    ),
                    text(&r["repeats"]),
                    environments(&r["environments"]),
                ]
            })
            .collect();
        print_table(&["STANDING RULE", "WHEN", "REPEATS", "WHERE"], &rows);
    }
    println!();
    let rows: Vec<Vec<String>> = list("entries")
        .iter()
        .map(|e| {
            let date = match e["until"].as_str() {
                Some(until) => format!("{}..{until}", text(&e["date"])),
                None => text(&e["date"]),
            };
            let when = match (e["start"].as_str(), e["end"].as_str()) {
                (Some(start), Some(end)) => format!("{start} – {end}"),
                _ => String::new(),
            };
            vec![
                date,
                text(&e["kind"]),
                text(&e["title"]),
                when,
                environments(&e["environments"]),
            ]
        })
        .collect();
    print_table(&["DATE", "KIND", "WHAT", "WHEN (UTC)", "WHERE"], &rows);
}

/// `production, staging`, or `-`.
fn environments(value: &serde_json::Value) -> String {
    let names: Vec<&str> = value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .collect();
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(", ")
    }
}

mod bench {
    //! `lockstep message bench`: the time to render the daily updates of a generated
    //! program with many teams, from an in-memory state and history (no store: this
    //! measures composition and templates only).

    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use anyhow::Context;
    use lockstep_comms::{Compose, Format, MessageKind, Provenance, Request, Templates};
    use lockstep_core::{Command, EventMeta, Recorded, State, StatusUpdate};

    pub fn daily_updates(
        n_teams: usize,
        items_per_team: usize,
        runs: usize,
    ) -> anyhow::Result<ExitCode> {
        let n_items = n_teams * items_per_team;
        let yaml = crate::bench::generate_program(n_teams, n_items, n_items * 2);
        let sources = [lockstep_manifest::Source {
            name: "generated.yaml".to_owned(),
            text: yaml,
        }];
        let manifest = lockstep_manifest::parse(&sources, lockstep_manifest::Limits::default())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut state = State::new();
        let commands =
            lockstep_manifest::plan(&manifest, &state).map_err(|e| anyhow::anyhow!("{e}"))?;
        let setup_at: jiff::Timestamp = "2025-01-20T12:00:00Z".parse()?;
        let day_at: jiff::Timestamp = "2025-02-05T15:00:00Z".parse()?;
        let day = jiff::civil::date(2025, 2, 5);
        let events = lockstep_core::decide_all(
            &state,
            commands.into_iter().map(|c| c.command).collect(),
            setup_at,
        )
        .map_err(|errors| anyhow::anyhow!("generated program rejected: {errors:?}"))?;
        let mut history = Vec::with_capacity(events.len() * 2);
        let mut record = |state: &mut State, event: lockstep_core::Event, at| {
            let position = state.position() + 1;
            let stream = state.stream_of(&event);
            state.apply(position, &event);
            history.push(Recorded {
                position,
                stream,
                meta: EventMeta {
                    actor: "bench".to_owned(),
                    at,
                    reason: None,
                },
                event,
            });
        };
        for event in events {
            record(&mut state, event, setup_at);
        }
        // The day's events: one note per item, and every third item's ETA slips a day.
        let items: Vec<_> = state.items().values().cloned().collect();
        for (index, item) in items.iter().enumerate() {
            let mut commands = vec![Command::PostUpdate {
                item: item.name.clone(),
                update: StatusUpdate {
                    date: day,
                    text: format!("Progress on {}", item.spec.title),
                },
            }];
            if index % 3 == 0
                && let Some(eta) = item.eta.or(item.spec.due)
            {
                commands.push(Command::SetEta {
                    item: item.name.clone(),
                    eta: eta.checked_add(jiff::Span::new().days(1)).ok(),
                });
            }
            for command in commands {
                if let Ok(events) = lockstep_core::decide(&state, command, day_at) {
                    for event in events {
                        record(&mut state, event, day_at);
                    }
                }
            }
        }
        let templates = Templates::embedded();
        let releases: Vec<_> = state.releases().keys().cloned().collect();
        let mut timings = Vec::with_capacity(runs);
        let mut n_blocks = 0;
        let mut n_bytes = 0;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            // Everything a real run does: index the history, assess risk, compose.
            let provenance = Provenance::new(&history);
            let risk = lockstep_core::risk::assess(&state);
            n_blocks = 0;
            n_bytes = 0;
            for release in &releases {
                let message = lockstep_comms::compose(
                    Compose {
                        state: &state,
                        history: &history,
                        provenance: &provenance,
                        risk: &risk,
                        templates: &templates,
                    },
                    &Request {
                        kind: MessageKind::DailyUpdate,
                        release: release.clone(),
                        team: None,
                        role: None,
                        date: day,
                        format: Format::Markdown,
                        escalation: None,
                        run: None,
                        late: None,
                    },
                )
                .context("composing a daily update")?;
                n_blocks += message.body.matches("] Feb 5").count();
                n_bytes += message.body.len();
            }
            timings.push(started.elapsed());
        }
        timings.sort();
        let median = timings[timings.len() / 2];
        let best = timings[0];
        println!(
            "daily updates: {n_teams} teams, {} items, {} events in the history, {} releases",
            state.items().len(),
            history.len(),
            releases.len()
        );
        println!(
            "  rendered {n_blocks} team blocks ({n_bytes} bytes) in {} median, {} best of {} runs",
            millis(median),
            millis(best),
            timings.len()
        );
        Ok(ExitCode::SUCCESS)
    }

    fn millis(duration: Duration) -> String {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    }
}

/// `lockstep outbox …`
#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// The notification configuration (channels, subscriptions, retries).
    #[arg(
        long,
        global = true,
        env = "LOCKSTEP_NOTIFICATIONS",
        default_value = "notifications.yaml"
    )]
    pub notifications: PathBuf,
    #[command(subcommand)]
    pub verb: OutboxVerb,
}

/// Outbox verbs.
#[derive(Debug, Subcommand)]
pub enum OutboxVerb {
    /// Deliver due messages; with `--once`, one pass, else until interrupted.
    Deliver {
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
        /// Seconds between passes.
        #[arg(long, default_value_t = 2)]
        interval: u64,
    },
    /// Messages whose retries are exhausted.
    DeadLetters,
    /// Make a dead letter due again.
    Replay {
        /// Its outbox id.
        id: i64,
    },
    /// Acknowledge a blocker: cancel its pending escalation notices.
    Ack {
        /// The blocker item.
        item: String,
    },
    /// Counts by delivery state.
    Status,
    /// Print the notification file's subscriptions as `kind: Subscription` manifests, to
    /// move them into git (`lockstep apply -f` them, then delete them from the file).
    ExportSubscriptions,
    /// Enqueue a day's scheduled messages: each subscriber's daily update and, on the
    /// agenda's weekday, the weekly agenda. Scheduling a day twice sends once.
    Schedule {
        /// The day (YYYY-MM-DD); today (UTC) by default.
        #[arg(long)]
        date: Option<String>,
        /// The weekday of the weekly agenda.
        #[arg(long, default_value = "friday")]
        weekly_on: String,
        /// Directory of template overrides (`daily-update.j2`, …).
        #[arg(long, env = "LOCKSTEP_TEMPLATES")]
        templates: Option<PathBuf>,
        /// The time quiet hours and digests count from (RFC 3339); the clock by default.
        #[arg(long)]
        now: Option<String>,
    },
}

/// `outbox ack ITEM` on the database: the item's escalations (named, in the outbox, by
/// the event that raised each) are acknowledged with an `EscalationAcknowledged` event,
/// and their notices not sent yet are cancelled in the same transaction. Escalations
/// already acknowledged are left out, so acknowledging twice records and cancels
/// nothing.
async fn acknowledge(
    global: &Global,
    log: &lockstep_store::outbox::DeliveryLog,
    item: &Name,
) -> anyhow::Result<ExitCode> {
    use lockstep_comms::escalation;
    let program = crate::serve_delivery::with_configured_policy(open(global).await?)?;
    let mut state = program.load().await?;
    let now = Timestamp::now();
    let meta = lockstep_core::EventMeta {
        actor: global.actor.clone(),
        at: now,
        reason: None,
    };
    for attempt in 1..=3 {
        let keys = log.keys_with_prefix(&escalation::key_prefix(item)).await?;
        let command = lockstep_core::Command::AcknowledgeEscalation {
            item: item.clone(),
            by: global.actor.clone(),
            escalations: escalation::causes(item, keys.iter().map(String::as_str)),
        };
        let events = match lockstep_core::decide(&state, command.clone(), now) {
            Ok(events) => events,
            Err(error) => {
                return Err(crate::run_cmd::refused(global, &state, &command, error).await);
            }
        };
        let Some(lockstep_core::Event::EscalationAcknowledged { escalations, .. }) = events.first()
        else {
            println!("nothing to acknowledge: no escalation of {item} is unanswered");
            return Ok(ExitCode::SUCCESS);
        };
        let cancel = lockstep_store::OutboxCancellation {
            key_prefixes: escalations
                .iter()
                .map(|cause| escalation::cause_prefix(item, cause))
                .collect(),
            at: now,
            reason: format!("acknowledged by {}", global.actor),
        };
        match program
            .commit_cancelling(&mut state, events, &meta, &cancel)
            .await
        {
            Ok((recorded, n_cancelled)) => {
                for record in &recorded {
                    println!("{}", record.event.describe());
                }
                println!(
                    "acknowledged {item}: {n_cancelled} pending escalation notice(s) cancelled"
                );
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

pub(crate) fn parse_weekday(raw: &str) -> anyhow::Result<jiff::civil::Weekday> {
    use jiff::civil::Weekday;
    Ok(match raw.to_ascii_lowercase().as_str() {
        "monday" | "mon" => Weekday::Monday,
        "tuesday" | "tue" => Weekday::Tuesday,
        "wednesday" | "wed" => Weekday::Wednesday,
        "thursday" | "thu" => Weekday::Thursday,
        "friday" | "fri" => Weekday::Friday,
        "saturday" | "sat" => Weekday::Saturday,
        "sunday" | "sun" => Weekday::Sunday,
        _ => bail!("invalid weekday `{raw}` (expected monday … sunday)"),
    })
}

async fn delivery_log(global: &Global) -> anyhow::Result<lockstep_store::outbox::DeliveryLog> {
    // Opening the program first migrates the log, so the outbox table exists.
    drop(open(global).await?);
    lockstep_store::outbox::DeliveryLog::open(&global.database_url, &Default::default())
        .await
        .context("cannot open the outbox delivery log")
}

fn load_notifications(path: &Path) -> anyhow::Result<lockstep_comms::notify::NotificationConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    lockstep_comms::notify::NotificationConfig::parse(&text)
        .with_context(|| format!("in {}", path.display()))
}

pub async fn outbox(global: &Global, args: OutboxArgs) -> anyhow::Result<ExitCode> {
    let log = delivery_log(global).await?;
    match args.verb {
        OutboxVerb::Deliver { once, interval } => {
            let config = std::sync::Arc::new(load_notifications(&args.notifications)?);
            let worker = lockstep_delivery::Worker::new(log, config, Default::default())?;
            loop {
                let report = worker.deliver_once(Timestamp::now()).await?;
                println!(
                    "delivered {}, retrying {}, dead {}, postponed {}",
                    report.delivered, report.retried, report.dead, report.postponed
                );
                if once {
                    return Ok(ExitCode::SUCCESS);
                }
                tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
            }
        }
        OutboxVerb::DeadLetters => {
            let letters = log.dead_letters(1_000).await?;
            if global.output == Output::Json {
                let rows: Vec<serde_json::Value> = letters
                    .iter()
                    .map(|l| {
                        serde_json::json!({
                            "id": l.id, "channel": l.channel, "idempotencyKey": l.idempotency_key,
                            "attempts": l.attempts, "lastError": l.last_error,
                            "deadAt": l.dead_at.to_string(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let rows: Vec<Vec<String>> = letters
                    .iter()
                    .map(|l| {
                        vec![
                            l.id.to_string(),
                            l.channel.clone(),
                            l.idempotency_key.clone(),
                            l.attempts.to_string(),
                            l.last_error.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                crate::read::print_table(
                    &["ID", "CHANNEL", "KEY", "ATTEMPTS", "LAST ERROR"],
                    &rows,
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxVerb::Replay { id } => {
            if !log.replay(id).await? {
                bail!("outbox message {id} is not a dead letter");
            }
            println!("outbox message {id} will be delivered again");
            Ok(ExitCode::SUCCESS)
        }
        OutboxVerb::Ack { item } => {
            let item = parse_name(&item, "item")?;
            acknowledge(global, &log, &item).await
        }
        OutboxVerb::Schedule {
            date,
            weekly_on,
            templates,
            now,
        } => {
            let config = load_notifications(&args.notifications)?;
            let templates = load_templates(templates.as_deref())?;
            warn_undeclared_channels(&config, &open(global).await?.load().await?);
            let date = match date.as_deref() {
                Some(raw) => crate::verbs::parse_date(raw)?,
                None => today(),
            };
            let weekly_on = parse_weekday(&weekly_on)?;
            let now = match now.as_deref() {
                Some(raw) => raw
                    .parse::<Timestamp>()
                    .with_context(|| format!("invalid time `{raw}` (expected RFC 3339)"))?,
                None => Timestamp::now(),
            };
            let program = open(global).await?;
            let state = program.load().await?;
            let history = program.history(0, i64::MAX).await?;
            let provenance = Provenance::new(&history);
            let risk = lockstep_core::risk::assess(&state);
            let input = Compose {
                state: &state,
                history: &history,
                provenance: &provenance,
                risk: &risk,
                templates: &templates,
            };
            let scheduled =
                lockstep_delivery::schedule(&log, &config, input, date, weekly_on, now).await?;
            if global.output == Output::Json {
                let rows: Vec<serde_json::Value> = scheduled
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "release": s.release.as_str(), "date": date.to_string(),
                            "written": s.written, "new": s.new,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for s in &scheduled {
                    println!(
                        "{}: {} message(s) for {date}, {} new",
                        s.release, s.written, s.new
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxVerb::ExportSubscriptions => {
            let config = load_notifications(&args.notifications)?;
            let state = open(global).await?.load().await?;
            print!("{}", subscriptions_as_manifests(&config, &state)?);
            Ok(ExitCode::SUCCESS)
        }
        OutboxVerb::Status => {
            let counts = log.counts().await?;
            if global.output == Output::Json {
                let counts = serde_json::json!({
                    "delivered": counts.delivered, "pending": counts.pending,
                    "dead": counts.dead, "cancelled": counts.cancelled,
                });
                println!("{}", serde_json::to_string_pretty(&counts)?);
            } else {
                println!(
                    "delivered {}, pending {}, dead {}, cancelled {}",
                    counts.delivered, counts.pending, counts.dead, counts.cancelled
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Warns about program subscriptions whose channel the notification file lacks: they
/// cannot be delivered, so they are left out.
pub(crate) fn warn_undeclared_channels(
    config: &lockstep_comms::notify::NotificationConfig,
    state: &lockstep_core::State,
) {
    for (subscription, channel) in config.undeclared_channels(state) {
        eprintln!(
            "warning: subscription `{subscription}` uses channel `{channel}`, which the \
             notification file does not declare; it is skipped"
        );
    }
}

/// The file's subscriptions as manifests, checked against the program like `apply`
/// would (an unknown member is an error here, not later).
fn subscriptions_as_manifests(
    config: &lockstep_comms::notify::NotificationConfig,
    state: &lockstep_core::State,
) -> anyhow::Result<String> {
    use lockstep_core::{
        Command, QuietHoursSpec, SubscriptionCadence, SubscriptionSpec, decide_all,
    };
    let mut commands = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for (index, subscription) in config.subscriptions.iter().enumerate() {
        let who = match (&subscription.member, subscription.role) {
            (Some(member), _) => member.to_string(),
            (None, Some(role)) => role.as_str().to_owned(),
            (None, None) => format!("subscription-{index}"),
        };
        let mut name = format!("{who}-{}", subscription.channel).to_ascii_lowercase();
        name.retain(|c| c.is_ascii_alphanumeric() || c == '-');
        if !used.insert(name.clone()) {
            name = format!("{name}-{index}");
            used.insert(name.clone());
        }
        let spec = SubscriptionSpec {
            member: subscription.member.clone(),
            role: subscription.role,
            channel: subscription.channel.clone(),
            releases: subscription.releases.clone(),
            teams: subscription.teams.clone(),
            kinds: subscription
                .kinds
                .iter()
                .map(|k| parse_name(k.as_str(), "message kind"))
                .collect::<anyhow::Result<_>>()?,
            cadence: match subscription.cadence {
                lockstep_comms::notify::Cadence::Immediate => SubscriptionCadence::Immediate,
                lockstep_comms::notify::Cadence::Digest => SubscriptionCadence::Digest,
            },
            digest_at: subscription.digest_at,
            quiet_hours: subscription.quiet_hours.map(|q| QuietHoursSpec {
                start: q.start,
                end: q.end,
            }),
            time_zone: subscription.time_zone.clone(),
            own_team: subscription.own_team,
        };
        commands.push(Command::DefineSubscription {
            subscription: parse_name(&name, "subscription")?,
            spec,
        });
    }
    let events = decide_all(state, commands, Timestamp::now()).map_err(|errors| {
        let messages: Vec<String> = errors.iter().map(|(_, e)| e.to_string()).collect();
        anyhow::anyhow!(
            "the notification file's subscriptions: {}",
            messages.join("; ")
        )
    })?;
    let mut converted = lockstep_core::State::new();
    for event in &events {
        converted.apply(converted.position() + 1, event);
    }
    lockstep_manifest::export(&converted, Some("Subscription")).map_err(|e| anyhow::anyhow!(e))
}
