//! The live feed: every committed event, pushed to dashboards over server-sent events.
//!
//! Writes made here and events caught up from the log (the CLI, other replicas) are
//! published to one broadcast channel; each SSE client gets a `change` event per
//! committed event, with enough to tell which page sections to refresh. A client that
//! falls behind the channel gets a `resync` event and reloads what it shows.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as Extract;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use lockstep_core::{Event, Recorded, State};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;

/// One committed change, as the feed sends it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Global position in the log.
    pub position: i64,
    /// The stream (`release:q1-2025`).
    pub stream: String,
    /// Event kind (`ItemStatusChanged`).
    pub kind: String,
    /// Who.
    pub actor: String,
    /// One human line.
    pub summary: String,
    /// The release concerned, if any.
    pub release: Option<String>,
    /// The item concerned, if any.
    pub item: Option<String>,
}

impl Change {
    /// Describes `recorded` against `state` (which already holds it).
    pub fn of(state: &State, recorded: &Recorded) -> Change {
        let item = match &recorded.event {
            Event::ItemAdded { item, .. }
            | Event::ItemRedefined { item, .. }
            | Event::ItemStatusChanged { item, .. }
            | Event::ItemEtaChanged { item, .. }
            | Event::ItemUpdatePosted { item, .. } => Some(item.as_str().to_owned()),
            Event::DependencyAdded { dependency } | Event::DependencyChanged { dependency } => {
                Some(dependency.blocked.as_str().to_owned())
            }
            Event::DependencyRemoved { blocked, .. } => Some(blocked.as_str().to_owned()),
            _ => None,
        };
        Change {
            position: recorded.position,
            stream: recorded.stream.clone(),
            kind: recorded.event.kind().to_owned(),
            actor: recorded.meta.actor.clone(),
            summary: recorded.event.describe(),
            release: recorded
                .stream
                .strip_prefix("release:")
                .or_else(|| recorded.stream.strip_prefix("run:"))
                .map(str::to_owned)
                .or_else(|| {
                    item.as_deref()
                        .and_then(|i| state.items().get(i))
                        .map(|i| i.release.as_str().to_owned())
                }),
            item,
        }
    }
}

/// `GET /api/v1/events`: the feed as `text/event-stream`.
pub async fn events(
    Extract(app): Extract<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let receiver = app.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(change) => SseEvent::default()
                .event("change")
                .id(change.position.to_string())
                .data(serde_json::to_string(&*change).unwrap_or_default()),
            Err(RecvError::Lagged(_)) => SseEvent::default().event("resync").data("{}"),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    // A first comment at once, so that the response head and a byte reach the client
    // now rather than with the first change or keep-alive, up to 15 s later.
    let hello = futures_util::stream::once(std::future::ready(Ok(SseEvent::default()
        .comment("lockstep live feed")
        .retry(Duration::from_secs(3)))));
    Sse::new(futures_util::StreamExt::chain(hello, stream))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
