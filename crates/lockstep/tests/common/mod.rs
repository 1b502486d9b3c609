//! Helpers shared by the binary's integration tests: the real `lockstep` in a
//! temporary directory, a real `serve` on 127.0.0.1:0, and plain HTTP over loopback.
#![allow(dead_code)] // Each test file uses its own subset.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lockstep"));
        command
            .current_dir(self.path())
            .env(
                "LOCKSTEP_DATABASE_URL",
                format!("sqlite://{}", self.path().join("lockstep.db").display()),
            )
            .env("LOCKSTEP_ACTOR", "tester")
            .env("LOCKSTEP_LOG", "warn")
            .env("LOCKSTEP_CONFIG", self.path().join("config.toml"))
            .env_remove("LOCKSTEP_ADMIN_PASSWORD")
            .env_remove("LOCKSTEP_SERVER")
            .env_remove("LOCKSTEP_TOKEN")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("binary runs")
    }

    /// A new API token of the existing user `user`.
    pub fn token(&self, user: &str) -> String {
        self.ok(&["user", "token", "create", user])
            .trim()
            .to_owned()
    }

    /// Runs `args` against `url` (`http://…`) as the holder of `token`.
    pub fn remote(&self, url: &str, token: &str, args: &[&str]) -> Output {
        self.command()
            .env("LOCKSTEP_SERVER", url)
            .env("LOCKSTEP_TOKEN", token)
            .args(args)
            .output()
            .expect("binary runs")
    }

    /// Runs with `stdin` as standard input.
    pub fn run_with(&self, args: &[&str], stdin: &str) -> Output {
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
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "lockstep {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// Runs and insists on exit code 2; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "lockstep {args:?} should fail: {output:?}"
        );
        String::from_utf8(output.stderr).expect("utf-8 output")
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    pub fn n_events(&self) -> usize {
        let json = self.ok(&["history", "--limit", "100000", "-o", "json"]);
        let value: serde_json::Value = serde_json::from_str(&json).expect("json history");
        value["items"].as_array().map_or(0, Vec::len)
    }
}

/// A read-only user `reader` on the workspace's database, and a token of theirs.
pub fn reader_token(ws: &Workspace) -> String {
    ws.ok(&["user", "add", "reader"]);
    ws.token("reader")
}

pub fn example() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025").to_owned()
}

/// A copy of the example program in `ws/name` whose release.yaml has `from` replaced by
/// `to` (which must occur, so that a changed example fails loudly here).
pub fn example_with_release_edit(ws: &Workspace, name: &str, from: &str, to: &str) -> PathBuf {
    let release =
        std::fs::read_to_string(format!("{}/release.yaml", example())).expect("example release");
    assert!(release.contains(from), "the example no longer has `{from}`");
    let dir = ws.path().join(name);
    std::fs::create_dir(&dir).expect("dir");
    for file in ["teams.yaml", "components.yaml"] {
        std::fs::copy(format!("{}/{file}", example()), dir.join(file)).expect("copy");
    }
    std::fs::write(dir.join("release.yaml"), release.replace(from, to)).expect("write");
    dir
}

/// A running `lockstep serve`, killed on drop.
pub struct Server {
    child: Child,
    pub address: String,
}

impl Server {
    /// `http://address`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(ws: &Workspace, extra: &[&str]) -> Server {
    let mut child = ws
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
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

/// A plain HTTP/1.1 GET over loopback without credentials: (status, body).
pub fn get(address: &str, path: &str) -> (u16, String) {
    get_as(address, path, None)
}

/// A plain HTTP/1.1 GET over loopback, with a bearer token if given: (status, body).
pub fn get_as(address: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{authorization}\r\n"
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

/// A plain HTTP/1.1 POST of a JSON body over loopback: (status, body).
pub fn post(address: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
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
