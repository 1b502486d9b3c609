//! Runbooks, deployment runs and the audit log of refused attempts, over HTTP and on
//! the dashboard.
//!
//! - `GET /api/v1/releases/{name}/runbook`: the generated runbook (JSON, with its
//!   Markdown rendering in `markdown`);
//! - `GET /api/v1/releases/{name}/run`: the release's latest run;
//! - `POST /api/v1/releases/{name}/run`, `…/run/steps/{step}`, `…/run/rollback`: start
//!   a run, move a step, roll back — writes that take the one path of `write.rs`
//!   (If-Match on the run stream, authorization, decide, commit, publish,
//!   Idempotency-Key);
//! - `GET /api/v1/audit`: refused attempts, optionally of one release;
//! - `/releases/{name}/run`: the runbook in execution, live over SSE, with a button per
//!   allowed transition.
//!
//! The wire shapes of runbooks, runs and refusals are here (the CLI prints the same
//! JSON). Time zones are resolved here, at the edge, so that core stays pure. This
//! module decides nothing: core's `run` module does.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State as Extract};
use axum::http::Uri;
use axum::response::Response;
use jiff::tz::TimeZone;
use lockstep_core::run::{Run, RunOptions, RunPhase, RunStep, StepStatus};
use lockstep_core::runbook::{Runbook, describe_trigger, generate};
use lockstep_core::{Command, Name, State};
use lockstep_store::audit::StoredRefusal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::{ApiJson, DryRun, IfMatch};
use crate::pages::{allowed, code_spans, escape};
use crate::wire::path_name;
use crate::write::{Target, execute, write};
use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

/// Every time zone the state names, resolved from the system's database.
pub fn time_zones(state: &State) -> Result<BTreeMap<String, TimeZone>, String> {
    let names = state
        .teams()
        .values()
        .map(|t| t.spec.time_zone.as_str())
        .chain(
            state
                .releases()
                .values()
                .filter_map(|r| r.spec.deployment.as_ref().map(|d| d.time_zone.as_str())),
        )
        .chain(
            state
                .blackouts()
                .values()
                .map(|b| b.spec.time_zone.as_str()),
        )
        .chain(
            state
                .environments()
                .values()
                .flat_map(|e| e.spec.deploy_windows.iter().map(|w| w.time_zone.as_str())),
        );
    names
        .map(|name| {
            TimeZone::get(name)
                .map(|zone| (name.to_owned(), zone))
                .map_err(|error| format!("unknown time zone `{name}`: {error}"))
        })
        .collect()
}

/// The runbook of `release`, or a problem.
fn runbook_of(state: &State, release: &Name, now: jiff::Timestamp) -> Result<Runbook, ApiError> {
    if !state.releases().contains_key(release) {
        return Err(ApiError::NotFound {
            kind: "release",
            name: release.to_string(),
        });
    }
    let zones = time_zones(state).map_err(|e| ApiError::unprocessable("timeZone", e))?;
    // Not the request's fault (it has no body): the release lacks what a runbook needs.
    generate(state, release, &zones, now).map_err(|e| {
        ApiError::Domain(lockstep_core::DomainError::invalid(
            "spec.deployment",
            e.to_string(),
        ))
    })
}

/// The runbook on the wire: `GET /api/v1/releases/{name}/runbook` and
/// `lockstep runbook --format json`.
pub fn runbook_json(runbook: &Runbook) -> Value {
    let mut value = json!(runbook);
    value["markdown"] = json!(runbook.to_markdown());
    value
}

fn step_json(step: &RunStep) -> Value {
    json!({
        "component": step.component,
        "after": step.after,
        "status": step.status.as_str(),
        "history": step.history,
    })
}

/// A run on the wire: `GET /api/v1/releases/{name}/run` and `lockstep run status -o json`.
pub fn run_json(run: &Run) -> Value {
    json!({
        "release": run.release,
        "number": run.number,
        "status": run.status().as_str(),
        "phase": run.phase().as_str(),
        "autoRollback": run.auto_rollback,
        "startedBy": run.started_by,
        "startedAt": run.started_at,
        "environment": run.runbook.environment,
        "steps": run.steps.iter().map(step_json).collect::<Vec<_>>(),
        "rollbackTriggers": run.runbook.rollback_triggers.iter().map(describe_trigger).collect::<Vec<_>>(),
        "tripped": run.tripped,
        "rollbackProposed": run.rollback_proposed(),
        "rollback": run.rollback.as_ref().map(|r| json!({
            "reason": r.reason,
            "automatic": r.automatic,
            "by": r.by,
            "at": r.at,
            "steps": r.steps.iter().map(step_json).collect::<Vec<_>>(),
        })),
        "breakGlass": run.break_glass,
    })
}

/// A refused attempt on the wire: `GET /api/v1/audit` and `lockstep audit -o json`.
pub fn refusal_json(stored: &StoredRefusal) -> Value {
    let r = &stored.refusal;
    json!({
        "id": stored.id,
        "at": r.at,
        "actor": r.actor,
        "source": r.source,
        "command": r.command,
        "target": r.target,
        "release": r.release,
        "kind": r.kind,
        "error": r.error,
    })
}

/// `GET /api/v1/releases/{name}/runbook`
pub(crate) async fn runbook(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let release = path_name("release", &name)?;
    let state = app.state.read().await;
    Ok(axum::Json(runbook_json(&runbook_of(
        &state,
        &release,
        app.now(),
    )?)))
}

/// `GET /api/v1/releases/{name}/run`
pub(crate) async fn run(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let release = path_name("release", &name)?;
    let state = app.state.read().await;
    let run = state
        .runs()
        .get(&release)
        .ok_or_else(|| ApiError::NotFound {
            kind: "run of release",
            name: release.to_string(),
        })?;
    Ok(axum::Json(run_json(run)))
}

/// `POST /api/v1/releases/{name}/run` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StartRunBody {
    #[serde(default)]
    auto_rollback: bool,
    /// Why deploying inside a deny window is necessary.
    break_glass_reason: Option<String>,
}

/// `POST /api/v1/releases/{name}/run`
pub(crate) async fn start_run(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<StartRunBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let by = caller.principal()?.user.clone();
    let runbook = {
        let state = app.state.read().await;
        runbook_of(&state, &release, app.now())?
    };
    let command = Command::StartRun {
        release: release.clone(),
        runbook: Box::new(runbook),
        by,
        options: RunOptions {
            auto_rollback: body.auto_rollback,
            break_glass: body.break_glass_reason.clone(),
        },
    };
    let mut w = write(command, Target::Run(release), if_match, dry_run);
    w.reason = body.break_glass_reason;
    w.created = true;
    execute(&app, &caller, w).await
}

/// `POST /api/v1/releases/{name}/run/steps/{step}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StepBody {
    /// `start`, `verify`, `done`, `fail` or `skip`.
    action: String,
    note: Option<String>,
    break_glass_reason: Option<String>,
}

/// Parses a step action (`start`, `verify`, `done`, `fail`, `skip`).
pub fn parse_action(raw: &str) -> Result<StepStatus, String> {
    StepStatus::parse(raw)
        .filter(|s| *s != StepStatus::Pending)
        .ok_or_else(|| {
            format!("unknown step action `{raw}`: use start, verify, done, fail or skip")
        })
}

/// `POST /api/v1/releases/{name}/run/steps/{step}`
pub(crate) async fn change_step(
    Extract(app): Shared,
    caller: Caller,
    Path((name, step)): Path<(String, String)>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<StepBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let step = path_name("step", &step)?;
    let to = parse_action(&body.action).map_err(|e| ApiError::unprocessable("action", e))?;
    let by = caller.principal()?.user.clone();
    let freezes = {
        let state = app.state.read().await;
        let zones = time_zones(&state).map_err(|e| ApiError::unprocessable("timeZone", e))?;
        lockstep_core::runbook::freezes_at(&state, &release, &zones, app.now())
    };
    let command = Command::ChangeRunStep {
        release: release.clone(),
        step,
        to,
        by,
        note: body.note.clone(),
        break_glass: body.break_glass_reason,
        freezes,
    };
    let mut w = write(command, Target::Run(release), if_match, dry_run);
    w.reason = body.note;
    execute(&app, &caller, w).await
}

/// `POST /api/v1/releases/{name}/run/rollback` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RollbackBody {
    reason: Option<String>,
}

/// `POST /api/v1/releases/{name}/run/rollback`
pub(crate) async fn start_rollback(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<RollbackBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let by = caller.principal()?.user.clone();
    let command = Command::StartRollback {
        release: release.clone(),
        by,
        reason: body.reason.clone(),
    };
    let mut w = write(command, Target::Run(release), if_match, dry_run);
    w.reason = body.reason;
    execute(&app, &caller, w).await
}

/// `GET /api/v1/audit` query.
/// `GET /api/v1/audit`
pub(crate) async fn audit(
    Extract(app): Shared,
    query: crate::extract::ListQuery,
) -> Result<axum::Json<Value>, ApiError> {
    if query.cursor.is_some() {
        return Err(ApiError::bad_request(
            "cursor",
            "the audit log is not paged: it lists the latest refusals, up to `limit`",
        ));
    }
    let release = query.filters(&["release"])?.get("release").cloned();
    if let Some(release) = &release {
        path_name("release", release)?;
    }
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let refusals = app.audit.list(release.as_deref(), limit).await?;
    Ok(axum::Json(json!({
        "refusals": refusals.iter().map(refusal_json).collect::<Vec<_>>(),
    })))
}

/// Records a refused command in the audit log. A failure to record is logged, never
/// turned into the caller's error: the refusal they get is the one that matters.
pub(crate) async fn record_refusal(
    app: &AppState,
    state: &State,
    actor: &str,
    command: &Command,
    kind: &str,
    error: &str,
) {
    let (target, release) = lockstep_core::access::subject(state, command);
    let refusal = lockstep_store::audit::Refusal {
        at: app.now(),
        actor: actor.to_owned(),
        source: "http".to_owned(),
        command: lockstep_core::access::action(command),
        target,
        release: release.map(|r| r.to_string()),
        kind: kind.to_owned(),
        error: error.to_owned(),
    };
    record(app, refusal).await;
}

/// Records a refusal; a failure to record is logged, never the caller's error.
pub(crate) async fn record(app: &AppState, refusal: lockstep_store::audit::Refusal) {
    if let Err(error) = app.audit.record(&refusal).await {
        tracing::warn!(%error, "cannot record a refused attempt");
    }
}

fn actions(status: StepStatus) -> &'static [(&'static str, &'static str)] {
    match status {
        StepStatus::Pending => &[("start", "Start"), ("skip", "Skip")],
        StepStatus::Running => &[("verify", "Verify"), ("fail", "Fail")],
        StepStatus::Verifying => &[("done", "Done"), ("fail", "Fail")],
        StepStatus::Failed => &[("start", "Retry")],
        StepStatus::Done | StepStatus::Skipped => &[],
    }
}

fn status_class(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Done | StepStatus::Skipped => "ok",
        StepStatus::Failed => "risk",
        StepStatus::Running | StepStatus::Verifying => "warn",
        StepStatus::Pending => "",
    }
}

/// The steps as an SVG diagram drawn from each step's `after` list: a step stands one
/// column right of its furthest predecessor, so steps that wait on the same step stand
/// one above the other, and an arrow joins each predecessor to its successor.
fn steps_svg(steps: &[RunStep]) -> String {
    let mut column: HashMap<&Name, usize> = HashMap::new();
    // Steps come in dependency order, but a pass per step settles any order.
    for _ in 0..steps.len() {
        for step in steps {
            let at = step
                .after
                .iter()
                .filter_map(|before| column.get(before))
                .map(|c| c + 1)
                .max()
                .unwrap_or(0);
            column.insert(&step.component, at);
        }
    }
    let mut rows: HashMap<usize, usize> = HashMap::new();
    let mut place: HashMap<&Name, (usize, usize)> = HashMap::new();
    for step in steps {
        let x = column.get(&step.component).copied().unwrap_or(0);
        let row = rows.entry(x).or_default();
        place.insert(&step.component, (10 + 170 * x, 10 + 55 * *row));
        *row += 1;
    }
    let width = 170 * (column.values().max().map_or(1, |c| c + 1)) - 10;
    let height = 55 * rows.values().max().copied().unwrap_or(1) + 5;
    let mut svg = format!(
        r##"<svg class="run-strip" role="img" aria-label="steps and what each waits for" viewBox="0 0 {width} {height}" width="{width}" height="{height}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>"##
    );
    for step in steps {
        let Some(&(x, y)) = place.get(&step.component) else {
            continue;
        };
        for before in &step.after {
            let Some(&(bx, by)) = place.get(before) else {
                continue;
            };
            let _ = write!(
                svg,
                r##"<path data-from="{from}" data-to="{to}" d="M{sx},{sy} C{mx},{sy} {mx},{ey} {x},{ey}" fill="none" stroke="#6b7280" marker-end="url(#arrow)"/>"##,
                from = escape(before.as_str()),
                to = escape(step.component.as_str()),
                sx = bx + 130,
                sy = by + 20,
                mx = bx + 150,
                ey = y + 20,
            );
        }
        let fill = match step.status {
            StepStatus::Done | StepStatus::Skipped => "#d7f0dc",
            StepStatus::Failed => "#f8d4d4",
            StepStatus::Running | StepStatus::Verifying => "#fff1c2",
            StepStatus::Pending => "#eef0f3",
        };
        let _ = write!(
            svg,
            r##"<g data-step="{name}"><rect x="{x}" y="{y}" width="130" height="40" rx="6" fill="{fill}" stroke="#6b7280"/><text x="{tx}" y="{ny}" font-size="11" text-anchor="middle">{name}</text><text x="{tx}" y="{sy}" font-size="10" text-anchor="middle">{status}</text></g>"##,
            tx = x + 65,
            ny = y + 18,
            sy = y + 33,
            name = escape(step.component.as_str()),
            status = step.status.as_str(),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// What a step's button may do for the caller.
enum Control {
    /// The write would be refused to the caller whatever the run's state: no button.
    Hidden,
    /// The caller may, but not yet: a disabled button that says why.
    Disabled(String),
    /// A button that sends the write.
    Enabled,
}

fn steps_table(
    release: &Name,
    runbook: &Runbook,
    steps: &[RunStep],
    phase: RunPhase,
    control: &dyn Fn(&RunStep, StepStatus) -> Control,
) -> String {
    let mut html = format!(
        r#"<table class="run-steps" data-phase="{phase}"><thead><tr><th scope="col">#</th><th scope="col">Step</th><th scope="col">Starts</th><th scope="col">After</th><th scope="col">Status</th><th scope="col">Last change</th><th scope="col">Contacts</th><th scope="col">Actions</th></tr></thead><tbody>"#,
        phase = phase.as_str()
    );
    for (index, step) in steps.iter().enumerate() {
        let planned = runbook.step(&step.component);
        let title = match (phase, planned) {
            (RunPhase::Rollback, _) => format!("Roll back {}", step.component),
            (RunPhase::Deploy, Some(p)) => p.title.clone(),
            (RunPhase::Deploy, None) => step.component.to_string(),
        };
        let starts = planned
            .filter(|_| phase == RunPhase::Deploy)
            .map(|p| {
                p.scheduled
                    .unwrap_or(p.planned)
                    .time()
                    .strftime("%H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "—".to_owned());
        let last = step
            .history
            .last()
            .map(|t| {
                format!(
                    "{} by {} at {}{}",
                    t.to,
                    escape(&t.by),
                    t.at.strftime("%H:%M:%S"),
                    t.note
                        .as_deref()
                        .map(|n| format!(" ({})", escape(n)))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "—".to_owned());
        let contacts = planned
            .map(|p| {
                let mut text = p
                    .primary
                    .as_ref()
                    .map(|c| format!("@{} (primary)", c.handle))
                    .unwrap_or_default();
                if let Some(backup) = &p.backup {
                    let _ = write!(text, ", @{} (backup)", backup.handle);
                }
                text
            })
            .unwrap_or_default();
        let mut buttons = String::new();
        for (action, label) in actions(step.status) {
            let Some(to) = StepStatus::parse(action) else {
                continue;
            };
            let disabled = match control(step, to) {
                Control::Hidden => continue,
                Control::Disabled(why) => format!(r#" disabled title="{}""#, escape(&why)),
                Control::Enabled => String::new(),
            };
            let _ = write!(
                buttons,
                r#"<button type="button" data-release="{release}" data-step="{step}" data-action="{action}"{disabled}>{label}</button> "#,
                release = escape(release.as_str()),
                step = escape(step.component.as_str()),
            );
        }
        let verification = planned
            .filter(|_| phase == RunPhase::Deploy)
            .map(|p| {
                p.verification
                    .iter()
                    .map(|v| format!("<li>{}</li>", escape(v)))
                    .collect::<String>()
            })
            .unwrap_or_default();
        let _ = write!(
            html,
            r#"<tr data-step="{name}" data-status="{status}"><td>{n}</td><td><b>{title}</b>{verification}</td><td data-label="Starts">{starts}</td><td data-label="After">{after}</td><td data-label="Status"><span class="badge {class}">{status}</span></td><td data-label="Last change">{last}</td><td data-label="Contacts">{contacts}</td><td>{buttons}</td></tr>"#,
            name = escape(step.component.as_str()),
            status = step.status.as_str(),
            n = index + 1,
            title = escape(&title),
            verification = if verification.is_empty() {
                String::new()
            } else {
                format!(r#"<ul class="checks">{verification}</ul>"#)
            },
            after = escape(
                &step
                    .after
                    .iter()
                    .map(Name::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            class = status_class(step.status),
            contacts = escape(&contacts),
        );
    }
    html.push_str("</tbody></table>");
    html
}

/// `GET /releases/{name}/run`: the runbook in execution.
pub(crate) async fn page(
    Extract(app): Shared,
    caller: Caller,
    uri: Uri,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let now = app.now();
    crate::pages::render(&app, &caller, &uri, |state| {
        let release = state
            .releases()
            .get(name.as_str())
            .ok_or_else(|| ApiError::NotFound {
                kind: "release",
                name: name.clone(),
            })?;
        let title = release.spec.title.as_deref().unwrap_or(release.name.as_str());
        let by = caller
            .principal
            .as_ref()
            .map_or_else(String::new, |principal| principal.user.clone());
        let mut body = format!(
            r#"<h1>Runbook: {title}</h1><p class="sub"><a href="/releases/{name}">Back to the release</a> · <a href="/api/v1/releases/{name}/runbook">JSON</a></p><div id="live" data-release="{name}">"#,
            title = escape(title),
            name = escape(release.name.as_str()),
        );
        let planned = time_zones(state).and_then(|zones| {
            generate(state, &release.name, &zones, now).map_err(|error| error.to_string())
        });
        let run = state.runs().get(&release.name);
        if run.is_none_or(|run| run.status().is_finished())
            && let Ok(runbook) = &planned
        {
            let start = Command::StartRun {
                release: release.name.clone(),
                runbook: Box::new(runbook.clone()),
                by: by.clone(),
                options: RunOptions::default(),
            };
            if allowed(state, &caller, &start) {
                // On go, a confirmation; on no-go or inside a deny window, the reason
                // that overrides it, which the server records.
                let (question, needs_reason) =
                    start_question(state, &release.name, runbook, now);
                let _ = write!(
                    body,
                    r#"<p><button type="button" data-run-start="{name}" {ask}="{question}">Start a run</button></p>"#,
                    name = escape(release.name.as_str()),
                    ask = if needs_reason { "data-reason" } else { "data-confirm" },
                    question = escape(&question),
                );
            }
        }
        match run {
            Some(run) => {
                let status = run.status();
                let _ = write!(
                    body,
                    r#"<section class="panel" aria-labelledby="run-h"><h2 id="run-h">Run {n} <span class="badge run-status" data-run-status="{status}">{status}</span></h2><p>Started by {by} at {at} · {env} · auto-rollback {auto}</p>"#,
                    n = run.number,
                    status = status.as_str(),
                    by = escape(&run.started_by),
                    at = run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    env = escape(run.runbook.environment.as_str()),
                    auto = if run.auto_rollback { "on" } else { "off" },
                );
                for tripped in &run.tripped {
                    let _ = write!(
                        body,
                        r#"<p class="tripped"><span class="badge risk">Trigger tripped</span> {trigger} on {component}: {detail}</p>"#,
                        trigger = escape(&tripped.trigger),
                        component = escape(tripped.component.as_str()),
                        detail = escape(&tripped.detail),
                    );
                }
                let rollback = Command::StartRollback {
                    release: release.name.clone(),
                    by: by.clone(),
                    reason: None,
                };
                if run.rollback_proposed() && allowed(state, &caller, &rollback) {
                    let _ = write!(
                        body,
                        r#"<p><button type="button" data-rollback="{name}">Start rollback</button></p>"#,
                        name = escape(release.name.as_str()),
                    );
                }
                for glass in &run.break_glass {
                    let _ = write!(
                        body,
                        r#"<p class="break-glass"><span class="badge warn">Break glass</span> {scope} by {by}: {reason}</p>"#,
                        scope = escape(&glass.scope),
                        by = escape(&glass.by),
                        reason = escape(&glass.reason),
                    );
                }
                body.push_str(&steps_svg(&run.steps));
                // Buttons for the steps of the phase in progress only, each shown when
                // the caller may move that step and enabled when the move would pass.
                let freezes = time_zones(state)
                    .map(|zones| {
                        lockstep_core::runbook::freezes_at(state, &release.name, &zones, now)
                    })
                    .unwrap_or_default();
                let control = |step: &RunStep, to: StepStatus| {
                    let command = Command::ChangeRunStep {
                        release: release.name.clone(),
                        step: step.component.clone(),
                        to,
                        by: by.clone(),
                        note: None,
                        break_glass: None,
                        freezes: freezes.clone(),
                    };
                    if !allowed(state, &caller, &command) {
                        return Control::Hidden;
                    }
                    match lockstep_core::decide(state, command, now) {
                        Ok(_) => Control::Enabled,
                        Err(refused) => Control::Disabled(refused.to_string().replace('`', "")),
                    }
                };
                let no_control = |_: &RunStep, _: StepStatus| Control::Hidden;
                let control_of = |phase: RunPhase| -> &dyn Fn(&RunStep, StepStatus) -> Control {
                    if run.phase() == phase {
                        &control
                    } else {
                        &no_control
                    }
                };
                body.push_str(&steps_table(
                    &release.name,
                    &run.runbook,
                    &run.steps,
                    RunPhase::Deploy,
                    control_of(RunPhase::Deploy),
                ));
                if let Some(rollback) = &run.rollback {
                    let _ = write!(
                        body,
                        r#"<h3>Rollback ({kind}, by {by}): {reason}</h3>"#,
                        kind = if rollback.automatic { "automatic" } else { "manual" },
                        by = escape(&rollback.by),
                        reason = escape(&rollback.reason),
                    );
                    body.push_str(&steps_table(
                        &release.name,
                        &run.runbook,
                        &rollback.steps,
                        RunPhase::Rollback,
                        control_of(RunPhase::Rollback),
                    ));
                }
                body.push_str("</section>");
            }
            None => {
                let _ = write!(
                    body,
                    r#"<section class="panel"><h2>No run yet</h2><p>Start one with <code>lockstep run start {name}</code> or <code>POST /api/v1/releases/{name}/run</code>.</p></section>"#,
                    name = escape(release.name.as_str()),
                );
            }
        }
        let _ = write!(
            body,
            r#"<section class="panel"><h2>Runbook</h2>{}</section>"#,
            match &planned {
                Ok(runbook) => format!(r#"<pre class="runbook">{}</pre>"#, escape(&runbook.to_markdown())),
                Err(error) => format!("<p>{}</p>", code_spans(error)),
            }
        );
        body.push_str("</div>");
        Ok((format!("Runbook: {title}"), body))
    })
    .await
}

/// What the dashboard asks before starting a run: the go/no-go verdict the release page
/// shows and where the run deploys, and whether the answer must be a break-glass reason
/// (on no-go or inside a deny window the server refuses a start without one).
fn start_question(
    state: &State,
    release: &Name,
    runbook: &Runbook,
    now: jiff::Timestamp,
) -> (String, bool) {
    let go = lockstep_core::checklist::assess(state, release)
        .is_ok_and(|assessment| assessment.verdict.is_go());
    let frozen: Vec<&str> = runbook
        .windows_at(now)
        .into_iter()
        .map(|w| w.title.as_str())
        .collect();
    let environment = &runbook.environment;
    let verdict = if go { "GO" } else { "NO-GO" };
    if go && frozen.is_empty() {
        return (
            format!("Go/no-go is {verdict}: start a {environment} run of {release} now?"),
            false,
        );
    }
    let freeze = if frozen.is_empty() {
        String::new()
    } else {
        format!(" and {environment} is frozen ({})", frozen.join(", "))
    };
    (
        format!(
            "Go/no-go is {verdict}{freeze}: a {environment} run of {release} starts only with a break-glass reason, recorded with your name. Reason:"
        ),
        true,
    )
}
