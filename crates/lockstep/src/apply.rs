//! `lockstep apply -f`: manifests in, one atomic change out.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use lockstep_core::{Event, EventMeta, State, decide_all};
use lockstep_manifest::{Limits, Manifest, Source, locate, parse, plan};
use lockstep_store::program::Program;

use crate::cli::{ApplyArgs, Global, Output};

/// The name errors give to manifests read from standard input (`-f -`).
const STDIN_NAME: &str = "<stdin>";

/// Reads `*.yaml`/`*.yml` files, directories recursively, in a stable order; `-` is
/// standard input. A directory without a single manifest is an error: it is almost
/// always the wrong directory, and "no changes" would hide that.
pub fn read_sources(paths: &[PathBuf], limits: Limits) -> anyhow::Result<Vec<Source>> {
    let mut files = Vec::new();
    let mut stdin_read = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if stdin_read {
                bail!("`-` (standard input) can be given only once");
            }
            stdin_read = true;
            files.push(path.clone());
            continue;
        }
        let before = files.len();
        collect(path, &mut files)?;
        if files.len() == before {
            bail!(
                "{} holds no manifests (`*.yaml` or `*.yml` files)",
                path.display()
            );
        }
    }
    // A file named twice (`-f dir -f dir/teams.yaml`) is read once: its resources are
    // not duplicates of themselves.
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| {
        file.as_os_str() == "-" || seen.insert(std::fs::canonicalize(file).unwrap_or(file.clone()))
    });
    files
        .into_iter()
        .map(|file| {
            if file.as_os_str() == "-" {
                return read_limited(std::io::stdin().lock(), STDIN_NAME, limits);
            }
            let handle = std::fs::File::open(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            read_limited(handle, &file.display().to_string(), limits)
        })
        .collect()
}

/// Reads at most the size limit (and one byte more, to tell that it was exceeded).
fn read_limited(reader: impl std::io::Read, name: &str, limits: Limits) -> anyhow::Result<Source> {
    use std::io::Read;
    let mut bytes = Vec::new();
    reader
        .take(limits.max_file_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {name}"))?;
    if bytes.len() > limits.max_file_bytes {
        bail!(
            "{name}: more than {} bytes; that is the limit for one file",
            limits.max_file_bytes
        );
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("cannot read {name} as UTF-8 text: {e}"))?;
    Ok(Source {
        name: name.to_owned(),
        text,
    })
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if metadata.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot list {}", path.display()))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {}", path.display()))?;
        entries.sort();
        for entry in entries {
            let is_yaml = entry.extension().is_some_and(|e| e == "yaml" || e == "yml");
            if entry.is_dir() || is_yaml {
                collect(&entry, files)?;
            }
        }
    } else {
        files.push(path.to_owned());
    }
    Ok(())
}

/// Plans and decides `sources` against `state`: the events to write, or every
/// located error.
pub fn decide_manifests(
    state: &State,
    sources: &[Source],
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<Event>> {
    let manifest =
        parse(sources, Limits::default()).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    decide_parsed(state, &manifest, sources, now)
}

/// Plans and decides parsed manifests against `state`.
fn decide_parsed(
    state: &State,
    manifest: &Manifest,
    sources: &[Source],
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<Event>> {
    let commands = plan(manifest, state).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let fallback = sources.first().map_or("manifest", |s| s.name.as_str());
    decide_all(
        state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now,
    )
    .map_err(|errors| anyhow::anyhow!("{}", locate(&commands, errors, fallback)))
}

pub async fn open(global: &Global) -> anyhow::Result<Program> {
    Program::open(&global.database_url, Default::default())
        .await
        .with_context(|| {
            format!(
                "cannot open the log at {}",
                lockstep_store::redact_url(&global.database_url)
            )
        })
}

pub async fn run(global: &Global, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let sources = read_sources(&args.files, Limits::default())?;
    let program = crate::serve_delivery::with_configured_policy(open(global).await?)?;
    let mut state = program.load().await?;
    let manifest = match parse(&sources, Limits::default()) {
        Ok(manifest) => manifest,
        Err(errors) => {
            let error = anyhow::anyhow!("{errors}");
            crate::run_cmd::refused_apply(global, &args.files, &error).await;
            return Err(error);
        }
    };
    for note in manifest.notes() {
        eprintln!("note: {note}");
    }
    // A concurrent writer may commit between our read and our append; the append
    // then conflicts and we decide again on the newer state.
    for attempt in 1..=3 {
        let now = jiff::Timestamp::now();
        let events = match decide_parsed(&state, &manifest, &sources, now) {
            Ok(events) => events,
            Err(error) => {
                crate::run_cmd::refused_apply(global, &args.files, &error).await;
                return Err(error);
            }
        };
        let changes: Vec<(serde_json::Value, &Event)> = events
            .iter()
            .map(|e| (serde_json::json!(state.stream_of(e)), e))
            .collect();
        let impact = args
            .dry_run
            .then(|| lockstep_core::change::impact(&state, &events));
        print_changes(global.output, &changes, args.dry_run, impact.as_ref());
        if args.dry_run || events.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        let meta = EventMeta {
            actor: global.actor.clone(),
            at: now,
            reason: args.reason.clone(),
        };
        match program.commit(&mut state, events, &meta, &[]).await {
            Ok(recorded) => {
                if global.output == Output::Table {
                    println!(
                        "applied {} change(s) at position {}",
                        recorded.len(),
                        state.position()
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(error) if error.is_conflict() && attempt < 3 => {
                tracing::info!(%error, "another writer got there first; deciding again");
                program.catch_up(&mut state, |_| {}).await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// Prints the change of an apply: each event with its stream (as JSON, since a
/// server sends it that way), and for a dry run what it would do to the program's risk.
pub fn print_changes(
    output: Output,
    events: &[(serde_json::Value, &Event)],
    dry_run: bool,
    impact: Option<&lockstep_core::change::Impact>,
) {
    match output {
        Output::Json => {
            let changes: Vec<_> = events
                .iter()
                .map(|(stream, e)| serde_json::json!({ "stream": stream, "summary": e.describe(), "event": e }))
                .collect();
            let mut answer = serde_json::json!({ "dryRun": dry_run, "changes": changes });
            if let Some(impact) = impact {
                answer["impact"] = serde_json::json!(impact);
            }
            println!("{answer:#}");
        }
        _ => {
            if events.is_empty() {
                println!("no changes");
                return;
            }
            for (_, event) in events {
                let sign = match event {
                    Event::TeamDefined { .. }
                    | Event::ComponentDefined { .. }
                    | Event::EnvironmentDefined { .. }
                    | Event::ReleasePlanned { .. }
                    | Event::ItemAdded { .. }
                    | Event::DependencyAdded { .. }
                    | Event::IntegrationTaskDefined { .. }
                    | Event::ItemUpdatePosted { .. } => '+',
                    Event::DependencyRemoved { .. } => '-',
                    _ => '~',
                };
                println!("{sign} {}", event.describe());
            }
            if dry_run {
                for line in impact.map(|i| i.risk_lines()).unwrap_or_default() {
                    println!("! {line}");
                }
                println!("dry run: {} change(s) not applied", events.len());
            }
        }
    }
}
