//! The HTTP face of Lockstep: health probes, the JSON API under `/api/v1` (reads and
//! writes), authentication (users, API tokens, browser sessions with CSRF tokens), the
//! live feed over server-sent events, and the server-rendered dashboard.
//!
//! This is the only crate that knows HTTP, JSON on the wire and HTML. It holds the
//! state in memory, follows the log so that writes made by the CLI or by another
//! replica show up here, and sends every write down the one path of the conventions:
//! parse, authorize, decide, commit with expectations, apply, publish.
//!
//! What it deliberately does not do: decide business rules (core does), decide who may
//! do what (`lockstep_core::access` does), or keep secrets in the event log
//! (credentials live in `lockstep_store::auth`).
#![deny(missing_docs)]

mod api;
pub mod auth;
mod calendar;
pub mod changes;
pub mod checklists;
pub mod contracts;
mod error;
mod extract;
pub mod feeds;
mod live;
mod manifests;
pub mod metrics;
mod pages;
pub mod runs;
mod security;
pub mod signals;
pub mod tokens;
mod wire;
mod write;
pub use write::{item_json, risk_json};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use lockstep_core::{Recorded, State};
use lockstep_store::auth::AuthStore;
use lockstep_store::program::Program;
use tokio::sync::{RwLock, broadcast};

pub use error::{ApiError, Problem};
pub use live::Change;
pub use signals::WebhookSecrets;

/// Where the server reads the time: the system clock, or a fixed instant in tests.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A settable instant, shared by clones.
    Fixed(Arc<Mutex<jiff::Timestamp>>),
}

impl Clock {
    /// A clock stopped at `at`.
    pub fn fixed(at: jiff::Timestamp) -> Clock {
        Clock::Fixed(Arc::new(Mutex::new(at)))
    }

    /// The current instant.
    pub fn now(&self) -> jiff::Timestamp {
        match self {
            Clock::System => jiff::Timestamp::now(),
            Clock::Fixed(at) => *at.lock().unwrap_or_else(|poison| poison.into_inner()),
        }
    }

    /// Moves a fixed clock forward; the system clock ignores it.
    pub fn advance(&self, by: jiff::SignedDuration) {
        if let Clock::Fixed(at) = self {
            let mut at = at.lock().unwrap_or_else(|poison| poison.into_inner());
            *at = at.saturating_add(by).unwrap_or(*at);
        }
    }
}

/// How the server treats requests.
#[derive(Debug, Clone)]
pub struct Config {
    /// Whether session cookies are marked `Secure` even without `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// How long a browser session lives.
    pub session_ttl: jiff::SignedDuration,
    /// The time source.
    pub clock: Clock,
    /// Password hashing cost.
    pub password_cost: auth::PasswordCost,
    /// Secrets of the GitHub and GitLab webhook receivers.
    pub webhooks: WebhookSecrets,
    /// The outbox's delivery log, when this server writes messages: acknowledging an
    /// escalation cancels its pending notices there.
    pub outbox: Option<lockstep_store::outbox::DeliveryLog>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            session_ttl: jiff::SignedDuration::from_hours(12),
            clock: Clock::System,
            password_cost: auth::PasswordCost::Interactive,
            webhooks: WebhookSecrets::default(),
            outbox: None,
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    program: Program,
    state: RwLock<State>,
    auth: AuthStore,
    /// Refused attempts, beside the credentials.
    audit: lockstep_store::audit::AuditLog,
    feed: broadcast::Sender<Arc<Change>>,
    config: Config,
    /// One lock per (user, Idempotency-Key) in flight, so that concurrent retries of one
    /// request wait for the first and replay its response instead of racing it.
    idempotency_locks: Mutex<KeyLocks>,
    /// Timed facts for metrics and retrospectives, folded up to the log's head on demand.
    ledger: tokio::sync::Mutex<lockstep_core::metrics::Ledger>,
}

/// One async lock per (user, Idempotency-Key).
type KeyLocks = HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

impl AppState {
    /// Loads the state from the log; `auth` holds the credentials.
    pub async fn load(
        program: Program,
        auth: AuthStore,
        config: Config,
    ) -> Result<Arc<AppState>, lockstep_store::program::ProgramError> {
        let state = program.load().await?;
        let (feed, _) = broadcast::channel(1024);
        let audit = lockstep_store::audit::AuditLog::beside(&auth).await?;
        Ok(Arc::new(AppState {
            program,
            state: RwLock::new(state),
            auth,
            audit,
            feed,
            config,
            idempotency_locks: Mutex::default(),
            ledger: tokio::sync::Mutex::default(),
        }))
    }

    /// The credential store.
    pub fn auth(&self) -> &AuthStore {
        &self.auth
    }

    /// The current instant, from the configured clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.config.clock.now()
    }

    /// A snapshot of the state, for callers outside the server (the binary's demo).
    pub async fn state(&self) -> tokio::sync::RwLockReadGuard<'_, State> {
        self.state.read().await
    }

    /// Applies events other writers appended since the last look, and publishes them.
    pub async fn catch_up(&self) -> Result<u64, lockstep_store::program::ProgramError> {
        // Catching up in place under the write lock is short because it only ever
        // replays the tail; a copy would double memory for big programs.
        let mut state = self.state.write().await;
        self.catch_up_locked(&mut state).await
    }

    async fn catch_up_locked(
        &self,
        state: &mut State,
    ) -> Result<u64, lockstep_store::program::ProgramError> {
        let mut seen = Vec::new();
        let n = self
            .program
            .catch_up(state, |recorded| seen.push(recorded.clone()))
            .await?;
        self.publish(state, &seen);
        Ok(n)
    }

    fn publish(&self, state: &State, recorded: &[Recorded]) {
        for record in recorded {
            // No receivers is normal (no dashboard open).
            let _ = self.feed.send(Arc::new(Change::of(state, record)));
        }
    }

    /// Subscribes to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.feed.subscribe()
    }
}

/// The application's routes.
pub fn app(shared: Arc<AppState>) -> Router {
    let writes = write::routes().layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        write::idempotent,
    ));
    let api = api::routes()
        .merge(writes)
        .route("/events", get(live::events))
        .route("/me", get(auth::me))
        .route("/me/feed-token", post(feeds::rotate))
        .route("/signals", post(signals::record_signal))
        .route("/calendar", get(calendar::calendar))
        .route("/releases/{name}/gonogo", get(signals::gonogo))
        .route("/openapi.json", get(api::openapi))
        .route("/releases/{name}/runbook", get(runs::runbook))
        .route("/releases/{name}/run", get(runs::run))
        .route("/audit", get(runs::audit))
        .merge(tokens::routes())
        .merge(manifests::routes())
        .merge(
            changes::routes().layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                write::idempotent,
            )),
        )
        .merge(checklists::read_routes())
        .merge(contracts::read_routes())
        .route_layer(axum::middleware::from_fn(auth::require_api_access));
    Router::new()
        .route("/", get(pages::index))
        .route("/releases/{name}", get(pages::release))
        .route("/releases/{name}/run", get(runs::page))
        .route("/teams/{name}", get(pages::team))
        .route("/items/{name}", get(pages::item))
        .route("/calendar", get(calendar::page))
        .route("/contracts", get(contracts::page))
        .route("/metrics", get(metrics::page))
        .route("/changes", get(changes::list_page))
        .route("/changes/{name}", get(changes::detail_page))
        .route(
            "/releases/{name}/retrospective",
            get(metrics::retrospective_page),
        )
        .route(
            "/releases/{name}/coordination",
            get(metrics::coordination_page),
        )
        .route("/lessons", get(metrics::lessons_page))
        .route("/feeds", get(feeds::page).post(feeds::make_links))
        .route("/feeds/{token}/org.ics", get(feeds::organization))
        .route("/feeds/{token}/releases/{file}", get(feeds::release))
        .route("/feeds/{token}/teams/{file}", get(feeds::team))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/static/{*path}", get(security::static_file))
        .route("/favicon.ico", get(security::favicon))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(api::ready))
        .route("/api/v1/webhooks/github", post(signals::github))
        .route("/api/v1/webhooks/gitlab", post(signals::gitlab))
        .nest("/api/v1", api)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(axum::middleware::from_fn(pages::html_problems))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            auth::authenticate,
        ))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(shared)
}

/// Follows the log until the process ends: every `interval`, applies what other
/// writers appended and publishes it. A failed poll is logged and retried.
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
