//! Checklists and the go/no-go meeting over HTTP: a release's checklist, ticking an
//! item, a release's approval rules, requesting go/no-go, signing off and
//! withdrawing, and the templates that apply to each release kind.
//!
//! Every write goes down `write::execute` (catch up, `If-Match` on the release's
//! stream, `access::authorize`, `decide`, commit, publish; `Idempotency-Key` replay
//! through the write routes' layer). The person a command acts as is always the
//! caller's linked member handle, never a field of the body: a signature cannot be
//! given for someone else. Rules live in `lockstep_core::checklist`; this module
//! only converts the wire.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State as Extract};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use lockstep_core::access::Denied;
use lockstep_core::checklist::{
    ApprovalRule, Assessment, Checklist, Meeting, SignOffDecision, builtin_templates, kind_str,
    template_for,
};
use lockstep_core::{Command, Name, ReleaseKind, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::{ApiJson, DryRun, IfMatch};
use crate::pages::minute;
use crate::wire::path_name;
use crate::write::{Target, execute, write};
use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

/// Reads, mounted beside the go/no-go endpoint.
pub(crate) fn read_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/releases/{name}/checklist", get(checklist))
        .route("/checklist-templates", get(templates))
}

/// Writes, mounted with the other writes (and their idempotency layer).
pub(crate) fn write_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/releases/{name}/checklist/{item}/check", post(check_item))
        .route("/releases/{name}/approval-rules", put(approval_rules))
        .route("/releases/{name}/gonogo/request", post(request_gonogo))
        .route("/releases/{name}/signoffs", post(sign_off))
        .route("/releases/{name}/signoffs/{person}", delete(withdraw))
}

/// The checklist on the wire.
pub fn checklist_json(checklist: &Checklist) -> Value {
    let (done, total) = checklist.progress();
    json!({
        "release": checklist.release,
        "template": checklist.template,
        "builtin": checklist.builtin,
        "expedited": checklist.expedited,
        "done": done,
        "total": total,
        "items": checklist.entries.iter().map(|entry| json!({
            "id": entry.spec.id,
            "title": entry.spec.title,
            "phase": entry.spec.phase.as_str(),
            "owner": entry.spec.owner.as_str(),
            "dueOffset": entry.spec.due.to_string(),
            "due": entry.due.to_string(),
            "check": entry.spec.check.map(|c| c.as_str()),
            "state": entry.state.as_str(),
            "checkedBy": entry.tick.as_ref().map(|t| t.by.as_str()),
            "checkedAt": entry.tick.as_ref().map(|t| t.at.to_string()),
            "note": entry.tick.as_ref().and_then(|t| t.note.clone()),
            "evidence": entry.evidence,
        })).collect::<Vec<_>>(),
    })
}

/// The meeting record on the wire.
pub fn meeting_json(meeting: &Meeting) -> Value {
    json!({
        "requestedBy": meeting.request.as_ref().map(|r| r.by.as_str()),
        "requestedAt": meeting.request.as_ref().map(|r| r.at.to_string()),
        "requestedOnExpeditedPath": meeting.request.as_ref().map(|r| r.expedited),
        "rulesFrom": if meeting.release_rules { "release" } else { "template" },
        "rules": meeting.rules.iter().map(|progress| json!({
            "rule": progress.rule.describe(),
            "role": progress.rule.role.map(Role::as_str),
            "people": progress.rule.people,
            "quorum": progress.rule.quorum,
            "eligible": progress.eligible,
            "approvedBy": progress.approved_by,
            "missing": progress.missing,
        })).collect::<Vec<_>>(),
        "approvals": meeting.approvals.iter().map(|(by, at)| json!({
            "by": by, "at": at.to_string(),
        })).collect::<Vec<_>>(),
        "rejections": meeting.rejections.iter().map(|r| json!({
            "by": r.by, "reason": r.reason, "at": r.at.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// The full go/no-go assessment on the wire: the shape of
/// `GET /api/v1/releases/{name}/gonogo` and of `lockstep gonogo -o json`.
pub fn assessment_json(assessment: &Assessment) -> Value {
    let mut value = crate::signals::verdict_json(&assessment.verdict);
    value["path"] = json!(if assessment.expedited() {
        "expedited"
    } else {
        "standard"
    });
    value["checklist"] = checklist_json(&assessment.checklist);
    value["signoffs"] = meeting_json(&assessment.meeting);
    value
}

/// `GET /api/v1/releases/{name}/checklist`
async fn checklist(
    Extract(app): Shared,
    Path(name): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let release = path_name("release", &name)?;
    let state = app.state.read().await;
    let assessment = lockstep_core::checklist::assess(&state, &release)?;
    Ok(axum::Json(checklist_json(&assessment.checklist)))
}

/// `GET /api/v1/checklist-templates`: for each release kind, the template that
/// applies (declared or built in), and the built-in ones.
async fn templates(Extract(app): Shared) -> Json {
    let state = app.state.read().await;
    let kinds = [
        ReleaseKind::Regular,
        ReleaseKind::Hotfix,
        ReleaseKind::Emergency,
        ReleaseKind::OutOfBand,
    ];
    axum::Json(json!({
        "applies": kinds.iter().map(|kind| {
            let (template, builtin) = template_for(&state, *kind);
            json!({ "kind": kind_str(*kind), "template": template.name, "builtin": builtin })
        }).collect::<Vec<_>>(),
        "declared": state.checklists().templates.values().collect::<Vec<_>>(),
        "builtin": builtin_templates(),
    }))
}

type Json = axum::Json<Value>;

/// The member the caller acts as; a user not linked to one cannot tick or sign.
/// The team member the caller acts as. A user linked to none is refused, and the refusal
/// is audited like every other.
async fn acting_member(
    app: &AppState,
    caller: &Caller,
    action: &str,
    release: &Name,
) -> Result<Name, ApiError> {
    let principal = caller.principal()?;
    if let Some(member) = &principal.member {
        return Ok(member.clone());
    }
    let denied = Denied {
        user: principal.user.clone(),
        action: action.to_owned(),
        reason: "the user is not linked to a team member (`lockstep user add --member`)".to_owned(),
    };
    crate::runs::record(
        app,
        lockstep_store::audit::Refusal {
            at: app.now(),
            actor: principal.user.clone(),
            source: "http".to_owned(),
            command: action.to_owned(),
            target: format!("release:{release}"),
            release: Some(release.to_string()),
            kind: "denied".to_owned(),
            error: denied.to_string(),
        },
    )
    .await;
    Err(ApiError::Forbidden(denied))
}

/// `POST /releases/{name}/checklist/{item}/check` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckBody {
    #[serde(default)]
    note: Option<String>,
}

async fn check_item(
    Extract(app): Shared,
    caller: Caller,
    Path((name, item)): Path<(String, String)>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let item = path_name("checklist item", &item)?;
    let by = acting_member(
        &app,
        &caller,
        &format!("check item {item} of release {release}"),
        &release,
    )
    .await?;
    let command = Command::CheckItem {
        release: release.clone(),
        item,
        by,
        note: body.note,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Readiness(release), if_match, dry_run),
    )
    .await
}

/// One approval rule on the wire.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleBody {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    people: Vec<String>,
    #[serde(default)]
    quorum: Option<u32>,
}

/// `PUT /releases/{name}/approval-rules` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RulesBody {
    rules: Vec<RuleBody>,
}

fn rule(index: usize, body: RuleBody) -> Result<ApprovalRule, ApiError> {
    let field = |name: &str| format!("rules[{index}].{name}");
    let role = match body.role {
        None => None,
        Some(raw) => Some(Role::parse(&raw).ok_or_else(|| {
            let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            let hint = lockstep_core::suggest::hint(&raw, known.iter().copied());
            ApiError::unprocessable(
                field("role"),
                format!("unknown role `{raw}`{hint}; roles: {}", known.join(", ")),
            )
        })?),
    };
    let people = body
        .people
        .iter()
        .map(|raw| {
            Name::parse(raw).map_err(|e| ApiError::unprocessable(field("people"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApprovalRule {
        role,
        people,
        quorum: body.quorum.unwrap_or(1),
    })
}

async fn approval_rules(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<RulesBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let rules = body
        .rules
        .into_iter()
        .enumerate()
        .map(|(index, body)| rule(index, body))
        .collect::<Result<Vec<_>, _>>()?;
    let command = Command::DefineApprovalRules {
        release: release.clone(),
        rules,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Readiness(release), if_match, dry_run),
    )
    .await
}

async fn request_gonogo(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    _: crate::extract::NoBody,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let by = acting_member(
        &app,
        &caller,
        &format!("request go/no-go of release {release}"),
        &release,
    )
    .await?;
    let command = Command::RequestGoNoGo {
        release: release.clone(),
        by,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Readiness(release), if_match, dry_run),
    )
    .await
}

/// `POST /releases/{name}/signoffs` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignOffBody {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn sign_off(
    Extract(app): Shared,
    caller: Caller,
    Path(name): Path<String>,
    if_match: IfMatch,
    dry_run: DryRun,
    ApiJson(body): ApiJson<SignOffBody>,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let decision = match (body.decision.as_str(), body.reason) {
        ("approve", None) => SignOffDecision::Approve,
        ("approve", Some(_)) => {
            return Err(ApiError::unprocessable(
                "reason",
                "an approval takes no reason; reasons go with rejections",
            ));
        }
        ("reject", Some(reason)) => SignOffDecision::Reject { reason },
        ("reject", None) => {
            return Err(ApiError::unprocessable(
                "reason",
                "a rejection needs a reason",
            ));
        }
        (other, _) => {
            return Err(ApiError::unprocessable(
                "decision",
                format!("unknown decision `{other}`: use approve or reject"),
            ));
        }
    };
    let by = acting_member(
        &app,
        &caller,
        &format!("sign off release {release}"),
        &release,
    )
    .await?;
    let command = Command::SignOff {
        release: release.clone(),
        by,
        decision,
    };
    let mut w = write(command, Target::Readiness(release), if_match, dry_run);
    w.created = true;
    execute(&app, &caller, w).await
}

async fn withdraw(
    Extract(app): Shared,
    caller: Caller,
    Path((name, person)): Path<(String, String)>,
    if_match: IfMatch,
    dry_run: DryRun,
) -> Result<Response, ApiError> {
    let release = path_name("release", &name)?;
    let by = path_name("sign-off", &person)?;
    let command = Command::WithdrawSignOff {
        release: release.clone(),
        by,
    };
    execute(
        &app,
        &caller,
        write(command, Target::Readiness(release), if_match, dry_run),
    )
    .await
}

/// The dashboard panel of a release: checklist progress per phase (an SVG bar
/// each) with every item's owner, due date and state, then the meeting's
/// approvals, rejections and what is still missing.
pub(crate) fn panel(assessment: &Assessment) -> String {
    use std::fmt::Write as _;

    use lockstep_core::checklist::{ChecklistPhase, ItemState};

    use crate::pages::escape;

    let checklist = &assessment.checklist;
    let (done, total) = checklist.progress();
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="panel" aria-labelledby="checklist-h" data-checklist="{template}" data-path="{path}"><h2 id="checklist-h">Checklist <span class="badge {path_class}">{path_word}</span> <span class="sub">{template}{builtin} · {done}/{total} done</span></h2>"#,
        template = escape(checklist.template.as_str()),
        builtin = if checklist.builtin { " (built in)" } else { "" },
        path = if checklist.expedited {
            "expedited"
        } else {
            "standard"
        },
        path_class = if checklist.expedited { "warn" } else { "ok" },
        path_word = if checklist.expedited {
            "Expedited path"
        } else {
            "Standard path"
        },
    );
    for phase in [
        ChecklistPhase::PreRelease,
        ChecklistPhase::ReleaseDay,
        ChecklistPhase::PostRelease,
    ] {
        let entries: Vec<_> = checklist
            .entries
            .iter()
            .filter(|e| e.spec.phase == phase)
            .collect();
        if entries.is_empty() {
            continue;
        }
        let n_done = entries
            .iter()
            .filter(|e| e.state == ItemState::Done)
            .count();
        let width = if entries.is_empty() {
            0
        } else {
            n_done * 200 / entries.len()
        };
        // Pre-release is what go/no-go waits for: open; the other phases fold away.
        let _ = write!(
            out,
            r##"<details{open}><summary><b>{title}</b> <span class="sub">{n_done}/{n}</span> <svg class="progress" width="200" height="8" viewBox="0 0 200 8" role="img" aria-label="{title}: {n_done} of {n} done"><rect width="200" height="8" rx="4" fill="#e4e8ef"/><rect width="{width}" height="8" rx="4" fill="#1a7f4b"/></svg></summary><table><thead><tr><th scope="col">Item</th><th scope="col">Owner</th><th scope="col">Due</th><th scope="col">State</th></tr></thead><tbody>"##,
            title = phase.title(),
            n = entries.len(),
            open = if phase == ChecklistPhase::PreRelease {
                " open"
            } else {
                ""
            },
        );
        for entry in entries {
            let how = match (&entry.tick, entry.spec.check) {
                (Some(tick), _) => format!("checked by {} {}", tick.by, minute(tick.at)),
                (None, Some(check)) => format!("from signals ({})", check.as_str()),
                (None, None) => String::new(),
            };
            let _ = write!(
                out,
                r#"<tr data-checklist-item="{id}" data-state="{state}"><td>{title}<br><span class="sub">{id}</span></td><td>{owner}</td><td>{due} <span class="sub">{offset}</span></td><td><span class="badge {class}">{state}</span> <span class="sub">{how}</span></td></tr>"#,
                id = escape(entry.spec.id.as_str()),
                title = escape(&entry.spec.title),
                owner = entry.spec.owner.as_str(),
                due = entry.due,
                offset = match entry.spec.due.as_days() {
                    0 => "release day".to_owned(),
                    days if days < 0 => format!("{} d before release", -days),
                    days => format!("{days} d after release"),
                },
                state = entry.state.as_str(),
                class = match entry.state {
                    ItemState::Done => "ok",
                    ItemState::Failed => "risk",
                    ItemState::Open => "warn",
                },
                how = escape(&how),
            );
        }
        out.push_str("</tbody></table></details>");
    }
    let meeting = &assessment.meeting;
    out.push_str(
        r#"<h3 id="signoffs-h">Sign-offs</h3><ul class="signoffs" aria-labelledby="signoffs-h">"#,
    );
    match &meeting.request {
        Some(request) => {
            let _ = write!(
                out,
                r#"<li data-requested-by="{by}">go/no-go requested by <b>{by}</b> {at}</li>"#,
                by = escape(request.by.as_str()),
                at = minute(request.at),
            );
        }
        None => out.push_str("<li>go/no-go not requested yet</li>"),
    }
    for progress in &meeting.rules {
        let _ = write!(
            out,
            r#"<li data-rule-missing="{missing}">{rule}: approved by {approved}{more}</li>"#,
            missing = progress.missing,
            rule = escape(&progress.rule.describe()),
            approved = if progress.approved_by.is_empty() {
                "nobody yet".to_owned()
            } else {
                escape(
                    &progress
                        .approved_by
                        .iter()
                        .map(Name::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            },
            more = if progress.missing > 0 {
                format!(" — <b>{} more needed</b>", progress.missing)
            } else {
                String::new()
            },
        );
    }
    for rejection in &meeting.rejections {
        let _ = write!(
            out,
            r#"<li data-rejected-by="{by}"><span class="badge risk">rejected</span> <b>{by}</b>: {reason}</li>"#,
            by = escape(rejection.by.as_str()),
            reason = escape(&rejection.reason),
        );
    }
    if meeting.rules.is_empty() {
        out.push_str("<li>no approval rules apply</li>");
    }
    out.push_str("</ul></section>");
    out
}
