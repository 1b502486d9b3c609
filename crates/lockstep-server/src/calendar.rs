//! `GET /api/v1/calendar` and the Calendar page: the release calendar of a period
//! (`lockstep_core::calendar`) — target dates, freezes, milestones, deployment windows,
//! blackouts and the standing rules — with the conflicts that need a decision first.
//!
//! The period is `?from=YYYY-MM-DD&to=YYYY-MM-DD` (the last day included), by default
//! the current month and the two after it, at most a year.

use std::fmt::Write;
use std::sync::Arc;

use axum::Json;
use axum::extract::State as Extract;
use axum::http::Uri;
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use lockstep_core::State;
use lockstep_core::calendar::{Calendar, CalendarEntry, EntryKind, RuleKind};
use serde_json::Value;

use crate::auth::Caller;
use crate::pages::{escape, render};
use crate::{ApiError, AppState};

/// The period of the request, `[from, to)` (see `lockstep_core::calendar::period`).
fn period(uri: &Uri, today: Date) -> Result<(Date, Date), ApiError> {
    let from = crate::metrics::query_date(uri, "from")?;
    let last = crate::metrics::query_date(uri, "to")?;
    lockstep_core::calendar::period(from, last, today)
        .map_err(|detail| ApiError::bad_request("to", detail))
}

fn calendar_of(app: &AppState, state: &State, uri: &Uri) -> Result<Calendar, ApiError> {
    let today = app.now().to_zoned_datetime(TimeZone::UTC).date();
    let (from, to) = period(uri, today)?;
    let zones =
        crate::runs::time_zones(state).map_err(|e| ApiError::unprocessable("timeZone", e))?;
    lockstep_core::calendar::calendar(state, &zones, from, to)
        .map_err(|detail| ApiError::bad_request("to", detail))
}

/// `GET /calendar?from=&to=`.
pub(crate) async fn calendar(
    Extract(app): Extract<Arc<AppState>>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let state = app.state.read().await;
    let calendar = calendar_of(&app, &state, &uri)?;
    Ok(Json(serde_json::to_value(calendar).map_err(|e| {
        ApiError::Internal(format!("calendar: {e}"))
    })?))
}

/// `GET /calendar` (page).
pub(crate) async fn page(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    render(&app, &caller, &uri, |state| {
        let calendar = calendar_of(&app, state, &uri)?;
        Ok(("Calendar".to_owned(), body(state, &caller, &calendar)))
    })
    .await
}

fn body(state: &State, caller: &Caller, calendar: &Calendar) -> String {
    let first = calendar.from;
    let last = calendar.to.yesterday().unwrap_or(calendar.to);
    let days = (calendar.to - calendar.from).get_days();
    let shifted = |by: i32| {
        let from = first.checked_add(by.days()).ok()?;
        let to = last.checked_add(by.days()).ok()?;
        Some(format!("/calendar?from={from}&amp;to={to}"))
    };
    let mut out = format!(
        r#"<h1>Calendar</h1><p class="sub">Release dates, freezes, milestones, deployment windows and blackouts from <time datetime="{first}">{first}</time> to <time datetime="{last}">{last}</time>, each time in its own time zone. "#
    );
    for (label, link) in [("Earlier", shifted(-days)), ("Later", shifted(days))] {
        if let Some(link) = link {
            let _ = write!(out, r#"<a href="{link}">{label}</a> · "#);
        }
    }
    let _ = write!(
        out,
        r#"<a href="/api/v1/calendar?from={first}&amp;to={last}">As JSON</a> · <a href="/feeds">Subscribe in your calendar</a></p><form class="inline" method="get" action="/calendar" aria-label="Period"><label>From <input type="date" name="from" value="{first}" required></label><label>To <input type="date" name="to" value="{last}" required></label><button type="submit">Show</button></form><div id="live">"#
    );
    conflicts(&mut out, state, caller, calendar);
    rules(&mut out, calendar);
    agenda(&mut out, calendar);
    out.push_str("</div>");
    out
}

/// What needs a decision: releases in one window, windows in a blackout, each with the
/// button that proposes its move.
fn conflicts(out: &mut String, state: &State, caller: &Caller, calendar: &Calendar) {
    let n = calendar.conflicts.len() + calendar.window_conflicts.len();
    let _ = write!(
        out,
        r#"<section class="panel" id="conflicts" aria-labelledby="conflicts-title"><h2 id="conflicts-title">Conflicts <span class="badge {class}">{n}</span></h2>"#,
        class = if n == 0 { "ok" } else { "risk" },
    );
    if n == 0 {
        out.push_str(r#"<p class="sub">None: no two open releases departing in this period deploy to one environment at the same time, and each of their release-day windows is clear of blackouts and inside its environment's deploy windows.</p>"#);
    } else {
        out.push_str(r#"<ul class="chain">"#);
        for conflict in &calendar.conflicts {
            let _ = write!(
                out,
                r#"<li data-conflict="{moves}"><a href="/releases/{keeps}">{keeps}</a> and <a href="/releases/{moves}">{moves}</a>: {why}{act}</li>"#,
                keeps = escape(conflict.keeps.as_str()),
                moves = escape(conflict.moves.as_str()),
                why = escape(&conflict.explanation),
                act = move_action(
                    state,
                    caller,
                    &conflict.moves,
                    Some(conflict.proposed_start)
                ),
            );
        }
        for conflict in &calendar.window_conflicts {
            let _ = write!(
                out,
                r#"<li data-conflict="{release}"><a href="/releases/{release}">{release}</a>: {why}{act}</li>"#,
                release = escape(conflict.release.as_str()),
                why = escape(&conflict.explanation),
                act = move_action(state, caller, &conflict.release, conflict.proposed_start),
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

/// What to do about a proposed move: the open change request that already proposes to
/// move `release`, else a button proposing one, for a caller who may; nothing else.
pub(crate) fn move_action(
    state: &State,
    caller: &Caller,
    release: &lockstep_core::Name,
    to: Option<jiff::civil::DateTime>,
) -> String {
    let prefix = format!("Move {release} to ");
    if let Some(open) = state.change_requests().values().find(|r| {
        r.status == lockstep_core::change::ChangeStatus::Open && r.title.starts_with(&prefix)
    }) {
        return format!(
            r#" <a class="badge" href="/changes/{name}">{title}: waiting for approval</a>"#,
            name = escape(open.name.as_str()),
            title = escape(&open.title),
        );
    }
    let Some(to) = to else {
        return String::new();
    };
    let Some(principal) = &caller.principal else {
        return String::new();
    };
    let propose = lockstep_core::Command::ProposeChange {
        title: prefix,
        sources: Vec::new(),
        releases: vec![release.clone()],
        by: principal.user.clone(),
    };
    if !crate::pages::allowed(state, caller, &propose) {
        return String::new();
    }
    let release = escape(release.as_str());
    let at = to.strftime("%Y-%m-%dT%H:%M");
    let shown = to.strftime("%a %b %-d %H:%M");
    format!(
        r#" <button type="button" data-propose-move="{release}" data-to="{at}" data-confirm="Propose moving {release} to {shown} as a change request? It moves when someone else approves it.">Propose this move</button>"#
    )
}

/// Short recurring blackouts and deploy windows.
fn rules(out: &mut String, calendar: &Calendar) {
    if calendar.rules.is_empty() {
        return;
    }
    out.push_str(r#"<h2>Standing rules</h2><table><thead><tr><th scope="col">What</th><th scope="col">When</th><th scope="col">Repeats</th><th scope="col">Where</th><th scope="col">Why</th></tr></thead><tbody>"#);
    for rule in &calendar.rules {
        let what = match rule.kind {
            RuleKind::Blackout => format!(
                r#"<span class="badge risk">Blackout</span> {}"#,
                escape(&rule.title)
            ),
            RuleKind::DeployWindow => {
                r#"<span class="badge ok">Deploy window</span> deploys only then"#.to_owned()
            }
        };
        let _ = write!(
            out,
            "<tr><td>{what}</td><td>{}–{} {}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            rule.starts.strftime("%H:%M"),
            rule.ends.strftime("%H:%M"),
            escape(&rule.time_zone),
            escape(&rule.repeats),
            where_(&rule.environments),
            escape(rule.reason.as_deref().unwrap_or_default()),
        );
    }
    out.push_str("</tbody></table>");
}

fn where_(environments: &[lockstep_core::Name]) -> String {
    if environments.is_empty() {
        return "every environment".to_owned();
    }
    let names: Vec<String> = environments.iter().map(|e| escape(e.as_str())).collect();
    names.join(", ")
}

/// The entries by month.
fn agenda(out: &mut String, calendar: &Calendar) {
    if calendar.entries.is_empty() {
        out.push_str(r#"<p class="sub">Nothing is dated in this period.</p>"#);
        return;
    }
    let in_conflict: Vec<&str> = calendar
        .conflicts
        .iter()
        .flat_map(|c| [c.keeps.as_str(), c.moves.as_str()])
        .chain(calendar.window_conflicts.iter().map(|c| c.release.as_str()))
        .collect();
    let mut month = None;
    for entry in &calendar.entries {
        let this = (entry.date.year(), entry.date.month());
        if month != Some(this) {
            if month.is_some() {
                out.push_str("</tbody></table>");
            }
            month = Some(this);
            let _ = write!(
                out,
                r#"<h2>{}</h2><table><thead><tr><th scope="col">Date</th><th scope="col">What</th><th scope="col">When</th><th scope="col">Where</th></tr></thead><tbody>"#,
                entry.date.strftime("%B %Y")
            );
        }
        let conflict = entry.kind == EntryKind::Deployment
            && entry
                .release
                .as_ref()
                .is_some_and(|r| in_conflict.contains(&r.as_str()));
        row(out, entry, conflict);
    }
    out.push_str("</tbody></table>");
}

fn row(out: &mut String, entry: &CalendarEntry, conflict: bool) {
    let day = |date: Date| date.strftime("%a %b %-d, %Y").to_string();
    let date = match entry.until {
        Some(until) => format!("{} – {}", day(entry.date), day(until)),
        None => day(entry.date),
    };
    let class = match entry.kind {
        EntryKind::Blackout => "risk",
        EntryKind::FeatureFreeze | EntryKind::CodeFreeze => "warn",
        EntryKind::Release => "ok",
        EntryKind::Milestone | EntryKind::Deployment => "",
    };
    let title = escape(&entry.title);
    let what = match &entry.release {
        Some(release) => format!(
            r#"<a href="/releases/{}">{title}</a>"#,
            escape(release.as_str())
        ),
        None => title,
    };
    let mut what = format!(
        r#"<span class="badge {class}">{}</span> {what}"#,
        entry.kind.label()
    );
    if conflict {
        what.push_str(r#" <span class="badge risk">conflict</span>"#);
    }
    if let Some(reason) = &entry.reason {
        let _ = write!(what, r#"<div class="sub">{}</div>"#, escape(reason));
    }
    let when = match (entry.start, entry.end, &entry.time_zone) {
        (Some(start), Some(end), Some(zone_name)) => TimeZone::get(zone_name)
            .ok()
            .map(|zone| {
                let local = |t: jiff::Timestamp| t.to_zoned_datetime(zone.clone());
                let (start, end) = (local(start), local(end));
                if start.date() == end.date() {
                    format!(
                        "{}–{} {}",
                        start.strftime("%H:%M"),
                        end.strftime("%H:%M"),
                        escape(zone_name)
                    )
                } else {
                    format!(
                        "{} – {} {}",
                        start.strftime("%b %-d %H:%M"),
                        end.strftime("%b %-d %H:%M"),
                        escape(zone_name)
                    )
                }
            })
            .unwrap_or_default(),
        _ => "all day".to_owned(),
    };
    let place = match entry.kind {
        EntryKind::Blackout | EntryKind::Deployment => where_(&entry.environments),
        _ => String::new(),
    };
    let _ = write!(
        out,
        r#"<tr data-kind="{kind}"><td><time datetime="{iso}">{date}</time></td><td>{what}</td><td>{when}</td><td>{place}</td></tr>"#,
        kind = serde_json::to_value(entry.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        iso = entry.date,
    );
}
