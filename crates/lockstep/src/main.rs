//! `lockstep`: the command-line interface and the server's entry point.
//!
//! Thin glue: parse arguments, open the log, call core and the manifest reader,
//! print. Exit codes: 0 success, 1 a clean "no", 2 an error. Errors go to stderr
//! as `error: …`, or to stdout as a problem document with `--output json`.

mod apply;
mod bench;
mod bench_calendar;
mod bench_http;
mod bench_psplib;
mod change_cmd;
mod checklist_cmd;
mod cli;
mod comms;
mod contract_cmd;
mod demo;
mod gonogo;
mod login;
mod metrics_cmd;
mod plan_cmd;
mod read;
mod remote;
mod run_cmd;
mod serve;
mod serve_delivery;
mod users;
mod verbs;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, Output};

/// `println!` panics when stdout is a closed pipe (`lockstep plan … | head`). Rust
/// ignores SIGPIPE and safe code cannot restore it, so such a panic ends the
/// process quietly with the status a shell expects after SIGPIPE (128 + 13).
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOCKSTEP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let output = cli.output;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&anyhow::Error::from(error), output),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => report(&error, output),
    }
}

fn report(error: &anyhow::Error, output: Output) -> ExitCode {
    match output {
        // A server's refusal is shown as the server's own problem document.
        Output::Json if error.downcast_ref::<remote::ServerProblem>().is_some() => {
            if let Some(refusal) = error.downcast_ref::<remote::ServerProblem>() {
                println!("{:#}", serde_json::json!(refusal.problem));
            }
        }
        Output::Json => {
            let problem = serde_json::json!({
                "type": "https://lockstep.dev/problems/cli-error",
                "title": "command failed",
                "status": 2,
                "detail": format!("{error:#}"),
            });
            println!("{problem:#}");
        }
        _ => eprintln!("error: {error:#}"),
    }
    ExitCode::from(2)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global();
    let command = match &global.server {
        Some(_) => match remote::run(&global, cli.command).await? {
            Ok(code) => return Ok(code),
            Err(command) => command,
        },
        None => cli.command,
    };
    match command {
        Command::Apply(args) => apply::run(&global, args).await,
        Command::Get(args) => read::get(&global, args).await,
        Command::Describe(args) => read::describe(&global, args).await,
        Command::History(args) => read::history(&global, args).await,
        Command::Item(args) => verbs::item(&global, args).await,
        Command::Integration(args) => verbs::integration(&global, args).await,
        Command::Risk(args) => verbs::risk(&global, args).await,
        Command::Change(args) => change_cmd::run(&global, args).await,
        Command::Contract(args) => contract_cmd::contract(&global, args).await,
        Command::Deployed(args) => contract_cmd::deployed(&global, args).await,
        Command::CanIDeploy(args) => contract_cmd::can_i_deploy(&global, args).await,
        Command::Interface(args) => contract_cmd::interface(&global, args).await,
        Command::Plan(args) => plan_cmd::run(args, global.output),
        Command::Serve(args) => serve::run(&global, args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Message(args) => comms::message(&global, args).await,
        Command::Calendar(args) => comms::calendar(&global, args).await,
        Command::Outbox(args) => comms::outbox(&global, args).await,
        Command::User(args) => users::run(&global, args).await,
        Command::Signal(args) => gonogo::signal(&global, args).await,
        Command::Gonogo(args) => gonogo::gonogo(&global, args).await,
        Command::Login(args) => login::login(&global, args).await,
        Command::Logout(args) => login::logout(&global, args).await,
        Command::Checklist(args) => checklist_cmd::checklist(&global, args).await,
        Command::Signoff(args) => checklist_cmd::signoff(&global, args).await,
        Command::Runbook(args) => run_cmd::runbook(&global, args).await,
        Command::Run(args) => run_cmd::run(&global, args).await,
        Command::Audit(args) => run_cmd::audit(&global, args).await,
        Command::Metrics(args) => metrics_cmd::metrics(&global, args).await,
        Command::Retro(args) => metrics_cmd::retro(&global, args).await,
        Command::Coordination(args) => metrics_cmd::coordination(&global, args).await,
        Command::Lessons(args) => metrics_cmd::lessons(&global, args).await,
        Command::Completions(args) => {
            use clap::CommandFactory;
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "lockstep",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
