//! The envelopes the store keeps: events, expectations, outbox messages and what an append
//! returns.
//!
//! The store is payload-opaque: `payload` is JSON text produced by the caller and is stored
//! and returned byte for byte. Nothing here parses or validates it, knows the domain's event
//! kinds or upcasts old ones; the typed layer above does that.

use std::fmt;

use crate::error::StoreError;

/// An event to append. The store assigns its position and stream version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The consistency boundary this event belongs to ("release/r1", "team/payments").
    pub stream: String,
    /// The event's type name, for the typed layer to dispatch on.
    pub kind: String,
    /// JSON text, stored verbatim.
    pub payload: String,
    /// Who caused it.
    pub actor: String,
    /// Why, when the command said so.
    pub reason: Option<String>,
    /// When it happened, from the caller's clock.
    pub recorded_at: jiff::Timestamp,
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Global position: 1-based, gapless, in commit order.
    pub position: i64,
    /// The event's stream.
    pub stream: String,
    /// Position within the stream: 1-based, gapless.
    pub stream_version: i64,
    /// The event's type name.
    pub kind: String,
    /// JSON text, as appended.
    pub payload: String,
    /// Who caused it.
    pub actor: String,
    /// Why, when known.
    pub reason: Option<String>,
    /// When it happened.
    pub recorded_at: jiff::Timestamp,
}

/// What a writer believes a stream's version to be. A stream's version is the number of
/// events in it, so `Exact(0)` and `NoStream` mean the same and compare equal.
#[derive(Debug, Clone, Copy)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must have no events.
    NoStream,
    /// The stream must have exactly this many events.
    Exact(i64),
}

impl ExpectedVersion {
    /// The version this expectation requires, or `None` for `Any`.
    pub fn required(self) -> Option<i64> {
        match self {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(version) => Some(version),
        }
    }
}

impl PartialEq for ExpectedVersion {
    fn eq(&self, other: &Self) -> bool {
        self.required() == other.required()
    }
}

impl Eq for ExpectedVersion {}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.required() {
            None => f.write_str("any version"),
            Some(0) => f.write_str("no stream"),
            Some(version) => write!(f, "version {version}"),
        }
    }
}

/// A precondition on one stream, checked in the append's transaction. A command lists the
/// streams it read, including ones it does not write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The stream.
    pub stream: String,
    /// Its expected version.
    pub expected: ExpectedVersion,
}

/// A message for another system, stored in the same transaction as the events that caused
/// it and delivered later, at least once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxMessage {
    /// Where it goes ("slack", "webhook/ci").
    pub channel: String,
    /// Unique per channel; the receiver uses it to drop redeliveries.
    pub idempotency_key: String,
    /// JSON text, stored verbatim.
    pub payload: String,
}

/// Undelivered outbox messages to cancel in the same transaction as an append: every
/// message whose key starts with one of `key_prefixes` and that is not delivered, dead or
/// cancelled already (the pending notices of an acknowledged escalation, cancelled with
/// the event that records the acknowledgement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxCancellation {
    /// Key prefixes (`escalation:api-endpoints:release:q1-2025@24:`).
    pub key_prefixes: Vec<String>,
    /// When.
    pub at: jiff::Timestamp,
    /// Why, kept with each cancelled message.
    pub reason: String,
}

/// An outbox message waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Increasing in commit order; pass it to `mark_delivered`.
    pub id: i64,
    /// The last event position of the append that enqueued it.
    pub position: i64,
    /// Where it goes.
    pub channel: String,
    /// The receiver's deduplication key.
    pub idempotency_key: String,
    /// JSON text.
    pub payload: String,
}

/// The positions an append was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Position of the first appended event.
    pub first_position: i64,
    /// Position of the last appended event; the log's head right after the commit.
    pub last_position: i64,
}

/// Checks what can be checked before touching the database, and converts timestamps.
pub(crate) fn validate_append(
    expectations: &[Expectation],
    events: &[NewEvent],
) -> Result<Vec<i64>, StoreError> {
    if events.is_empty() {
        return Err(StoreError::NoEvents);
    }
    for expectation in expectations {
        if let Some(version) = expectation
            .expected
            .required()
            .filter(|version| *version < 0)
        {
            return Err(StoreError::NegativeExpectedVersion {
                stream: expectation.stream.clone(),
                version,
            });
        }
    }
    events
        .iter()
        .map(|event| timestamp_to_nanos(event.recorded_at))
        .collect()
}

/// The log keeps instants as i64 nanoseconds since the Unix epoch: exact, compact and the
/// same on both engines (PostgreSQL's timestamptz would drop the nanoseconds).
pub(crate) fn timestamp_to_nanos(timestamp: jiff::Timestamp) -> Result<i64, StoreError> {
    i64::try_from(timestamp.as_nanosecond())
        .map_err(|_| StoreError::TimestampOutOfRange { timestamp })
}

pub(crate) fn nanos_to_timestamp(position: i64, nanos: i64) -> Result<jiff::Timestamp, StoreError> {
    jiff::Timestamp::from_nanosecond(i128::from(nanos)).map_err(|error| StoreError::InvalidRow {
        position,
        detail: format!("recorded_at {nanos}: {error}"),
    })
}

/// Finds the first duplicate (channel, key) inside one append's outbox messages.
pub(crate) fn duplicate_in_batch(outbox: &[NewOutboxMessage]) -> Option<&NewOutboxMessage> {
    let mut seen = std::collections::HashSet::with_capacity(outbox.len());
    outbox
        .iter()
        .find(|message| !seen.insert((message.channel.as_str(), message.idempotency_key.as_str())))
}

/// The distinct streams an append touches or checks, in first-seen order.
pub(crate) fn touched_streams<'a>(
    expectations: &'a [Expectation],
    events: &'a [NewEvent],
) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    expectations
        .iter()
        .map(|expectation| expectation.stream.as_str())
        .chain(events.iter().map(|event| event.stream.as_str()))
        .filter(|name| seen.insert(*name))
        .collect()
}

/// Checks every expectation against the current versions, in the order given.
pub(crate) fn check_expectations(
    expectations: &[Expectation],
    current_version: impl Fn(&str) -> i64,
) -> Result<(), StoreError> {
    for expectation in expectations {
        let actual = current_version(&expectation.stream);
        if let Some(required) = expectation.expected.required()
            && required != actual
        {
            return Err(StoreError::Conflict {
                stream: expectation.stream.clone(),
                expected: expectation.expected,
                actual,
            });
        }
    }
    Ok(())
}
