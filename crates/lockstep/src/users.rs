//! `lockstep user`: users and API tokens of the HTTP server, managed straight on the
//! database, so that an operator can create accounts before (or without) a running server.
//!
//! Hashing and token digests are the server crate's (`lockstep_server::auth`); this module
//! only reads arguments and prints. It does not talk to a server over HTTP, and it never
//! prints a stored hash: a password or token is shown once, when it is made.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context;
use lockstep_server::auth::{self, PasswordCost};
use lockstep_store::auth::AuthStore;
use serde_json::json;

use crate::cli::{Global, Output, UserArgs, UserVerb};
use crate::read::print_table;

pub async fn run(global: &Global, args: UserArgs) -> anyhow::Result<ExitCode> {
    let store = AuthStore::open(&global.database_url, &Default::default())
        .await
        .with_context(|| {
            format!(
                "cannot open the credential store at {}",
                lockstep_store::redact_url(&global.database_url)
            )
        })?;
    let now = jiff::Timestamp::now();
    match args.verb {
        UserVerb::Add {
            name,
            member,
            admin,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let generated = auth::add_user(
                &store,
                &name,
                member.as_deref(),
                admin,
                password.as_deref(),
                PasswordCost::Interactive,
                now,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot save user `{name}`: {e}"))?;
            match global.output {
                Output::Json => {
                    let value = json!({
                        "name": name,
                        "member": member,
                        "admin": admin,
                        "password": generated,
                    });
                    println!("{value:#}");
                }
                _ => {
                    println!("saved user `{name}`");
                    if let Some(password) = generated {
                        println!("password: {password}  (shown once)");
                    }
                }
            }
        }
        UserVerb::Token { name, label } => {
            let token = auth::issue_token(&store, &name, label.as_deref(), now)
                .await
                .map_err(|e| anyhow::anyhow!("cannot issue a token for `{name}`: {e}"))?;
            match global.output {
                Output::Json => println!("{:#}", json!({ "name": name, "token": token })),
                // The bare token alone on stdout, so `TOKEN=$(lockstep user token mike)` works.
                _ => println!("{token}"),
            }
        }
        UserVerb::FeedToken { name } => {
            let token = lockstep_server::feeds::rotate_feed_token(&store, &name, now)
                .await
                .map_err(|e| anyhow::anyhow!("cannot make a feed token for `{name}`: {e}"))?;
            let organization = format!("/feeds/{token}/org.ics");
            match global.output {
                Output::Json => println!(
                    "{:#}",
                    json!({ "name": name, "token": token, "organization": organization })
                ),
                _ => {
                    println!("{token}");
                    eprintln!(
                        "feed paths (shown once): {organization}, \
                         /feeds/{token}/releases/RELEASE.ics, /feeds/{token}/teams/TEAM.ics"
                    );
                }
            }
        }
        UserVerb::List => {
            let users = store.users().await?;
            match global.output {
                Output::Json => {
                    let items: Vec<_> = users
                        .iter()
                        .map(|user| {
                            json!({
                                "name": user.name,
                                "member": user.member,
                                "admin": user.admin,
                                "password": user.password_hash.is_some(),
                            })
                        })
                        .collect();
                    println!("{:#}", json!({ "items": items }));
                }
                _ => {
                    let rows: Vec<Vec<String>> = users
                        .iter()
                        .map(|user| {
                            vec![
                                user.name.clone(),
                                user.member.clone().unwrap_or_else(|| "-".to_owned()),
                                if user.admin { "yes" } else { "no" }.to_owned(),
                                if user.password_hash.is_some() {
                                    "yes"
                                } else {
                                    "no"
                                }
                                .to_owned(),
                            ]
                        })
                        .collect();
                    print_table(&["NAME", "MEMBER", "ADMIN", "PASSWORD"], &rows);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The password on stdin: its first line, without the line ending.
fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the password from stdin")?;
    let password = input.lines().next().unwrap_or_default().to_owned();
    if password.len() < 8 {
        anyhow::bail!("a password has at least 8 characters");
    }
    Ok(password)
}
