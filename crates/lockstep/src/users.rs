//! `lockstep user`: users and API tokens of the HTTP server, managed straight on the
//! database, so that an operator can create accounts before (or without) a running server.
//!
//! Hashing and token digests are the server crate's (`lockstep_server::auth`); this module
//! only reads arguments and prints. It does not talk to a server over HTTP (users manage
//! their own tokens there: `/api/v1/tokens`), and it never
//! prints a stored hash: a password or token is shown once, when it is made.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context;
use lockstep_server::auth::{self, PasswordCost};
use lockstep_store::auth::AuthStore;
use serde_json::json;

use crate::cli::{Global, Output, TokenArgs, TokenVerb, UserArgs, UserVerb};
use crate::read::print_table;

pub async fn run(global: &Global, args: UserArgs) -> anyhow::Result<ExitCode> {
    // The log first: it creates (or migrates) the whole schema, credential tables
    // included. Opened the other way round, a fresh file would hold only credential
    // tables and no longer be recognised as a log.
    let program = crate::apply::open(global).await?;
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
            automation,
            password_stdin,
        } => {
            let member = match member.as_deref() {
                Some(member) => Some(check_member(&program, member).await?),
                None => None,
            };
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let user = auth::NewUser {
                name: &name,
                member: member.as_deref(),
                admin,
                automation,
            };
            let generated = auth::add_user(
                &store,
                &user,
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
                        "automation": automation,
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
        UserVerb::Token(TokenArgs { verb }) => return token(global, &store, verb, now).await,
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
            let automation = store.automation_accounts().await?;
            let yes = |flag: bool| if flag { "yes" } else { "no" }.to_owned();
            match global.output {
                Output::Json => {
                    let items: Vec<_> = users
                        .iter()
                        .map(|user| {
                            json!({
                                "name": user.name,
                                "member": user.member,
                                "admin": user.admin,
                                "automation": automation.contains(&user.name),
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
                                yes(user.admin),
                                yes(automation.contains(&user.name)),
                                yes(user.password_hash.is_some()),
                            ]
                        })
                        .collect();
                    print_table(
                        &["NAME", "MEMBER", "ADMIN", "AUTOMATION", "PASSWORD"],
                        &rows,
                    );
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

/// The member handle of `--member HANDLE` or `--member TEAM/HANDLE`, checked against
/// the program: the team and the handle must exist (with a suggestion when they do not),
/// because a user linked to nobody would silently be a viewer.
async fn check_member(
    program: &lockstep_store::program::Program,
    raw: &str,
) -> anyhow::Result<String> {
    let state = program.load().await?;
    use lockstep_core::suggest::hint;
    let (team, handle) = match raw.split_once('/') {
        Some((team, handle)) => (Some(team), handle),
        None => (None, raw),
    };
    if state.teams().is_empty() {
        anyhow::bail!(
            "cannot link user to member `{raw}`: the program has no teams yet; apply the manifests first"
        );
    }
    fn handles_of(team: &lockstep_core::Team) -> Vec<&str> {
        team.spec
            .members
            .iter()
            .map(|m| m.handle.as_str())
            .collect()
    }
    match team {
        Some(team_name) => {
            let team = state.teams().get(team_name).ok_or_else(|| {
                anyhow::anyhow!(
                    "--member {raw}: unknown team `{team_name}`{}",
                    hint(team_name, state.teams().keys().map(|n| n.as_str()))
                )
            })?;
            if !handles_of(team).contains(&handle) {
                anyhow::bail!(
                    "--member {raw}: team `{team_name}` has no member `{handle}`{}",
                    hint(handle, handles_of(team))
                );
            }
        }
        None => {
            if state.team_of_member(handle).is_none() {
                let all: Vec<&str> = state.teams().values().flat_map(handles_of).collect();
                anyhow::bail!(
                    "--member {raw}: no team has a member `{handle}`{}",
                    hint(handle, all)
                );
            }
        }
    }
    Ok(handle.to_owned())
}

async fn token(
    global: &Global,
    store: &AuthStore,
    verb: TokenVerb,
    now: jiff::Timestamp,
) -> anyhow::Result<ExitCode> {
    match verb {
        TokenVerb::Create {
            name,
            label,
            expires_in,
        } => {
            let expires_in = expires_in
                .as_deref()
                .map(lockstep_server::tokens::parse_expiry)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--expires-in: {e}"))?;
            let issued = auth::issue_token(store, &name, label.as_deref(), expires_in, now)
                .await
                .map_err(|e| anyhow::anyhow!("cannot issue a token for `{name}`: {e}"))?;
            match global.output {
                Output::Json => println!(
                    "{:#}",
                    json!({
                        "id": issued.id,
                        "name": name,
                        "token": issued.token,
                        "expiresAt": issued.expires_at,
                    })
                ),
                // The bare token alone on stdout, so `TOKEN=$(lockstep user token create
                // mike)` works; its id goes to stderr.
                _ => {
                    println!("{}", issued.token);
                    let expiry = issued
                        .expires_at
                        .map_or_else(|| "never expires".to_owned(), |at| format!("expires {at}"));
                    eprintln!("token {} for `{name}` ({expiry}); shown once", issued.id);
                }
            }
        }
        TokenVerb::List { name } => {
            if store.user(&name).await?.is_none() {
                let users = store.users().await?;
                let hint =
                    lockstep_core::suggest::hint(&name, users.iter().map(|u| u.name.as_str()));
                anyhow::bail!("unknown user `{name}`{hint}");
            }
            let tokens = store.tokens_of(&name).await?;
            let items: Vec<serde_json::Value> = tokens
                .iter()
                .map(|t| lockstep_server::tokens::token_json(t, now))
                .collect();
            match global.output {
                Output::Json => println!("{:#}", json!({ "items": items })),
                _ => {
                    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
                    let rows: Vec<Vec<String>> = items
                        .iter()
                        .map(|t| {
                            vec![
                                text(&t["id"]),
                                text(&t["label"]),
                                text(&t["createdAt"]),
                                text(&t["expiresAt"]),
                                text(&t["state"]),
                            ]
                        })
                        .collect();
                    print_table(&["ID", "LABEL", "CREATED", "EXPIRES", "STATE"], &rows);
                }
            }
        }
        TokenVerb::Revoke { id } => {
            let Some(token) = store.token_by_id(&id).await? else {
                anyhow::bail!("unknown token `{id}`: see `lockstep user token list USER`");
            };
            let revoked = store.revoke_token(&id, now.as_second()).await?;
            match global.output {
                Output::Json => println!(
                    "{:#}",
                    json!({ "id": id, "user": token.user_name, "revoked": revoked })
                ),
                _ if revoked => println!("revoked token {id} of `{}`", token.user_name),
                _ => println!("token {id} of `{}` was already revoked", token.user_name),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
