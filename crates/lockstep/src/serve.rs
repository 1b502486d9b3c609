//! `lockstep serve`: the HTTP server, following the log.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lockstep_core::EventMeta;
use lockstep_store::auth::AuthStore;
use lockstep_store::program::Program;

use crate::apply::decide_manifests;
use crate::cli::{Global, ServeArgs};

pub async fn run(global: &Global, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let database_url = if args.demo && global.database_url == crate::cli::DEFAULT_DATABASE_URL {
        // A fresh database each time, so the demo always starts from the example.
        let path = std::env::temp_dir().join(format!("lockstep-demo-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        format!("sqlite://{}", path.display())
    } else {
        global.database_url.clone()
    };
    let settings = delivery_settings(&args)?;
    let notifications = settings.notifications.clone();
    let delivery = crate::serve_delivery::load(settings, args.notifications.is_some())?;
    if let (None, Some(path)) = (&delivery, notifications) {
        tracing::info!(path = %path.display(), "no notification file: messages are not written or delivered");
    }
    let program = Program::open(&database_url, Default::default())
        .await
        .with_context(|| {
            format!(
                "cannot open the log at {}",
                lockstep_store::redact_url(&database_url)
            )
        })?;
    // Every commit of this server writes its messages (announcements, escalations) in
    // the same transaction, when there is a notification file.
    let program = match &delivery {
        Some(delivery) => delivery.with_policy(program),
        None => program,
    };
    if args.demo {
        load_demo(&program, &global.actor).await?;
    }
    let auth = AuthStore::open(&database_url, &Default::default())
        .await
        .context("cannot open the credential store")?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    // Every page and every API route needs a user or a token, on loopback too: what
    // a browser on this machine can read, any page it opens can read as well.
    // With a notification file the server writes messages, and acknowledging an
    // escalation over the API cancels its pending notices in the outbox.
    let outbox = match &delivery {
        Some(_) => Some(
            lockstep_store::outbox::DeliveryLog::open(&database_url, &Default::default())
                .await
                .context("cannot open the outbox delivery log")?,
        ),
        None => None,
    };
    let config = lockstep_server::Config {
        webhooks: lockstep_server::WebhookSecrets::from_env(),
        outbox,
        ..Default::default()
    };
    let shared = lockstep_server::AppState::load(program, auth, config).await?;
    let admin_password = std::env::var("LOCKSTEP_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let generated = shared
        .bootstrap_admin(admin_password.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the first administrator: {e}"))?;
    if args.demo {
        for (user, member) in DEMO_USERS {
            shared
                .add_user(
                    &lockstep_server::auth::NewUser {
                        member,
                        ..lockstep_server::auth::NewUser::named(user)
                    },
                    Some(DEMO_PASSWORD),
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot create demo user {user}: {e}"))?;
        }
    }
    // The first line is the address: scripts and tests read it.
    println!(
        "Lockstep is running on http://{address}/  (log: {})",
        lockstep_store::redact_url(&database_url)
    );
    if let Some(password) = generated {
        eprintln!(
            "Created the first administrator: user `admin`, password `{password}` (shown once; \
             set LOCKSTEP_ADMIN_PASSWORD to choose it)"
        );
    }
    if args.demo {
        // Whoever started us may have read only the first line and closed the pipe (the
        // CLI tests do): a failed write here must not stop the server.
        use std::io::Write as _;
        let mut stdout = std::io::stdout();
        let _ = writeln!(
            stdout,
            "Demo users (password `{DEMO_PASSWORD}`): rita (release manager), mike (API tech lead), sid, sam, uma (security, support, UX: they sign off go/no-go), viewer (read only)\n\
             Log in at http://{address}/login, or from the CLI: \
             echo {DEMO_PASSWORD} | lockstep login --server http://{address} --user rita"
        );
        let _ = stdout.flush();
    }
    tokio::spawn(lockstep_server::follow(
        shared.clone(),
        Duration::from_millis(500),
    ));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let loops = match &delivery {
        Some(delivery) => delivery.start(&database_url, stopped).await?,
        None => Vec::new(),
    };
    lockstep_server::serve(listener, shared, shutdown_signal())
        .await
        .context("server failed")?;
    // Requests are drained; let the outbox pass in progress record what it sent.
    let _ = stop.send(true);
    for task in loops {
        if tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .is_err()
        {
            tracing::warn!("a delivery task did not stop in 30 s; its lease will expire");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM (what service managers and `kill` send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}

fn delivery_settings(args: &ServeArgs) -> anyhow::Result<crate::serve_delivery::DeliverySettings> {
    let interval = Duration::try_from_secs_f64(args.deliver_interval)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| {
            format!(
                "invalid --deliver-interval `{}` (expected seconds above 0)",
                args.deliver_interval
            )
        })?;
    let schedule_at = args
        .schedule_at
        .parse::<jiff::civil::Time>()
        .with_context(|| {
            format!(
                "invalid --schedule-at `{}` (expected HH:MM)",
                args.schedule_at
            )
        })?;
    Ok(crate::serve_delivery::DeliverySettings {
        notifications: Some(
            args.notifications
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from("notifications.yaml")),
        ),
        deliver: !args.no_deliver,
        interval,
        schedule_at,
        weekly_on: crate::comms::parse_weekday(&args.weekly_on)?,
        templates: args.templates.clone(),
    })
}

/// The demo's users: (user name, team member handle). Roles follow from the example.
const DEMO_USERS: [(&str, Option<&str>); 6] = [
    ("rita", Some("rita")),
    ("mike", Some("mike")),
    ("viewer", None),
    // Stakeholders who sign off go/no-go (security, support, UX).
    ("sid", Some("sid")),
    ("sam", Some("sam")),
    ("uma", Some("uma")),
];

/// The release before the example's, replayed at the moments things happened to it.
async fn load_demo_history(
    program: &Program,
    state: &mut lockstep_core::State,
    today: jiff::civil::Date,
) -> anyhow::Result<()> {
    use crate::demo::Step;
    let history = crate::demo::past_history(today)?;
    let planned = history
        .first()
        .map(|(when, _, _)| *when - jiff::SignedDuration::from_hours(24 * 7))
        .ok_or_else(|| anyhow::anyhow!("the demo history is empty"))?;
    let events = decide_manifests(state, &crate::demo::past_sources(today)?, planned)?;
    let meta = |actor: &str, at| EventMeta {
        actor: actor.to_owned(),
        at,
        reason: Some("demo history".to_owned()),
    };
    program
        .commit(state, events, &meta("rita", planned), &[])
        .await?;
    for (at, actor, step) in history {
        let command = match step {
            Step::Command(command) => *command,
            Step::StartRun(release) => {
                let zones = crate::plan_cmd::time_zones(state)?;
                let runbook = lockstep_core::runbook::generate(state, &release, &zones, at)
                    .map_err(|e| anyhow::anyhow!("demo history: {e}"))?;
                lockstep_core::Command::StartRun {
                    release,
                    runbook: Box::new(runbook),
                    by: actor.to_owned(),
                    options: crate::demo::past_run_options(),
                }
            }
        };
        let events = lockstep_core::decide(state, command, at)
            .map_err(|e| anyhow::anyhow!("demo history at {at}: {e}"))?;
        program.commit(state, events, &meta(actor, at), &[]).await?;
    }
    Ok(())
}

/// The demo users' password: printed on start, documented in the README.
const DEMO_PASSWORD: &str = "lockstep-demo";

async fn load_demo(program: &Program, actor: &str) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let mut state = program.load().await?;
    load_demo_history(program, &mut state, today).await?;
    let events = decide_manifests(&state, &crate::demo::sources(today)?, now)?;
    let meta = EventMeta {
        actor: actor.to_owned(),
        at: now,
        reason: Some("demo data".to_owned()),
    };
    let mut recorded = program.commit(&mut state, events, &meta, &[]).await?;
    for (who, command) in crate::demo::contract_facts()? {
        let events = lockstep_core::decide(&state, command, now)
            .map_err(|e| anyhow::anyhow!("demo contracts: {e}"))?;
        let meta = EventMeta {
            actor: who.to_owned(),
            ..meta.clone()
        };
        recorded.extend(program.commit(&mut state, events, &meta, &[]).await?);
    }
    tracing::info!(n_events = recorded.len(), "loaded the demo program");
    // Mike proposes the API slip for review, as seed 004's Wednesday would have it.
    let (title, sources) = crate::demo::open_change(today)?;
    let sources: Vec<lockstep_core::change::ChangeSource> = sources
        .into_iter()
        .map(|s| lockstep_core::change::ChangeSource {
            name: s.name,
            text: s.text,
        })
        .collect();
    let impact =
        lockstep_manifest::change::assess(&state, &sources, now).map_err(anyhow::Error::msg)?;
    let proposal = lockstep_core::Command::ProposeChange {
        title,
        sources,
        releases: impact.touched_releases(),
        by: "mike".to_owned(),
    };
    let events = lockstep_core::decide(&state, proposal, now)?;
    let meta = EventMeta {
        actor: "mike".to_owned(),
        at: now,
        reason: Some("pipeline migration slipped".to_owned()),
    };
    program.commit(&mut state, events, &meta, &[]).await?;
    Ok(())
}
