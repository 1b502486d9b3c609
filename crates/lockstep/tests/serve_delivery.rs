//! Delivery inside the real `lockstep serve`: a local HTTP receiver on 127.0.0.1, a
//! notification file pointing at it, an item change through the HTTP API, and the
//! escalation and the day's scheduled update arriving; then a graceful stop (SIGTERM)
//! and a restart that sends nothing twice.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Workspace, example, post, serve};

/// What the receiver got: (idempotency key, body).
type Log = Arc<Mutex<Vec<(String, String)>>>;

/// A minimal HTTP receiver answering 200 to every POST, on its own thread.
fn receiver() -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut key = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    match name.to_ascii_lowercase().as_str() {
                        "idempotency-key" => key = value.trim().to_owned(),
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.lock()
                .expect("log")
                .push((key, String::from_utf8_lossy(&body).into_owned()));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, log)
}

fn keys(log: &Log) -> Vec<String> {
    log.lock()
        .expect("log")
        .iter()
        .map(|(k, _)| k.clone())
        .collect()
}

fn wait_for(log: &Log, what: &str, done: impl Fn(&[String]) -> bool) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if done(&keys(log)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: received {:?}", keys(log));
}

fn stop(server: &common::Server) {
    // SIGTERM: the server drains, the worker finishes its pass, the process exits 0.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn the_server_delivers_escalations_and_the_daily_schedule_once_across_restarts() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.ok(&["user", "add", "mike", "--member", "mike"]);
    let token = ws.token("mike");
    let (url, log) = receiver();
    ws.write(
        "notifications.yaml",
        &format!(
            "channels:\n  hook: {{kind: webhook, url: \"{url}\", secret: s3cret, timeoutSeconds: 5}}\n\
             subscriptions:\n\
             \x20 - {{member: mike, channel: hook, kinds: [escalation, daily-update]}}\n\
             escalation: {{ownerMinutes: 600, backupMinutes: 600}}\n"
        ),
    );
    let args = [
        "--notifications",
        "notifications.yaml",
        "--deliver-interval",
        "0.2",
        "--schedule-at",
        "00:00",
    ];
    let mut server = serve(&ws, &args);
    // The scheduler writes today's daily update for mike at once (it is past 00:00 UTC).
    wait_for(&log, "the daily update", |keys| {
        keys.iter().any(|k| k.starts_with("daily-update:q1-2025:"))
    });
    // The API's ETA slips past the frontend's need-by: mike, its tech lead, is told.
    let (status, body) = post(
        &server.address,
        "/api/v1/items/api-analytics-endpoints/eta",
        Some(&token),
        r#"{"eta": "2025-02-20", "reason": "vendor delay"}"#,
    );
    assert_eq!(status, 200, "{body}");
    wait_for(&log, "the escalation", |keys| {
        keys.iter().any(|k| k.starts_with("escalation:"))
    });
    let (_, escalation) = log
        .lock()
        .expect("log")
        .iter()
        .find(|(k, _)| k.starts_with("escalation:"))
        .cloned()
        .expect("escalation");
    let event: serde_json::Value = serde_json::from_str(&escalation).expect("cloudevent");
    assert_eq!(event["data"]["recipient"]["handle"], "mike");
    assert!(
        event["data"]["message"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("Analytics")),
        "{event:#}"
    );

    // Stop gracefully and start again: the scheduler enqueues today again, which is a
    // no-op, and nothing already delivered is sent twice.
    stop(&server);
    let status = server.wait();
    assert!(status.success(), "graceful stop: {status:?}");
    let before = keys(&log);
    server = serve(&ws, &args);
    std::thread::sleep(Duration::from_secs(3));
    let after = keys(&log);
    assert_eq!(after, before, "a restart sends nothing twice");
    let status = ws.ok(&["outbox", "status", "--notifications", "notifications.yaml"]);
    assert!(status.starts_with("delivered 2, pending 0"), "{status}");
    drop(server);
}

#[test]
fn serve_refuses_a_bad_notification_file_and_bad_settings() {
    let ws = Workspace::new();
    ws.write(
        "notifications.yaml",
        "channels: {}\nsubscriptions:\n  - {member: sarah, channel: chat}\n",
    );
    let error = ws.fails(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(
        error.contains(
            "subscription 1 (of `subscriptions`, counting from 1) uses unknown channel `chat`"
        ),
        "{error}"
    );
    let error = ws.fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--notifications",
        "missing.yaml",
    ]);
    assert!(error.contains("cannot read missing.yaml"), "{error}");
    let error = ws.fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-deliver",
        "--schedule-at",
        "25:00",
    ]);
    assert!(error.contains("invalid --schedule-at `25:00`"), "{error}");
}
