//! The HTTP face of Lockstep: health probes, the read-only JSON API under
//! `/api/v1`, and a server-rendered overview page.
//!
//! This is the only crate that knows HTTP, JSON on the wire and HTML. It holds the
//! state in memory and follows the log, so that writes made by the CLI or by
//! another replica show up here. Writes over HTTP, authentication and the live
//! dashboard come with the API issue; nothing here mutates the program yet.
#![deny(missing_docs)]

mod api;
mod error;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use lockstep_core::State;
use lockstep_store::program::Program;
use tokio::sync::RwLock;

pub use error::ApiError;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    program: Program,
    state: RwLock<State>,
}

impl AppState {
    /// Loads the state from the log.
    pub async fn load(
        program: Program,
    ) -> Result<Arc<AppState>, lockstep_store::program::ProgramError> {
        let state = program.load().await?;
        Ok(Arc::new(AppState {
            program,
            state: RwLock::new(state),
        }))
    }

    /// Applies events other writers appended since the last look.
    pub async fn catch_up(&self) -> Result<u64, lockstep_store::program::ProgramError> {
        // Read the tail into a copy outside the lock would double memory for big
        // programs; catching up in place under the write lock is short because it
        // only ever replays the tail.
        let mut state = self.state.write().await;
        self.program.catch_up(&mut state, |_| {}).await
    }
}

/// The application's routes.
pub fn app(shared: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/releases/{name}", get(pages::release))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(api::ready))
        .nest("/api/v1", api::routes())
        .fallback(api::not_found)
        .with_state(shared)
}

/// Follows the log until the process ends: every `interval`, applies what other
/// writers appended. A failed poll is logged and retried.
pub async fn follow(shared: Arc<AppState>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        match shared.catch_up().await {
            Ok(0) => {}
            Ok(n_events) => tracing::debug!(n_events, "caught up with the log"),
            Err(error) => tracing::warn!(%error, "cannot follow the log"),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(shared))
        .with_graceful_shutdown(shutdown)
        .await
}
