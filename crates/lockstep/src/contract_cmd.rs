//! Cross-team contract verbs: `contract verify`, `deployed`, `can-i-deploy` (exit 0 yes,
//! 1 no) and `interface propose|approve|reject|changelog`, on the database or, with
//! `--server`, over the API.
//!
//! Thin glue: arguments are parsed into core types here (a bad version or word is an
//! error naming the flag) and the rules live in `lockstep_core::contract`.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use lockstep_core::contract::{
    Compatibility, ComponentVersion, DeployAnswer, Interface, ProposalDecision, VerificationReport,
    VerificationResult, Version,
};
use lockstep_core::{Command, Name};
use serde_json::{Value, json};

use crate::apply::open;
use crate::cli::{Global, Output};
use crate::remote::Client;

/// `lockstep contract …`
#[derive(Debug, Args)]
pub struct ContractArgs {
    #[command(subcommand)]
    pub verb: ContractVerb,
}

#[derive(Debug, Subcommand)]
pub enum ContractVerb {
    /// Record a contract test: a consumer component at a version verified against a
    /// version of an interface (and the providing component's version).
    Verify {
        /// The interface.
        interface: String,
        /// The interface version verified against (`1.1.0`).
        #[arg(long = "version")]
        interface_version: String,
        /// The consumer component and its version: `dashboard-ui@3.2.0`.
        #[arg(long)]
        consumer: String,
        /// The providing component's version the test ran against (required when the
        /// interface names its component).
        #[arg(long)]
        provider_version: Option<String>,
        /// pass or fail.
        #[arg(long)]
        result: String,
        /// Where the test run is (an http(s) URL).
        #[arg(long)]
        link: Option<String>,
    },
}

/// `lockstep deployed COMPONENT VERSION --env ENV`
#[derive(Debug, Args)]
pub struct DeployedArgs {
    /// The component.
    pub component: String,
    /// The version now running.
    pub version: String,
    /// The environment it runs in.
    #[arg(long = "env", aliases = ["environment", "to"])]
    pub environment: String,
    /// When it was deployed (RFC 3339, `2025-03-01T14:05:00Z`), if earlier than now; a
    /// deployment older than the one recorded changes nothing.
    #[arg(long)]
    pub at: Option<jiff::Timestamp>,
}

/// `lockstep can-i-deploy COMPONENT VERSION --to ENV`
#[derive(Debug, Args)]
pub struct CanIDeployArgs {
    /// The component.
    pub component: String,
    /// The version to deploy.
    pub version: String,
    /// The target environment.
    #[arg(long = "to", alias = "env")]
    pub environment: String,
}

/// `lockstep interface …`
#[derive(Debug, Args)]
pub struct InterfaceArgs {
    #[command(subcommand)]
    pub verb: InterfaceVerb,
}

#[derive(Debug, Subcommand)]
pub enum InterfaceVerb {
    /// Propose a new version for review; `describe interface` shows its impact.
    Propose {
        interface: String,
        /// The version proposed (`2.0.0`).
        #[arg(long)]
        version: String,
        /// backward, breaking or none.
        #[arg(long)]
        compatibility: String,
        /// What changes: the changelog entry once approved.
        #[arg(long)]
        summary: String,
    },
    /// Approve the open proposal for a version (not your own): it is published.
    Approve {
        interface: String,
        version: String,
        /// Why: the decision record.
        #[arg(long, required = true)]
        rationale: String,
    },
    /// Reject the open proposal for a version, with the rationale.
    Reject {
        interface: String,
        version: String,
        /// Why: the decision record.
        #[arg(long, required = true)]
        rationale: String,
    },
    /// Print the interface's API changelog (Markdown).
    Changelog { interface: String },
}

fn name(flag: &str, raw: &str) -> anyhow::Result<Name> {
    Name::parse(raw).map_err(|error| anyhow!("{flag}: {error}"))
}

fn version(flag: &str, raw: &str) -> anyhow::Result<Version> {
    Version::parse(raw).map_err(|error| anyhow!("{flag}: {error}"))
}

fn component_version(flag: &str, raw: &str) -> anyhow::Result<ComponentVersion> {
    ComponentVersion::parse(raw).map_err(|error| anyhow!("{flag}: {error}"))
}

fn word<T>(
    flag: &str,
    raw: &str,
    parse: impl Fn(&str) -> Option<T>,
    words: &[&str],
) -> anyhow::Result<T> {
    parse(raw).ok_or_else(|| {
        anyhow!(
            "{flag}: unknown value `{raw}`{}; use one of {}",
            lockstep_core::suggest::hint(raw, words.iter().copied()),
            words.join(", ")
        )
    })
}

/// `component@version`, split at the last `@`.
fn consumer_at(raw: &str) -> anyhow::Result<(Name, ComponentVersion)> {
    let Some((component, version)) = raw.rsplit_once('@') else {
        bail!(
            "--consumer: write the component and its version as `dashboard-ui@3.2.0`, not `{raw}`"
        );
    };
    Ok((
        name("--consumer", component)?,
        component_version("--consumer", version)?,
    ))
}

fn rationale(raw: &str) -> anyhow::Result<()> {
    if raw.trim().is_empty() {
        bail!("--rationale must say why: it is the decision record");
    }
    Ok(())
}

/// The interface and the report of a `contract verify`, as `by`.
fn verification(verb: ContractVerb, by: String) -> anyhow::Result<(Name, VerificationReport)> {
    let ContractVerb::Verify {
        interface,
        interface_version,
        consumer,
        provider_version,
        result,
        link,
    } = verb;
    let (consumer, consumer_version) = consumer_at(&consumer)?;
    Ok((
        name("interface", &interface)?,
        VerificationReport {
            version: version("--version", &interface_version)?,
            consumer,
            consumer_version,
            provider_version: provider_version
                .as_deref()
                .map(|raw| component_version("--provider-version", raw))
                .transpose()?,
            result: word(
                "--result",
                &result,
                VerificationResult::parse,
                &VerificationResult::words(),
            )?,
            link,
            by,
        },
    ))
}

pub async fn contract(global: &Global, args: ContractArgs) -> anyhow::Result<ExitCode> {
    let (interface, verification) = verification(args.verb, global.actor.clone())?;
    let command = Command::RecordVerification {
        interface,
        verification,
    };
    crate::verbs::commit(global, command, None, jiff::Timestamp::now()).await
}

pub async fn deployed(global: &Global, args: DeployedArgs) -> anyhow::Result<ExitCode> {
    let command = Command::RecordDeployment {
        component: name("component", &args.component)?,
        environment: name("--env", &args.environment)?,
        version: component_version("version", &args.version)?,
        deployed_at: args.at,
        by: global.actor.clone(),
    };
    crate::verbs::commit(global, command, None, jiff::Timestamp::now()).await
}

/// The interface verbs that write, as commands; `changelog` is `None`.
fn interface_command(
    verb: &InterfaceVerb,
    by: String,
) -> anyhow::Result<Option<(Command, Option<String>)>> {
    Ok(Some(match verb {
        InterfaceVerb::Propose {
            interface,
            version: raw,
            compatibility,
            summary,
        } => (
            Command::ProposeInterfaceChange {
                interface: name("interface", interface)?,
                version: version("--version", raw)?,
                compatibility: word(
                    "--compatibility",
                    compatibility,
                    Compatibility::parse,
                    &Compatibility::words(),
                )?,
                summary: summary.clone(),
                by,
            },
            None,
        ),
        InterfaceVerb::Approve {
            interface,
            version: raw,
            rationale: why,
        }
        | InterfaceVerb::Reject {
            interface,
            version: raw,
            rationale: why,
        } => {
            rationale(why)?;
            let decision = if matches!(verb, InterfaceVerb::Approve { .. }) {
                ProposalDecision::Approve
            } else {
                ProposalDecision::Reject
            };
            (
                Command::DecideInterfaceChange {
                    interface: name("interface", interface)?,
                    version: version("version", raw)?,
                    decision,
                    rationale: why.clone(),
                    by,
                },
                Some(why.clone()),
            )
        }
        InterfaceVerb::Changelog { .. } => return Ok(None),
    }))
}

pub async fn interface(global: &Global, args: InterfaceArgs) -> anyhow::Result<ExitCode> {
    if let InterfaceVerb::Changelog { interface } = &args.verb {
        let state = open(global).await?.load().await?;
        let wanted = name("interface", interface)?;
        let found = state.contracts().interfaces.get(&wanted).ok_or_else(|| {
            anyhow!(
                "unknown interface `{interface}`{}",
                lockstep_core::suggest::hint(
                    interface,
                    state.contracts().interfaces.keys().map(Name::as_str)
                )
            )
        })?;
        print_changelog(global, found);
        return Ok(ExitCode::SUCCESS);
    }
    let Some((command, reason)) = interface_command(&args.verb, global.actor.clone())? else {
        return Ok(ExitCode::SUCCESS);
    };
    crate::verbs::commit(global, command, reason, jiff::Timestamp::now()).await
}

fn print_changelog(global: &Global, interface: &Interface) {
    match global.output {
        Output::Json => println!(
            "{:#}",
            json!({ "interface": interface.name, "versions": interface.spec.versions, "markdown": interface.changelog_markdown() })
        ),
        _ => print!("{}", interface.changelog_markdown()),
    }
}

pub async fn can_i_deploy(global: &Global, args: CanIDeployArgs) -> anyhow::Result<ExitCode> {
    let component = name("component", &args.component)?;
    let version = component_version("version", &args.version)?;
    let environment = name("--to", &args.environment)?;
    let state = open(global).await?.load().await?;
    let answer = lockstep_core::contract::can_i_deploy(&state, &component, &version, &environment)?;
    Ok(print_answer(
        global,
        &lockstep_server::contracts::answer_json(&answer),
        &answer_lines(&answer),
    ))
}

fn answer_lines(answer: &DeployAnswer) -> (bool, Vec<String>) {
    (
        answer.deployable,
        answer
            .checks
            .iter()
            .map(|c| {
                format!(
                    "{} {}: {}",
                    if c.ok { "ok " } else { "NO " },
                    c.interface,
                    c.reason
                )
            })
            .collect(),
    )
}

/// Prints the answer; exit 0 on yes, 1 on a clean no.
fn print_answer(
    global: &Global,
    json: &Value,
    (deployable, lines): &(bool, Vec<String>),
) -> ExitCode {
    match global.output {
        Output::Json | Output::Yaml => println!("{json:#}"),
        Output::Table => {
            println!(
                "{} {} {} to {}: {}",
                if *deployable { "yes:" } else { "no:" },
                json["component"].as_str().unwrap_or_default(),
                json["version"].as_str().unwrap_or_default(),
                json["environment"].as_str().unwrap_or_default(),
                if *deployable {
                    "every contract with what runs there is verified"
                } else {
                    "not every contract with what runs there is verified"
                }
            );
            if lines.is_empty() {
                println!("  (the component provides and consumes no interface)");
            }
            for line in lines {
                println!("  {line}");
            }
        }
    }
    if *deployable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `--server`: the same verbs over the API.
pub mod remote {
    use super::*;

    pub async fn contract(
        client: &Client,
        global: &Global,
        args: ContractArgs,
    ) -> anyhow::Result<ExitCode> {
        // The server records the caller as `by`.
        let (interface, verification) = verification(args.verb, String::new())?;
        let answer = client
            .post_json(
                &format!("/api/v1/interfaces/{interface}/verifications"),
                &json!({
                    "version": verification.version,
                    "consumer": verification.consumer,
                    "consumerVersion": verification.consumer_version,
                    "providerVersion": verification.provider_version,
                    "result": verification.result,
                    "link": verification.link,
                }),
            )
            .await?;
        crate::remote::print_changes(global, &answer);
        Ok(ExitCode::SUCCESS)
    }

    pub async fn deployed(
        client: &Client,
        global: &Global,
        args: DeployedArgs,
    ) -> anyhow::Result<ExitCode> {
        let environment = name("--env", &args.environment)?;
        component_version("version", &args.version)?;
        let answer = client
            .post_json(
                &format!("/api/v1/environments/{environment}/deployments"),
                &json!({
                    "component": args.component,
                    "version": args.version,
                    "deployedAt": args.at,
                }),
            )
            .await?;
        crate::remote::print_changes(global, &answer);
        Ok(ExitCode::SUCCESS)
    }

    pub async fn interface(
        client: &Client,
        global: &Global,
        args: InterfaceArgs,
    ) -> anyhow::Result<ExitCode> {
        if let InterfaceVerb::Changelog { interface } = &args.verb {
            let wanted = name("interface", interface)?;
            let value = client
                .get_json(&format!("/api/v1/interfaces/{wanted}"))
                .await?;
            let found: Interface =
                serde_json::from_value(value).context("the server's interface")?;
            print_changelog(global, &found);
            return Ok(ExitCode::SUCCESS);
        }
        // Parsed here first, so that a bad version or word is refused before any request.
        interface_command(&args.verb, String::new())?;
        let answer = match &args.verb {
            InterfaceVerb::Propose {
                interface,
                version,
                compatibility,
                summary,
            } => {
                client
                    .post_json(
                        &format!("/api/v1/interfaces/{interface}/proposals"),
                        &json!({ "version": version, "compatibility": compatibility, "summary": summary }),
                    )
                    .await?
            }
            InterfaceVerb::Approve {
                interface,
                version,
                rationale,
            }
            | InterfaceVerb::Reject {
                interface,
                version,
                rationale,
            } => {
                let decision = if matches!(args.verb, InterfaceVerb::Approve { .. }) {
                    "approve"
                } else {
                    "reject"
                };
                client
                    .post_json(
                        &format!("/api/v1/interfaces/{interface}/proposals/{version}/decision"),
                        &json!({ "decision": decision, "rationale": rationale }),
                    )
                    .await?
            }
            InterfaceVerb::Changelog { .. } => return Ok(ExitCode::SUCCESS),
        };
        crate::remote::print_changes(global, &answer);
        Ok(ExitCode::SUCCESS)
    }

    pub async fn can_i_deploy(
        client: &Client,
        global: &Global,
        args: CanIDeployArgs,
    ) -> anyhow::Result<ExitCode> {
        let component = name("component", &args.component)?;
        let version = component_version("version", &args.version)?;
        let environment = name("--to", &args.environment)?;
        let json = client
            .get_json(&format!(
                "/api/v1/can-i-deploy?component={component}&version={}&environment={environment}",
                crate::remote::percent_encode(version.as_str())
            ))
            .await?;
        let deployable = json["deployable"].as_bool().unwrap_or(false);
        let lines = json["checks"]
            .as_array()
            .map(|checks| {
                checks
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {}: {}",
                            if c["ok"].as_bool().unwrap_or(false) {
                                "ok "
                            } else {
                                "NO "
                            },
                            c["interface"].as_str().unwrap_or_default(),
                            c["reason"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(print_answer(global, &json, &(deployable, lines)))
    }
}
