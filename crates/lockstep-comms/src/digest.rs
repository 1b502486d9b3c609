//! Digests: every message held for one person's digest, merged into one message.
//!
//! A digest subscriber's messages are enqueued one by one, as they are written (each
//! with its own idempotency key and provenance), and held until the person's digest time
//! (`notify::send_after`). When they fall due together, the delivery worker groups them
//! by person and channel and sends [`merge`]'s one message instead of one per source
//! (team, release, kind). The digest's idempotency key ([`key`]) names the person,
//! channel and the digest's time, so a digest re-sent after a crash carries the same key.
//!
//! Pure: no templates (the parts are already rendered), no clock.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use lockstep_core::Name;

use crate::notify::Recipient;
use crate::policy::Delivery;
use crate::{Message, MessageKind};

/// The idempotency key of `handle`'s digest due at `due` on `channel`.
pub fn key(channel: &str, handle: &str, due: Timestamp) -> String {
    format!("digest:{channel}:{handle}:{}", due.as_second())
}

/// One message holding every part, in the order given (the worker passes them ordered
/// by key, so a retried digest has the same body). `due` is the digest time. `None` when
/// there are no parts.
pub fn merge(recipient: &Recipient, parts: &[Delivery], due: Timestamp) -> Option<Delivery> {
    if parts.is_empty() {
        return None;
    }
    let zone = TimeZone::get(&recipient.time_zone).unwrap_or(TimeZone::UTC);
    let date = due.to_zoned_datetime(zone).date();
    let mut body = String::new();
    let _ = writeln!(
        body,
        "{} message(s) for {} since the last digest:\n",
        parts.len(),
        recipient.name
    );
    let mut sources = Vec::new();
    let mut caused_by = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let message = &part.message;
        if index > 0 {
            body.push_str("\n---\n\n");
        }
        let _ = writeln!(body, "## {}\n", message.subject);
        body.push_str(message.body.trim_end());
        body.push('\n');
        sources.extend_from_slice(&message.sources);
        caused_by.extend(part.caused_by.iter().cloned());
    }
    sources.sort_unstable();
    sources.dedup();
    caused_by.sort();
    caused_by.dedup();
    let mut releases: Vec<&str> = parts
        .iter()
        .filter_map(|p| p.message.release.as_ref().map(Name::as_str))
        .collect();
    releases.sort_unstable();
    releases.dedup();
    Some(Delivery {
        message: Message {
            kind: MessageKind::Digest,
            // A digest may span releases; it is filed under the first that names one
            // (change requests and interface changes name none), and its subject names
            // them all.
            release: parts.iter().find_map(|p| p.message.release.clone()),
            team: None,
            role: None,
            date,
            subject: if releases.is_empty() {
                format!(
                    "Lockstep digest for {}, {date}: {} message(s)",
                    recipient.name,
                    parts.len()
                )
            } else {
                format!(
                    "Lockstep digest for {}, {date}: {} message(s) ({})",
                    recipient.name,
                    parts.len(),
                    releases.join(", ")
                )
            },
            body,
            sources,
        },
        recipient: Some(recipient.clone()),
        not_before: None,
        caused_by,
        digest: false,
    })
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use lockstep_core::Name;

    use super::*;

    fn part(release: &str, kind: MessageKind, subject: &str, sources: &[i64]) -> Delivery {
        Delivery {
            message: Message {
                kind,
                release: Some(Name::parse(release).expect("name")),
                team: None,
                role: None,
                date: date(2025, 2, 5),
                subject: subject.to_owned(),
                body: format!("body of {subject}\n"),
                sources: sources.to_vec(),
            },
            recipient: None,
            not_before: None,
            caused_by: vec![format!("release:{release}@1")],
            digest: true,
        }
    }

    #[test]
    fn merges_every_part_into_one_message_with_all_sources() {
        let recipient = Recipient {
            handle: Name::parse("sarah").expect("name"),
            name: "Sarah".to_owned(),
            email: None,
            time_zone: "America/New_York".to_owned(),
        };
        let parts = [
            part(
                "q1-2025",
                MessageKind::DailyUpdate,
                "Daily update Q1",
                &[7, 3],
            ),
            part(
                "hotfix-7",
                MessageKind::PreReleaseAnnouncement,
                "Hotfix 7 ships",
                &[3, 9],
            ),
        ];
        // 14:00 UTC is 09:00 in New York.
        let due: Timestamp = "2025-02-06T14:00:00Z".parse().expect("instant");
        let digest = merge(&recipient, &parts, due).expect("a digest");
        let message = &digest.message;
        assert_eq!(message.kind, MessageKind::Digest);
        assert_eq!(
            message.subject,
            "Lockstep digest for Sarah, 2025-02-06: 2 message(s) (hotfix-7, q1-2025)"
        );
        assert!(
            message
                .body
                .contains("## Daily update Q1\n\nbody of Daily update Q1")
        );
        assert!(
            message
                .body
                .contains("## Hotfix 7 ships\n\nbody of Hotfix 7 ships")
        );
        assert!(
            message.body.find("Daily update").expect("first")
                < message.body.find("Hotfix").expect("second")
        );
        assert_eq!(message.sources, [3, 7, 9]);
        assert_eq!(
            digest.caused_by,
            ["release:hotfix-7@1", "release:q1-2025@1"]
        );
        assert!(!digest.digest && digest.not_before.is_none());
        assert_eq!(
            digest.recipient.as_ref().map(|r| r.handle.as_str()),
            Some("sarah")
        );
        assert!(merge(&recipient, &[], due).is_none());
        assert_eq!(key("mail", "sarah", due), "digest:mail:sarah:1738850400");
    }

    #[test]
    fn a_digest_of_program_wide_messages_names_no_release() {
        let recipient = Recipient {
            handle: Name::parse("alex").expect("name"),
            name: "Alex".to_owned(),
            email: None,
            time_zone: "Europe/London".to_owned(),
        };
        let mut change = part("q1-2025", MessageKind::ChangeRequest, "cr-1 approved", &[]);
        change.message.release = None;
        let due: Timestamp = "2025-02-06T09:00:00Z".parse().expect("instant");
        let alone = merge(&recipient, std::slice::from_ref(&change), due).expect("a digest");
        assert_eq!(alone.message.release, None);
        assert_eq!(
            alone.message.subject,
            "Lockstep digest for Alex, 2025-02-06: 1 message(s)"
        );
        // With a release's message, the digest is filed under that release.
        let update = part("q1-2025", MessageKind::DailyUpdate, "Daily update", &[4]);
        let both = merge(&recipient, &[change, update], due).expect("a digest");
        assert_eq!(
            both.message.release.as_ref().map(Name::as_str),
            Some("q1-2025")
        );
        assert_eq!(
            both.message.subject,
            "Lockstep digest for Alex, 2025-02-06: 2 message(s) (q1-2025)"
        );
    }
}
