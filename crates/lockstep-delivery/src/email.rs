//! E-mail over SMTP: one message per delivery, to the recipient's address, through the
//! channel's server with STARTTLS (required unless the channel turns it off, as a local
//! sink does) and optional login.
//!
//! The idempotency key travels in the headers: `Message-ID` is derived from it and
//! `X-Lockstep-Idempotency-Key` carries it verbatim, so a mail system (or a person) can
//! drop the copy a redelivery sends. The events a message came from are in
//! `X-Lockstep-Sources` / `X-Lockstep-Caused-By` and in a footer. It does not pool connections: a pass opens one per
//! message, which is plenty for release mail.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use lockstep_comms::notify::Smtp;
use lockstep_comms::policy::Delivery;

/// The header carrying the idempotency key verbatim.
pub const IDEMPOTENCY_HEADER: &str = "X-Lockstep-Idempotency-Key";

/// The header listing the log positions of the events a message was built from.
pub const SOURCES_HEADER: &str = "X-Lockstep-Sources";
/// The header naming the appends (`stream@version`) that caused a message.
pub const CAUSED_BY_HEADER: &str = "X-Lockstep-Caused-By";

/// A configured SMTP sender for one channel.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
    timeout: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the credentials: never print it.
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another attempt: a 4xx reply, a timeout, a dropped connection.
    Transient(String),
    /// Will fail the same way again: a 5xx reply, no address, a bad header.
    Permanent(String),
}

impl Mailer {
    /// A sender for `smtp`; `password` is the resolved secret; `extra_roots` is the PEM
    /// text of `caFile`, certificate authorities trusted besides the default roots. Fails
    /// on a bad host, `From` address or certificate.
    pub fn new(
        smtp: &Smtp,
        password: Option<String>,
        timeout: Duration,
        extra_roots: Option<&[u8]>,
    ) -> Result<Mailer, String> {
        let builder = if smtp.starttls {
            let mut tls = TlsParameters::builder(smtp.host.clone());
            if let Some(pem) = extra_roots {
                for block in pem_certificates(pem) {
                    let certificate = Certificate::from_pem(block.as_bytes())
                        .map_err(|e| format!("smtp caFile: not a PEM certificate: {e}"))?;
                    tls = tls.add_root_certificate(certificate);
                }
            }
            let tls = tls
                .build()
                .map_err(|e| format!("smtp host `{}`: {e}", smtp.host))?;
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                .tls(Tls::Required(tls))
        } else {
            // Plaintext only when the configuration says so explicitly (a local sink).
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        };
        let mut builder = builder.port(smtp.port).timeout(Some(timeout));
        if let Some(username) = &smtp.username {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                password.unwrap_or_default(),
            ));
        }
        let from = smtp
            .from
            .parse()
            .map_err(|e| format!("smtp from `{}`: {e}", smtp.from))?;
        Ok(Mailer {
            transport: builder.build(),
            from,
            timeout,
        })
    }

    /// Sends `delivery` under `key` to its recipient.
    pub async fn send(&self, delivery: &Delivery, key: &str) -> Result<(), SendError> {
        let mail = build(&self.from, delivery, key)?;
        // lettre's own timeout covers each command but not a server that accepts the
        // connection and never greets, so the whole exchange (several commands) is
        // bounded here too, at twice the channel's timeout.
        let sent = tokio::time::timeout(self.timeout * 2, self.transport.send(mail)).await;
        let Ok(sent) = sent else {
            return Err(SendError::Transient("smtp timed out".to_owned()));
        };
        match sent {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => {
                Err(SendError::Permanent(format!("smtp {error}")))
            }
            Err(error) => Err(SendError::Transient(format!("smtp {error}"))),
        }
    }
}

/// Each `-----BEGIN CERTIFICATE-----` block of a PEM bundle, as its own PEM text (lettre
/// reads one certificate at a time). An empty list when there is none.
fn pem_certificates(pem: &[u8]) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let end = start + len + END.len();
        out.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    out
}

/// The `Message-ID` for `key`, at `lockstep.invalid`: letters, digits, `-` and `_` as
/// they are, `:` as `/`, anything else as `=XX`, so the left part is a dot-atom and
/// different keys give different ids.
pub fn message_id(key: &str) -> String {
    let mut local = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            local.push(char::from(byte));
        } else if byte == b':' {
            local.push('/');
        } else {
            local.push_str(&format!("={byte:02X}"));
        }
    }
    format!("<{local}@lockstep.invalid>")
}

fn build(
    from: &lettre::message::Mailbox,
    delivery: &Delivery,
    key: &str,
) -> Result<lettre::Message, SendError> {
    let recipient = delivery
        .recipient
        .as_ref()
        .ok_or_else(|| SendError::Permanent("e-mail without a recipient".to_owned()))?;
    let address = recipient.email.as_deref().ok_or_else(|| {
        SendError::Permanent(format!("`{}` has no e-mail address", recipient.handle))
    })?;
    let to = lettre::message::Mailbox::new(
        Some(recipient.name.clone()),
        address
            .parse()
            .map_err(|e| SendError::Permanent(format!("address `{address}`: {e}")))?,
    );
    let message = &delivery.message;
    let sources: Vec<String> = message.sources.iter().map(i64::to_string).collect();
    let mut body = message.body.clone();
    let mut trace = Vec::new();
    if !sources.is_empty() {
        body.push_str(&format!(
            "\n-- \nBuilt from events {}\n",
            sources.join(", ")
        ));
        trace.push((SOURCES_HEADER, sources.join(", ")));
    }
    if !delivery.caused_by.is_empty() {
        if sources.is_empty() {
            body.push_str("\n-- \n");
        }
        body.push_str(&format!("Caused by {}\n", delivery.caused_by.join(", ")));
        trace.push((CAUSED_BY_HEADER, delivery.caused_by.join(", ")));
    }
    let mut mail = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message_id(key)))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| SendError::Permanent(format!("cannot build the mail: {e}")))?;
    mail.headers_mut().insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str(IDEMPOTENCY_HEADER),
        key.to_owned(),
    ));
    // The trace also goes in headers: the body may be transfer-encoded.
    for (name, value) in trace {
        mail.headers_mut().insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str(name),
            value,
        ));
    }
    Ok(mail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_and_safe() {
        assert_eq!(
            message_id("daily-update:q1-2025:2025-02-05:sarah"),
            "<daily-update/q1-2025/2025-02-05/sarah@lockstep.invalid>"
        );
        assert_eq!(
            message_id("a b@c/d.e"),
            "<a=20b=40c=2Fd=2Ee@lockstep.invalid>"
        );
    }
}
