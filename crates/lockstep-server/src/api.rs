//! Read-only JSON endpoints under `/api/v1`.
//!
//! Responses are the resources as the state holds them (name, spec, status);
//! list endpoints return `{"items": [...]}` so that pagination can be added
//! without breaking clients.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as Extract};
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use lockstep_core::Name;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/teams", get(teams))
        .route("/teams/{name}", get(team))
        .route("/components", get(components))
        .route("/components/{name}", get(component))
        .route("/environments", get(environments))
        .route("/environments/{name}", get(environment))
        .route("/releases", get(releases))
        .route("/releases/{name}", get(release))
        .route("/releases/{name}/items", get(release_items))
        .route("/items/{name}", get(item))
        .route("/dependencies", get(dependencies))
        .route("/integration-tasks", get(integration_tasks))
        .route("/history", get(history))
}

fn list<T: Serialize>(items: impl Iterator<Item = T>) -> Json<Value> {
    Json(json!({ "items": items.collect::<Vec<_>>() }))
}

fn lookup<'a, T>(
    map: &'a std::collections::BTreeMap<Name, T>,
    kind: &'static str,
    name: &str,
) -> Result<&'a T, ApiError> {
    map.get(name).ok_or_else(|| ApiError::NotFound {
        kind,
        name: name.to_owned(),
    })
}

async fn teams(Extract(app): Shared) -> Json<Value> {
    list(app.state.read().await.teams().values())
}
async fn team(Extract(app): Shared, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(lookup(
        app.state.read().await.teams(),
        "team",
        &name
    )?)))
}
async fn components(Extract(app): Shared) -> Json<Value> {
    list(app.state.read().await.components().values())
}
async fn component(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(lookup(
        app.state.read().await.components(),
        "component",
        &name
    )?)))
}
async fn environments(Extract(app): Shared) -> Json<Value> {
    list(app.state.read().await.environments().values())
}
async fn environment(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(lookup(
        app.state.read().await.environments(),
        "environment",
        &name
    )?)))
}
async fn releases(Extract(app): Shared) -> Json<Value> {
    list(app.state.read().await.releases().values())
}
async fn release(Extract(app): Shared, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(lookup(
        app.state.read().await.releases(),
        "release",
        &name
    )?)))
}
async fn release_items(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let state = app.state.read().await;
    let release = lookup(state.releases(), "release", &name)?;
    Ok(list(state.items_of(&release.name)))
}
async fn item(Extract(app): Shared, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let state = app.state.read().await;
    let item = lookup(state.items(), "item", &name)?;
    Ok(Json(json!({
        "item": item,
        "blocks": state.blocks(&item.name).collect::<Vec<_>>(),
        "blockedBy": state.blocked_by(&item.name).collect::<Vec<_>>(),
    })))
}
async fn dependencies(Extract(app): Shared) -> Json<Value> {
    list(app.state.read().await.dependencies())
}
async fn integration_tasks(Extract(app): Shared) -> Json<Value> {
    list(app.state.read().await.integration_tasks().values())
}

#[derive(serde::Deserialize)]
pub(crate) struct HistoryQuery {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

async fn history(
    Extract(app): Shared,
    axum::extract::Query(query): axum::extract::Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.clamp(1, 1000);
    let events = app.program.history(query.after.max(0), limit).await?;
    Ok(list(events.iter().map(|e| {
        json!({
            "position": e.position,
            "stream": e.stream,
            "actor": e.meta.actor,
            "at": e.meta.at,
            "reason": e.meta.reason,
            "summary": e.event.describe(),
            "event": e.event,
        })
    })))
}

pub(crate) async fn ready(Extract(app): Shared) -> (StatusCode, Json<Value>) {
    match app.program.store().head().await {
        Ok(head) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "head": head })),
        ),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}

pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}
