//! `lockstep bench http`: the HTTP server under load, on loopback only.
//!
//! Starts the server in this process on `127.0.0.1:0` over a temporary SQLite log holding
//! a generated release of `--items` items, with an administrator and an API token. Reads
//! and the read/write mix are driven by `wrk` (Debian's package; a Lua script written to a
//! temporary file picks the requests), the dashboard page is timed with sequential GETs,
//! and the live feed with in-process clients. Every figure printed is measured in this run;
//! nothing is asserted.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use lockstep_core::EventMeta;
use lockstep_manifest::Source;
use lockstep_store::auth::AuthStore;
use lockstep_store::program::Program;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::apply::decide_manifests;

/// The sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct HttpBenchArgs {
    pub items: usize,
    pub seconds: u64,
    pub connections: usize,
    pub sse_clients: usize,
    pub renders: usize,
}

/// The release every generated item belongs to.
const RELEASE: &str = "bench";

pub async fn run(dir: &Path, args: HttpBenchArgs) -> anyhow::Result<()> {
    let wrk = find_wrk()?;
    let items = args.items.max(1);
    let connections = args.connections.max(1);
    raise_open_files(args.sse_clients * 2 + connections * 2 + 256);

    // The log: one release of `items` items, loaded the way `apply` loads it.
    let url = format!("sqlite://{}", dir.join("http.db").display());
    let program = Program::open(&url, Default::default()).await?;
    let mut state = program.load().await?;
    let sources = [Source {
        name: "generated.yaml".to_owned(),
        text: generate_release(items),
    }];
    let now = jiff::Timestamp::now();
    let events = decide_manifests(&state, &sources, now)?;
    let meta = EventMeta {
        actor: "bench".to_owned(),
        at: now,
        reason: Some("bench http".to_owned()),
    };
    program.commit(&mut state, events, &meta, &[]).await?;
    drop(state);
    let auth = AuthStore::open(&url, &Default::default()).await?;
    let config = lockstep_server::Config {
        ..Default::default()
    };
    let shared = lockstep_server::AppState::load(program, auth, config).await?;
    shared
        .add_user(
            &lockstep_server::auth::NewUser {
                admin: true,
                ..lockstep_server::auth::NewUser::named("bench")
            },
            Some("bench-password"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the bench user: {e}"))?;
    let token = shared
        .issue_token("bench")
        .await
        .map_err(|e| anyhow::anyhow!("cannot issue a token: {e}"))?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let follower = tokio::spawn(lockstep_server::follow(
        shared.clone(),
        Duration::from_millis(500),
    ));
    let server = tokio::spawn(lockstep_server::serve(listener, shared, async {
        let _ = stopped.await;
    }));

    println!(
        "bench http: server in-process on http://{address}/ (SQLite log, release `{RELEASE}` with \
         {items} items), load on loopback"
    );
    println!("  machine: {} cores, {}", cores(), uptime());

    // A quick sanity check before measuring: the token reads, and a write is accepted.
    let (status, _) = request(address, "GET", "/api/v1/items/item-0", &token, None).await?;
    if status != 200 {
        bail!("GET /api/v1/items/item-0 answered {status}, expected 200");
    }
    let (status, body) = request(
        address,
        "POST",
        "/api/v1/items/item-0/eta",
        &token,
        Some(r#"{"eta":"2030-01-15","reason":"bench"}"#),
    )
    .await?;
    if status != 200 {
        bail!(
            "POST /api/v1/items/item-0/eta answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    let result = measure(&wrk, dir, address, &token, items, connections, args).await;
    let _ = stop.send(());
    follower.abort();
    let _ = server.await;
    result
}

async fn measure(
    wrk: &Path,
    dir: &Path,
    address: std::net::SocketAddr,
    token: &str,
    items: usize,
    connections: usize,
    args: HttpBenchArgs,
) -> anyhow::Result<()> {
    // Reads: keep-alive GETs, 4 of 5 one item by name, 1 of 5 a page of 100 of the
    // release's items.
    let reads = run_wrk(
        wrk,
        dir,
        address,
        connections,
        args.seconds,
        &lua_script(token, items, 0),
    )
    .await?;
    reads.print(
        "reads (80% GET item, 20% GET list of 100)",
        "target >= 5,000 req/s, p99 < 10 ms",
    );

    // The mix: 9 of 10 requests as above, 1 of 10 a new ETA (durable write).
    let mix = run_wrk(
        wrk,
        dir,
        address,
        connections,
        args.seconds,
        &lua_script(token, items, 10),
    )
    .await?;
    mix.print(
        "mix (90% reads as above, 10% POST item ETA)",
        "target >= 1,000 req/s, p99 < 25 ms",
    );

    // The dashboard page of the whole release, one GET at a time.
    let path = format!("/releases/{RELEASE}");
    let (status, body) = request(address, "GET", &path, token, None).await?;
    if status != 200 {
        bail!("GET {path} answered {status}");
    }
    let mut times = Vec::with_capacity(args.renders);
    for _ in 0..args.renders.max(1) {
        let started = Instant::now();
        let (status, _) = request(address, "GET", &path, token, None).await?;
        times.push(started.elapsed());
        if status != 200 {
            bail!("GET {path} answered {status}");
        }
    }
    times.sort();
    println!(
        "  dashboard GET {path} ({items} items, {:.0} KiB of HTML), {} sequential GETs on a new \
         connection each: median {:.1} ms, max {:.1} ms   (target < 50 ms)",
        body.len() as f64 / 1024.0,
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
    );

    sse(address, token, items, args.sse_clients).await
}

/// One wrk run's summary, from the Lua `done` hook.
struct WrkSummary {
    requests: u64,
    seconds: f64,
    non_2xx: u64,
    socket_errors: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

impl WrkSummary {
    fn print(&self, what: &str, target: &str) {
        println!(
            "  {what}: {:.0} req/s over {:.1} s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; \
             {} requests, {} non-2xx, {} socket errors   ({target})",
            self.requests as f64 / self.seconds,
            self.seconds,
            self.p50_us / 1e3,
            self.p99_us / 1e3,
            self.max_us / 1e3,
            self.requests,
            self.non_2xx,
            self.socket_errors,
        );
    }
}

async fn run_wrk(
    wrk: &Path,
    dir: &Path,
    address: std::net::SocketAddr,
    connections: usize,
    seconds: u64,
    script: &str,
) -> anyhow::Result<WrkSummary> {
    let script_path = dir.join("bench.lua");
    std::fs::write(&script_path, script)
        .with_context(|| format!("cannot write {}", script_path.display()))?;
    let threads = connections.min(2);
    let mut command = std::process::Command::new(wrk);
    command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", seconds.max(1)))
        .arg("-s")
        .arg(&script_path)
        .arg(format!("http://{address}/"));
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LOCKSTEP "))
        .with_context(|| format!("no summary in wrk's output: {stdout}"))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read wrk's summary `{line}`"))?;
    if f.len() != 7 {
        bail!("cannot read wrk's summary `{line}`");
    }
    Ok(WrkSummary {
        requests: f[0] as u64,
        seconds: f[1] / 1e6,
        non_2xx: f[2] as u64,
        socket_errors: f[3] as u64,
        p50_us: f[4],
        p99_us: f[5],
        max_us: f[6],
    })
}

/// The wrk script: every request picks an item at random; `write_percent` of them post a
/// new ETA, a fifth of the rest read a page of the release's items, the others one item.
fn lua_script(token: &str, items: usize, write_percent: u32) -> String {
    let mut lua = String::new();
    let _ = write!(
        lua,
        r#"local items = {items}
local write_percent = {write_percent}
local counter = 0
wrk.headers["Authorization"] = "Bearer {token}"
local threads = {{}}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(42 + (id or 0))
end
function request()
  local n = math.random(0, items - 1)
  local roll = math.random(1, 100)
  if roll <= write_percent then
    counter = counter + 1
    local body = string.format('{{"eta":"2030-0%d-%02d","reason":"bench"}}', 1 + counter % 3, 1 + math.random(0, 27))
    return wrk.format("POST", "/api/v1/items/item-" .. n .. "/eta", {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}}, body)
  elseif roll <= write_percent + (100 - write_percent) / 5 then
    return wrk.format("GET", "/api/v1/releases/{RELEASE}/items?limit=100")
  else
    return wrk.format("GET", "/api/v1/items/item-" .. n)
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("LOCKSTEP %d %d %d %d %f %f %f\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"#
    );
    lua
}

/// The live feed: `clients` subscribers, then writes; how long until each one sees each.
async fn sse(
    address: std::net::SocketAddr,
    token: &str,
    items: usize,
    clients: usize,
) -> anyhow::Result<()> {
    if clients == 0 {
        return Ok(());
    }
    const ROUNDS: usize = 5;
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    // Connect in batches so the listen backlog never overflows.
    for batch in (0..clients).collect::<Vec<_>>().chunks(100) {
        let mut connecting = Vec::new();
        for _ in batch {
            let token = token.to_owned();
            // A client that never gets its headers fails the run instead of hanging it.
            connecting.push(tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(30), subscribe(address, &token))
                    .await
                    .map_err(|_| anyhow::anyhow!("an SSE client got no answer in 30 s"))?
            }));
        }
        for connection in connecting {
            let (stream, rest) = connection.await??;
            let sender = sender.clone();
            tasks.push(tokio::spawn(listen(stream, rest, sender)));
        }
    }
    drop(sender);
    let connected = started.elapsed();
    let mut latencies = Vec::with_capacity(clients * ROUNDS);
    let mut write_times = Vec::with_capacity(ROUNDS);
    let mut missing = 0;
    for round in 0..ROUNDS {
        let item = (round * 7919) % items;
        let body = format!(
            r#"{{"eta":"2030-02-{:02}","reason":"sse bench"}}"#,
            1 + round
        );
        let t0 = Instant::now();
        let (status, _) = tokio::time::timeout(
            Duration::from_secs(30),
            request(
                address,
                "POST",
                &format!("/api/v1/items/item-{item}/eta"),
                token,
                Some(&body),
            ),
        )
        .await
        .map_err(|_| anyhow::anyhow!("the write of round {round} got no answer in 30 s"))??;
        write_times.push(t0.elapsed());
        if status != 200 {
            bail!("the write of round {round} answered {status}");
        }
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while seen < clients {
            match tokio::time::timeout_at(deadline, received.recv()).await {
                Ok(Some((r, at))) if r == round => {
                    latencies.push(at.duration_since(t0));
                    seen += 1;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        missing += clients - seen;
    }
    for task in tasks {
        task.abort();
    }
    latencies.sort();
    write_times.sort();
    if latencies.is_empty() {
        bail!("no SSE client received any of the {ROUNDS} changes");
    }
    let p = |q: f64| ms(latencies[((latencies.len() - 1) as f64 * q).round() as usize]);
    println!(
        "  SSE: {clients} clients connected in {:.0} ms; {ROUNDS} writes (each {:.1} ms median \
         to commit); write sent -> event received: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         over {} deliveries, {missing} missing   (target p99 < 250 ms)",
        ms(connected),
        ms(write_times[write_times.len() / 2]),
        p(0.5),
        p(0.99),
        ms(latencies[latencies.len() - 1]),
        latencies.len(),
    );
    Ok(())
}

/// Opens the feed and reads the response head; returns the stream and any body bytes read.
async fn subscribe(
    address: std::net::SocketAddr,
    token: &str,
) -> anyhow::Result<(TcpStream, Vec<u8>)> {
    let mut stream = TcpStream::connect(address).await?;
    let head = format!(
        "GET /api/v1/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the feed closed before answering");
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            if !buffer.starts_with(b"HTTP/1.1 200") {
                bail!(
                    "the feed answered {}",
                    String::from_utf8_lossy(&buffer[..end])
                );
            }
            return Ok((stream, buffer[end + 4..].to_vec()));
        }
    }
}

/// Reads the feed; reports the instant each `event: change` arrives, numbered from 0.
async fn listen(
    mut stream: TcpStream,
    mut buffer: Vec<u8>,
    sender: tokio::sync::mpsc::UnboundedSender<(usize, Instant)>,
) {
    let marker = b"event: change";
    let mut seen = 0;
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(at) = find(&buffer, marker) {
            let now = Instant::now();
            buffer.drain(..at + marker.len());
            if sender.send((seen, now)).is_err() {
                return;
            }
            seen += 1;
        }
        // Keep a tail long enough to hold a marker split between reads.
        let keep = buffer.len().min(marker.len());
        buffer.drain(..buffer.len() - keep);
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// One request on a fresh connection (`Connection: close`): status and body.
async fn request(
    address: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    json: Option<&str>,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(address).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n"
    );
    if let Some(json) = json {
        let _ = write!(
            head,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            json.len()
        );
    }
    head.push_str("\r\n");
    head.push_str(json.unwrap_or(""));
    stream.write_all(head.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let status = std::str::from_utf8(response.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status line in the answer to {method} {path}"))?;
    let body = match find(&response, b"\r\n\r\n") {
        Some(end) => response[end + 4..].to_vec(),
        None => Vec::new(),
    };
    Ok((status, body))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn find_wrk() -> anyhow::Result<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("wrk"))
        .find(|candidate| candidate.is_file())
        .context(
            "`wrk` is not installed; the HTTP benchmark drives the server with it \
             (Debian/Ubuntu: `sudo apt-get install -y wrk`)",
        )
}

/// Raises the soft open-files limit to `needed` (up to the hard limit) with `prlimit`
/// when it is lower; the SSE clients and the server's sockets share this process.
fn raise_open_files(needed: usize) {
    let Some((soft, hard)) = open_files_limit() else {
        return;
    };
    if soft >= needed as u64 {
        return;
    }
    let target = hard.min(needed.max(4096) as u64);
    let status = std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={target}:{hard}"))
        .status();
    match (status, open_files_limit()) {
        (Ok(s), Some((now, _))) if s.success() && now >= needed as u64 => {}
        _ => eprintln!(
            "warning: the open-files limit is {soft} and {needed} may be needed; \
             run `ulimit -n {needed}` first"
        ),
    }
}

fn open_files_limit() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    let soft = fields.next()?.parse().ok()?;
    let hard = fields.next()?.parse().ok()?;
    Some((soft, hard))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().take(3).collect();
            format!("load average {}", f.join(" "))
        })
        .unwrap_or_else(|| "load average unknown".to_owned())
}

/// Manifest text of one release, `RELEASE`, with `n_items` items over 20 teams and about
/// one dependency per item between nearby items.
fn generate_release(n_items: usize) -> String {
    let n_teams = 20.min(n_items.max(1));
    let mut yaml = String::with_capacity(n_items * 300);
    for team in 0..n_teams {
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {{name: team-{team}}}\nspec:\n  timeZone: UTC\n  members:\n    - {{handle: lead-{team}, roles: [tech-lead]}}\n    - {{handle: dev-{team}}}\n---\napiVersion: lockstep.dev/v1\nkind: Component\nmetadata: {{name: component-{team}}}\nspec: {{team: team-{team}}}\n"
        );
    }
    let _ = write!(
        yaml,
        "---\napiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: {RELEASE}}}\nspec:\n  targetDate: 2030-06-28\n  featureFreeze: 2030-06-10\n  codeFreeze: 2030-06-20\n"
    );
    for item in 0..n_items {
        let team = item % n_teams;
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Item\nmetadata: {{name: item-{item}}}\nspec:\n  release: {RELEASE}\n  title: Item {item}\n  team: team-{team}\n  component: component-{team}\n  status: in-development\n  due: 2030-05-{:02}\n",
            1 + item % 28
        );
        if item > 0 && item % 2 == 1 {
            let _ = writeln!(
                yaml,
                "  dependsOn:\n    - {{item: item-{}, needBy: 2030-05-20}}",
                item - 1 - (item * 31) % item.min(50)
            );
        }
    }
    yaml
}
