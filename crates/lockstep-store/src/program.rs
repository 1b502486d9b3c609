//! The typed log: core events in and out of the payload-opaque store, state loaded
//! from the latest snapshot plus the tail, and commits with per-stream optimistic
//! concurrency computed from the state the decision read.
//!
//! This is the one place that knows both `lockstep_core::Event` and the store's
//! envelopes. It does not decide anything: callers run `decide`, then `commit`.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use lockstep_core::{Event, EventMeta, Recorded, State};

use crate::{
    Expectation, ExpectedVersion, NewEvent, NewOutboxMessage, OpenOptions, OutboxCancellation,
    Store, StoreError, StoredEvent,
};

/// Snapshot format tag; bump when `State`'s serialized shape changes.
pub const SNAPSHOT_FORMAT: &str = "state-v2";

/// Take a snapshot once this many events were committed since the last one.
const SNAPSHOT_EVERY: i64 = 10_000;

/// An event about to be appended, with the stream version it will get: enough
/// for an [`OutboxPolicy`] to derive stable idempotency keys.
#[derive(Debug)]
pub struct PendingEvent<'a> {
    /// Its stream.
    pub stream: &'a str,
    /// The version it will have in that stream.
    pub stream_version: i64,
    /// The event.
    pub event: &'a Event,
}

/// Decides which outbound messages a batch of events causes. They are written in
/// the same transaction as the events, so a message exists if and only if its
/// cause does. Runs on the state the events were decided against.
pub type OutboxPolicy =
    Arc<dyn Fn(&State, &[PendingEvent<'_>], &EventMeta) -> Vec<NewOutboxMessage> + Send + Sync>;

/// The event log of a release program.
pub struct Program {
    store: Store,
    snapshot_position: AtomicI64,
    outbox_policy: Option<OutboxPolicy>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("store", &self.store)
            .field("outbox_policy", &self.outbox_policy.is_some())
            .finish_non_exhaustive()
    }
}

/// What went wrong while loading or committing.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// The store failed or refused (a conflict is `Store(StoreError::Conflict)`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An event or snapshot in the log cannot be read by this build.
    #[error("event {position} ({kind}) cannot be read: {reason}")]
    UnreadableEvent {
        /// Its position.
        position: i64,
        /// Its kind.
        kind: String,
        /// The decoder's complaint.
        reason: String,
    },
    /// The state cannot be serialized for a snapshot.
    #[error("cannot write a snapshot: {0}")]
    Snapshot(String),
}

impl ProgramError {
    /// Whether another writer changed a stream this commit read.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ProgramError::Store(error) if error.is_conflict())
    }
}

/// Decodes a stored envelope into a core event.
pub fn decode(stored: StoredEvent) -> Result<Recorded, ProgramError> {
    let event: Event =
        serde_json::from_str(&stored.payload).map_err(|error| ProgramError::UnreadableEvent {
            position: stored.position,
            kind: stored.kind.clone(),
            reason: error.to_string(),
        })?;
    Ok(Recorded {
        position: stored.position,
        stream: stored.stream,
        meta: EventMeta {
            actor: stored.actor,
            at: stored.recorded_at,
            reason: stored.reason,
        },
        event,
    })
}

impl Program {
    /// Opens (and migrates) the store at `url`.
    pub async fn open(url: &str, options: OpenOptions) -> Result<Program, ProgramError> {
        Ok(Program::new(Store::open(url, options).await?))
    }

    /// Wraps an open store.
    pub fn new(store: Store) -> Program {
        Program {
            store,
            snapshot_position: AtomicI64::new(0),
            outbox_policy: None,
        }
    }

    /// Sets the policy that turns committed events into outbox messages.
    pub fn with_outbox_policy(mut self, policy: OutboxPolicy) -> Program {
        self.outbox_policy = Some(policy);
        self
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The state as of the head of the log: the latest snapshot, then every event
    /// after it.
    pub async fn load(&self) -> Result<State, ProgramError> {
        let mut state = match self.store.latest_snapshot(SNAPSHOT_FORMAT).await? {
            Some((position, bytes)) => {
                let state: State = serde_json::from_slice(&bytes).map_err(|error| {
                    ProgramError::UnreadableEvent {
                        position,
                        kind: format!("snapshot {SNAPSHOT_FORMAT}"),
                        reason: error.to_string(),
                    }
                })?;
                self.snapshot_position.store(position, Ordering::Relaxed);
                state
            }
            None => State::new(),
        };
        self.catch_up(&mut state, |_| {}).await?;
        Ok(state)
    }

    /// Applies every event after `state.position()`, calling `seen` for each.
    pub async fn catch_up(
        &self,
        state: &mut State,
        mut seen: impl FnMut(&Recorded),
    ) -> Result<u64, ProgramError> {
        let mut failure = None;
        let n_events = self
            .store
            .for_each_from(state.position(), |stored| match decode(stored) {
                Ok(recorded) => {
                    state.apply(recorded.position, &recorded.event);
                    seen(&recorded);
                    ControlFlow::Continue(())
                }
                Err(error) => {
                    failure = Some(error);
                    ControlFlow::Break(())
                }
            })
            .await?;
        match failure {
            Some(error) => Err(error),
            None => Ok(n_events),
        }
    }

    /// Appends `events`, decided against `state`, expecting every stream they
    /// touch to be at the version `state` saw; then applies them to `state`.
    /// A stale `state` gets a conflict and nothing is written.
    pub async fn commit(
        &self,
        state: &mut State,
        events: Vec<Event>,
        meta: &EventMeta,
        outbox: &[NewOutboxMessage],
    ) -> Result<Vec<Recorded>, ProgramError> {
        self.commit_with(state, events, meta, outbox, None)
            .await
            .map(|(recorded, _)| recorded)
    }

    /// [`Program::commit`], also cancelling the undelivered outbox messages `cancel`
    /// names in the same transaction (an acknowledged escalation's pending notices with
    /// the event that records the acknowledgement): both happen or neither does. Returns
    /// the recorded events and how many messages were cancelled.
    pub async fn commit_cancelling(
        &self,
        state: &mut State,
        events: Vec<Event>,
        meta: &EventMeta,
        cancel: &OutboxCancellation,
    ) -> Result<(Vec<Recorded>, u64), ProgramError> {
        self.commit_with(state, events, meta, &[], Some(cancel))
            .await
    }

    async fn commit_with(
        &self,
        state: &mut State,
        events: Vec<Event>,
        meta: &EventMeta,
        outbox: &[NewOutboxMessage],
        cancel: Option<&OutboxCancellation>,
    ) -> Result<(Vec<Recorded>, u64), ProgramError> {
        if events.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // Streams of events that refer to resources created earlier in the same
        // batch can only be computed on a state that already holds them.
        let creates = events.iter().any(|e| {
            matches!(
                e,
                Event::ItemAdded { .. } | Event::IntegrationTaskDefined { .. }
            )
        });
        let streams: Vec<String> = if creates {
            let mut scratch = state.clone();
            events
                .iter()
                .map(|event| {
                    let stream = scratch.stream_of(event);
                    scratch.apply(scratch.position(), event);
                    stream
                })
                .collect()
        } else {
            events.iter().map(|event| state.stream_of(event)).collect()
        };
        let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
        for stream in &streams {
            expected
                .entry(stream)
                .or_insert_with(|| state.stream_version(stream));
        }
        let expectations: Vec<Expectation> = expected
            .iter()
            .map(|(stream, version)| Expectation {
                stream: (*stream).to_owned(),
                expected: ExpectedVersion::Exact(*version),
            })
            .collect();
        let new_events = events
            .iter()
            .zip(&streams)
            .map(|(event, stream)| {
                Ok(NewEvent {
                    stream: stream.clone(),
                    kind: event.kind().to_owned(),
                    payload: serde_json::to_string(event)
                        .map_err(|e| ProgramError::Snapshot(e.to_string()))?,
                    actor: meta.actor.clone(),
                    reason: meta.reason.clone(),
                    recorded_at: meta.at,
                })
            })
            .collect::<Result<Vec<_>, ProgramError>>()?;
        let mut outbox = outbox.to_vec();
        if let Some(policy) = &self.outbox_policy {
            let mut next_version: BTreeMap<&str, i64> = expected.clone();
            let pending: Vec<PendingEvent<'_>> = events
                .iter()
                .zip(&streams)
                .map(|(event, stream)| {
                    let version = next_version.entry(stream).or_insert(0);
                    *version += 1;
                    PendingEvent {
                        stream,
                        stream_version: *version,
                        event,
                    }
                })
                .collect();
            outbox.extend(policy(state, &pending, meta));
        }
        let (outcome, n_cancelled) = self
            .store
            .append_cancelling(&expectations, &new_events, &outbox, cancel)
            .await?;
        let recorded: Vec<Recorded> = events
            .into_iter()
            .zip(streams)
            .enumerate()
            .map(|(index, (event, stream))| Recorded {
                position: outcome.first_position + index as i64,
                stream,
                meta: meta.clone(),
                event,
            })
            .collect();
        for record in &recorded {
            state.apply(record.position, &record.event);
        }
        if state.position() - self.snapshot_position.load(Ordering::Relaxed) >= SNAPSHOT_EVERY {
            self.snapshot(state).await?;
        }
        Ok((recorded, n_cancelled))
    }

    /// Saves `state` as the latest snapshot.
    pub async fn snapshot(&self, state: &State) -> Result<(), ProgramError> {
        let bytes =
            serde_json::to_vec(state).map_err(|error| ProgramError::Snapshot(error.to_string()))?;
        self.store
            .save_snapshot(state.position(), SNAPSHOT_FORMAT, &bytes)
            .await?;
        self.snapshot_position
            .store(state.position(), Ordering::Relaxed);
        Ok(())
    }

    /// Up to `limit` events after `after`, oldest first.
    pub async fn history(&self, after: i64, limit: i64) -> Result<Vec<Recorded>, ProgramError> {
        self.store
            .read_from(after, limit)
            .await?
            .into_iter()
            .map(decode)
            .collect()
    }

    /// Folds every event after `ledger`'s position into it, a page at a time: the timed
    /// facts behind release metrics and retrospectives.
    pub async fn fold_ledger(
        &self,
        ledger: &mut lockstep_core::metrics::Ledger,
    ) -> Result<(), ProgramError> {
        const PAGE: i64 = 1_000;
        loop {
            let page = self.history(ledger.position(), PAGE).await?;
            for recorded in &page {
                ledger.fold(recorded.position, &recorded.meta, &recorded.event);
            }
            if (page.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }
}
