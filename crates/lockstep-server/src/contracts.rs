//! Cross-team contracts over HTTP: interfaces with their verification matrix, proposals
//! and impact; recording contract tests, deployments, proposals and review decisions
//! (each through the one write path of `write.rs`: `If-Match`, `access::authorize`,
//! audit of refusals, `decide`, commit); `can-i-deploy`; the changelog as Markdown; and
//! the Contracts page.
//!
//! The rules live in `lockstep_core::contract`; this module parses wire bodies into
//! commands and renders what the core derives. It decides nothing itself.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as Extract};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lockstep_core::contract::{
    ComponentVersion, Interface, ProposalStatus, VerificationResult, VersionStatus, can_i_deploy,
    consumer_components, impact,
};
use lockstep_core::{Command, Name, State};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::{ApiJson, DryRun, IfMatch, ListQuery};
use crate::pages::{escape, minute, render};
use crate::wire::{self, path_name};
use crate::write::{Target, execute, write};
use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

pub(crate) fn read_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/interfaces", get(interfaces))
        .route("/interfaces/{name}", get(interface))
        .route("/interfaces/{name}/changelog", get(changelog))
        .route("/deployments", get(deployments))
        .route("/can-i-deploy", get(can_i_deploy_answer))
}

pub(crate) fn write_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/interfaces/{name}/verifications", post(verify))
        .route("/interfaces/{name}/proposals", post(propose))
        .route(
            "/interfaces/{name}/proposals/{version}/decision",
            post(decide_proposal),
        )
        .route("/environments/{name}/deployments", post(deployed))
}

/// An interface as the API, `lockstep describe interface` and the page show it: the
/// declaration, its consumers resolved to components, the latest verification of each
/// consumer per version, every verification, proposals with their decision records,
/// and the impact of changing it, computed now.
pub fn interface_json(state: &State, interface: &Interface) -> Value {
    let consumers: Vec<Name> = consumer_components(state, &interface.spec)
        .into_iter()
        .collect();
    let matrix: Vec<Value> = consumers
        .iter()
        .map(|consumer| {
            let cells: Vec<Value> = interface
                .spec
                .versions
                .iter()
                .map(|version| {
                    let latest = interface.latest_verification(|v| {
                        &v.consumer == consumer && v.version == version.version
                    });
                    json!({ "version": version.version, "latest": latest })
                })
                .collect();
            json!({ "consumer": consumer, "versions": cells })
        })
        .collect();
    let proposals: Vec<Value> = interface
        .proposals
        .iter()
        .map(|proposal| {
            json!({
                "number": proposal.number,
                "version": proposal.version,
                "compatibility": proposal.compatibility,
                "summary": proposal.summary,
                "by": proposal.by,
                "at": proposal.at,
                "status": proposal.status().as_str(),
                "impact": proposal.impact,
                "decision": proposal.decision,
            })
        })
        .collect();
    json!({
        "name": interface.name,
        "spec": interface.spec,
        "latestPublished": interface.spec.latest_published().map(|v| &v.version),
        "consumerComponents": consumers,
        "matrix": matrix,
        "verifications": interface.verifications,
        "proposals": proposals,
        "impact": impact(state, interface),
    })
}

/// `GET /interfaces` (filters: producer, consumer — a team or a component).
async fn interfaces(Extract(app): Shared, query: ListQuery) -> Result<Json<Value>, ApiError> {
    let filters = query.filters(&["producer", "consumer"])?;
    let state = app.state.read().await;
    let wanted_consumer = filters.get("consumer");
    let items = state
        .contracts()
        .interfaces
        .iter()
        .filter(|(_, i)| {
            filters
                .get("producer")
                .is_none_or(|p| i.spec.producer.as_str() == p)
                && wanted_consumer.is_none_or(|c| {
                    consumer_components(&state, &i.spec)
                        .iter()
                        .any(|n| n.as_str() == c)
                        || lockstep_core::contract::consumer_teams(&state, &i.spec)
                            .iter()
                            .any(|n| n.as_str() == c)
                })
        })
        .map(|(name, i)| (name, interface_json(&state, i)));
    let (page, next) = query.page(items);
    Ok(Json(json!({ "items": page, "nextCursor": next })))
}

async fn interface(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    let target = Target::Interface(path_name("interface", &name)?);
    let state = app.state.read().await;
    let (Some(value), Some(stream)) = (target.render(&state), target.stream(&state)) else {
        return Err(ApiError::NotFound {
            kind: "interface",
            name,
        });
    };
    let mut response = Json(value).into_response();
    if let Ok(tag) =
        axum::http::HeaderValue::from_str(&crate::extract::etag(state.stream_version(&stream)))
    {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// `GET /interfaces/{name}/changelog`: the API changelog as Markdown.
async fn changelog(Extract(app): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    let interface = path_name("interface", &name)?;
    let state = app.state.read().await;
    let found = state
        .contracts()
        .interfaces
        .get(&interface)
        .ok_or_else(|| ApiError::NotFound {
            kind: "interface",
            name: name.clone(),
        })?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        found.changelog_markdown(),
    )
        .into_response())
}

/// `GET /deployments` (filter: environment): which component version runs where.
async fn deployments(Extract(app): Shared, uri: Uri) -> Result<Json<Value>, ApiError> {
    let mut environment = None;
    for (key, value) in crate::extract::form_pairs(uri.query().unwrap_or("")) {
        match key.as_str() {
            "environment" => environment = Some(value),
            _ => {
                return Err(ApiError::bad_request(
                    key.clone(),
                    format!("unknown query parameter `{key}`; deployments accept environment"),
                ));
            }
        }
    }
    let state = app.state.read().await;
    if let Some(environment) = &environment
        && !state.environments().contains_key(environment.as_str())
    {
        return Err(ApiError::NotFound {
            kind: "environment",
            name: environment.clone(),
        });
    }
    let items: Vec<Value> = state
        .contracts()
        .deployed
        .iter()
        .filter(|(env, _)| environment.as_deref().is_none_or(|w| env.as_str() == w))
        .flat_map(|(env, components)| {
            components.iter().map(move |(component, deployed)| {
                json!({
                    "environment": env,
                    "component": component,
                    "version": deployed.version,
                    "by": deployed.by,
                    "at": deployed.at,
                })
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// The answer of `can-i-deploy` on the wire: the shape of `GET /api/v1/can-i-deploy`
/// and of `lockstep can-i-deploy -o json`.
pub fn answer_json(answer: &lockstep_core::contract::DeployAnswer) -> Value {
    json!({
        "component": answer.component,
        "version": answer.version,
        "environment": answer.environment,
        "deployable": answer.deployable,
        "reasons": answer.reasons(),
        "checks": answer.checks,
    })
}

/// `GET /can-i-deploy?component=&version=&environment=`: yes or no with the reasons. The
/// answer is 200 either way (a "no" is an answer, not an error), as a Pact broker's is.
async fn can_i_deploy_answer(Extract(app): Shared, uri: Uri) -> Result<Json<Value>, ApiError> {
    let (mut component, mut version, mut environment) = (None, None, None);
    for (key, value) in crate::extract::form_pairs(uri.query().unwrap_or("")) {
        match key.as_str() {
            "component" => component = Some(value),
            "version" => version = Some(value),
            "environment" => environment = Some(value),
            _ => {
                return Err(ApiError::bad_request(
                    key.clone(),
                    format!(
                        "unknown query parameter `{key}`; can-i-deploy takes component, version and environment"
                    ),
                ));
            }
        }
    }
    let required = |value: Option<String>, field: &str| {
        value.filter(|v| !v.is_empty()).ok_or_else(|| {
            ApiError::bad_request(
                field.to_owned(),
                format!("`{field}` is required: can-i-deploy?component=…&version=…&environment=…"),
            )
        })
    };
    let component = required(component, "component")?;
    let version = required(version, "version")?;
    let environment = required(environment, "environment")?;
    let component = Name::parse(&component)
        .map_err(|error| ApiError::bad_request("component", error.to_string()))?;
    let environment = Name::parse(&environment)
        .map_err(|error| ApiError::bad_request("environment", error.to_string()))?;
    let version = ComponentVersion::parse(&version)
        .map_err(|error| ApiError::bad_request("version", error))?;
    let state = app.state.read().await;
    let answer = can_i_deploy(&state, &component, &version, &environment)?;
    Ok(Json(answer_json(&answer)))
}

/// `POST /interfaces/{name}/verifications`: a contract test result; `by` is the caller.
async fn verify(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::VerificationRequest>,
) -> Result<Response, ApiError> {
    let interface = path_name("interface", &name)?;
    let by = caller.principal()?.user.clone();
    let command = Command::RecordVerification {
        interface: interface.clone(),
        verification: body.report(by)?,
    };
    let mut w = write(command, Target::Interface(interface), if_match, dry_run);
    w.created = true;
    execute(&app, &caller, w).await
}

/// `POST /interfaces/{name}/proposals`: propose a new version; `by` is the caller.
async fn propose(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::ProposalRequest>,
) -> Result<Response, ApiError> {
    let interface = path_name("interface", &name)?;
    let by = caller.principal()?.user.clone();
    let command = body.command(interface.clone(), by)?;
    let mut w = write(command, Target::Interface(interface), if_match, dry_run);
    w.created = true;
    execute(&app, &caller, w).await
}

/// `POST /interfaces/{name}/proposals/{version}/decision`: approve or reject the open
/// proposal for `version`, with the rationale (the decision record); `by` is the caller.
async fn decide_proposal(
    Extract(app): Shared,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::DecisionRequest>,
) -> Result<Response, ApiError> {
    let interface = path_name("interface", &name)?;
    let version = lockstep_core::contract::Version::parse(&version)
        .map_err(|error| ApiError::unprocessable("version", error))?;
    let by = caller.principal()?.user.clone();
    let command = body.command(interface.clone(), version, by)?;
    let mut w = write(command, Target::Interface(interface), if_match, dry_run);
    w.reason = Some(body.rationale);
    execute(&app, &caller, w).await
}

/// `POST /environments/{name}/deployments`: `version` of `component` now runs there.
async fn deployed(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::DeploymentRequest>,
) -> Result<Response, ApiError> {
    let environment = path_name("environment", &name)?;
    let by = caller.principal()?.user.clone();
    let command = body.command(environment.clone(), by)?;
    execute(
        &app,
        &caller,
        write(command, Target::Deployments(environment), if_match, dry_run),
    )
    .await
}

/// What an environment runs, as the deployment write answers.
pub(crate) fn environment_deployments_json(state: &State, environment: &Name) -> Option<Value> {
    state.environments().get(environment)?;
    let deployed = state.contracts().deployed.get(environment);
    Some(json!({
        "environment": environment,
        "deployed": deployed.map(|components| components.iter().map(|(component, d)| json!({
            "component": component,
            "version": d.version,
            "by": d.by,
            "at": d.at,
        })).collect::<Vec<_>>()).unwrap_or_default(),
    }))
}

/// `GET /contracts`: every interface with producer, consumers, latest version, the
/// verification matrix and open proposals with their impact.
pub(crate) async fn page(
    Extract(app): Shared,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    render(&app, &caller, &uri, |state| {
        Ok(("Contracts".to_owned(), contracts_body(state)))
    })
    .await
}

fn contracts_body(state: &State) -> String {
    let mut body = String::from(
        r#"<h1>Contracts</h1><p class="sub">Interfaces between teams, their versions, contract tests and change proposals</p><div id="live">"#,
    );
    let interfaces = &state.contracts().interfaces;
    if interfaces.is_empty() {
        body.push_str(
            "<p>No interface is declared yet: apply a <code>kind: Interface</code> manifest.</p>",
        );
    }
    let _ = write!(
        body,
        r#"<section class="panel"><h2>Interfaces</h2><table><thead><tr><th>Interface</th><th>Type</th><th>Producer</th><th>Consumers</th><th>Latest version</th><th>Open proposals</th></tr></thead><tbody>"#
    );
    for interface in interfaces.values() {
        let spec = &interface.spec;
        let consumers: Vec<String> = spec
            .consumers
            .iter()
            .map(|c| escape(&c.to_string()))
            .collect();
        let open = interface
            .proposals
            .iter()
            .filter(|p| p.status() == ProposalStatus::Open)
            .count();
        let _ = write!(
            body,
            r##"<tr><td><a href="#interface-{name}">{title}</a></td><td>{kind}</td><td><a href="/teams/{producer}">{producer}</a>{component}</td><td>{consumers}</td><td>{latest}</td><td>{open}</td></tr>"##,
            name = escape(interface.name.as_str()),
            title = escape(spec.title.as_deref().unwrap_or(interface.name.as_str())),
            kind = spec.kind,
            producer = escape(spec.producer.as_str()),
            component = spec
                .component
                .as_ref()
                .map(|c| format!(" ({})", escape(c.as_str())))
                .unwrap_or_default(),
            consumers = if consumers.is_empty() {
                "none".to_owned()
            } else {
                consumers.join(", ")
            },
            latest = spec.latest_published().map_or_else(
                || "none published".to_owned(),
                |v| escape(&v.version.to_string())
            ),
        );
    }
    body.push_str("</tbody></table></section>");
    deployed_section(&mut body, state);
    for interface in interfaces.values() {
        interface_section(&mut body, state, interface);
    }
    body.push_str("</div>");
    body
}

/// What runs where: the versions `can-i-deploy` checks against.
fn deployed_section(body: &mut String, state: &State) {
    let deployed = &state.contracts().deployed;
    if deployed.is_empty() {
        return;
    }
    body.push_str(
        r#"<section class="panel"><h2>Deployed versions</h2><table><thead><tr><th>Environment</th><th>Component</th><th>Version</th><th>Recorded</th></tr></thead><tbody>"#,
    );
    for (environment, components) in deployed {
        for (component, running) in components {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>by {} at {}</td></tr>",
                escape(environment.as_str()),
                escape(component.as_str()),
                escape(running.version.as_str()),
                escape(&running.by),
                minute(running.at),
            );
        }
    }
    body.push_str("</tbody></table></section>");
}

fn interface_section(body: &mut String, state: &State, interface: &Interface) {
    let spec = &interface.spec;
    let _ = write!(
        body,
        r#"<section class="panel" id="interface-{name}"><h2>{title} <small>{name}</small></h2>"#,
        name = escape(interface.name.as_str()),
        title = escape(spec.title.as_deref().unwrap_or(interface.name.as_str())),
    );
    // The matrix: a consumer per row, a version per column, the latest result in each.
    let consumers = consumer_components(state, spec);
    if spec.versions.is_empty() || consumers.is_empty() {
        body.push_str("<p>No versions or no consumers to verify yet.</p>");
    } else {
        body.push_str(
            r#"<table class="matrix"><caption>Contract tests: latest result per consumer and version</caption><thead><tr><th>Consumer</th>"#,
        );
        for version in &spec.versions {
            let _ = write!(
                body,
                "<th>{} <small>{}{}</small></th>",
                escape(&version.version.to_string()),
                version.compatibility,
                match version.status {
                    VersionStatus::Published => String::new(),
                    other => format!(", {other}"),
                }
            );
        }
        body.push_str("</tr></thead><tbody>");
        for consumer in &consumers {
            let _ = write!(body, "<tr><th>{}</th>", escape(consumer.as_str()));
            for version in &spec.versions {
                let latest = interface.latest_verification(|v| {
                    &v.consumer == consumer && v.version == version.version
                });
                match latest {
                    None => body.push_str(r#"<td class="missing">—</td>"#),
                    Some(v) => {
                        let (class, word) = match v.result {
                            VerificationResult::Pass => ("pass", "✓ pass"),
                            VerificationResult::Fail => ("fail", "✗ fail"),
                        };
                        let _ = write!(
                            body,
                            r#"<td class="{class}" title="by {by} at {at}">{word} <small>{consumer_version}{provider}</small></td>"#,
                            by = escape(&v.by),
                            at = minute(v.at),
                            consumer_version = escape(v.consumer_version.as_str()),
                            provider = v
                                .provider_version
                                .as_ref()
                                .map(|p| format!(" vs {}", escape(p.as_str())))
                                .unwrap_or_default(),
                        );
                    }
                }
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table>");
    }
    let open: Vec<_> = interface
        .proposals
        .iter()
        .filter(|p| p.status() == ProposalStatus::Open)
        .collect();
    if !open.is_empty() {
        let impact = impact(state, interface);
        for proposal in open {
            let _ = write!(
                body,
                r#"<div class="proposal"><h3>Proposal {number}: {version} ({compatibility})</h3><p>{summary}</p><p class="meta">proposed by {by} at {at}</p>"#,
                number = proposal.number,
                version = escape(&proposal.version.to_string()),
                compatibility = proposal.compatibility,
                summary = escape(&proposal.summary),
                by = escape(&proposal.by),
                at = minute(proposal.at),
            );
            let names = |list: &[Name]| {
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.iter()
                        .map(|n| escape(n.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let _ = write!(
                body,
                "<h4>Impact</h4><ul><li>Consumer teams: {}</li><li>Consumer components: {}</li>",
                names(&impact.teams),
                names(&impact.components)
            );
            for release in &impact.releases {
                let _ = write!(
                    body,
                    r#"<li>Release <a href="/releases/{r}">{r}</a> ({state}, {date}): {items}</li>"#,
                    r = escape(release.release.as_str()),
                    state = release.state,
                    date = release.target_date,
                    items = names(&release.items),
                );
            }
            for deployment in &impact.deployments {
                let _ = write!(
                    body,
                    "<li>Deployment of {} in {} on {} at {} {}{}</li>",
                    escape(deployment.component.as_str()),
                    escape(deployment.environment.as_str()),
                    deployment.date,
                    escape(&deployment.at),
                    escape(&deployment.time_zone),
                    deployment
                        .run
                        .as_ref()
                        .map(|r| format!(" ({})", escape(r)))
                        .unwrap_or_default(),
                );
            }
            body.push_str("</ul></div>");
        }
    }
    let decided: Vec<_> = interface
        .proposals
        .iter()
        .filter_map(|p| p.decision.as_ref().map(|d| (p, d)))
        .collect();
    if !decided.is_empty() {
        body.push_str("<h3>Decision records</h3><ul>");
        for (proposal, record) in decided {
            let _ = write!(
                body,
                "<li>{} {}: {} by {} at {}: {}</li>",
                escape(&proposal.version.to_string()),
                proposal.compatibility,
                record.decision,
                escape(&record.by),
                minute(record.at),
                escape(&record.rationale)
            );
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        r#"<p><a href="/api/v1/interfaces/{0}/changelog">Changelog (Markdown)</a></p></section>"#,
        escape(interface.name.as_str())
    );
}
