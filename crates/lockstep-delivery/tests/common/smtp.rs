//! A local SMTP sink on 127.0.0.1:0, written with tokio: enough SMTP (EHLO, AUTH PLAIN,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT) to receive a mail, no TLS, and a switch that makes
//! it answer `451`, or hang, until told to recover.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
struct SinkState {
    failing: bool,
    hanging: bool,
    mails: Vec<Mail>,
    logins: Vec<String>,
}

#[derive(Clone)]
pub struct Sink {
    pub port: u16,
    state: Arc<Mutex<SinkState>>,
}

impl Sink {
    pub async fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(SinkState::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = session(socket, shared).await;
                });
            }
        });
        Sink { port, state }
    }

    pub fn fail(&self, failing: bool) {
        self.state.lock().expect("lock").failing = failing;
    }

    /// Accept connections but never greet: the client times out.
    pub fn hang(&self, hanging: bool) {
        self.state.lock().expect("lock").hanging = hanging;
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.state.lock().expect("lock").mails.clone()
    }

    pub fn logins(&self) -> Vec<String> {
        self.state.lock().expect("lock").logins.clone()
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    state: Arc<Mutex<SinkState>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if state.lock().expect("lock").hanging {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        return Ok(());
    }
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut mail = Mail::default();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        } else if let Some(login) = line.strip_prefix("AUTH PLAIN ") {
            state.lock().expect("lock").logins.push(login.to_owned());
            b"235 ok\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            if state.lock().expect("lock").failing {
                b"451 try again later\r\n"
            } else {
                mail = Mail {
                    from: line[10..].trim().to_owned(),
                    ..Mail::default()
                };
                b"250 ok\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(line[8..].trim().to_owned());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            while let Some(data_line) = lines.next_line().await? {
                if data_line == "." {
                    break;
                }
                mail.data.push_str(&data_line);
                mail.data.push('\n');
            }
            state
                .lock()
                .expect("lock")
                .mails
                .push(std::mem::take(&mut mail));
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
