//! A local HTTP receiver on 127.0.0.1:0 that records what it gets and can be told to
//! fail, hang (time out) or recover; it drops repeated idempotency keys like a receiver
//! that honours them. Hand-written HTTP/1.1, one request per connection: enough for a
//! webhook and nothing to mock. `smtp` is the SMTP sink.
#![allow(dead_code)]

pub mod smtp;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Ok,
    Fail(u16),
    Hang,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    mode: Option<Mode>,
    requests: Vec<Received>,
    accepted_keys: BTreeSet<String>,
    duplicates: usize,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let inner = Arc::new(Mutex::new(Inner {
            mode: Some(Mode::Ok),
            ..Inner::default()
        }));
        let shared = Arc::clone(&inner);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let Some(received) = read_request(&mut socket).await else {
                        return;
                    };
                    let mode = {
                        let mut inner = shared.lock().expect("lock");
                        let mode = inner.mode.unwrap_or(Mode::Ok);
                        inner.requests.push(received.clone());
                        if mode == Mode::Ok
                            && let Some(key) = received.header("idempotency-key")
                            && !inner.accepted_keys.insert(key.to_owned())
                        {
                            inner.duplicates += 1;
                        }
                        mode
                    };
                    let status = match mode {
                        Mode::Ok => 200,
                        Mode::Fail(status) => status,
                        Mode::Hang => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            return;
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        Receiver { url, inner }
    }

    pub fn set(&self, mode: Mode) {
        self.inner.lock().expect("lock").mode = Some(mode);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// Distinct keys accepted with a 2xx.
    pub fn accepted(&self) -> BTreeSet<String> {
        self.inner.lock().expect("lock").accepted_keys.clone()
    }

    /// Requests that repeated an accepted key (dropped by the receiver).
    pub fn duplicates(&self) -> usize {
        self.inner.lock().expect("lock").duplicates
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received { headers, body })
}
