//! Signals in: GitHub and GitLab webhooks and the generic `POST /api/v1/signals`.
//!
//! A webhook is authenticated by its signature (GitHub's `X-Hub-Signature-256`, an
//! HMAC-SHA256 of the raw body) or its shared token (GitLab's `X-Gitlab-Token`), not by
//! a user: the configured secret is the authority, and the event's actor is
//! `webhook:github` or `webhook:gitlab`. The repository of the payload names the
//! component (`ComponentSpec.repository`). Every delivery is parsed into one core
//! `Signal` and takes the usual path (`decide`, commit, publish); a redelivery (same
//! delivery id) decides no events and answers 200.
//!
//! The go/no-go verdict (`lockstep_core::readiness`) is served here too, as JSON.
//!
//! A successful deployment (GitHub `deployment_status`, GitLab `Deployment Hook`) records
//! the version now running in its environment (`RecordDeployment`, by the webhook), when
//! its ref is a tag or a commit and Lockstep declares the environment. Releases and pull
//! requests are verified and acknowledged (`"recorded": false`) so that the code host
//! does not retry them.

use std::sync::Arc;

use axum::extract::{Path, State as Extract};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use lockstep_core::access::authorize;
use lockstep_core::readiness::Verdict;
use lockstep_core::{
    CiConclusion, Command, EventMeta, IssueSeverity, Name, Recorded, Signal, SignalReading, State,
};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

/// The shared secrets of the webhook receivers. A receiver without a secret refuses
/// every delivery (401): an unsigned webhook is never trusted.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    /// GitHub's webhook secret (HMAC key of `X-Hub-Signature-256`).
    pub github: Option<String>,
    /// GitLab's secret token (`X-Gitlab-Token`).
    pub gitlab: Option<String>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach a log line.
        f.debug_struct("WebhookSecrets")
            .field("github", &self.github.as_ref().map(|_| "<set>"))
            .field("gitlab", &self.gitlab.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl WebhookSecrets {
    /// Reads `LOCKSTEP_GITHUB_WEBHOOK_SECRET` and `LOCKSTEP_GITLAB_WEBHOOK_TOKEN`;
    /// empty values count as unset.
    pub fn from_env() -> WebhookSecrets {
        let read = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        WebhookSecrets {
            github: read("LOCKSTEP_GITHUB_WEBHOOK_SECRET"),
            gitlab: read("LOCKSTEP_GITLAB_WEBHOOK_TOKEN"),
        }
    }
}

/// Whether `signature` (`sha256=HEX`) is the HMAC-SHA256 of `body` under `secret`,
/// compared in constant time.
pub fn github_signature_matches(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`, as GitHub signs.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", crate::auth::hex(&mac.finalize().into_bytes()))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|idx| u8::from_str_radix(text.get(idx..idx + 2)?, 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What a delivery turned into: a signal about a repository, or nothing to record.
enum Parsed {
    Signal {
        repository: String,
        environment: Option<Name>,
        observed_at: Option<jiff::Timestamp>,
        reading: SignalReading,
    },
    Deployment(DeploymentHook),
    Ignored(String),
}

/// A successful deployment of the repository's component: `reference` (a tag such as
/// `v1.2.0`, or the version the deployment's payload names) runs in `environment` since
/// `deployed_at`, when the payload says.
struct DeploymentHook {
    repository: String,
    environment: String,
    reference: String,
    deployed_at: Option<jiff::Timestamp>,
}

/// A deployment's version from its ref: a tag such as `v1.2.0` or `2025.1.3` (the `v`
/// dropped), or a commit id (7 to 40 hexadecimal digits). A branch is no version: what
/// it held when deployed is not known here.
fn deployed_version(reference: &str) -> Result<lockstep_core::contract::ComponentVersion, String> {
    let bare = reference
        .strip_prefix(['v', 'V'])
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(reference);
    let commit = (7..=40).contains(&bare.len()) && bare.chars().all(|c| c.is_ascii_hexdigit());
    if !bare.starts_with(|c: char| c.is_ascii_digit()) && !commit {
        return Err(format!(
            "`{reference}` is not a version: deploy a tag (v1.2.0) or a commit, or name `version` in the deployment's payload"
        ));
    }
    lockstep_core::contract::ComponentVersion::parse(bare)
}

/// `POST /api/v1/webhooks/github`.
pub(crate) async fn github(
    Extract(app): Shared,
    headers: HeaderMap,
    crate::extract::ApiBytes(body): crate::extract::ApiBytes,
) -> Result<Response, ApiError> {
    let Some(secret) = app.config.webhooks.github.as_deref() else {
        return Err(refuse_unauthenticated(
            "github",
            "no GitHub webhook secret is configured",
        ));
    };
    let Some(signature) = header(&headers, "x-hub-signature-256") else {
        return Err(refuse_unauthenticated(
            "github",
            "the delivery is not signed",
        ));
    };
    if !github_signature_matches(secret, &body, signature) {
        return Err(refuse_unauthenticated(
            "github",
            "the signature does not match",
        ));
    }
    let delivery = required_header(&headers, "x-github-delivery", "github")?;
    let event = required_header(&headers, "x-github-event", "github")?;
    let payload = parse_json(&body, "github")?;
    let parsed = parse_github(event, &payload).inspect_err(|error| log_refused("github", error))?;
    record(&app, "github", &format!("github:{delivery}"), parsed).await
}

/// `POST /api/v1/webhooks/gitlab`.
pub(crate) async fn gitlab(
    Extract(app): Shared,
    headers: HeaderMap,
    crate::extract::ApiBytes(body): crate::extract::ApiBytes,
) -> Result<Response, ApiError> {
    let Some(secret) = app.config.webhooks.gitlab.as_deref() else {
        return Err(refuse_unauthenticated(
            "gitlab",
            "no GitLab webhook token is configured",
        ));
    };
    let Some(token) = header(&headers, "x-gitlab-token") else {
        return Err(refuse_unauthenticated(
            "gitlab",
            "the delivery has no token",
        ));
    };
    if !constant_time_eq(token.as_bytes(), secret.as_bytes()) {
        return Err(refuse_unauthenticated("gitlab", "the token does not match"));
    }
    let delivery = header(&headers, "x-gitlab-event-uuid")
        .or_else(|| header(&headers, "idempotency-key"))
        .ok_or_else(|| {
            let error = ApiError::bad_request(
                "X-Gitlab-Event-UUID",
                "a delivery needs an X-Gitlab-Event-UUID (or Idempotency-Key) header",
            );
            log_refused("gitlab", &error);
            error
        })?;
    let event = required_header(&headers, "x-gitlab-event", "gitlab")?;
    let payload = parse_json(&body, "gitlab")?;
    let parsed = parse_gitlab(event, &payload).inspect_err(|error| log_refused("gitlab", error))?;
    record(&app, "gitlab", &format!("gitlab:{delivery}"), parsed).await
}

fn refuse_unauthenticated(source: &str, why: &str) -> ApiError {
    let error = ApiError::Unauthenticated(format!("{source} webhook refused: {why}"));
    log_refused(source, &error);
    error
}

fn log_refused(source: &str, error: &ApiError) {
    tracing::warn!(source, detail = %error, "webhook delivery refused");
}

fn required_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
    source: &str,
) -> Result<&'h str, ApiError> {
    header(headers, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            let error = ApiError::bad_request(name, format!("the delivery has no {name} header"));
            log_refused(source, &error);
            error
        })
}

fn parse_json(body: &[u8], source: &str) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let error = ApiError::bad_request("body", format!("the body is not JSON: {e}"));
        log_refused(source, &error);
        error
    })
}

fn text<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn required<'v>(value: &'v Value, pointer: &str) -> Result<&'v str, ApiError> {
    text(value, pointer).ok_or_else(|| {
        ApiError::unprocessable(pointer, format!("the payload has no string at {pointer}"))
    })
}

/// GitHub times are RFC 3339; GitLab's are `2016-08-12 15:26:29 UTC` or RFC 3339.
/// An instant as code hosts write it: RFC 3339 (`2019-05-15T15:20:55Z`), or GitLab's
/// `2021-04-28 21:50:00 UTC` and `2021-04-28 21:50:00 +0200`.
fn timestamp(raw: Option<&str>) -> Option<jiff::Timestamp> {
    let raw = raw?;
    raw.parse().ok().or_else(|| {
        let iso = raw.replacen(' ', "T", 1).replace(" UTC", "Z");
        iso.parse()
            .ok()
            .or_else(|| jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S %z", &iso).ok())
    })
}

fn conclusion(raw: &str) -> Result<CiConclusion, ApiError> {
    CiConclusion::parse(raw)
        .ok_or_else(|| ApiError::unprocessable("conclusion", format!("unknown CI status `{raw}`")))
}

fn parse_github(event: &str, payload: &Value) -> Result<Parsed, ApiError> {
    let repository = || {
        text(payload, "/repository/html_url")
            .map(str::to_owned)
            .or_else(|| text(payload, "/repository/full_name").map(|n| format!("github.com/{n}")))
            .ok_or_else(|| {
                ApiError::unprocessable("/repository", "the payload names no repository")
            })
    };
    let ci = |run: &str, workflow: String, branch: &str, commit: &str, at: &[&str]| {
        let status = text(payload, &format!("{run}/conclusion"))
            .or_else(|| text(payload, &format!("{run}/status")))
            .ok_or_else(|| ApiError::unprocessable(run, "the run has no status"))?;
        Ok::<_, ApiError>(Parsed::Signal {
            repository: repository()?,
            environment: None,
            observed_at: at
                .iter()
                .find_map(|field| timestamp(text(payload, &format!("{run}/{field}")))),
            reading: SignalReading::Ci {
                workflow,
                conclusion: conclusion(status)?,
                branch: text(payload, branch).map(str::to_owned),
                commit: text(payload, commit).map(str::to_owned),
            },
        })
    };
    match event {
        "workflow_run" => {
            let name = text(payload, "/workflow_run/name")
                .filter(|n| !n.is_empty())
                .or_else(|| text(payload, "/workflow/name"))
                .unwrap_or("workflow");
            ci(
                "/workflow_run",
                name.to_owned(),
                "/workflow_run/head_branch",
                "/workflow_run/head_sha",
                &["updated_at", "created_at"],
            )
        }
        "check_suite" => ci(
            "/check_suite",
            text(payload, "/check_suite/app/name")
                .unwrap_or("check suite")
                .to_owned(),
            "/check_suite/head_branch",
            "/check_suite/head_sha",
            &["updated_at", "created_at"],
        ),
        "check_run" => ci(
            "/check_run",
            required(payload, "/check_run/name")?.to_owned(),
            "/check_run/check_suite/head_branch",
            "/check_run/head_sha",
            &["completed_at", "started_at"],
        ),
        "ping" => Ok(Parsed::Ignored("ping".into())),
        "issues" => {
            let number = payload
                .pointer("/issue/number")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    ApiError::unprocessable("/issue/number", "the issue has no number")
                })?;
            let labels: Vec<&str> = payload
                .pointer("/issue/labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|label| label.get("name").and_then(Value::as_str))
                .collect();
            Ok(Parsed::Signal {
                repository: repository()?,
                environment: None,
                observed_at: timestamp(text(payload, "/issue/updated_at"))
                    .or_else(|| timestamp(text(payload, "/issue/created_at"))),
                reading: SignalReading::Issue {
                    number,
                    title: text(payload, "/issue/title").unwrap_or_default().to_owned(),
                    open: text(payload, "/issue/state") != Some("closed"),
                    severity: IssueSeverity::from_labels(labels),
                },
            })
        }
        "deployment_status" => {
            let state = required(payload, "/deployment_status/state")?;
            if state != "success" {
                repository()?;
                return Ok(Parsed::Ignored(format!(
                    "deployment_status {state} is acknowledged; only a successful deployment records a version"
                )));
            }
            let environment = text(payload, "/deployment_status/environment")
                .or_else(|| text(payload, "/deployment/environment"))
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "/deployment/environment",
                        "the deployment names no environment",
                    )
                })?;
            let reference = text(payload, "/deployment/payload/version")
                .or_else(|| text(payload, "/deployment/ref"))
                .ok_or_else(|| {
                    ApiError::unprocessable("/deployment/ref", "the deployment names no ref")
                })?;
            Ok(Parsed::Deployment(DeploymentHook {
                repository: repository()?,
                environment: environment.to_owned(),
                reference: reference.to_owned(),
                deployed_at: timestamp(text(payload, "/deployment_status/updated_at"))
                    .or_else(|| timestamp(text(payload, "/deployment_status/created_at"))),
            }))
        }
        "release" | "pull_request" => {
            // Verified and understood, but not a signal Lockstep keeps yet.
            repository()?;
            Ok(Parsed::Ignored(format!(
                "{event} {} is acknowledged; it is not recorded as a signal",
                text(payload, "/action").unwrap_or_default()
            )))
        }
        other => Err(ApiError::unprocessable(
            "X-GitHub-Event",
            format!("unsupported GitHub event `{other}`"),
        )),
    }
}

fn parse_gitlab(event: &str, payload: &Value) -> Result<Parsed, ApiError> {
    let repository = || {
        text(payload, "/project/web_url")
            .or_else(|| text(payload, "/repository/homepage"))
            .map(str::to_owned)
            .ok_or_else(|| ApiError::unprocessable("/project", "the payload names no project"))
    };
    match event {
        "Pipeline Hook" => {
            let status = required(payload, "/object_attributes/status")?;
            let workflow = text(payload, "/object_attributes/name")
                .map(str::to_owned)
                .or_else(|| {
                    payload
                        .pointer("/object_attributes/id")
                        .map(|id| format!("pipeline {id}"))
                })
                .unwrap_or_else(|| "pipeline".into());
            Ok(Parsed::Signal {
                repository: repository()?,
                environment: None,
                observed_at: timestamp(text(payload, "/object_attributes/finished_at"))
                    .or_else(|| timestamp(text(payload, "/object_attributes/created_at"))),
                reading: SignalReading::Ci {
                    workflow,
                    conclusion: conclusion(status)?,
                    branch: text(payload, "/object_attributes/ref").map(str::to_owned),
                    commit: text(payload, "/object_attributes/sha").map(str::to_owned),
                },
            })
        }
        "Issue Hook" => {
            let number = payload
                .pointer("/object_attributes/iid")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    ApiError::unprocessable("/object_attributes/iid", "the issue has no number")
                })?;
            let labels: Vec<&str> = payload
                .pointer("/labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|label| label.get("title").and_then(Value::as_str))
                .collect();
            let severity = text(payload, "/object_attributes/severity")
                .and_then(IssueSeverity::from_label)
                .into_iter()
                .chain(IssueSeverity::from_labels(labels))
                .min();
            Ok(Parsed::Signal {
                repository: repository()?,
                environment: None,
                observed_at: timestamp(text(payload, "/object_attributes/updated_at"))
                    .or_else(|| timestamp(text(payload, "/object_attributes/created_at"))),
                reading: SignalReading::Issue {
                    number,
                    title: text(payload, "/object_attributes/title")
                        .unwrap_or_default()
                        .to_owned(),
                    open: text(payload, "/object_attributes/state") == Some("opened"),
                    severity,
                },
            })
        }
        "Deployment Hook" => {
            let status = required(payload, "/status")?;
            if status != "success" {
                repository()?;
                return Ok(Parsed::Ignored(format!(
                    "Deployment Hook {status} is acknowledged; only a successful deployment records a version"
                )));
            }
            Ok(Parsed::Deployment(DeploymentHook {
                repository: repository()?,
                environment: required(payload, "/environment")?.to_owned(),
                reference: required(payload, "/ref")?.to_owned(),
                deployed_at: timestamp(text(payload, "/status_changed_at")),
            }))
        }
        "Merge Request Hook" => {
            repository()?;
            Ok(Parsed::Ignored(format!(
                "{event} is acknowledged; it is not recorded as a signal"
            )))
        }
        other => Err(ApiError::unprocessable(
            "X-Gitlab-Event",
            format!("unsupported GitLab event `{other}`"),
        )),
    }
}

/// Maps the repository to its component and records the signal as the webhook.
async fn record(
    app: &AppState,
    source: &str,
    delivery: &str,
    parsed: Parsed,
) -> Result<Response, ApiError> {
    let (repository, environment, observed_at, reading) = match parsed {
        Parsed::Signal {
            repository,
            environment,
            observed_at,
            reading,
        } => (repository, environment, observed_at, reading),
        Parsed::Deployment(hook) => {
            return record_deployment(app, source, hook).await;
        }
        Parsed::Ignored(reason) => return Ok(ignored(reason)),
    };
    let mut state = app.state.write().await;
    app.catch_up_locked(&mut state).await?;
    let component = component_of(&state, source, &repository)?;
    let now = app.now();
    let signal = Signal {
        component,
        environment,
        source: source.to_owned(),
        delivery: delivery.to_owned(),
        observed_at: observed_at.unwrap_or(now),
        reading,
    };
    commit_signal(app, &mut state, signal, &format!("webhook:{source}"))
        .await
        .inspect_err(|error| log_refused(source, error))
}

/// A successful deployment: its version now runs in its environment. A deployment
/// Lockstep cannot place (an environment it does not know, such as a review app, or a
/// ref that is no version), or one older than the deployment recorded (a redelivery), is
/// acknowledged with the reason, so that the code host does not retry it.
async fn record_deployment(
    app: &AppState,
    source: &str,
    hook: DeploymentHook,
) -> Result<Response, ApiError> {
    let DeploymentHook {
        repository,
        environment,
        reference,
        deployed_at,
    } = hook;
    let version = match deployed_version(&reference) {
        Ok(version) => version,
        Err(reason) => return Ok(ignored(reason)),
    };
    let mut state = app.state.write().await;
    app.catch_up_locked(&mut state).await?;
    let component = component_of(&state, source, &repository)?;
    let Some(environment) = Name::parse(&environment)
        .ok()
        .filter(|name| state.environments().contains_key(name))
    else {
        return Ok(ignored(format!(
            "no environment `{environment}` in Lockstep: the deployment is not recorded"
        )));
    };
    let current = state.contracts().deployed_in(&environment, &component);
    if let (Some(current), Some(at)) = (current, deployed_at)
        && current.at > at
    {
        return Ok(ignored(format!(
            "this deployment of {version} ({at}) is older than the one recorded for {component} in {environment} ({} at {}): not recorded",
            current.version, current.at
        )));
    }
    let actor = format!("webhook:{source}");
    let command = Command::RecordDeployment {
        component,
        environment,
        version,
        deployed_at,
        by: actor.clone(),
    };
    let events = lockstep_core::decide(&state, command, app.now())?;
    commit(app, &mut state, events, &actor)
        .await
        .inspect_err(|error| log_refused(source, error))
}

/// The answer to a delivery that is verified and understood but records nothing.
fn ignored(reason: String) -> Response {
    axum::Json(json!({ "recorded": false, "reason": reason })).into_response()
}

/// The component whose repository is `repository`; 422 when none is.
fn component_of(state: &State, source: &str, repository: &str) -> Result<Name, ApiError> {
    state
        .component_by_repository(repository)
        .map(|c| c.name.clone())
        .ok_or_else(|| {
            let error = ApiError::unprocessable(
                "repository",
                format!("no component has the repository `{repository}`"),
            );
            log_refused(source, &error);
            error
        })
}

/// Decides and commits a signal as `actor`.
async fn commit_signal(
    app: &AppState,
    state: &mut State,
    signal: Signal,
    actor: &str,
) -> Result<Response, ApiError> {
    let events = lockstep_core::decide(state, Command::RecordSignal { signal }, app.now())?;
    commit(app, state, events, actor).await
}

/// Commits `events` as `actor` and answers what was recorded.
async fn commit(
    app: &AppState,
    state: &mut State,
    events: Vec<lockstep_core::Event>,
    actor: &str,
) -> Result<Response, ApiError> {
    let now = app.now();
    let meta = EventMeta {
        actor: actor.to_owned(),
        at: now,
        reason: None,
    };
    let recorded: Vec<Recorded> = app.program.commit(state, events, &meta, &[]).await?;
    app.publish(state, &recorded);
    Ok(axum::Json(json!({
        "recorded": !recorded.is_empty(),
        "events": recorded.iter().map(|r| json!({
            "position": r.position,
            "summary": r.event.describe(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// The go/no-go verdict on the wire: the shape of `GET /api/v1/releases/{name}/gonogo`
/// and of `lockstep gonogo -o json`.
pub fn verdict_json(verdict: &Verdict) -> Value {
    json!({
        "release": verdict.release,
        "verdict": if verdict.is_go() { "go" } else { "no-go" },
        "components": verdict.components,
        "reasons": verdict.reasons(),
        "criteria": verdict.criteria.iter().map(|c| json!({
            "id": c.id,
            "title": c.title,
            "status": c.status.as_str(),
            "evidence": c.evidence,
            "missing": c.missing,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/releases/{name}/gonogo`: the verdict, evaluated now from the state,
/// with the checklist and the meeting's sign-offs.
pub(crate) async fn gonogo(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let release = crate::wire::path_name("release", &name)?;
    let state = app.state.read().await;
    let assessment = lockstep_core::checklist::assess(&state, &release)?;
    Ok(axum::Json(crate::checklists::assessment_json(&assessment)))
}

/// `POST /api/v1/signals` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SignalBody {
    component: Option<String>,
    repository: Option<String>,
    environment: Option<String>,
    delivery: String,
    observed_at: jiff::Timestamp,
    reading: ReadingBody,
}

/// The wire form of a reading; converted by hand so the core type can change alone.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum ReadingBody {
    #[serde(rename_all = "camelCase")]
    Ci {
        workflow: String,
        conclusion: String,
        branch: Option<String>,
        commit: Option<String>,
    },
    Bugs {
        critical: u32,
        high: u32,
        #[serde(default)]
        medium: u32,
        #[serde(default)]
        low: u32,
    },
    SecurityScan {
        critical: u32,
        high: u32,
    },
    SmokeTest {
        passed: bool,
        #[serde(default)]
        failed: u32,
    },
    #[serde(rename_all = "camelCase")]
    ErrorRate {
        percent: f64,
    },
    #[serde(rename_all = "camelCase")]
    Latency {
        p95_ms: u32,
    },
}

impl ReadingBody {
    fn reading(self) -> Result<SignalReading, ApiError> {
        Ok(match self {
            ReadingBody::Ci {
                workflow,
                conclusion: raw,
                branch,
                commit,
            } => SignalReading::Ci {
                workflow,
                conclusion: conclusion(&raw)?,
                branch,
                commit,
            },
            ReadingBody::Bugs {
                critical,
                high,
                medium,
                low,
            } => SignalReading::Bugs {
                critical,
                high,
                medium,
                low,
            },
            ReadingBody::SecurityScan { critical, high } => {
                SignalReading::SecurityScan { critical, high }
            }
            ReadingBody::SmokeTest { passed, failed } => {
                SignalReading::SmokeTest { passed, failed }
            }
            ReadingBody::ErrorRate { percent } => {
                if !(0.0..=100.0).contains(&percent) {
                    return Err(ApiError::unprocessable(
                        "reading.percent",
                        "an error rate is between 0 and 100 percent",
                    ));
                }
                // Basis points: exact comparisons in core, 0.01% resolution.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let basis_points = (percent * 100.0).round() as u32;
                SignalReading::ErrorRate { basis_points }
            }
            ReadingBody::Latency { p95_ms } => SignalReading::Latency { p95_ms },
        })
    }
}

/// `POST /api/v1/signals`: a signal from a script or the CLI, as the caller.
pub(crate) async fn record_signal(
    Extract(app): Shared,
    caller: Caller,
    ApiJson(body): ApiJson<SignalBody>,
) -> Result<Response, ApiError> {
    let principal = caller.principal()?.clone();
    let parse_name = |field: &str, raw: &str| {
        Name::parse(raw).map_err(|e| ApiError::unprocessable(field, e.to_string()))
    };
    let environment = body
        .environment
        .as_deref()
        .map(|raw| parse_name("environment", raw))
        .transpose()?;
    let reading = body.reading.reading()?;
    let mut state = app.state.write().await;
    app.catch_up_locked(&mut state).await?;
    let component = match (&body.component, &body.repository) {
        (Some(component), None) => parse_name("component", component)?,
        (None, Some(repository)) => state
            .component_by_repository(repository)
            .map(|c| c.name.clone())
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "repository",
                    format!("no component has the repository `{repository}`"),
                )
            })?,
        _ => {
            return Err(ApiError::unprocessable(
                "component",
                "name either a component or a repository",
            ));
        }
    };
    let signal = Signal {
        component,
        environment,
        source: "api".into(),
        delivery: body.delivery,
        observed_at: body.observed_at,
        reading,
    };
    let command = Command::RecordSignal {
        signal: signal.clone(),
    };
    if let Err(denied) = authorize(&state, &principal, &command) {
        let error = denied.to_string();
        crate::runs::record_refusal(&app, &state, &principal.user, &command, "denied", &error)
            .await;
        return Err(denied.into());
    }
    match commit_signal(&app, &mut state, signal, &principal.user).await {
        Err(ApiError::Domain(refused)) => {
            let error = refused.to_string();
            crate::runs::record_refusal(&app, &state, &principal.user, &command, "domain", &error)
                .await;
            Err(ApiError::Domain(refused))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{deployed_version, timestamp};

    #[test]
    fn code_hosts_instants_are_read_in_each_of_their_formats() {
        let utc = |raw: &str| timestamp(Some(raw)).map(|at| at.to_string());
        let expected = Some("2021-04-28T19:50:00Z".to_owned());
        assert_eq!(utc("2021-04-28T19:50:00Z"), expected);
        assert_eq!(utc("2021-04-28 19:50:00 UTC"), expected);
        assert_eq!(utc("2021-04-28 21:50:00 +0200"), expected);
        assert_eq!(utc("yesterday"), None);
        assert_eq!(timestamp(None), None);
    }

    #[test]
    fn tags_and_commits_are_versions_and_branches_are_not() {
        let version = |raw: &str| deployed_version(raw).map(|v| v.as_str().to_owned());
        assert_eq!(version("v1.2.0").as_deref(), Ok("1.2.0"));
        assert_eq!(version("2025.1.3").as_deref(), Ok("2025.1.3"));
        assert_eq!(version("9fceb02").as_deref(), Ok("9fceb02"));
        for branch in ["main", "master", "feature/export", "vnext", "abc", ""] {
            assert!(version(branch).is_err(), "{branch}");
        }
    }
}
