//! What each channel kind puts on the wire for one delivery: a Slack Block Kit payload, a
//! Teams MessageCard, or a CloudEvents 1.0 JSON event signed with HMAC-SHA256.
//!
//! Pure: bodies and headers only. Sending is the worker's job; e-mail is not rendered
//! here (see the crate docs).

use hmac::{Hmac, Mac};
use lockstep_comms::notify::ChannelKind;
use lockstep_comms::policy::Delivery;
use serde_json::{Value, json};
use sha2::Sha256;

/// The header carrying the receiver's deduplication key.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The header carrying `sha256=<hex HMAC of the body>` on generic webhooks.
pub const SIGNATURE: &str = "X-Lockstep-Signature";

/// An HTTP request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRequest {
    /// Headers besides `Content-Type`.
    pub headers: Vec<(&'static str, String)>,
    /// The content type.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

/// The lowercase hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Kind, release (when the message is about one) and source events, under a chat message.
fn context_line(message: &lockstep_comms::Message) -> String {
    let events = message
        .sources
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    match &message.release {
        Some(release) => format!("{} · {release} · events {events}", message.kind),
        None => format!("{} · events {events}", message.kind),
    }
}

/// The CloudEvents `source`: the release a message is about, or the program for a
/// change request or an interface change, which may touch several releases or none.
fn source(message: &lockstep_comms::Message) -> String {
    match &message.release {
        Some(release) => format!("lockstep/releases/{release}"),
        None => "lockstep/program".to_owned(),
    }
}

fn slack(delivery: &Delivery) -> Value {
    let message = &delivery.message;
    // Section text is limited to 3000 characters by Slack.
    let mut text: String = message.body.chars().take(2900).collect();
    if text.len() < message.body.len() {
        text.push_str("\n…");
    }
    json!({
        "text": message.subject,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": message.subject.chars().take(150).collect::<String>()}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text.replace("**", "*")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context_line(message)}]},
        ],
    })
}

fn teams(delivery: &Delivery) -> Value {
    let message = &delivery.message;
    json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": message.subject,
        "title": message.subject,
        "text": message.body.replace('\n', "\n\n"),
    })
}

fn cloudevent(delivery: &Delivery, id: &str, time: jiff::Timestamp) -> Value {
    let message = &delivery.message;
    json!({
        "specversion": "1.0",
        "id": id,
        "source": source(message),
        "type": format!("dev.lockstep.message.{}", message.kind),
        "subject": message.subject,
        "time": time.to_string(),
        "datacontenttype": "application/json",
        "data": delivery,
    })
}

/// The request that delivers `delivery` with `key` on a channel of `kind`; `secret`
/// signs generic webhooks. `time` is the CloudEvents `time` (when it was written).
pub fn request(
    kind: ChannelKind,
    delivery: &Delivery,
    key: &str,
    secret: Option<&[u8]>,
    time: jiff::Timestamp,
) -> WireRequest {
    let (content_type, body) = match kind {
        ChannelKind::Slack => ("application/json", slack(delivery)),
        ChannelKind::Teams => ("application/json", teams(delivery)),
        ChannelKind::Webhook | ChannelKind::Email => (
            "application/cloudevents+json",
            cloudevent(delivery, key, time),
        ),
    };
    let body = serde_json::to_vec(&body).expect("a JSON value serializes");
    let mut headers = vec![(IDEMPOTENCY_KEY, key.to_owned())];
    if let Some(secret) = secret {
        headers.push((SIGNATURE, format!("sha256={}", sign(secret, &body))));
    }
    WireRequest {
        headers,
        content_type,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_hmac_sha256_as_rfc_4231_test_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn message(release: Option<&str>) -> lockstep_comms::Message {
        lockstep_comms::Message {
            kind: lockstep_comms::MessageKind::ChangeRequest,
            release: release.map(|r| lockstep_core::Name::parse(r).expect("name")),
            team: None,
            role: None,
            date: jiff::civil::date(2025, 2, 5),
            subject: "[Change request] cr-1 approved: slip".to_owned(),
            body: "Team,\n".to_owned(),
            sources: vec![3, 4],
        }
    }

    #[test]
    fn a_message_about_no_release_comes_from_the_program() {
        let program = message(None);
        assert_eq!(source(&program), "lockstep/program");
        assert_eq!(context_line(&program), "change-request · events 3, 4");
        let release = message(Some("q1-2025"));
        assert_eq!(source(&release), "lockstep/releases/q1-2025");
        assert_eq!(
            context_line(&release),
            "change-request · q1-2025 · events 3, 4"
        );
    }
}
