//! `lockstep serve`: the HTTP server, following the log.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lockstep_core::EventMeta;
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
    let program = Program::open(&database_url, Default::default())
        .await
        .with_context(|| {
            format!(
                "cannot open the log at {}",
                lockstep_store::redact_url(&database_url)
            )
        })?;
    if args.demo {
        load_demo(&program, &global.actor).await?;
    }
    let shared = lockstep_server::AppState::load(program).await?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!(
        "Lockstep is running on http://{address}/  (log: {})",
        lockstep_store::redact_url(&database_url)
    );
    tokio::spawn(lockstep_server::follow(
        shared.clone(),
        Duration::from_millis(500),
    ));
    lockstep_server::serve(listener, shared, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("server failed")?;
    Ok(ExitCode::SUCCESS)
}

async fn load_demo(program: &Program, actor: &str) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let mut state = program.load().await?;
    let events = decide_manifests(&state, &crate::demo::sources(today)?, now)?;
    let meta = EventMeta {
        actor: actor.to_owned(),
        at: now,
        reason: Some("demo data".to_owned()),
    };
    let recorded = program.commit(&mut state, events, &meta, &[]).await?;
    tracing::info!(n_events = recorded.len(), "loaded the demo program");
    Ok(())
}
