//! Change requests over HTTP (`/api/v1/change-requests`) and their pages: propose a
//! change as manifests, read its impact on the program as it stands, approve it (its
//! manifests applied in the same commit) or reject it with a rationale, withdraw it.
//!
//! The impact is computed when asked, against the state of the moment, never stored:
//! a request proposed last week shows what it would do today.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State as Extract};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lockstep_core::access::authorize;
use lockstep_core::change::{ChangeRequest, ChangeSource, ChangeStatus};
use lockstep_core::{Command, EventMeta, Name, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::{ApiJson, IfMatch};
use crate::wire::path_name;
use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

/// A proposal's body may carry manifests up to core's limit, plus JSON's escaping.
const PROPOSAL_BODY_LIMIT: usize = 3 * lockstep_core::limits::MAX_CHANGE_BYTES;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/change-requests",
            get(list)
                .post(propose)
                .layer(DefaultBodyLimit::max(PROPOSAL_BODY_LIMIT)),
        )
        .route("/change-requests/{name}", get(show))
        .route("/change-requests/{name}/{action}", post(decide))
        .route("/releases/{name}/move", post(propose_move))
}

/// A change request as JSON, with its impact now (while it is open) or the reason it
/// no longer applies, and the same as Markdown for people.
pub fn view(state: &State, request: &ChangeRequest, now: jiff::Timestamp) -> Value {
    let assessed = (request.status == ChangeStatus::Open)
        .then(|| lockstep_manifest::change::assess(state, &request.sources, now));
    let (impact, problem) = match &assessed {
        Some(Ok(impact)) => (Some(impact), None),
        Some(Err(problem)) => (None, Some(problem.as_str())),
        None => (None, None),
    };
    json!({
        "name": request.name,
        "title": request.title,
        "status": request.status,
        "requestedBy": request.requested_by,
        "requestedAt": request.requested_at,
        "releases": request.releases,
        "decision": request.decision,
        "sources": request.sources.iter().map(|s| json!({"name": s.name, "text": s.text})).collect::<Vec<_>>(),
        "impact": impact,
        "problem": problem,
        "markdown": markdown(request, impact, problem),
    })
}

/// The request for people: header, decision, and the impact or why it does not apply.
pub fn markdown(
    request: &ChangeRequest,
    impact: Option<&lockstep_core::change::Impact>,
    problem: Option<&str>,
) -> String {
    let mut out = format!(
        "## {}: {}\n\n{} · proposed by {} at {}\n\n",
        request.name,
        request.title,
        request.status,
        request.requested_by,
        crate::pages::minute(request.requested_at)
    );
    if let Some(decision) = &request.decision {
        out.push_str(&format!(
            "{} by {} at {}{}\n\n",
            match request.status {
                ChangeStatus::Approved => "Approved and applied",
                ChangeStatus::Rejected => "Rejected",
                _ => "Withdrawn",
            },
            decision.by,
            crate::pages::minute(decision.at),
            decision
                .rationale
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    if let Some(impact) = impact {
        out.push_str(&impact.to_markdown());
    }
    if let Some(problem) = problem {
        out.push_str(&format!(
            "**Does not apply as the program stands:**\n\n```\n{problem}\n```\n"
        ));
    }
    out
}

/// One line per request, newest first.
pub fn rows(state: &State, status: Option<ChangeStatus>) -> Vec<Value> {
    let mut requests: Vec<&ChangeRequest> = state
        .change_requests()
        .values()
        .filter(|r| status.is_none_or(|s| r.status == s))
        .collect();
    requests.sort_by_key(|r| std::cmp::Reverse(r.requested_at));
    requests
        .into_iter()
        .map(|r| {
            json!({
                "name": r.name,
                "title": r.title,
                "status": r.status,
                "requestedBy": r.requested_by,
                "requestedAt": r.requested_at,
                "decision": r.decision,
            })
        })
        .collect()
}

/// A status filter as written, or a 400 naming the statuses.
pub fn parse_status(raw: &str) -> Result<ChangeStatus, String> {
    [
        ChangeStatus::Open,
        ChangeStatus::Approved,
        ChangeStatus::Rejected,
        ChangeStatus::Withdrawn,
    ]
    .into_iter()
    .find(|s| s.as_str() == raw)
    .ok_or_else(|| format!("unknown status `{raw}`: use open, approved, rejected or withdrawn"))
}

/// `GET /change-requests?status=`: newest first, answered whole.
async fn list(
    Extract(app): Shared,
    query: crate::extract::ListQuery,
) -> Result<Json<Value>, ApiError> {
    let status = query
        .whole(&["status"])?
        .get("status")
        .map(|raw| parse_status(raw))
        .transpose()
        .map_err(|detail| ApiError::bad_request("status", detail))?;
    let state = app.state.read().await;
    Ok(Json(json!({ "items": rows(&state, status) })))
}

/// `GET /change-requests/{name}`, with its stream version as `ETag` for `If-Match` on a
/// decision.
async fn show(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    let change = path_name("change request", &name)?;
    let state = app.state.read().await;
    let request = lookup(&state, &change)?;
    let mut response = Json(view(&state, request, app.now())).into_response();
    let version = state.stream_version(&format!("change:{change}"));
    if let Ok(tag) = axum::http::HeaderValue::from_str(&crate::extract::etag(version)) {
        response.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(response)
}

fn lookup<'s>(state: &'s State, change: &Name) -> Result<&'s ChangeRequest, ApiError> {
    state
        .change_requests()
        .get(change)
        .ok_or_else(|| ApiError::NotFound {
            kind: "change request",
            name: change.to_string(),
        })
}

/// `POST /change-requests` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProposeRequest {
    title: String,
    sources: Vec<SourceBody>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceBody {
    name: String,
    text: String,
}

/// `POST /releases/{name}/move` body: where to (the deployment's first step, in its time
/// zone; by default where the calendar's conflicts propose) and why.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MoveBody {
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /change-requests/{name}/approve|reject|withdraw` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    #[serde(default)]
    rationale: Option<String>,
}

/// What a write asks of [`commit`].
enum Write {
    Propose {
        title: String,
        sources: Vec<ChangeSource>,
    },
    Approve(Name, Option<String>),
    Reject(Name, Option<String>),
    Withdraw(Name),
}

/// Decides and commits one write on a change request as the caller: the approval with
/// its manifests' events in one commit. Answers with the request as it now stands.
async fn commit(
    app: &AppState,
    caller: &Caller,
    write: Write,
    reason: Option<String>,
    if_match: &IfMatch,
) -> Result<(Name, Value), ApiError> {
    let principal = caller.principal()?;
    let by = principal.user.clone();
    let command = match &write {
        // The releases it touches come from its assessment, below.
        Write::Propose { title, sources } => Command::ProposeChange {
            title: title.clone(),
            sources: sources.clone(),
            releases: Vec::new(),
            by,
        },
        Write::Approve(change, rationale) => Command::DecideChange {
            change: change.clone(),
            approve: true,
            by,
            rationale: rationale.clone(),
        },
        Write::Reject(change, rationale) => Command::DecideChange {
            change: change.clone(),
            approve: false,
            by,
            rationale: rationale.clone(),
        },
        Write::Withdraw(change) => Command::WithdrawChange {
            change: change.clone(),
            by,
        },
    };
    if let Err(error) = lockstep_core::limits::check(&command) {
        return Err(error.into());
    }
    let mut state = app.state.write().await;
    app.catch_up_locked(&mut state).await?;
    // A decision taken on the request as the caller last read it (its ETag).
    if let (
        IfMatch(Some(tags)),
        Write::Approve(change, _) | Write::Reject(change, _) | Write::Withdraw(change),
    ) = (if_match, &write)
    {
        let actual = state.stream_version(&format!("change:{change}"));
        if actual == 0 || (!tags.is_empty() && !tags.iter().any(|tag| tag == &actual.to_string())) {
            return Err(ApiError::PreconditionFailed {
                kind: "change request",
                name: change.to_string(),
                expected: if tags.is_empty() {
                    "it to exist (*)".to_owned()
                } else {
                    tags.join(", ")
                },
                actual,
            });
        }
    }
    if let Err(denied) = authorize(&state, principal, &command) {
        crate::runs::record_refusal(
            app,
            &state,
            &principal.user,
            &command,
            "denied",
            &denied.to_string(),
        )
        .await;
        return Err(denied.into());
    }
    let now = app.now();
    let decided: Result<Vec<lockstep_core::Event>, ApiError> = match &write {
        Write::Propose { sources, .. } => {
            match lockstep_manifest::change::assess(&state, sources, now) {
                Err(problem) => Err(ApiError::Unprocessable {
                    detail: format!("the change does not apply as the program stands: {problem}"),
                    field: Some("sources".to_owned()),
                }),
                Ok(impact) => lockstep_core::decide(
                    &state,
                    lockstep_core::change::with_releases(command.clone(), &impact),
                    now,
                )
                .map_err(Into::into),
            }
        }
        Write::Approve(change, rationale) => {
            let request = lookup(&state, change)?;
            // The decision's own rules (four eyes, already decided) answer as every
            // refusal does; then whether the manifests still apply.
            lockstep_core::decide(&state, command.clone(), now)
                .map_err(ApiError::from)
                .and_then(|_| {
                    lockstep_manifest::change::approve(
                        &state,
                        request,
                        &principal.user,
                        rationale.clone(),
                        now,
                    )
                    .map_err(|detail| ApiError::Unprocessable {
                        detail,
                        field: None,
                    })
                })
        }
        _ => lockstep_core::decide(&state, command.clone(), now).map_err(Into::into),
    };
    let events = match decided {
        Ok(events) => events,
        Err(error) => {
            crate::runs::record_refusal(
                app,
                &state,
                &principal.user,
                &command,
                "domain",
                &error.to_string(),
            )
            .await;
            return Err(error);
        }
    };
    let change = match (&write, events.first()) {
        (_, Some(lockstep_core::Event::ChangeProposed { change, .. })) => change.clone(),
        (Write::Approve(change, _) | Write::Reject(change, _) | Write::Withdraw(change), _) => {
            change.clone()
        }
        (Write::Propose { .. }, _) => {
            return Err(ApiError::Internal("a proposal decided no event".to_owned()));
        }
    };
    let meta = EventMeta {
        actor: principal.user.clone(),
        at: now,
        reason,
    };
    let recorded = app.program.commit(&mut state, events, &meta, &[]).await?;
    app.publish(&state, &recorded);
    let request = lookup(&state, &change)?;
    Ok((change, view(&state, request, now)))
}

async fn propose(
    Extract(app): Shared,
    caller: Caller,
    ApiJson(body): ApiJson<ProposeRequest, PROPOSAL_BODY_LIMIT>,
) -> Result<Response, ApiError> {
    if let Some(reason) = &body.reason {
        crate::wire::check_length("reason", reason, crate::wire::MAX_REASON_CHARS)?;
    }
    let sources = body
        .sources
        .into_iter()
        .map(|s| ChangeSource {
            name: s.name,
            text: s.text,
        })
        .collect();
    let write = Write::Propose {
        title: body.title,
        sources,
    };
    let (_, view) = commit(&app, &caller, write, body.reason, &IfMatch(None)).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `POST /releases/{name}/move`: proposes, as a change request, to move the release's
/// deployment to `to` or to where its conflict proposes. Answered like a proposal.
async fn propose_move(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    if let Some(reason) = &body.reason {
        crate::wire::check_length("reason", reason, crate::wire::MAX_REASON_CHARS)?;
    }
    let to = body
        .to
        .as_deref()
        .map(lockstep_manifest::change::parse_start)
        .transpose()
        .map_err(|e| ApiError::bad_request("to", e))?;
    let proposal = {
        let state = app.state.read().await;
        if !state.releases().contains_key(&release) {
            return Err(ApiError::NotFound {
                kind: "release",
                name: release.to_string(),
            });
        }
        let zones =
            crate::runs::time_zones(&state).map_err(|e| ApiError::unprocessable("timeZone", e))?;
        lockstep_manifest::change::move_release(&state, &zones, &release, to)
            .map_err(|detail| ApiError::unprocessable("to", detail))?
    };
    let write = Write::Propose {
        title: proposal.title,
        sources: proposal.sources,
    };
    let (_, view) = commit(&app, &caller, write, body.reason, &IfMatch(None)).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `POST /change-requests/{name}/approve|reject|withdraw`.
async fn decide(
    Extract(app): Shared,
    caller: Caller,
    Path((name, action)): Path<(String, String)>,
    if_match: IfMatch,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<Value>, ApiError> {
    let change = path_name("change request", &name)?;
    let (write, reason) = match action.as_str() {
        "approve" => (Write::Approve(change, body.rationale), None),
        "reject" => (Write::Reject(change, body.rationale), None),
        "withdraw" => (Write::Withdraw(change), body.rationale),
        _ => {
            return Err(ApiError::NoRoute(format!(
                "/api/v1/change-requests/{name}/{action}"
            )));
        }
    };
    let (_, view) = commit(&app, &caller, write, reason, &if_match).await?;
    Ok(Json(view))
}

pub(crate) async fn list_page(
    Extract(app): Shared,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    crate::pages::render(&app, &caller, &uri, |state| {
        let rows: String = rows(state, None)
            .iter()
            .map(|row| {
                let text = |key: &str| escape(row[key].as_str().unwrap_or_default());
                format!(
                    r#"<tr><td><a href="/changes/{name}">{name}</a></td><td>{title}</td><td><span class="badge status-{status}">{status}</span></td><td>{by}</td><td><time datetime="{at}">{shown}</time></td><td>{decided}</td></tr>"#,
                    name = text("name"),
                    title = text("title"),
                    status = text("status"),
                    by = text("requestedBy"),
                    at = text("requestedAt"),
                    shown = row["requestedAt"]
                        .as_str()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                        .map(crate::pages::minute)
                        .unwrap_or_default(),
                    decided = row["decision"]["by"].as_str().map(escape).unwrap_or_default(),
                )
            })
            .collect();
        let table = if rows.is_empty() {
            "<p>No change requests yet.</p>".to_owned()
        } else {
            format!(
                "<table><thead><tr><th>Request</th><th>Title</th><th>Status</th><th>Proposed by</th><th>At (UTC)</th><th>Decided by</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        };
        Ok((
            "Change requests".to_owned(),
            format!(
                r#"<h1>Change requests</h1><p class="sub">Changes to the plan proposed as manifests, applied when someone other than the requester approves them. Propose one with <code>lockstep change propose -f FILE --title …</code>. <a href="/api/v1/change-requests">As JSON</a></p><div id="live">{table}</div>"#
            ),
        ))
    })
    .await
}

pub(crate) async fn detail_page(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let change = path_name("change request", &name)?;
    let now = app.now();
    crate::pages::render(&app, &caller, &uri, |state| {
        let request = lookup(state, &change)?;
        let assessed = (request.status == ChangeStatus::Open)
            .then(|| lockstep_manifest::change::assess(state, &request.sources, now));
        let mut body = format!(
            r#"<h1>{name}: {title}</h1><p class="sub"><span class="badge status-{status}">{status}</span> · proposed by {by} at <time datetime="{at}">{shown}</time> · <a href="/api/v1/change-requests/{name}">As JSON</a></p><div id="live">"#,
            name = escape(request.name.as_str()),
            title = escape(&request.title),
            status = request.status,
            by = escape(&request.requested_by),
            at = request.requested_at,
            shown = crate::pages::minute(request.requested_at),
        );
        if let Some(decision) = &request.decision {
            body.push_str(&format!(
                r#"<p class="decision">{what} by {by} at <time datetime="{at}">{shown}</time>{why}</p>"#,
                what = match request.status {
                    ChangeStatus::Approved => "Approved and applied",
                    ChangeStatus::Rejected => "Rejected",
                    _ => "Withdrawn",
                },
                by = escape(&decision.by),
                at = decision.at,
                shown = crate::pages::minute(decision.at),
                why = decision
                    .rationale
                    .as_ref()
                    .map(|r| format!(": {}", escape(r)))
                    .unwrap_or_default(),
            ));
        }
        match &assessed {
            Some(Ok(impact)) => body.push_str(&impact_html(impact)),
            Some(Err(problem)) => body.push_str(&format!(
                r#"<section class="panel"><h2>Does not apply as the program stands</h2><pre>{}</pre></section>"#,
                escape(problem)
            )),
            None => {}
        }
        if request.status == ChangeStatus::Open {
            body.push_str(&buttons(state, &caller, request));
        }
        body.push_str(r#"<section class="panel"><h2>Manifests</h2>"#);
        for source in &request.sources {
            body.push_str(&format!(
                "<details><summary>{}</summary><pre>{}</pre></details>",
                escape(&source.name),
                escape(&source.text)
            ));
        }
        body.push_str("</section></div>");
        Ok((format!("{} · Change requests", request.name), body))
    })
    .await
}

fn impact_html(impact: &lockstep_core::change::Impact) -> String {
    let list = |items: Vec<String>| -> String {
        items
            .into_iter()
            .map(|i| format!("<li>{i}</li>"))
            .collect::<String>()
    };
    let mut html = String::from(r#"<section class="panel" id="impact"><h2>Impact</h2>"#);
    html.push_str("<h3>Changes</h3><ul>");
    html.push_str(&list(impact.changes.iter().map(|c| escape(c)).collect()));
    if impact.changes.is_empty() {
        html.push_str("<li>None: the program already says this.</li>");
    }
    html.push_str("</ul>");
    if !impact.releases.is_empty() {
        html.push_str("<h3>Releases</h3><ul>");
        html.push_str(&list(
            impact
                .releases
                .iter()
                .map(|r| {
                    let mut facts = Vec::new();
                    if r.target_before != r.target_after {
                        facts.push(format!(
                            "target {} → {}",
                            r.target_before.map_or("none".to_owned(), |d| d.to_string()),
                            r.target_after.map_or("none".to_owned(), |d| d.to_string())
                        ));
                    }
                    if !r.items_added.is_empty() {
                        facts.push(format!("adds {}", names(&r.items_added)));
                    }
                    if !r.items_removed.is_empty() {
                        facts.push(format!("loses {}", names(&r.items_removed)));
                    }
                    if r.deployment_changed {
                        facts.push("its scheduled deployment changes".to_owned());
                    }
                    match (r.at_risk_before, r.at_risk_after) {
                        (false, true) => facts
                            .push(r#"<strong class="at-risk">becomes at risk</strong>"#.to_owned()),
                        (true, false) => facts.push("is no longer at risk".to_owned()),
                        _ => {}
                    }
                    format!(
                        r#"<a href="/releases/{name}">{name}</a>: {}"#,
                        if facts.is_empty() {
                            "details only".to_owned()
                        } else {
                            facts.join("; ")
                        },
                        name = escape(r.release.as_str())
                    )
                })
                .collect(),
        ));
        html.push_str("</ul>");
    }
    if !impact.newly_at_risk.is_empty() || !impact.no_longer_at_risk.is_empty() {
        html.push_str("<h3>Risk</h3><ul>");
        html.push_str(&list(
            impact
                .newly_at_risk
                .iter()
                .map(|(item, chain)| {
                    format!(
                        r#"<a href="/items/{item}">{item}</a> <strong class="at-risk">becomes at risk</strong>: {}"#,
                        escape(&chain.join(" → ")),
                        item = escape(item.as_str())
                    )
                })
                .chain(impact.no_longer_at_risk.iter().map(|item| {
                    format!("{} is no longer at risk", escape(item.as_str()))
                }))
                .collect(),
        ));
        html.push_str("</ul>");
    }
    if !impact.teams.is_empty() {
        html.push_str(&format!(
            "<h3>Teams to tell</h3><p>{}</p>",
            impact
                .teams
                .iter()
                .map(|t| format!(r#"<a href="/teams/{t}">{t}</a>"#, t = escape(t.as_str())))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    html.push_str("</section>");
    html
}

fn names(names: &[Name]) -> String {
    escape(
        &names
            .iter()
            .map(Name::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The decisions the caller may take on an open request, as buttons `live.js` posts.
fn buttons(state: &State, caller: &Caller, request: &ChangeRequest) -> String {
    let Some(principal) = &caller.principal else {
        return String::new();
    };
    let by = principal.user.clone();
    let change = request.name.clone();
    let decide = Command::DecideChange {
        change: change.clone(),
        approve: true,
        by: by.clone(),
        rationale: None,
    };
    let mut html = String::new();
    let name = escape(change.as_str());
    if crate::pages::allowed(state, caller, &decide) && request.requested_by != by {
        html.push_str(&format!(
            r#"<button type="button" data-change="{name}" data-change-action="approve" data-reason="Approve {name} and apply it now. A note for the record (optional):" data-reason-optional="true">Approve and apply</button> <button type="button" data-change="{name}" data-change-action="reject" data-reason="Why is {name} rejected?">Reject</button>"#
        ));
    }
    let withdraw = Command::WithdrawChange { change, by };
    if crate::pages::allowed(state, caller, &withdraw) {
        html.push_str(&format!(
            r#" <button type="button" data-change="{name}" data-change-action="withdraw" data-confirm="Withdraw {name}?">Withdraw</button>"#
        ));
    }
    if html.is_empty() {
        return String::new();
    }
    format!(r#"<p class="actions">{html}</p>"#)
}

fn escape(text: &str) -> String {
    crate::pages::escape(text)
}
