//! `POST /api/v1/apply`: manifests in, one atomic change out, over HTTP — what
//! `lockstep apply -f` does on the database, for `lockstep --server` and for CI.
//!
//! The body carries the manifest texts (the client reads the files); the server
//! parses and plans them against its current state, authorizes every command for the
//! caller, and decides them as one batch with `decide_all`. A dry run stops there and
//! answers with the change; otherwise every event is committed in one transaction, or
//! none is. Errors keep their `file:line:column`. Applying the same manifests twice
//! changes nothing, so this route needs no `Idempotency-Key` and is outside that layer.
//!
//! What it does not do: read files, or decide rules (`decide_all` does) or roles
//! (`lockstep_core::access` does).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State as Extract};
use axum::routing::post;
use lockstep_core::access::{Denied, authorize};
use lockstep_core::{EventMeta, decide_all};
use lockstep_manifest::{Limits, Source, locate, parse, plan};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::{ApiError, AppState};

/// The largest manifest body: bigger than other writes, because a program of
/// thousands of items is one request.
pub const APPLY_BODY_LIMIT: usize = 8 * 1024 * 1024;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/apply",
        post(apply).layer(DefaultBodyLimit::max(APPLY_BODY_LIMIT)),
    )
}

/// `POST /api/v1/apply` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApplyRequest {
    /// The manifest files: their names (for error locations) and texts.
    sources: Vec<SourceBody>,
    /// Answer with the change without making it.
    #[serde(default)]
    dry_run: bool,
    /// Why, recorded with every event.
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    name: String,
    text: String,
}

async fn apply(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<ApplyRequest, APPLY_BODY_LIMIT>,
) -> Result<Json<Value>, ApiError> {
    let principal = caller.principal()?;
    if let Some(reason) = &body.reason {
        crate::wire::check_length("reason", reason, crate::wire::MAX_REASON_CHARS)?;
    }
    if body.sources.is_empty() {
        return Err(ApiError::unprocessable(
            "sources",
            "name at least one manifest",
        ));
    }
    let sources: Vec<Source> = body
        .sources
        .into_iter()
        .map(|s| Source {
            name: s.name,
            text: s.text,
        })
        .collect();
    // A refused apply is audited as the CLI audits one: what was applied, and why not.
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    let command = format!("apply {}", names.join(", "));
    let refuse = |detail: String| {
        let refusal = lockstep_store::audit::Refusal {
            at: app.now(),
            actor: principal.user.clone(),
            source: "http".to_owned(),
            command: command.clone(),
            target: "program".to_owned(),
            release: None,
            kind: "manifest".to_owned(),
            error: detail.clone(),
        };
        let app = app.clone();
        async move {
            crate::runs::record(&app, refusal).await;
            ApiError::Unprocessable {
                detail,
                field: Some("sources".to_owned()),
            }
        }
    };
    let manifest = match parse(&sources, Limits::default()) {
        Ok(manifest) => manifest,
        Err(errors) => return Err(refuse(errors.to_string()).await),
    };
    let mut state = app.state.write().await;
    app.catch_up_locked(&mut state).await?;
    let commands = match plan(&manifest, &state) {
        Ok(commands) => commands,
        Err(errors) => return Err(refuse(errors.to_string()).await),
    };
    let now = app.now();
    for located in &commands {
        if let Err(denied) = authorize(&state, principal, &located.command) {
            // A manifest names whole resources: a team member's file may hold the
            // release it belongs to, unchanged. What changes nothing needs no right.
            // (Checked only on a denial, so an administrator's big apply stays cheap.)
            let unchanged = lockstep_core::decide(&state, located.command.clone(), now)
                .is_ok_and(|events| events.is_empty());
            if !unchanged {
                let denied = Denied {
                    action: format!("{} ({})", denied.action, located.location),
                    ..denied
                };
                crate::runs::record_refusal(
                    &app,
                    &state,
                    &principal.user,
                    &located.command,
                    "denied",
                    &denied.to_string(),
                )
                .await;
                return Err(ApiError::Forbidden(denied));
            }
        }
    }
    let fallback = sources.first().map_or("manifest", |s| s.name.as_str());
    let events = match decide_all(
        &state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now,
    ) {
        Ok(events) => events,
        Err(errors) => {
            return Err(refuse(locate(&commands, errors, fallback).to_string()).await);
        }
    };
    let changes: Vec<Value> = events
        .iter()
        .map(|e| json!({ "stream": state.stream_of(e), "summary": e.describe(), "event": e }))
        .collect();
    let notes: Vec<String> = manifest.notes().iter().map(|n| n.to_string()).collect();
    if body.dry_run {
        return Ok(Json(json!({
            "dryRun": true,
            "changes": changes,
            "notes": notes,
            "position": state.position(),
            "impact": lockstep_core::change::impact(&state, &events),
        })));
    }
    if events.is_empty() {
        return Ok(Json(json!({
            "dryRun": false,
            "changes": changes,
            "notes": notes,
            "position": state.position(),
        })));
    }
    let meta = EventMeta {
        actor: principal.user.clone(),
        at: now,
        reason: body.reason,
    };
    let recorded = app.program.commit(&mut state, events, &meta, &[]).await?;
    app.publish(&state, &recorded);
    tracing::info!(user = %principal.user, n_events = recorded.len(), "applied manifests");
    Ok(Json(json!({
        "dryRun": false,
        "changes": changes,
        "notes": notes,
        "position": state.position(),
    })))
}
