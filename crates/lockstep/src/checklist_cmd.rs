//! `lockstep checklist RELEASE` (a release's checklist), `lockstep checklist check
//! RELEASE ITEM` (tick a manual item), `lockstep checklist templates` (the templates
//! that apply, as manifests) and `lockstep signoff RELEASE --request | --approve |
//! --reject --reason … | --withdraw` (the go/no-go meeting).
//!
//! Thin glue over `lockstep_core::checklist`: the rules (owner roles, no
//! self-approval, named approvers, deadlock checks) are decided there. Like the
//! other verbs it writes the log the server follows; the person acting is
//! `--as HANDLE`, by default the actor (`--actor`, `LOCKSTEP_ACTOR`).

use std::process::ExitCode;

use anyhow::anyhow;
use clap::{ArgGroup, Args, Subcommand};
use lockstep_core::checklist::{ChecklistPhase, SignOffDecision, assess, builtin_templates};
use lockstep_core::{Command, EventMeta, Name, decide};

use crate::apply::open;
use crate::cli::{Global, Output};

/// `lockstep checklist …`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ChecklistArgs {
    /// The release whose checklist to show.
    pub release: Option<String>,
    #[command(subcommand)]
    pub verb: Option<ChecklistVerb>,
}

#[derive(Debug, Subcommand)]
pub enum ChecklistVerb {
    /// Tick a manual item (as its owner role or a release manager).
    Check {
        release: String,
        item: String,
        /// What was done, kept with the tick.
        #[arg(long)]
        note: Option<String>,
        /// The member ticking it. Default: the actor.
        #[arg(long = "as")]
        as_member: Option<String>,
    },
    /// The template that applies to each release kind, with the built-in ones, as
    /// manifests (`-o yaml`) or a table.
    Templates,
}

/// `lockstep signoff RELEASE …`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("decision").required(true).args(["request", "approve", "reject", "withdraw"])))]
pub struct SignoffArgs {
    /// The release.
    pub release: String,
    /// Open the go/no-go meeting record (the requester cannot approve).
    #[arg(long)]
    pub request: bool,
    /// Approve.
    #[arg(long)]
    pub approve: bool,
    /// Reject; needs --reason. Blocks until withdrawn or replaced by an approval.
    #[arg(long, requires = "reason")]
    pub reject: bool,
    /// Withdraw your sign-off.
    #[arg(long)]
    pub withdraw: bool,
    /// Why (required with --reject).
    #[arg(long)]
    pub reason: Option<String>,
    /// The member signing. Default: the actor.
    #[arg(long = "as")]
    pub as_member: Option<String>,
}

fn member(global: &Global, as_member: Option<&str>) -> anyhow::Result<Name> {
    let raw = as_member.unwrap_or(&global.actor);
    Name::parse(raw).map_err(|error| {
        anyhow!("`{raw}` is not a member handle ({error}); name the member with --as HANDLE")
    })
}

pub async fn checklist(global: &Global, args: ChecklistArgs) -> anyhow::Result<ExitCode> {
    match args.verb {
        Some(ChecklistVerb::Check {
            release,
            item,
            note,
            as_member,
        }) => {
            let command = Command::CheckItem {
                release: Name::parse(&release)?,
                item: Name::parse(&item)?,
                by: member(global, as_member.as_deref())?,
                note,
            };
            commit(global, command, None).await
        }
        Some(ChecklistVerb::Templates) => templates(global).await,
        None => {
            let Some(release) = args.release else {
                return Err(anyhow!(
                    "name a release (`lockstep checklist RELEASE`) or a verb (check, templates)"
                ));
            };
            show(global, &release).await
        }
    }
}

async fn show(global: &Global, release: &str) -> anyhow::Result<ExitCode> {
    let release = Name::parse(release)?;
    let program = open(global).await?;
    let state = program.load().await?;
    let assessment = assess(&state, &release)?;
    match global.output {
        Output::Json | Output::Yaml => println!(
            "{:#}",
            lockstep_server::checklists::checklist_json(&assessment.checklist)
        ),
        Output::Table => print!(
            "{}",
            checklist_text(&lockstep_server::checklists::checklist_json(
                &assessment.checklist
            ))
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The checklist as text from its wire form (`checklist_json`), grouped by phase:
/// `[x]` done, `[ ]` open, `[!]` failed. The same against a server.
pub fn checklist_text(checklist: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let mut out = format!(
        "{}: checklist {}{} ({} path), {}/{} done\n",
        text(&checklist["release"]),
        text(&checklist["template"]),
        if checklist["builtin"] == true {
            " (built in)"
        } else {
            ""
        },
        if checklist["expedited"] == true {
            "expedited"
        } else {
            "standard"
        },
        checklist["done"],
        checklist["total"],
    );
    let items = checklist["items"].as_array().cloned().unwrap_or_default();
    for phase in [
        ChecklistPhase::PreRelease,
        ChecklistPhase::ReleaseDay,
        ChecklistPhase::PostRelease,
    ] {
        let entries: Vec<_> = items
            .iter()
            .filter(|e| e["phase"] == phase.as_str())
            .collect();
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("{}:\n", phase.title()));
        for entry in entries {
            let mark = match entry["state"].as_str() {
                Some("done") => "[x]",
                Some("failed") => "[!]",
                _ => "[ ]",
            };
            let how = match (entry["checkedBy"].as_str(), entry["check"].as_str()) {
                (Some(by), _) => format!(
                    " — {by} at {}{}",
                    text(&entry["checkedAt"]),
                    entry["note"]
                        .as_str()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ),
                (None, Some(check)) => format!(" — from signals ({check})"),
                (None, None) => String::new(),
            };
            out.push_str(&format!(
                "  {mark} {} — {} ({}, due {} {}){how}\n",
                text(&entry["id"]),
                text(&entry["title"]),
                text(&entry["owner"]),
                text(&entry["due"]),
                text(&entry["dueOffset"]),
            ));
        }
    }
    out
}

/// The meeting as text: request, rules with approvals, rejections.
pub fn meeting_text(signoffs: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let mut out = String::from("sign-offs:\n");
    match signoffs["requestedBy"].as_str() {
        Some(by) => out.push_str(&format!(
            "  go/no-go requested by {by} at {}{}\n",
            text(&signoffs["requestedAt"]),
            if signoffs["requestedOnExpeditedPath"] == true {
                " (expedited path)"
            } else {
                ""
            }
        )),
        None => out.push_str("  go/no-go not requested\n"),
    }
    let rules = signoffs["rules"].as_array().cloned().unwrap_or_default();
    if rules.is_empty() {
        out.push_str("  no approval rules apply\n");
    }
    for rule in &rules {
        let approved: Vec<String> = rule["approvedBy"]
            .as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default();
        let missing = rule["missing"].as_u64().unwrap_or(0);
        out.push_str(&format!(
            "  {}: approved by {}{}\n",
            text(&rule["rule"]),
            if approved.is_empty() {
                "nobody yet".to_owned()
            } else {
                approved.join(", ")
            },
            if missing > 0 {
                format!(" ({missing} more needed)")
            } else {
                String::new()
            }
        ));
    }
    for rejection in signoffs["rejections"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  rejected by {} at {}: {}\n",
            text(&rejection["by"]),
            text(&rejection["at"]),
            text(&rejection["reason"])
        ));
    }
    out
}

async fn templates(global: &Global) -> anyhow::Result<ExitCode> {
    let program = open(global).await?;
    let state = program.load().await?;
    match global.output {
        Output::Yaml => {
            // What applies: declared templates, then the built-ins no declared one replaces.
            let mut shown: Vec<_> = state.checklists().templates.values().cloned().collect();
            for builtin in builtin_templates() {
                let replaced = builtin
                    .spec
                    .applies_to
                    .iter()
                    .all(|kind| !lockstep_core::checklist::template_for(&state, *kind).1);
                if !replaced {
                    shown.push(builtin);
                }
            }
            print!(
                "{}",
                lockstep_manifest::export_templates(&shown).map_err(|e| anyhow!(e))?
            );
        }
        Output::Json => {
            let kinds = [
                lockstep_core::ReleaseKind::Regular,
                lockstep_core::ReleaseKind::Hotfix,
                lockstep_core::ReleaseKind::Emergency,
                lockstep_core::ReleaseKind::OutOfBand,
            ];
            let rows: Vec<_> = kinds
                .iter()
                .map(|kind| {
                    let (template, builtin) = lockstep_core::checklist::template_for(&state, *kind);
                    serde_json::json!({
                        "kind": lockstep_core::checklist::kind_str(*kind),
                        "template": template.name,
                        "builtin": builtin,
                        "expedited": template.spec.expedited,
                        "items": template.spec.items.len(),
                    })
                })
                .collect();
            println!("{:#}", serde_json::json!({ "templates": rows }));
        }
        Output::Table => {
            for kind in [
                lockstep_core::ReleaseKind::Regular,
                lockstep_core::ReleaseKind::Hotfix,
                lockstep_core::ReleaseKind::Emergency,
                lockstep_core::ReleaseKind::OutOfBand,
            ] {
                let (template, builtin) = lockstep_core::checklist::template_for(&state, kind);
                println!(
                    "{:<12} {}{} — {} items{}",
                    lockstep_core::checklist::kind_str(kind),
                    template.name,
                    if builtin { " (built in)" } else { "" },
                    template.spec.items.len(),
                    if template.spec.expedited {
                        ", expedited path"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn signoff(global: &Global, args: SignoffArgs) -> anyhow::Result<ExitCode> {
    let release = Name::parse(&args.release)?;
    let by = member(global, args.as_member.as_deref())?;
    let command = if args.request {
        Command::RequestGoNoGo { release, by }
    } else if args.approve {
        Command::SignOff {
            release,
            by,
            decision: SignOffDecision::Approve,
        }
    } else if args.reject {
        let Some(reason) = args.reason.clone() else {
            return Err(anyhow!("--reject needs --reason"));
        };
        Command::SignOff {
            release,
            by,
            decision: SignOffDecision::Reject { reason },
        }
    } else {
        Command::WithdrawSignOff { release, by }
    };
    let reason = if args.reject { None } else { args.reason };
    commit(global, command, reason).await
}

/// Decides and commits one command, retrying a lost append race twice.
async fn commit(
    global: &Global,
    command: Command,
    reason: Option<String>,
) -> anyhow::Result<ExitCode> {
    let now = jiff::Timestamp::now();
    let program = open(global).await?;
    let mut state = program.load().await?;
    let meta = EventMeta {
        actor: global.actor.clone(),
        at: now,
        reason,
    };
    for attempt in 1..=3 {
        let events = decide(&state, command.clone(), now)?;
        match program.commit(&mut state, events, &meta, &[]).await {
            Ok(recorded) => {
                match global.output {
                    Output::Json | Output::Yaml => {
                        let rows: Vec<_> = recorded
                            .iter()
                            .map(|r| serde_json::json!({ "position": r.position, "summary": r.event.describe() }))
                            .collect();
                        println!("{:#}", serde_json::json!({ "changes": rows }));
                    }
                    Output::Table if recorded.is_empty() => println!("no changes"),
                    Output::Table => recorded
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
    Err(anyhow!("the log kept changing; try again"))
}
