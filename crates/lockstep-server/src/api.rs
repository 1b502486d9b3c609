//! Read endpoints under `/api/v1`, and the OpenAPI document.
//!
//! Responses are the resources as the state holds them (name, spec, status); a
//! single resource carries its stream version as `ETag`. Lists return
//! `{"items": [...], "nextCursor": ...}`, ordered by name, with `?limit` (1..=1000)
//! and `?cursor` (the last name of the previous page) and per-list filters; anything
//! else in the query is a 400.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lockstep_core::{ItemStatus, Name, ReleaseState};
use serde::Serialize;
use serde_json::{Value, json};

use crate::extract::{ListQuery, etag};
use crate::wire::path_name;
use crate::write::Target;
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
        .route("/items", get(items))
        .route("/items/{name}", get(item))
        .route("/dependencies", get(dependencies))
        .route("/integration-tasks", get(integration_tasks))
        .route("/risks", get(risks))
        .route("/risk-register", get(risk_register))
        .route("/risk-register/{name}", get(registered_risk))
        .route("/metrics", get(crate::metrics::metrics))
        .route(
            "/releases/{name}/retrospective",
            get(crate::metrics::retrospective),
        )
        .route(
            "/releases/{name}/coordination",
            get(crate::metrics::coordination),
        )
        .route("/lessons", get(lessons))
        .route("/history", get(history))
}

fn list<T: Serialize>(items: impl Iterator<Item = T>) -> Json<Value> {
    Json(json!({ "items": items.collect::<Vec<_>>() }))
}

fn page<'a, T: Serialize + 'a>(
    query: &ListQuery,
    items: impl Iterator<Item = (&'a Name, T)>,
) -> Json<Value> {
    let (page, next) = query.page(items);
    Json(json!({ "items": page, "nextCursor": next }))
}

fn tagged(value: Value, version: i64) -> Response {
    let mut response = Json(value).into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    response
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

async fn teams(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    query.filters(&[])?;
    Ok(page(&query, app.state.read().await.teams().iter()))
}
async fn team(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    single(&app, Target::Team(path_name("team", &name)?)).await
}
async fn components(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let filters = query.filters(&["team"])?;
    let state = app.state.read().await;
    let team = filters.get("team");
    Ok(page(
        &query,
        state
            .components()
            .iter()
            .filter(|(_, c)| team.is_none_or(|t| c.spec.team.as_str() == t)),
    ))
}
async fn component(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    single(&app, Target::Component(path_name("component", &name)?)).await
}
async fn environments(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    query.filters(&[])?;
    Ok(page(&query, app.state.read().await.environments().iter()))
}
async fn environment(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    single(&app, Target::Environment(path_name("environment", &name)?)).await
}
async fn releases(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let filters = query.filters(&["state"])?;
    let wanted = filters.get("state");
    if let Some(wanted) = wanted {
        check_value(
            "state",
            wanted,
            ReleaseState::ALL.iter().map(ToString::to_string),
        )?;
    }
    let state = app.state.read().await;
    Ok(page(
        &query,
        state
            .releases()
            .iter()
            .filter(|(_, r)| wanted.is_none_or(|w| r.state.to_string() == *w)),
    ))
}
async fn release(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    single(&app, Target::Release(path_name("release", &name)?)).await
}
async fn release_items(
    Extract(app): Shared,
    Path(name): Path<String>,
    query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    let filters = query.filters(&["team", "status"])?;
    check_status(filters)?;
    let state = app.state.read().await;
    let release = lookup(state.releases(), "release", &name)?;
    Ok(page(
        &query,
        state
            .items_of(&release.name)
            .filter(|i| item_matches(i, filters))
            .map(|i| (&i.name, i)),
    ))
}
async fn items(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let filters = query.filters(&["release", "team", "status"])?;
    check_status(filters)?;
    let state = app.state.read().await;
    Ok(page(
        &query,
        state
            .items()
            .iter()
            .filter(|(_, i)| item_matches(i, filters)),
    ))
}

/// Refuses a filter value no resource can have: an empty list would hide the typo.
fn check_value(
    parameter: &str,
    value: &str,
    valid: impl Iterator<Item = String>,
) -> Result<(), ApiError> {
    let valid: Vec<String> = valid.collect();
    if valid.iter().any(|v| v == value) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        parameter.to_owned(),
        format!(
            "`{value}` is not a {parameter}{}; use one of {}",
            lockstep_core::suggest::hint(value, valid.iter().map(String::as_str)),
            valid.join(", ")
        ),
    ))
}

fn check_status(filters: &std::collections::BTreeMap<String, String>) -> Result<(), ApiError> {
    match filters.get("status") {
        Some(status) => check_value(
            "status",
            status,
            ItemStatus::COLUMNS.iter().map(|s| s.as_str().to_owned()),
        ),
        None => Ok(()),
    }
}

fn item_matches(
    item: &lockstep_core::Item,
    filters: &std::collections::BTreeMap<String, String>,
) -> bool {
    filters
        .get("release")
        .is_none_or(|r| item.release.as_str() == r)
        && filters
            .get("team")
            .is_none_or(|t| item.spec.team.as_str() == t)
        && filters
            .get("status")
            .is_none_or(|s| item.status.as_str() == s)
}

async fn item(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    single(&app, Target::Item(path_name("item", &name)?)).await
}

async fn single(app: &AppState, target: Target) -> Result<Response, ApiError> {
    let state = app.state.read().await;
    let (Some(value), Some(stream)) = (target.render(&state), target.stream(&state)) else {
        return Err(ApiError::NotFound {
            kind: target.kind(),
            name: target.name(),
        });
    };
    Ok(tagged(value, state.stream_version(&stream)))
}

async fn dependencies(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    query.whole(&[])?;
    Ok(list(app.state.read().await.dependencies()))
}
async fn integration_tasks(
    Extract(app): Shared,
    query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    query.filters(&[])?;
    Ok(page(
        &query,
        app.state.read().await.integration_tasks().iter(),
    ))
}

/// `GET /risks`: every at-risk item and release with its causal chain, root cause first
/// (filter: release), as the dashboard and `lockstep plan` show them.
/// `GET /lessons?q=`: every lesson kept with a release, newest first; `q` keeps those
/// whose text or release contain it.
async fn lessons(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let filters = query.whole(&["q"])?;
    let state = app.state.read().await;
    Ok(list(
        state
            .lessons(filters.get("q").map(String::as_str))
            .into_iter()
            .map(|(release, lesson)| lesson_json(release, lesson)),
    ))
}

/// A lesson with the release it was kept with.
pub(crate) fn lesson_json(release: &Name, lesson: &lockstep_core::Lesson) -> Value {
    json!({ "release": release, "text": lesson.text, "by": lesson.by, "at": lesson.at })
}

async fn risks(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let release = query.whole(&["release"])?.get("release").cloned();
    let state = app.state.read().await;
    if let Some(release) = &release {
        lookup(state.releases(), "release", release)?;
    }
    let report = lockstep_core::risk::assess(&state);
    let in_scope = |name: &Name| {
        release.as_deref().is_none_or(|wanted| {
            state
                .items()
                .get(name)
                .is_some_and(|item| item.release.as_str() == wanted)
        })
    };
    let items: Vec<Value> = report
        .items
        .values()
        .filter(|risk| in_scope(&risk.item))
        .map(|risk| {
            json!({
                "item": risk.item,
                "projectedFinish": risk.projected_finish,
                "upstream": risk.upstream,
                "chain": report.chain(&risk.item),
            })
        })
        .collect();
    let releases: Vec<&lockstep_core::risk::ReleaseRisk> = report
        .releases
        .values()
        .filter(|risk| {
            release
                .as_deref()
                .is_none_or(|wanted| risk.release.as_str() == wanted)
        })
        .collect();
    Ok(Json(json!({ "items": items, "releases": releases })))
}

/// `GET /risk-register`: the risks people declared (filters: release, status), by name
/// like every list, each with its exposure; `GET /risks` is the computed at-risk items.
async fn risk_register(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let filters = query.filters(&["release", "status"])?;
    if let Some(status) = filters.get("status") {
        check_value(
            "status",
            status,
            lockstep_core::RiskStatus::ALL
                .iter()
                .map(|s| s.as_str().to_owned()),
        )?;
    }
    let state = app.state.read().await;
    if let Some(release) = filters.get("release") {
        lookup(state.releases(), "release", release)?;
    }
    Ok(page(
        &query,
        state
            .risks()
            .iter()
            .filter(|(_, r)| {
                filters
                    .get("release")
                    .is_none_or(|w| r.release.as_str() == w)
                    && filters.get("status").is_none_or(|w| r.status.as_str() == w)
            })
            .map(|(name, risk)| (name, crate::write::risk_json(risk))),
    ))
}

async fn registered_risk(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    single(&app, Target::Risk(path_name("risk", &name)?)).await
}

async fn history(Extract(app): Shared, uri: Uri) -> Result<Json<Value>, ApiError> {
    let mut after = None;
    let mut limit = 100_i64;
    let mut last = None;
    let mut stream = None;
    for (key, value) in crate::extract::form_pairs(uri.query().unwrap_or("")) {
        let number = value.parse::<i64>().ok();
        match key.as_str() {
            "after" => {
                after = Some(number.filter(|n| *n >= 0).ok_or_else(|| {
                    ApiError::bad_request("after", "after must be a position (0 or more)")
                })?);
            }
            "limit" => {
                limit = number.filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    ApiError::bad_request("limit", "limit must be a whole number from 1 to 1000")
                })?;
            }
            // The most recent events, as `lockstep history --limit N` shows them.
            "last" => {
                last = Some(number.filter(|n| (1..=10_000).contains(n)).ok_or_else(|| {
                    ApiError::bad_request("last", "last must be a whole number from 1 to 10000")
                })?);
            }
            "stream" if lockstep_core::is_stream_id(&value) => stream = Some(value),
            "stream" => {
                return Err(ApiError::bad_request(
                    "stream",
                    format!(
                        "`{value}` is not a stream id: use KIND:NAME (`release:q1-2025`, `team:api`)"
                    ),
                ));
            }
            _ => {
                return Err(ApiError::bad_request(
                    key.clone(),
                    format!(
                        "unknown or empty query parameter `{key}`; history accepts after, limit, last, stream"
                    ),
                ));
            }
        }
    }
    if after.is_some() && last.is_some() {
        return Err(ApiError::bad_request(
            "last",
            "after and last cannot be combined: last counts back from the head",
        ));
    }
    let events = match (&stream, last) {
        (Some(stream), _) => {
            let events = app
                .program
                .store()
                .read_stream(stream)
                .await
                .map_err(lockstep_store::program::ProgramError::from)?
                .into_iter()
                .map(lockstep_store::program::decode)
                .collect::<Result<Vec<_>, _>>()?;
            let after = after.unwrap_or(0);
            let kept: Vec<_> = events.into_iter().filter(|e| e.position > after).collect();
            let n = usize::try_from(last.unwrap_or(limit)).unwrap_or(usize::MAX);
            if last.is_some() {
                kept[kept.len().saturating_sub(n)..].to_vec()
            } else {
                kept.into_iter().take(n).collect()
            }
        }
        (None, Some(last)) => {
            let head = app.program.store().head().await?;
            app.program.history((head - last).max(0), last).await?
        }
        (None, None) => app.program.history(after.unwrap_or(0), limit).await?,
    };
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

/// A known path asked with a method it does not have: a problem document, beside the
/// `Allow` header axum adds.
pub(crate) async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// Every route of the API: (method, path, summary). The OpenAPI document is generated
/// from this table, and a test checks that the router and the table agree.
pub(crate) const ROUTES: &[(&str, &str, &str)] = &[
    ("get", "/teams", "List teams"),
    ("post", "/teams", "Create a team"),
    ("get", "/teams/{name}", "Get a team"),
    ("put", "/teams/{name}", "Create or update a team"),
    ("get", "/components", "List components (filter: team)"),
    ("post", "/components", "Create a component"),
    ("get", "/components/{name}", "Get a component"),
    ("put", "/components/{name}", "Create or update a component"),
    ("get", "/environments", "List environments"),
    ("post", "/environments", "Create an environment"),
    ("get", "/environments/{name}", "Get an environment"),
    (
        "put",
        "/environments/{name}",
        "Create or update an environment",
    ),
    ("get", "/releases", "List releases (filter: state)"),
    ("post", "/releases", "Plan a release"),
    ("get", "/releases/{name}", "Get a release"),
    (
        "put",
        "/releases/{name}",
        "Change a release's dates and plan",
    ),
    (
        "post",
        "/releases/{name}/state",
        "Move a release through its life cycle",
    ),
    (
        "get",
        "/releases/{name}/items",
        "List a release's items (filters: team, status)",
    ),
    ("post", "/releases/{name}/items", "Add an item to a release"),
    (
        "get",
        "/items",
        "List items (filters: release, team, status)",
    ),
    ("get", "/items/{name}", "Get an item with its dependencies"),
    ("put", "/items/{name}", "Update an item's declaration"),
    (
        "post",
        "/items/{name}/status",
        "Move an item to another column",
    ),
    ("post", "/items/{name}/eta", "Set or clear an item's ETA"),
    ("post", "/items/{name}/updates", "Post a status note"),
    (
        "post",
        "/items/{name}/acknowledge",
        "Acknowledge the escalation of a blocker item: recorded as an event, its unsent notices cancelled with it",
    ),
    (
        "get",
        "/risks",
        "At-risk items and releases with their causal chains (filter: release)",
    ),
    (
        "get",
        "/risk-register",
        "The risk register: declared risks with their exposure (filters: release, status)",
    ),
    (
        "get",
        "/risk-register/{name}",
        "Get a registered risk with its exposure",
    ),
    (
        "post",
        "/risk-register/{name}/status",
        "Move a registered risk (open, mitigated, occurred, closed) with a required reason",
    ),
    (
        "get",
        "/interfaces",
        "Interfaces with their verification matrix, proposals and impact (filters: producer, consumer)",
    ),
    (
        "get",
        "/interfaces/{name}",
        "Get an interface: versions, consumers, contract tests, proposals with decision records, impact",
    ),
    (
        "get",
        "/interfaces/{name}/changelog",
        "The interface's API changelog as Markdown, newest version first",
    ),
    (
        "post",
        "/interfaces/{name}/verifications",
        "Record a contract test: consumer component@version against an interface version (and provider version): pass or fail, link",
    ),
    (
        "post",
        "/interfaces/{name}/proposals",
        "Propose a new version (version, compatibility, summary); its impact is computed",
    ),
    (
        "post",
        "/interfaces/{name}/proposals/{version}/decision",
        "Approve or reject the open proposal for a version, with the rationale (not by its proposer); approval publishes it",
    ),
    (
        "get",
        "/calendar",
        "The release calendar of a period: target dates, freezes, milestones, deployment windows and blackouts, the standing rules (short recurring blackouts, deploy windows), and the conflicts with a proposed move (from, to: YYYY-MM-DD; the current month and the two after it by default; at most a year)",
    ),
    (
        "get",
        "/deployments",
        "Component versions deployed per environment (filter: environment)",
    ),
    (
        "post",
        "/environments/{name}/deployments",
        "Record that a component version now runs in the environment (since deployedAt, when given; an older deployment than the one recorded changes nothing)",
    ),
    (
        "get",
        "/can-i-deploy",
        "Can component@version be deployed to an environment? Yes or no with the reasons (component, version, environment)",
    ),
    (
        "get",
        "/metrics",
        "Release metrics of a period: frequency, deployment success, lead time, rollbacks, \
         incidents, conflict-free windows (from, to: YYYY-MM-DD; the last 90 days by default)",
    ),
    (
        "get",
        "/releases/{name}/retrospective",
        "The post-release review: the seeds' questions with the facts the log holds",
    ),
    (
        "post",
        "/integration-tasks/{name}/scenarios/{number}",
        "Record a scenario's result (numbered from 1): passed, failed, blocked, pending",
    ),
    ("get", "/dependencies", "List dependencies"),
    ("post", "/dependencies", "Declare a dependency"),
    (
        "delete",
        "/dependencies/{blocker}/{blocked}",
        "Remove a dependency",
    ),
    ("get", "/integration-tasks", "List integration tasks"),
    (
        "get",
        "/history",
        "Read the event log (after, limit; or last; stream)",
    ),
    (
        "get",
        "/events",
        "Live feed of committed events (server-sent events)",
    ),
    ("get", "/me", "Who the caller is and their role"),
    (
        "post",
        "/me/feed-token",
        "Make a new calendar feed token for the caller (shown once; the old one stops working)",
    ),
    (
        "post",
        "/signals",
        "Record a signal (CI, bugs, scan, smoke test, error rate, latency)",
    ),
    (
        "post",
        "/webhooks/github",
        "GitHub webhook (X-Hub-Signature-256)",
    ),
    (
        "post",
        "/webhooks/gitlab",
        "GitLab webhook (X-Gitlab-Token)",
    ),
    (
        "get",
        "/releases/{name}/gonogo",
        "Go/no-go verdict with evidence and what is missing",
    ),
    (
        "get",
        "/releases/{name}/checklist",
        "A release's checklist: items, owners, due dates, ticks and signal checks",
    ),
    (
        "post",
        "/releases/{name}/checklist/{item}/check",
        "Tick a manual checklist item as the caller (owner role or release manager)",
    ),
    (
        "put",
        "/releases/{name}/approval-rules",
        "Set a release's go/no-go approval rules (refused if they could deadlock)",
    ),
    (
        "post",
        "/releases/{name}/gonogo/request",
        "Request go/no-go as the caller (who may then not approve)",
    ),
    (
        "post",
        "/releases/{name}/signoffs",
        "Approve, or reject with a reason, as the caller (a named approver)",
    ),
    (
        "delete",
        "/releases/{name}/signoffs/{person}",
        "Withdraw the caller's own sign-off",
    ),
    (
        "get",
        "/checklist-templates",
        "Checklist templates: which applies to each release kind, declared and built in",
    ),
    (
        "get",
        "/releases/{name}/runbook",
        "The generated runbook (order, times, checks, triggers, contacts; Markdown too)",
    ),
    (
        "get",
        "/releases/{name}/run",
        "The release's latest deployment run",
    ),
    (
        "post",
        "/releases/{name}/run",
        "Start a deployment run (autoRollback, breakGlassReason inside a deny window)",
    ),
    (
        "post",
        "/releases/{name}/run/steps/{step}",
        "Move a run step: start, verify, done, fail or skip",
    ),
    (
        "post",
        "/releases/{name}/run/rollback",
        "Roll back the run: deployed steps in reverse dependency order",
    ),
    (
        "get",
        "/audit",
        "Refused attempts (domain errors, denials), filter: release, limit",
    ),
    ("get", "/openapi.json", "This document"),
    (
        "get",
        "/tokens",
        "The caller's API tokens (never their secrets)",
    ),
    (
        "post",
        "/tokens",
        "Issue an API token for the caller (label, expiresIn); HTTP Basic accepted here",
    ),
    (
        "delete",
        "/tokens/{id}",
        "Revoke one of the caller's API tokens",
    ),
    (
        "post",
        "/apply",
        "Apply manifests as one atomic change (sources, dryRun, reason)",
    ),
    (
        "post",
        "/releases/{name}/lessons",
        "Keep a lesson with a release (text): its retrospective's \"What would we do differently?\"",
    ),
    (
        "get",
        "/lessons",
        "Every lesson kept with a release, newest first (q: words in the text or release)",
    ),
    (
        "get",
        "/releases/{name}/coordination",
        "A release's coordination time in person-minutes: the records (meetings, calls, \
         e-mail, chat), each person's estimated time in Lockstep, and the plan changes in \
         the 48 h before its deployment",
    ),
    (
        "post",
        "/releases/{name}/coordination",
        "Record time spent coordinating a release outside Lockstep, as the caller \
         (activity: meeting|call|email|chat|other, minutes, people, on, note)",
    ),
    (
        "post",
        "/releases/{name}/coordination/{number}/retract",
        "Withdraw a coordination record entered by mistake (its recorder or a release manager)",
    ),
    (
        "post",
        "/releases/{name}/coordination/rating",
        "Rate how the coordination of a release went, as the caller (score 1-5, comment); \
         a later rating replaces theirs",
    ),
    (
        "get",
        "/change-requests",
        "Change requests, newest first (filter: status)",
    ),
    (
        "post",
        "/change-requests",
        "Propose manifests as a change request (title, sources, reason): answered with its impact",
    ),
    (
        "get",
        "/change-requests/{name}",
        "A change request with its impact as the program stands (or why it no longer applies)",
    ),
    (
        "post",
        "/releases/{name}/move",
        "Propose moving a release's deployment (to: local start; default: where its conflict proposes) as a change request",
    ),
    (
        "post",
        "/change-requests/{name}/{action}",
        "approve (applies it; not the requester), reject (rationale required) or withdraw",
    ),
];

/// The writes that answer `?dryRun` with what they would do (`write::execute`'s
/// preview) instead of doing it.
pub(crate) const PREVIEWABLE: &[(&str, &str)] = &[
    ("post", "/teams"),
    ("put", "/teams/{name}"),
    ("post", "/components"),
    ("put", "/components/{name}"),
    ("post", "/environments"),
    ("put", "/environments/{name}"),
    ("post", "/releases"),
    ("put", "/releases/{name}"),
    ("post", "/releases/{name}/state"),
    ("post", "/releases/{name}/lessons"),
    ("post", "/releases/{name}/coordination"),
    ("post", "/releases/{name}/coordination/{number}/retract"),
    ("post", "/releases/{name}/coordination/rating"),
    ("post", "/releases/{name}/items"),
    ("put", "/items/{name}"),
    ("post", "/items/{name}/status"),
    ("post", "/items/{name}/eta"),
    ("post", "/items/{name}/updates"),
    ("post", "/integration-tasks/{name}/scenarios/{number}"),
    ("post", "/risk-register/{name}/status"),
    ("post", "/dependencies"),
    ("delete", "/dependencies/{blocker}/{blocked}"),
    ("post", "/releases/{name}/run"),
    ("post", "/releases/{name}/run/steps/{step}"),
    ("post", "/releases/{name}/run/rollback"),
    ("post", "/releases/{name}/checklist/{item}/check"),
    ("put", "/releases/{name}/approval-rules"),
    ("post", "/releases/{name}/gonogo/request"),
    ("post", "/releases/{name}/signoffs"),
    ("delete", "/releases/{name}/signoffs/{person}"),
    ("post", "/interfaces/{name}/verifications"),
    ("post", "/interfaces/{name}/proposals"),
    ("post", "/interfaces/{name}/proposals/{version}/decision"),
    ("post", "/environments/{name}/deployments"),
];

/// `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the API.
pub(crate) async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

pub(crate) fn openapi_document() -> Value {
    let problem = json!({ "$ref": "#/components/responses/Problem" });
    let mut paths = serde_json::Map::new();
    for (method, path, summary) in ROUTES {
        let parameters: Vec<Value> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": summary,
            "operationId": format!("{method}{}", path.replace(['/', '{', '}', '-', '.'], "_")),
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": problem, "401": problem, "403": problem, "404": problem, "422": problem,
            },
        });
        if *method != "get" && *method != "delete" {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
            operation["responses"]["409"] = problem.clone();
            operation["responses"]["412"] = problem.clone();
            operation["responses"]["413"] = problem.clone();
        }
        if *method != "get" {
            operation["parameters"]
                .as_array_mut()
                .expect("parameters is an array")
                .push(json!({"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"}}));
        }
        if PREVIEWABLE.contains(&(*method, *path)) {
            operation["parameters"]
                .as_array_mut()
                .expect("parameters is an array")
                .push(json!({"name": "dryRun", "in": "query", "required": false, "schema": {"type": "boolean"},
                    "description": "Decide the write and answer with its events and impact; record nothing"}));
        }
        if *method == "post" {
            operation["parameters"]
                .as_array_mut()
                .expect("parameters is an array")
                .push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}));
        }
        // Webhook receivers check signatures instead of a login; the token exchange
        // also takes a password.
        if path.starts_with("/webhooks/") {
            operation["security"] = json!([]);
        } else if *path == "/tokens" && *method == "post" {
            operation["security"] = json!([{"bearer": []}, {"session": []}, {"basic": []}]);
        }
        paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}))[*method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Lockstep API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic", "description": "Only on POST /api/v1/tokens, to trade a password for a token"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE},
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem details",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    //! The OpenAPI document against the router's source: axum cannot list a router's
    //! routes, so the `.route(…)` calls are read from the files that build the API (as
    //! rust-analyzer's tidy reads its sources), and both sides must name the same
    //! operations.

    use std::collections::BTreeSet;

    use super::openapi_document;

    const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

    /// (method, path) of every `.route(PATH, …)` call in `source`, `prefix` prepended.
    fn routes_in(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
        let mut found = BTreeSet::new();
        for (start, _) in source.match_indices(".route(") {
            let call = &source[start + ".route(".len()..];
            let Some(path) = call
                .trim_start()
                .strip_prefix('"')
                .and_then(|rest| rest.split('"').next())
            else {
                continue;
            };
            // The call's arguments, up to its closing parenthesis.
            let mut depth = 1_usize;
            let mut end = call.len();
            for (idx, c) in call.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = idx;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let arguments = &call[..end];
            for method in METHODS {
                for (at, _) in arguments.match_indices(&format!("{method}(")) {
                    let before = arguments[..at].chars().next_back();
                    if matches!(before, Some(' ' | '\n' | '.' | ',' | '(')) {
                        found.insert((method.to_owned(), format!("{prefix}{path}")));
                    }
                }
            }
        }
        found
    }

    fn router_operations() -> BTreeSet<(String, String)> {
        let lib = include_str!("lib.rs");
        // In lib.rs, the API is the chain that starts at `api::routes()`; the rest are pages,
        // except for routes spelled out under /api/v1.
        let (api_chain, rest) = lib
            .split_once("let api = api::routes()")
            .and_then(|(_, after)| after.split_once("Router::new()"))
            .expect("lib.rs builds the API from api::routes()");
        let mut operations = routes_in(include_str!("api.rs"), "/api/v1");
        operations.extend(routes_in(include_str!("write.rs"), "/api/v1"));
        operations.extend(routes_in(include_str!("tokens.rs"), "/api/v1"));
        operations.extend(routes_in(include_str!("manifests.rs"), "/api/v1"));
        operations.extend(routes_in(include_str!("checklists.rs"), "/api/v1"));
        operations.extend(routes_in(include_str!("changes.rs"), "/api/v1"));
        operations.extend(routes_in(include_str!("contracts.rs"), "/api/v1"));
        operations.extend(routes_in(api_chain, "/api/v1"));
        operations.extend(
            routes_in(rest, "")
                .into_iter()
                .filter(|(_, path)| path.starts_with("/api/v1")),
        );
        // This test's own source mentions `.route(` only in prose and patterns.
        operations.retain(|(_, path)| path.starts_with("/api/v1/"));
        operations
    }

    fn documented_operations(document: &serde_json::Value) -> BTreeSet<(String, String)> {
        let paths = document["paths"].as_object().expect("paths is an object");
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .expect("a path item is an object")
                    .keys()
                    .map(move |method| (method.clone(), path.clone()))
            })
            .collect()
    }

    #[test]
    fn every_route_of_the_router_is_documented_and_nothing_else() {
        let router = router_operations();
        assert!(
            router.len() > 30,
            "the scan found too few routes: {router:?}"
        );
        let documented = documented_operations(&openapi_document());
        let undocumented: Vec<_> = router.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&router).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the OpenAPI document: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented operations without a route: {unrouted:?}"
        );
    }

    #[test]
    fn every_previewable_write_is_a_route() {
        let router = router_operations();
        for (method, path) in super::PREVIEWABLE {
            assert!(
                router.contains(&((*method).to_owned(), format!("/api/v1{path}"))),
                "{method} {path} takes dryRun but is not routed"
            );
        }
    }

    #[test]
    fn the_document_is_valid_json_of_openapi_3_1() {
        let text = serde_json::to_string(&openapi_document()).expect("serialises");
        let document: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let version = document["openapi"].as_str().expect("openapi is a string");
        assert!(version.starts_with("3.1."), "{version}");
        assert!(document["info"]["title"].is_string());
        assert!(document["info"]["version"].is_string());
        let mut operation_ids = BTreeSet::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            assert!(path.starts_with("/api/v1/"), "{path}");
            let placeholders: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            for (method, operation) in item.as_object().expect("path item") {
                assert!(METHODS.contains(&method.as_str()), "{method} {path}");
                let id = operation["operationId"].as_str().expect("operationId");
                assert!(operation_ids.insert(id.to_owned()), "duplicate {id}");
                let in_path: BTreeSet<&str> = operation["parameters"]
                    .as_array()
                    .expect("parameters")
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().expect("parameter name"))
                    .collect();
                assert_eq!(in_path, placeholders, "{method} {path}");
                // Every $ref points at something in the document.
                for response in operation["responses"]
                    .as_object()
                    .expect("responses")
                    .values()
                {
                    if let Some(reference) = response["$ref"].as_str() {
                        let pointer = reference.trim_start_matches('#');
                        assert!(document.pointer(pointer).is_some(), "{reference}");
                    }
                }
            }
        }
    }
}
