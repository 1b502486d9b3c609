//! `lockstep login` / `lockstep logout`, and the config file that keeps the token.
//!
//! The file is `$LOCKSTEP_CONFIG`, else `$XDG_CONFIG_HOME/lockstep/config.toml`, else
//! `~/.config/lockstep/config.toml`: a few `key = "value"` lines (a subset of TOML,
//! read and written here without a TOML crate), created with mode 0600 in a 0700
//! folder because it holds a secret. It names the server the token belongs to, and the
//! token is only ever sent to that server.
//!
//! What it does not do: store passwords (a password is traded for a token at once),
//! or pick a server by itself: remote mode starts only with `--server`/`LOCKSTEP_SERVER`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use crate::cli::{Global, Output};
use crate::remote::Client;

/// `lockstep login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The user to sign in as; the password is read from stdin (first line).
    #[arg(long, conflicts_with = "with_token")]
    pub user: Option<String>,
    /// Read an existing API token from stdin instead (from `lockstep user token create`).
    #[arg(long)]
    pub with_token: bool,
    /// Label of the token made for this login.
    #[arg(long, default_value = "cli login")]
    pub label: String,
    /// The token's lifetime (`12h`, `30d`, `2w`).
    #[arg(long, default_value = "30d")]
    pub expires_in: String,
}

/// `lockstep logout`
#[derive(Debug, Args)]
pub struct LogoutArgs {}

/// What `lockstep login` keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub server: String,
    pub token: String,
    /// The token's id, to revoke it on logout; absent for a token given with
    /// `--with-token`, which logout only forgets.
    pub token_id: Option<String>,
}

/// The config file's path.
pub fn config_path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("LOCKSTEP_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|p| !p.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })
        .context("cannot place the config file: set LOCKSTEP_CONFIG, XDG_CONFIG_HOME or HOME")?;
    Ok(base.join("lockstep").join("config.toml"))
}

/// A server URL without its trailing slashes, so that equal servers compare equal.
pub fn normalize(server: &str) -> String {
    server.trim().trim_end_matches('/').to_owned()
}

/// The saved login, if there is one.
pub fn load() -> anyhow::Result<Option<Saved>> {
    let path = config_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    let mut server = None;
    let mut token = None;
    let mut token_id = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once('=').and_then(|(key, value)| {
            let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
            (!value.contains(['"', '\\'])).then(|| (key.trim(), value.to_owned()))
        });
        let Some((key, value)) = parsed else {
            bail!(
                "{}:{}:1: expected `key = \"value\"`; fix or delete the file and run `lockstep login` again",
                path.display(),
                index + 1
            );
        };
        match key {
            "server" => server = Some(value),
            "token" => token = Some(value),
            "token_id" => token_id = Some(value),
            // Keys of later versions are kept by being ignored.
            _ => {}
        }
    }
    match (server, token) {
        (Some(server), Some(token)) => Ok(Some(Saved {
            server,
            token,
            token_id,
        })),
        _ => bail!(
            "{}: needs both `server` and `token`; run `lockstep login` again",
            path.display()
        ),
    }
}

fn quoted(field: &str, value: &str) -> anyhow::Result<String> {
    if value.contains(['"', '\\', '\n', '\r']) {
        bail!("the {field} cannot contain quotes, backslashes or line breaks");
    }
    Ok(format!("\"{value}\""))
}

fn save(saved: &Saved) -> anyhow::Result<PathBuf> {
    let path = config_path()?;
    let mut text = String::from("# Written by `lockstep login`. Holds a secret: keep it 0600.\n");
    text.push_str(&format!("server = {}\n", quoted("server", &saved.server)?));
    text.push_str(&format!("token = {}\n", quoted("token", &saved.token)?));
    if let Some(id) = &saved.token_id {
        text.push_str(&format!("token_id = {}\n", quoted("token id", id)?));
    }
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Written beside, then renamed: a crash never leaves half a file, and the secret
    // is never readable by others, not even for a moment.
    let temporary = path.with_extension("toml.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", temporary.display()))?;
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, &path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Turns the terminal's echo off (or back on) with `stty`, which reads the terminal
/// from its inherited stdin; whether it worked.
fn echo(on: bool) -> bool {
    std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|status| status.success())
}

/// The first line of stdin, prompting on a terminal (without echo where `stty` can
/// turn it off).
fn read_secret(prompt: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut hidden = false;
    if stdin.is_terminal() {
        hidden = echo(false);
        let note = if hidden { "" } else { " (visible as you type)" };
        eprint!("{prompt}{note}: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if hidden {
        echo(true);
        eprintln!();
    }
    read.context("cannot read stdin")?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        bail!("nothing on stdin: pipe the {} in", prompt.to_lowercase());
    }
    Ok(secret)
}

pub async fn login(global: &Global, args: LoginArgs) -> anyhow::Result<ExitCode> {
    let Some(server) = global.server.as_deref().map(normalize) else {
        bail!("name the server: `lockstep login --server URL` (or set LOCKSTEP_SERVER)");
    };
    let saved = if args.with_token {
        let token = read_secret("Token")?;
        let client = Client::new(&server, &token)?;
        // Check it before keeping it: a typo should fail here, not on the next command.
        client.get_json("/api/v1/me").await?;
        Saved {
            server: server.clone(),
            token,
            token_id: None,
        }
    } else {
        let Some(user) = args.user else {
            bail!("name the user (`--user NAME`, password on stdin) or pass `--with-token`");
        };
        let password = read_secret("Password")?;
        lockstep_server::tokens::parse_expiry(&args.expires_in)
            .map_err(|e| anyhow::anyhow!("--expires-in: {e}"))?;
        let issued = Client::exchange_password(
            &server,
            &user,
            &password,
            &json!({ "label": args.label, "expiresIn": args.expires_in }),
        )
        .await?;
        let field = |key: &str| {
            issued[key]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("the server's answer has no `{key}`"))
        };
        Saved {
            server: server.clone(),
            token: field("token")?,
            token_id: Some(field("id")?),
        }
    };
    let client = Client::new(&server, &saved.token)?;
    let me = client.get_json("/api/v1/me").await?;
    let path = save(&saved)?;
    match global.output {
        Output::Json => println!(
            "{:#}",
            json!({ "server": server, "user": me["user"], "role": me["role"], "tokenId": saved.token_id, "config": path.display().to_string() })
        ),
        _ => println!(
            "signed in to {server} as {} ({}); token kept in {}",
            me["user"].as_str().unwrap_or("?"),
            me["role"].as_str().unwrap_or("?"),
            path.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn logout(global: &Global, _args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let Some(saved) = load()? else {
        println!("not signed in");
        return Ok(ExitCode::SUCCESS);
    };
    if let Some(server) = global.server.as_deref().map(normalize)
        && server != saved.server
    {
        bail!(
            "signed in to {}, not {server}: run `lockstep logout` without --server",
            saved.server
        );
    }
    // Revoke first, forget after: a failed revocation leaves the file for another try.
    let revoked = match &saved.token_id {
        Some(id) => {
            let client = Client::new(&saved.server, &saved.token)?;
            match client.delete(&format!("/api/v1/tokens/{id}")).await {
                Ok(_) => true,
                // Already refused by the server (expired, revoked): nothing to revoke.
                Err(error) if crate::remote::status_of(&error) == Some(401) => false,
                Err(error) => return Err(error),
            }
        }
        None => false,
    };
    let path = config_path()?;
    std::fs::remove_file(&path).with_context(|| format!("cannot delete {}", path.display()))?;
    match global.output {
        Output::Json => println!(
            "{:#}",
            json!({ "server": saved.server, "revoked": revoked, "tokenId": saved.token_id })
        ),
        _ if revoked => println!("signed out of {}; the token is revoked", saved.server),
        _ => println!("signed out of {}; the token is forgotten", saved.server),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_compare_without_trailing_slashes() {
        assert_eq!(
            normalize("http://127.0.0.1:8080/ "),
            "http://127.0.0.1:8080"
        );
        assert_eq!(normalize("http://a//"), "http://a");
    }
}
