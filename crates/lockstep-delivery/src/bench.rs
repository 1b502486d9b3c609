//! The outbox throughput benchmark behind `lockstep bench outbox`: enqueue many messages
//! into a SQLite log in a directory the caller owns, run the worker against a local HTTP
//! receiver on 127.0.0.1:0 until every message is delivered, and time it.
//!
//! The receiver is hand-written HTTP/1.1 with keep-alive that answers 200 to anything; it
//! measures the worker and the log, not a web framework. Nothing leaves 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lockstep_comms::notify::NotificationConfig;
use lockstep_store::outbox::DeliveryLog;
use lockstep_store::program::Program;
use lockstep_store::{NewOutboxMessage, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{DeliveryError, Worker, WorkerOptions};

/// What a run measured.
#[derive(Debug, Clone, Copy)]
pub struct OutboxBench {
    /// Messages enqueued (and delivered).
    pub messages: usize,
    /// Time to enqueue them (one transaction).
    pub enqueue: Duration,
    /// Time from the first claim to the last message marked delivered.
    pub deliver: Duration,
    /// Worker passes it took.
    pub passes: usize,
    /// Requests the receiver answered (≥ messages; more would mean redeliveries).
    pub received: usize,
}

impl OutboxBench {
    /// Sustained deliveries per second.
    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.deliver.as_secs_f64().max(1e-9)
    }
}

/// Enqueues `messages` webhook messages (CloudEvents, HMAC-signed) into a fresh log in
/// `dir` and delivers them all to a local receiver with `options`.
pub async fn outbox(
    dir: &Path,
    messages: usize,
    options: WorkerOptions,
) -> Result<OutboxBench, DeliveryError> {
    let received = Arc::new(AtomicUsize::new(0));
    let url = receiver(Arc::clone(&received))
        .await
        .map_err(|e| DeliveryError::BenchSetup(format!("cannot start the local receiver: {e}")))?;
    let database = format!("sqlite://{}", dir.join("outbox-bench.db").display());
    // Opening the program creates and migrates the log; the outbox lives beside it.
    Program::open(&database, OpenOptions::default())
        .await
        .map_err(|e| DeliveryError::BenchSetup(e.to_string()))?;
    let log = DeliveryLog::open(&database, &OpenOptions::default()).await?;
    let config = NotificationConfig::parse(&format!(
        "channels:\n  hook: {{kind: webhook, url: \"{url}\", secret: bench-secret}}\n"
    ))
    .map_err(|e| DeliveryError::BenchSetup(e.to_string()))?;
    let batch: Vec<NewOutboxMessage> = (0..messages)
        .map(|message_idx| NewOutboxMessage {
            channel: "hook".to_owned(),
            idempotency_key: format!("bench:{message_idx}"),
            payload: serde_json::json!({
                "message": {
                    "kind": "daily-update", "release": "bench", "date": "2025-02-05",
                    "subject": format!("[Team {}] Feb 5", message_idx % 200),
                    "body": "✅ done: search\n⏳ waiting: payments API\n🚨 risk: none\nℹ️ info: freeze Friday\n",
                    "sources": [message_idx, message_idx + 1],
                }
            })
            .to_string(),
        })
        .collect();
    let started = Instant::now();
    log.enqueue(1, &batch).await?;
    let enqueue = started.elapsed();

    let worker = Worker::new(log.clone(), Arc::new(config), options)?;
    let started = Instant::now();
    let mut passes = 0;
    let mut idle_passes = 0;
    loop {
        let report = worker.deliver_once(jiff::Timestamp::now()).await?;
        passes += 1;
        let counts = log.counts().await?;
        if counts.pending == 0 {
            break;
        }
        if report.delivered == 0 {
            // Failures back off; give up rather than spin if nothing moves for a while.
            idle_passes += 1;
            if idle_passes > 100 {
                return Err(DeliveryError::BenchSetup(format!(
                    "{} messages still pending after {passes} passes",
                    counts.pending
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let deliver = started.elapsed();
    Ok(OutboxBench {
        messages,
        enqueue,
        deliver,
        passes,
        received: received.load(Ordering::Relaxed),
    })
}

/// Starts the receiver and returns its URL.
async fn receiver(received: Arc<AtomicUsize>) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let received = Arc::clone(&received);
            tokio::spawn(async move {
                let _ = connection(socket, &received).await;
            });
        }
    });
    Ok(url)
}

/// Answers requests on one keep-alive connection until the client closes it.
async fn connection(
    mut socket: tokio::net::TcpStream,
    received: &AtomicUsize,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = [0_u8; 16 * 1024];
    loop {
        let (header_end, length) = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]);
                let length = head
                    .lines()
                    .filter_map(|line| line.split_once(':'))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (end + 4, length);
            }
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        while buffer.len() < header_end + length {
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        buffer.drain(..header_end + length);
        received.fetch_add(1, Ordering::Relaxed);
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_every_message_exactly_once_to_the_local_receiver() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bench = outbox(dir.path(), 300, WorkerOptions::default())
            .await
            .expect("bench");
        assert_eq!(bench.messages, 300);
        assert_eq!(bench.received, 300);
        assert!(bench.per_second() > 0.0);
    }
}
