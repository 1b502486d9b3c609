//! Writes under `/api/v1`: the domain verbs and the create/update of every resource.
//!
//! Every write takes the one path: parse the wire body into a core `Command`, take
//! the state's write lock, catch up with the log, check `If-Match` against the
//! resource's stream version, authorize, `decide`, `Program::commit` with the
//! expectations of the streams the decision read, apply, publish to the live feed,
//! answer with the resource and its new ETag. POSTs with an `Idempotency-Key` store
//! their response and replay it on retry.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State as Extract};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post, put};
use lockstep_core::access::{Principal, authorize};
use lockstep_core::{Command, EventMeta, Name, Recorded, State};
use serde_json::{Value, json};
use sha2::Digest;

use crate::auth::Caller;
use crate::extract::{ApiJson, DryRun, IfMatch, etag};
use crate::wire::{self, path_name};
use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/teams", post(create_team))
        .route("/teams/{name}", put(put_team))
        .route("/components", post(create_component))
        .route("/components/{name}", put(put_component))
        .route("/environments", post(create_environment))
        .route("/environments/{name}", put(put_environment))
        .route("/releases", post(create_release))
        .route("/releases/{name}", put(put_release))
        .route("/releases/{name}/state", post(release_state))
        .route("/releases/{name}/lessons", post(record_lesson))
        .route("/releases/{name}/coordination", post(record_coordination))
        .route(
            "/releases/{name}/coordination/{number}/retract",
            post(retract_coordination),
        )
        .route(
            "/releases/{name}/coordination/rating",
            post(rate_coordination),
        )
        .route("/releases/{name}/items", post(create_item))
        .route("/items/{name}", put(put_item))
        .route("/items/{name}/status", post(move_item))
        .route("/items/{name}/eta", post(set_eta))
        .route("/items/{name}/updates", post(post_update))
        .route("/items/{name}/acknowledge", post(acknowledge))
        .route(
            "/integration-tasks/{name}/scenarios/{number}",
            post(record_scenario_result),
        )
        .route("/risk-register/{name}/status", post(risk_status))
        .route("/dependencies", post(add_dependency))
        .route(
            "/dependencies/{blocker}/{blocked}",
            delete(remove_dependency),
        )
        .merge(crate::checklists::write_routes())
        .merge(crate::contracts::write_routes())
        .route("/releases/{name}/run", post(crate::runs::start_run))
        .route(
            "/releases/{name}/run/steps/{step}",
            post(crate::runs::change_step),
        )
        .route(
            "/releases/{name}/run/rollback",
            post(crate::runs::start_rollback),
        )
}

/// Which resource a write answers with, and whose stream versions it.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Team(Name),
    Component(Name),
    Environment(Name),
    Release(Name),
    Item(Name),
    Dependency(Name, Name),
    /// A release's checklist and go/no-go meeting (versioned by the release stream).
    Readiness(Name),
    /// A release's deployment run (stream `run:RELEASE`).
    Run(Name),
    /// An integration task (versioned by its release's stream).
    IntegrationTask(Name),
    /// A registered risk (versioned by its release's stream).
    Risk(Name),
    /// An interface with its verifications and proposals (stream `interface:NAME`).
    Interface(Name),
    /// The component versions deployed in an environment (its stream).
    Deployments(Name),
    /// A release's coordination records (versioned by the release stream).
    Coordination(Name),
}

impl Target {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Target::Team(_) => "team",
            Target::Component(_) => "component",
            Target::Environment(_) => "environment",
            Target::Release(_) => "release",
            Target::Item(_) => "item",
            Target::Dependency(..) => "dependency",
            Target::Readiness(_) => "release",
            Target::Run(_) => "run of release",
            Target::IntegrationTask(_) => "integration task",
            Target::Risk(_) => "risk",
            Target::Interface(_) => "interface",
            Target::Deployments(_) => "environment",
            Target::Coordination(_) => "release",
        }
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Target::Team(n)
            | Target::Component(n)
            | Target::Environment(n)
            | Target::Release(n)
            | Target::Item(n)
            | Target::Readiness(n)
            | Target::Run(n)
            | Target::IntegrationTask(n)
            | Target::Risk(n)
            | Target::Interface(n)
            | Target::Deployments(n)
            | Target::Coordination(n) => n.as_str().to_owned(),
            Target::Dependency(a, b) => format!("{a}/{b}"),
        }
    }

    /// The stream that versions the resource; `None` when it does not exist.
    pub(crate) fn stream(&self, state: &State) -> Option<String> {
        match self {
            Target::Team(n) => state.teams().contains_key(n).then(|| format!("team:{n}")),
            Target::Component(n) => state
                .components()
                .contains_key(n)
                .then(|| format!("component:{n}")),
            Target::Environment(n) => state
                .environments()
                .contains_key(n)
                .then(|| format!("environment:{n}")),
            Target::Release(n) | Target::Readiness(n) | Target::Coordination(n) => state
                .releases()
                .contains_key(n)
                .then(|| format!("release:{n}")),
            Target::Item(n) | Target::Dependency(_, n) => state
                .items()
                .get(n)
                .map(|i| format!("release:{}", i.release)),
            Target::Run(n) => state
                .runs()
                .contains_key(n)
                .then(|| lockstep_core::run::stream(n)),
            Target::IntegrationTask(n) => state
                .integration_tasks()
                .get(n)
                .map(|t| format!("release:{}", t.release)),
            Target::Risk(n) => state
                .risks()
                .get(n)
                .map(|r| format!("release:{}", r.release)),
            Target::Interface(n) => state
                .contracts()
                .interfaces
                .contains_key(n)
                .then(|| lockstep_core::contract::stream(n)),
            Target::Deployments(n) => state
                .environments()
                .contains_key(n)
                .then(|| format!("environment:{n}")),
        }
    }

    /// The resource as JSON, if it exists.
    pub(crate) fn render(&self, state: &State) -> Option<Value> {
        match self {
            Target::Team(n) => state.teams().get(n).map(|t| json!(t)),
            Target::Component(n) => state.components().get(n).map(|c| json!(c)),
            Target::Environment(n) => state.environments().get(n).map(|e| json!(e)),
            Target::Release(n) => state.releases().get(n).map(|r| json!(r)),
            Target::Item(n) => state.items().get(n).map(|item| item_json(state, item)),
            Target::Dependency(a, b) => state.dependency(a, b).map(|d| json!(d)),
            Target::Readiness(n) => lockstep_core::checklist::assess(state, n)
                .ok()
                .map(|assessment| crate::checklists::assessment_json(&assessment)),
            Target::Run(n) => state.runs().get(n).map(crate::runs::run_json),
            Target::IntegrationTask(n) => state.integration_tasks().get(n).map(|t| json!(t)),
            Target::Risk(n) => state.risks().get(n).map(risk_json),
            Target::Interface(n) => state
                .contracts()
                .interfaces
                .get(n)
                .map(|interface| crate::contracts::interface_json(state, interface)),
            Target::Deployments(n) => crate::contracts::environment_deployments_json(state, n),
            Target::Coordination(n) => state.releases().contains_key(n).then(|| {
                json!({ "release": n, "entries": state.coordination_of(n),
                        "ratings": state.ratings_of(n) })
            }),
        }
    }
}

/// A registered risk as the API and `lockstep describe risk` show it: as the state
/// holds it, with its exposure (probability × impact, 1 to 9).
pub fn risk_json(risk: &lockstep_core::Risk) -> Value {
    json!({
        "name": risk.name,
        "release": risk.release,
        "spec": risk.spec,
        "status": risk.status,
        "exposure": risk.spec.exposure(),
    })
}

/// An item as the API and `lockstep describe item` show it: with what it blocks, what
/// blocks it, and whether it is at risk and why (the chain from the root cause to it).
pub fn item_json(state: &State, item: &lockstep_core::Item) -> Value {
    let report = lockstep_core::risk::assess(state);
    let risk = report.items.get(&item.name).map(|risk| {
        json!({
            "projectedFinish": risk.projected_finish,
            "chain": report.chain(&item.name),
        })
    });
    json!({
        "item": item,
        "blocks": state.blocks(&item.name).collect::<Vec<_>>(),
        "blockedBy": state.blocked_by(&item.name).collect::<Vec<_>>(),
        "risk": risk,
    })
}

/// What a write asks for besides its command.
pub(crate) struct Write {
    pub(crate) command: Command,
    pub(crate) target: Target,
    pub(crate) if_match: IfMatch,
    /// Decide and answer with the change and its impact, commit nothing.
    pub(crate) dry_run: DryRun,
    pub(crate) reason: Option<String>,
    pub(crate) created: bool,
}

/// Refuses a write whose free text (its reason, a note, a rejection, a status update) is
/// longer than the wire accepts, before anything is decided.
fn check_free_text(write: &Write) -> Result<(), ApiError> {
    use lockstep_core::checklist::SignOffDecision;
    let reason = wire::MAX_REASON_CHARS;
    let mut texts: Vec<(&str, Option<&String>, usize)> = Vec::new();
    match &write.command {
        Command::CheckItem { note, .. } => texts.push(("note", note.as_ref(), reason)),
        Command::SignOff {
            decision: SignOffDecision::Reject { reason: why },
            ..
        } => texts.push(("reason", Some(why), reason)),
        Command::ChangeRunStep {
            note, break_glass, ..
        } => {
            texts.push(("note", note.as_ref(), reason));
            texts.push(("breakGlassReason", break_glass.as_ref(), reason));
        }
        Command::StartRun { options, .. } => {
            texts.push(("breakGlassReason", options.break_glass.as_ref(), reason));
        }
        Command::PostUpdate { update, .. } => {
            texts.push(("text", Some(&update.text), wire::MAX_UPDATE_CHARS));
        }
        Command::DecideInterfaceChange { rationale, .. } => {
            texts.push(("rationale", Some(rationale), reason));
        }
        _ => {}
    }
    // Last: a note or a break-glass reason is also the write's reason, and the error
    // should name the field the caller sent.
    texts.push(("reason", write.reason.as_ref(), reason));
    texts.into_iter().try_for_each(|(field, text, limit)| {
        text.map_or(Ok(()), |text| wire::check_length(field, text, limit))
    })
}

/// The one path of every write. Returns the resource after the change with its ETag.
pub(crate) async fn execute(
    app: &AppState,
    caller: &Caller,
    write: Write,
) -> Result<Response, ApiError> {
    let principal: &Principal = caller.principal()?;
    check_free_text(&write)?;
    let mut state = app.state.write().await;
    // A decision must never read a state older than the log: another replica or the
    // CLI may have appended since the last poll.
    app.catch_up_locked(&mut state).await?;
    if let IfMatch(Some(tags)) = &write.if_match {
        let Some(stream) = write.target.stream(&state) else {
            return Err(ApiError::PreconditionFailed {
                kind: write.target.kind(),
                name: write.target.name(),
                expected: if tags.is_empty() {
                    "it to exist (*)".to_owned()
                } else {
                    tags.join(", ")
                },
                actual: 0,
            });
        };
        let actual = state.stream_version(&stream);
        if !tags.is_empty() && !tags.iter().any(|tag| tag == &actual.to_string()) {
            return Err(ApiError::PreconditionFailed {
                kind: write.target.kind(),
                name: write.target.name(),
                expected: tags.join(", "),
                actual,
            });
        }
    }
    // Every refusal, by authorization or by a rule, goes to the audit log; a preview's
    // refusal is an answer, not an attempt.
    let audit = !write.dry_run.0;
    if let Err(denied) = authorize(&state, principal, &write.command) {
        if !audit {
            return Err(denied.into());
        }
        let error = denied.to_string();
        crate::runs::record_refusal(
            app,
            &state,
            &principal.user,
            &write.command,
            "denied",
            &error,
        )
        .await;
        return Err(denied.into());
    }
    let now = app.now();
    let command = write.command.clone();
    let events = match lockstep_core::decide(&state, write.command, now) {
        Ok(events) => events,
        Err(refused) => {
            if audit {
                let error = refused.to_string();
                crate::runs::record_refusal(
                    app,
                    &state,
                    &principal.user,
                    &command,
                    "domain",
                    &error,
                )
                .await;
            }
            return Err(refused.into());
        }
    };
    if write.dry_run.0 {
        return Ok(preview(&state, &write.target, &events));
    }
    let meta = EventMeta {
        actor: principal.user.clone(),
        at: now,
        reason: write.reason,
    };
    let recorded: Vec<Recorded> = app.program.commit(&mut state, events, &meta, &[]).await?;
    app.publish(&state, &recorded);
    let body = write
        .target
        .render(&state)
        .unwrap_or_else(|| json!({ "deleted": write.target.name() }));
    let version = write
        .target
        .stream(&state)
        .map(|stream| state.stream_version(&stream));
    drop(state);
    let status = if write.created && !recorded.is_empty() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&json!({
            "resource": body,
            "events": recorded.iter().map(|r| json!({
                "position": r.position,
                "summary": r.event.describe(),
                "event": r.event,
            })).collect::<Vec<_>>(),
        }))
        .unwrap_or_default(),
    )
        .into_response();
    if let Some(version) = version
        && let Ok(value) = HeaderValue::from_str(&etag(version))
    {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

/// The answer to a dry run: the resource as it would be, the events that would be
/// recorded, and what they would do to the program (releases, items newly at risk with
/// their chains, teams to tell).
fn preview(state: &State, target: &Target, events: &[lockstep_core::Event]) -> Response {
    let impact = lockstep_core::change::impact(state, events);
    let after = lockstep_core::change::after(state, events);
    let body = json!({
        "dryRun": true,
        "resource": target.render(&after).unwrap_or_else(|| json!({ "deleted": target.name() })),
        "events": events.iter().map(|event| json!({
            "summary": event.describe(),
            "event": event,
        })).collect::<Vec<_>>(),
        "impact": impact,
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

pub(crate) fn write(command: Command, target: Target, if_match: IfMatch, dry_run: DryRun) -> Write {
    Write {
        command,
        target,
        if_match,
        dry_run,
        reason: None,
        created: false,
    }
}

async fn create_team(
    Extract(app): Shared,
    caller: Caller,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::Create<wire::TeamBody>>,
) -> Result<Response, ApiError> {
    let team = body.name()?;
    if app.state.read().await.teams().contains_key(&team) {
        return Err(exists("team", &team));
    }
    let command = Command::DefineTeam {
        team: team.clone(),
        spec: body.spec.spec()?,
    };
    let mut w = write(command, Target::Team(team), IfMatch::default(), dry_run);
    w.created = true;
    execute(&app, &caller, w).await
}

fn exists(kind: &'static str, name: &Name) -> ApiError {
    ApiError::Domain(lockstep_core::DomainError::Duplicate {
        kind,
        name: name.as_str().to_owned(),
    })
}

async fn put_team(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::TeamBody>,
) -> Result<Response, ApiError> {
    let team = path_name("team", &name)?;
    let command = Command::DefineTeam {
        team: team.clone(),
        spec: body.spec()?,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Team(team), if_match, dry_run),
    )
    .await
}

async fn create_component(
    Extract(app): Shared,
    caller: Caller,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::Create<wire::ComponentBody>>,
) -> Result<Response, ApiError> {
    let component = body.name()?;
    if app.state.read().await.components().contains_key(&component) {
        return Err(exists("component", &component));
    }
    let command = Command::DefineComponent {
        component: component.clone(),
        spec: body.spec.spec()?,
    };
    let mut w = write(
        command,
        Target::Component(component),
        IfMatch::default(),
        dry_run,
    );
    w.created = true;
    execute(&app, &caller, w).await
}

async fn put_component(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::ComponentBody>,
) -> Result<Response, ApiError> {
    let component = path_name("component", &name)?;
    let command = Command::DefineComponent {
        component: component.clone(),
        spec: body.spec()?,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Component(component), if_match, dry_run),
    )
    .await
}

async fn create_environment(
    Extract(app): Shared,
    caller: Caller,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::Create<wire::EnvironmentBody>>,
) -> Result<Response, ApiError> {
    let environment = body.name()?;
    if app
        .state
        .read()
        .await
        .environments()
        .contains_key(&environment)
    {
        return Err(exists("environment", &environment));
    }
    let command = Command::DefineEnvironment {
        environment: environment.clone(),
        spec: body.spec.spec()?,
    };
    let mut w = write(
        command,
        Target::Environment(environment),
        IfMatch::default(),
        dry_run,
    );
    w.created = true;
    execute(&app, &caller, w).await
}

async fn put_environment(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::EnvironmentBody>,
) -> Result<Response, ApiError> {
    let environment = path_name("environment", &name)?;
    let command = Command::DefineEnvironment {
        environment: environment.clone(),
        spec: body.spec()?,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Environment(environment), if_match, dry_run),
    )
    .await
}

async fn create_release(
    Extract(app): Shared,
    caller: Caller,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::Create<wire::ReleaseBody>>,
) -> Result<Response, ApiError> {
    let release = body.name()?;
    if app.state.read().await.releases().contains_key(&release) {
        return Err(exists("release", &release));
    }
    let command = Command::DefineRelease {
        release: release.clone(),
        spec: body.spec.spec(None)?,
    };
    let mut w = write(
        command,
        Target::Release(release),
        IfMatch::default(),
        dry_run,
    );
    w.created = true;
    execute(&app, &caller, w).await
}

async fn put_release(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::ReleaseBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let existing = app
        .state
        .read()
        .await
        .releases()
        .get(&release)
        .map(|r| r.spec.clone());
    let command = Command::DefineRelease {
        release: release.clone(),
        spec: body.spec(existing.as_ref())?,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Release(release), if_match, dry_run),
    )
    .await
}

async fn release_state(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::ReleaseStateRequest>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let command = body.command(release.clone())?;
    let mut w = write(command, Target::Release(release), if_match, dry_run);
    w.reason = body.reason;
    execute(&app, &caller, w).await
}

/// `POST /releases/{name}/lessons` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonRequest {
    text: String,
}

/// `POST /releases/{name}/lessons`: keep a lesson with a release, as the caller. Any
/// state, shipped included: that is when retrospectives happen.
async fn record_lesson(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<LessonRequest>,
) -> Result<Response, ApiError> {
    on_release_as_caller(
        &app,
        &caller,
        &name,
        if_match,
        dry_run,
        Target::Release,
        |release, by| Command::RecordLesson {
            release,
            text: body.text,
            by,
        },
    )
    .await
}

/// `POST /releases/{name}/coordination` body: one meeting, call, e-mail thread or chat.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CoordinationRequest {
    #[serde(default)]
    activity: lockstep_core::coordination::Activity,
    minutes: u32,
    #[serde(default = "one")]
    people: u32,
    #[serde(default)]
    on: Option<jiff::civil::Date>,
    #[serde(default)]
    note: Option<String>,
}

fn one() -> u32 {
    1
}

/// `POST /releases/{name}/coordination`: record time spent coordinating a release outside
/// Lockstep, as the caller. Answers with the release's records.
async fn record_coordination(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<CoordinationRequest>,
) -> Result<Response, ApiError> {
    on_release_as_caller(
        &app,
        &caller,
        &name,
        if_match,
        dry_run,
        Target::Coordination,
        |release, by| Command::RecordCoordination {
            release,
            activity: body.activity,
            minutes: body.minutes,
            people: body.people,
            on: body.on,
            note: body.note,
            by,
        },
    )
    .await
}

/// `POST /releases/{name}/coordination/rating` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingRequest {
    score: u8,
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /releases/{name}/coordination/rating`: how the caller found the coordination of
/// the release, 1 to 5; a later rating replaces theirs.
async fn rate_coordination(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<RatingRequest>,
) -> Result<Response, ApiError> {
    on_release_as_caller(
        &app,
        &caller,
        &name,
        if_match,
        dry_run,
        Target::Coordination,
        |release, by| Command::RateCoordination {
            release,
            score: body.score,
            comment: body.comment,
            by,
        },
    )
    .await
}

/// `POST /releases/{name}/coordination/{number}/retract`: withdraw a record entered by
/// mistake (its recorder or a release manager). It stays in the record, counting nothing.
async fn retract_coordination(
    Extract(app): Shared,
    caller: Caller,
    Path((name, number)): Path<(String, String)>,
    if_match: IfMatch,
    dry_run: DryRun,
) -> Result<Response, ApiError> {
    let number = number.parse::<u32>().map_err(|_| {
        ApiError::bad_request("number", format!("`{number}` is not a record number"))
    })?;
    on_release_as_caller(
        &app,
        &caller,
        &name,
        if_match,
        dry_run,
        Target::Coordination,
        |release, by| Command::RetractCoordination {
            release,
            number,
            by,
        },
    )
    .await
}

/// A write about the release `name` that records who made it: `command` gets the release
/// and the caller's login name; the answer is `target` of the release.
async fn on_release_as_caller(
    app: &AppState,
    caller: &Caller,
    name: &str,
    if_match: IfMatch,
    dry_run: DryRun,
    target: fn(Name) -> Target,
    command: impl FnOnce(Name, String) -> Command,
) -> Result<Response, ApiError> {
    let release = path_name("release", name)?;
    let command = command(release.clone(), caller.principal()?.user.clone());
    execute(
        app,
        caller,
        write(command, target(release), if_match, dry_run),
    )
    .await
}

async fn create_item(
    Extract(app): Shared,
    caller: Caller,
    dry_run: DryRun,
    Path(release): Path<String>,
    ApiJson(body): ApiJson<wire::Create<wire::ItemBody>>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &release)?;
    let item = body.name()?;
    if app.state.read().await.items().contains_key(&item) {
        return Err(exists("item", &item));
    }
    let command = Command::DefineItem {
        item: item.clone(),
        release,
        spec: body.spec.spec()?,
    };
    let mut w = write(command, Target::Item(item), IfMatch::default(), dry_run);
    w.created = true;
    execute(&app, &caller, w).await
}

/// `PUT /items/{name}` body: the release it belongs to and its declaration.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutItem {
    release: String,
    spec: wire::ItemBody,
}

async fn put_item(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<PutItem>,
) -> Result<Response, ApiError> {
    let item = path_name("item", &name)?;
    let release = lockstep_core::Name::parse(&body.release)
        .map_err(|e| ApiError::unprocessable("release", e.to_string()))?;
    let command = Command::DefineItem {
        item: item.clone(),
        release,
        spec: body.spec.spec()?,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Item(item), if_match, dry_run),
    )
    .await
}

async fn move_item(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::MoveItemRequest>,
) -> Result<Response, ApiError> {
    let item = path_name("item", &name)?;
    let command = body.command(item.clone())?;
    let mut w = write(command, Target::Item(item), if_match, dry_run);
    w.reason = body.reason;
    execute(&app, &caller, w).await
}

async fn set_eta(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::SetEtaRequest>,
) -> Result<Response, ApiError> {
    let item = path_name("item", &name)?;
    let command = Command::SetEta {
        item: item.clone(),
        eta: body.eta,
    };
    let mut w = write(command, Target::Item(item), if_match, dry_run);
    w.reason = body.reason;
    execute(&app, &caller, w).await
}

/// `POST /risk-register/{name}/status`: move a registered risk, with the reason.
async fn risk_status(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::RiskStatusRequest>,
) -> Result<Response, ApiError> {
    let risk = path_name("risk", &name)?;
    let command = body.command(risk.clone())?;
    let mut w = write(command, Target::Risk(risk), if_match, dry_run);
    w.reason = Some(body.reason);
    execute(&app, &caller, w).await
}

/// `POST /integration-tasks/{name}/scenarios/{number}`: a scenario's result, numbered
/// from 1 as the task lists them.
async fn record_scenario_result(
    Extract(app): Shared,
    caller: Caller,
    Path((name, number)): Path<(String, String)>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::ScenarioResultRequest>,
) -> Result<Response, ApiError> {
    let task = path_name("integration task", &name)?;
    let scenario = number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .ok_or_else(|| {
            ApiError::bad_request(
                "number",
                format!("`{number}` is not a scenario number: scenarios are numbered from 1"),
            )
        })?;
    let command = Command::RecordScenarioResult {
        task: task.clone(),
        scenario,
        result: body.result()?,
    };
    let mut w = write(command, Target::IntegrationTask(task), if_match, dry_run);
    w.reason = body.reason;
    execute(&app, &caller, w).await
}

/// `POST /items/{name}/acknowledge`: someone answers for the blocker `name`. Its
/// escalations (named, in the outbox, by the event that raised each) are recorded as
/// acknowledged by an `EscalationAcknowledged` event, and their notices not yet sent are
/// cancelled in the same transaction. Acknowledging again records and cancels nothing.
/// Whoever may post on the item may acknowledge it.
async fn acknowledge(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    _: crate::extract::NoBody,
) -> Result<Response, ApiError> {
    use lockstep_comms::escalation;
    let principal = caller.principal()?;
    let item = path_name("item", &name)?;
    let Some(outbox) = &app.config.outbox else {
        return Err(ApiError::Domain(lockstep_core::DomainError::invalid(
            "item",
            "this server writes no messages (it has no notification file), so no escalation is pending",
        )));
    };
    // Read before the state is caught up: an acknowledgement committed meanwhile is in
    // the state, and decide leaves out what it answered.
    let keys = outbox
        .keys_with_prefix(&escalation::key_prefix(&item))
        .await?;
    let command = Command::AcknowledgeEscalation {
        item: item.clone(),
        by: principal.user.clone(),
        escalations: escalation::causes(&item, keys.iter().map(String::as_str)),
    };
    let mut state = app.state.write().await;
    app.catch_up_locked(&mut state).await?;
    if !state.items().contains_key(&item) {
        return Err(ApiError::NotFound {
            kind: "item",
            name: item.to_string(),
        });
    }
    if let Err(denied) = authorize(&state, principal, &command) {
        let error = denied.to_string();
        crate::runs::record_refusal(&app, &state, &principal.user, &command, "denied", &error)
            .await;
        return Err(denied.into());
    }
    let now = app.now();
    let events = match lockstep_core::decide(&state, command.clone(), now) {
        Ok(events) => events,
        Err(refused) => {
            let error = refused.to_string();
            crate::runs::record_refusal(&app, &state, &principal.user, &command, "domain", &error)
                .await;
            return Err(refused.into());
        }
    };
    let Some(lockstep_core::Event::EscalationAcknowledged { escalations, .. }) = events.first()
    else {
        return Ok(axum::Json(json!({
            "item": item,
            "cancelled": 0,
            "acknowledged": [],
            "events": [],
        }))
        .into_response());
    };
    let acknowledged = escalations.clone();
    let cancel = lockstep_store::OutboxCancellation {
        key_prefixes: acknowledged
            .iter()
            .map(|cause| escalation::cause_prefix(&item, cause))
            .collect(),
        at: now,
        reason: format!("acknowledged by {}", principal.user),
    };
    let meta = EventMeta {
        actor: principal.user.clone(),
        at: now,
        reason: None,
    };
    let (recorded, cancelled) = app
        .program
        .commit_cancelling(&mut state, events, &meta, &cancel)
        .await?;
    app.publish(&state, &recorded);
    Ok(axum::Json(json!({
        "item": item,
        "cancelled": cancelled,
        "acknowledged": acknowledged,
        "events": recorded.iter().map(|r| json!({
            "position": r.position,
            "summary": r.event.describe(),
            "event": r.event,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn post_update(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::PostUpdateRequest>,
) -> Result<Response, ApiError> {
    let item = path_name("item", &name)?;
    let command = body.command(item.clone())?;
    execute(
        &app,
        &caller,
        write(command, Target::Item(item), if_match, dry_run),
    )
    .await
}

async fn add_dependency(
    Extract(app): Shared,
    caller: Caller,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<wire::DependencyRequest>,
) -> Result<Response, ApiError> {
    let command = body.command()?;
    let Command::DefineDependency {
        blocker,
        blocked,
        need_by,
        buffer_days,
    } = &command
    else {
        return Err(ApiError::Internal(
            "dependency request built another command".into(),
        ));
    };
    // Creating is not changing: a POST that would rewrite an existing dependency's dates
    // must say which version it changes (If-Match), so a stale or partial body does not
    // silently reset its need-by date or buffer. The same body again is a harmless retry.
    if if_match.0.is_none()
        && let Some(existing) = app.state.read().await.dependency(blocker, blocked)
        && (existing.need_by != *need_by || existing.buffer_days != *buffer_days)
    {
        return Err(ApiError::unprocessable(
            "blocked",
            format!(
                "dependency `{blocker}` → `{blocked}` already exists (need-by {}, buffer {} d); to change it, send If-Match with the ETag of GET /api/v1/items/{blocked}",
                existing
                    .need_by
                    .map_or_else(|| "none".to_owned(), |d| d.to_string()),
                existing.buffer_days
            ),
        ));
    }
    let target = Target::Dependency(blocker.clone(), blocked.clone());
    let mut w = write(command, target, if_match, dry_run);
    w.created = true;
    execute(&app, &caller, w).await
}

async fn remove_dependency(
    Extract(app): Shared,
    caller: Caller,
    Path((blocker, blocked)): Path<(String, String)>,
    if_match: IfMatch,
    dry_run: DryRun,
) -> Result<Response, ApiError> {
    let blocker = path_name("item", &blocker)?;
    let blocked = path_name("item", &blocked)?;
    {
        let state = app.state.read().await;
        if state.dependency(&blocker, &blocked).is_none() {
            return Err(ApiError::NotFound {
                kind: "dependency",
                name: format!("{blocker}/{blocked}"),
            });
        }
    }
    let command = Command::RemoveDependency {
        blocker: blocker.clone(),
        blocked: blocked.clone(),
    };
    execute(
        &app,
        &caller,
        write(
            command,
            Target::Dependency(blocker, blocked),
            if_match,
            dry_run,
        ),
    )
    .await
}

/// The header that makes a POST safe to retry.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Replays the stored response of a POST retried with the same `Idempotency-Key` and
/// body; refuses the key reused with another body (422); stores 2xx responses.
pub(crate) async fn idempotent(
    Extract(app): Shared,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    // A preview changes nothing, so there is nothing to replay; storing its answer would
    // replay the preview for the real write that follows with the same key.
    let preview = DryRun::from_query(request.uri().query()).unwrap_or(DryRun(true));
    if request.method() != Method::POST || preview.0 {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return next.run(request).await;
    };
    if key.is_empty() || key.len() > 255 {
        return ApiError::bad_request("Idempotency-Key", "the key must be 1 to 255 characters")
            .into_response();
    }
    let principal = match request.extensions().get::<Caller>().map(Caller::principal) {
        Some(Ok(principal)) => principal.user.clone(),
        _ => return next.run(request).await,
    };
    // Concurrent retries with one key run one at a time: the first executes and stores its
    // response, the others then find and replay it.
    let lock_key = (principal.clone(), key.clone());
    let lock = app
        .idempotency_locks
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .entry(lock_key.clone())
        .or_default()
        .clone();
    let response = {
        let _in_flight = lock.lock().await;
        idempotent_locked(&app, request, next, principal, key).await
    };
    let mut locks = app
        .idempotency_locks
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    // Only the map and this request hold it: nobody else waits for this key.
    if Arc::strong_count(&lock) == 2 {
        locks.remove(&lock_key);
    }
    response
}

async fn idempotent_locked(
    app: &AppState,
    request: Request,
    next: axum::middleware::Next,
    principal: String,
    key: String,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, crate::extract::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::PayloadTooLarge {
                limit: crate::extract::BODY_LIMIT,
            }
            .into_response();
        }
    };
    let mut hasher = sha2::Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let request_hash = crate::auth::hex(&hasher.finalize());
    match app.auth.idempotent_response(&principal, &key).await {
        Ok(Some(stored)) if stored.request_hash == request_hash => {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            return (status, headers, stored.body).into_response();
        }
        Ok(Some(_)) => return ApiError::IdempotencyKeyReused(key).into_response(),
        Ok(None) => {}
        Err(error) => return ApiError::from(error).into_response(),
    }
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::Internal("cannot buffer a response".into()).into_response();
    };
    let stored = lockstep_store::auth::StoredResponse {
        request_hash,
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    let now = app.now().as_second();
    if let Err(error) = app
        .auth
        .save_idempotent_response(&principal, &key, &stored, now)
        .await
    {
        tracing::warn!(%error, "cannot store an idempotent response");
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_note_that_is_also_the_reason_is_refused_as_the_note() {
        let note = "x".repeat(wire::MAX_REASON_CHARS + 1);
        let release = Name::parse("q1").expect("name");
        let write = Write {
            command: Command::ChangeRunStep {
                release: release.clone(),
                step: Name::parse("api").expect("name"),
                to: lockstep_core::run::StepStatus::Running,
                by: "rita".into(),
                note: Some(note.clone()),
                break_glass: None,
                freezes: Vec::new(),
            },
            target: Target::Run(release),
            if_match: IfMatch::default(),
            dry_run: DryRun::default(),
            reason: Some(note),
            created: false,
        };
        let Err(ApiError::Unprocessable { field, .. }) = check_free_text(&write) else {
            panic!("refused");
        };
        assert_eq!(field.as_deref(), Some("note"));
    }
}
