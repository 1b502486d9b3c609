//! E-mail over real STARTTLS: a local SMTP sink on 127.0.0.1 that offers STARTTLS with a
//! certificate signed by a certificate authority made in the test (rcgen), refuses AUTH
//! and mail before TLS, and records what arrives after the upgrade. The channel trusts
//! that authority through `caFile`; without it the same sink is refused, so the test
//! proves the certificate is verified, not skipped.

use std::sync::{Arc, Mutex};

use lockstep_comms::notify::NotificationConfig;
use lockstep_delivery::{Worker, WorkerOptions};
use lockstep_store::outbox::DeliveryLog;
use lockstep_store::program::Program;
use lockstep_store::{NewOutboxMessage, OpenOptions};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What the sink saw.
#[derive(Default, Debug)]
struct Seen {
    /// AUTH PLAIN payloads received over TLS.
    logins: Vec<String>,
    /// DATA received over TLS.
    mails: Vec<String>,
    /// Commands refused because they came before STARTTLS.
    refused_in_clear: usize,
    /// Handshakes that failed (the client did not trust us).
    failed_handshakes: usize,
}

/// A certificate authority and a server certificate for 127.0.0.1 signed by it:
/// (CA PEM, server chain, server key).
fn authority() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Lockstep test CA");
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .expect("server cert");
    (
        ca_cert.pem(),
        vec![server_cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    )
}

async fn start_sink(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> (u16, Arc<Mutex<Seen>>) {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let shared = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = Arc::clone(&shared);
            tokio::spawn(async move {
                let _ = session(socket, acceptor, seen).await;
            });
        }
    });
    (port, seen)
}

/// The clear-text part: greet, EHLO offering STARTTLS only, refuse everything else
/// until STARTTLS, then hand the socket to TLS.
async fn session(
    mut socket: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    seen: Arc<Mutex<Seen>>,
) -> std::io::Result<()> {
    socket.write_all(b"220 sink ESMTP\r\n").await?;
    loop {
        let line = read_line(&mut socket).await?;
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            socket
                .write_all(b"250-sink\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                .await?;
        } else if upper == "STARTTLS" {
            socket.write_all(b"220 go ahead\r\n").await?;
            break;
        } else if upper == "QUIT" || line.is_empty() {
            return Ok(());
        } else {
            seen.lock().expect("lock").refused_in_clear += 1;
            socket
                .write_all(b"530 must issue STARTTLS first\r\n")
                .await?;
        }
    }
    match acceptor.accept(socket).await {
        Ok(tls) => secure(tls, seen).await,
        Err(_) => {
            seen.lock().expect("lock").failed_handshakes += 1;
            Ok(())
        }
    }
}

/// One line, byte by byte, so nothing after STARTTLS is read in clear text.
async fn read_line(socket: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    use tokio::io::AsyncReadExt;
    let mut line = Vec::new();
    loop {
        let mut byte = [0_u8; 1];
        if socket.read(&mut byte).await? == 0 {
            break;
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

async fn secure(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    seen: Arc<Mutex<Seen>>,
) -> std::io::Result<()> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    let mut authenticated = false;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        } else if let Some(login) = line.strip_prefix("AUTH PLAIN ") {
            seen.lock().expect("lock").logins.push(login.to_owned());
            authenticated = true;
            b"235 ok\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            if authenticated {
                b"250 ok\r\n"
            } else {
                b"530 authentication required\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            while let Some(data_line) = lines.next_line().await? {
                if data_line == "." {
                    break;
                }
                data.push_str(&data_line);
                data.push('\n');
            }
            seen.lock().expect("lock").mails.push(data);
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 ok\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

fn payload() -> String {
    serde_json::json!({
        "message": {
            "kind": "daily-update", "release": "q1-2025", "date": "2025-02-05",
            "subject": "Daily update", "body": "✅ done\n", "sources": [1, 2]
        },
        "recipient": {
            "handle": "rita", "name": "Rita", "email": "rita@example.com",
            "timeZone": "America/New_York"
        }
    })
    .to_string()
}

async fn setup(ca_file: Option<&str>, port: u16) -> (tempfile::TempDir, Worker) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("lockstep.db").display());
    // Opening the program migrates the log, so the outbox exists.
    drop(
        Program::open(&url, OpenOptions::default())
            .await
            .expect("program"),
    );
    let log = DeliveryLog::open(&url, &OpenOptions::default())
        .await
        .expect("delivery log");
    log.enqueue(
        0,
        &[NewOutboxMessage {
            channel: "mail".to_owned(),
            idempotency_key: "daily-update:q1-2025:2025-02-05:rita".to_owned(),
            payload: payload(),
        }],
    )
    .await
    .expect("enqueue");
    let ca = ca_file
        .map(|path| format!(", caFile: \"{path}\""))
        .unwrap_or_default();
    let config = NotificationConfig::parse(&format!(
        "channels:\n  mail: {{kind: email, timeoutSeconds: 5, smtp: {{host: 127.0.0.1, port: {port}, \
         username: lockstep, password: hunter22, from: lockstep@example.com{ca}}}}}\n\
         retry: {{maxAttempts: 3, baseMillis: 1000, maxMillis: 1000}}\n"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let worker = Worker::new(log, Arc::new(config), WorkerOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    (dir, worker)
}

#[tokio::test]
async fn mail_goes_over_starttls_with_auth_to_a_server_signed_by_the_configured_ca() {
    let (ca_pem, chain, key) = authority();
    let (port, seen) = start_sink(chain, key).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca_pem).expect("write ca");

    // Without the CA the certificate is not trusted: nothing is sent, the message waits.
    let (_log_dir, untrusting) = setup(None, port).await;
    let report = untrusting
        .deliver_once(jiff::Timestamp::now())
        .await
        .expect("pass");
    assert_eq!((report.delivered, report.retried), (0, 1), "{report:?}");
    assert!(seen.lock().expect("lock").mails.is_empty());
    assert_eq!(seen.lock().expect("lock").failed_handshakes, 1);

    // With it: STARTTLS, AUTH PLAIN over TLS, the mail.
    let (_log_dir, trusting) = setup(Some(&ca_path.display().to_string()), port).await;
    let report = trusting
        .deliver_once(jiff::Timestamp::now())
        .await
        .expect("pass");
    assert_eq!(report.delivered, 1, "{report:?}");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.refused_in_clear, 0, "nothing is said before STARTTLS");
    // AUTH PLAIN is base64("\0lockstep\0hunter22").
    assert_eq!(seen.logins, ["AGxvY2tzdGVwAGh1bnRlcjIy"]);
    assert_eq!(seen.mails.len(), 1);
    let mail = &seen.mails[0];
    assert!(mail.contains("Subject: Daily update"), "{mail}");
    assert!(
        mail.contains("X-Lockstep-Idempotency-Key: daily-update:q1-2025:2025-02-05:rita"),
        "{mail}"
    );
}

#[tokio::test]
async fn a_ca_file_that_is_missing_or_not_pem_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("lockstep.db").display());
    drop(
        Program::open(&url, OpenOptions::default())
            .await
            .expect("program"),
    );
    let log = DeliveryLog::open(&url, &OpenOptions::default())
        .await
        .expect("delivery log");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    for (path, expected) in [
        (
            "/nonexistent/ca.pem".to_owned(),
            "cannot read caFile /nonexistent/ca.pem",
        ),
        (junk.display().to_string(), "holds no PEM certificate"),
    ] {
        let config = NotificationConfig::parse(&format!(
            "channels:\n  mail: {{kind: email, smtp: {{host: 127.0.0.1, port: 2525, \
             from: lockstep@example.com, caFile: \"{path}\"}}}}\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let error = Worker::new(log.clone(), Arc::new(config), WorkerOptions::default())
            .expect_err("a bad caFile is refused");
        let text = error.to_string();
        assert!(text.starts_with("channel `mail`: "), "{text}");
        assert!(text.contains(expected), "{text}");
    }
}
