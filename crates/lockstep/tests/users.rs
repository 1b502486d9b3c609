//! `lockstep user`: accounts made on the database are honoured by a real `serve`, with
//! the roles that follow from the member they act as.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lockstep"));
        command
            .current_dir(self.path())
            .env(
                "LOCKSTEP_DATABASE_URL",
                format!("sqlite://{}", self.path().join("lockstep.db").display()),
            )
            .env("LOCKSTEP_ACTOR", "tester")
            .env("LOCKSTEP_LOG", "warn")
            .env_remove("LOCKSTEP_ADMIN_PASSWORD")
            .stdin(Stdio::null());
        command
    }

    /// Runs with `stdin` as standard input.
    fn run_with(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("binary runs")
    }

    /// Runs and insists on success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run_with(args, "");
        assert!(
            output.status.success(),
            "lockstep {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }
}

fn example() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025").to_owned()
}

/// A running `lockstep serve`, killed on drop.
struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(ws: &Workspace) -> Server {
    let mut child = ws
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("server prints its address");
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    Server { child, address }
}

/// A plain HTTP/1.1 POST of a JSON body over loopback: (status, body).
fn post(address: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn a_user_made_on_the_cli_writes_only_what_their_role_allows() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let added = ws.run_with(
        &[
            "user",
            "add",
            "mike",
            "--member",
            "mike",
            "--password-stdin",
        ],
        "correct-horse-battery\n",
    );
    assert!(added.status.success(), "{added:?}");
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        !stdout.contains("correct-horse-battery"),
        "a chosen password is never echoed: {stdout}"
    );
    let token = ws.ok(&["user", "token", "mike", "--label", "ci"]);
    let token = token.trim();
    assert!(token.starts_with("lst_"), "{token}");

    let listed = ws.ok(&["user", "list", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&listed).expect("json list");
    assert_eq!(value["items"][0]["name"], "mike");
    assert_eq!(value["items"][0]["member"], "mike");
    assert_eq!(value["items"][0]["admin"], false);
    assert!(!listed.contains("argon2"), "no hash is printed: {listed}");
    assert!(!listed.contains(token), "no token is printed again");

    let server = serve(&ws);
    let body = r#"{"status":"ready-for-release","reason":"contract tests green"}"#;
    let (status, answer) = post(
        &server.address,
        "/api/v1/items/api-analytics-endpoints/status",
        Some(token),
        body,
    );
    assert_eq!(status, 200, "mike moves his own team's item: {answer}");
    assert!(answer.contains("ready-for-release"), "{answer}");

    let (status, answer) = post(
        &server.address,
        "/api/v1/items/frontend-dashboard/status",
        Some(token),
        r#"{"status":"testing"}"#,
    );
    assert_eq!(status, 403, "mike may not move frontend's item: {answer}");
    assert!(
        answer.contains("problem") || answer.contains("\"status\":403"),
        "{answer}"
    );

    let (status, _) = post(
        &server.address,
        "/api/v1/items/api-analytics-endpoints/status",
        Some("lst_forged"),
        body,
    );
    assert_eq!(status, 401, "a forged token is refused");
    let (status, _) = post(
        &server.address,
        "/api/v1/items/api-analytics-endpoints/status",
        None,
        body,
    );
    assert_eq!(status, 401, "an anonymous write is refused");
}

#[test]
fn user_verbs_refuse_bad_input_cleanly() {
    let ws = Workspace::new();
    let output = ws.run_with(&["user", "token", "nobody"], "");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nobody"));

    let output = ws.run_with(&["user", "add", "short", "--password-stdin"], "abc\n");
    assert_eq!(output.status.code(), Some(2), "{output:?}");

    let added = ws.ok(&["user", "add", "ops", "--admin"]);
    assert!(
        added.contains("password: "),
        "a generated password is shown once: {added}"
    );
    let table = ws.ok(&["user", "list"]);
    assert!(table.contains("ops") && table.contains("yes"), "{table}");
}
