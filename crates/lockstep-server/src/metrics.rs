//! `GET /api/v1/metrics` and `GET /api/v1/releases/{name}/retrospective`, and the
//! dashboard pages of the same names: release metrics and the post-release review, read
//! off the event log (`lockstep_core::metrics`).
//!
//! The server keeps one [`Ledger`] and folds only the events committed since the last
//! request, so a request costs the new events, not the whole log.

use std::fmt::Write;
use std::sync::Arc;

use axum::Json;
use axum::extract::Path;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use lockstep_core::coordination::{Activity, LATE_CHANGE_HOURS};
use lockstep_core::metrics::{INCIDENT_DAYS, Ledger, Metrics};
use serde_json::Value;

use axum::extract::State as Extract;

use crate::auth::Caller;
use crate::extract::ListQuery;
use crate::pages::{escape, render};
use crate::{ApiError, AppState};

/// Days a period spans when the request names no start.
pub const DEFAULT_DAYS: i32 = 90;

async fn ledger(app: &AppState) -> Result<tokio::sync::MutexGuard<'_, Ledger>, ApiError> {
    let automation = app.auth.automation_accounts().await?;
    let mut ledger = app.ledger.lock().await;
    app.program.fold_ledger(&mut ledger).await?;
    ledger.set_automation(automation);
    Ok(ledger)
}

fn date_param(query: &ListQuery, key: &str) -> Result<Option<Date>, ApiError> {
    query
        .filters(&["from", "to"])?
        .get(key)
        .map(|raw| {
            lockstep_core::parse_date(raw).map_err(|detail| ApiError::bad_request(key, detail))
        })
        .transpose()
}

/// The period `[from, to)` of whole UTC days: `to` is the day after the last (today by
/// default), `from` defaults to [`DEFAULT_DAYS`] before it. An error names the field at
/// fault (`from` or `to`) and says what is wrong with it.
pub fn period(
    from: Option<Date>,
    to: Option<Date>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), (&'static str, String)> {
    let instant = |date: Date| {
        date.to_datetime(jiff::civil::Time::midnight())
            .to_zoned_datetime(TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .ok()
    };
    let last = to.unwrap_or_else(|| now.to_zoned_datetime(TimeZone::UTC).date());
    let end = last
        .checked_add(1.day())
        .ok()
        .and_then(|end| Some((end, instant(end)?)));
    let Some((end, end_at)) = end else {
        return Err(("to", format!("{last} is too late a date")));
    };
    let start = match from {
        Some(from) => from,
        None => end
            .checked_sub(DEFAULT_DAYS.days())
            .map_err(|_| ("to", format!("{last} is too early a date")))?,
    };
    if start >= end {
        return Err((
            "to",
            format!("the period starts ({start}) after it ends ({last})"),
        ));
    }
    let start_at =
        instant(start).ok_or_else(|| ("from", format!("{start} is too early a date")))?;
    Ok((start_at, end_at))
}

/// `GET /metrics?from=&to=`: the figures of releases shipped from `from` to `to`
/// (inclusive UTC days; the last 90 days by default).
pub(crate) async fn metrics(
    Extract(app): Extract<Arc<AppState>>,
    query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = period(
        date_param(&query, "from")?,
        date_param(&query, "to")?,
        Timestamp::now(),
    )
    .map_err(|(field, detail)| ApiError::bad_request(field, detail))?;
    let ledger = ledger(&app).await?;
    let state = app.state.read().await;
    let zones =
        crate::runs::time_zones(&state).map_err(|e| ApiError::unprocessable("timeZone", e))?;
    Ok(Json(
        serde_json::to_value(ledger.metrics(&state, &zones, from, to))
            .map_err(|e| ApiError::Internal(format!("metrics: {e}")))?,
    ))
}

/// `GET /releases/{name}/retrospective`: the seeds' post-release review questions with
/// the facts the log holds.
pub(crate) async fn retrospective(
    Extract(app): Extract<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    release_view(&app, name, "retrospective", Ledger::retrospective).await
}

/// `GET /releases/{name}/coordination`: the release's coordination time (records, the
/// estimate of time in Lockstep) and the plan changes close to its deployment.
pub(crate) async fn coordination(
    Extract(app): Extract<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    release_view(&app, name, "coordination", Ledger::coordination).await
}

/// The coordination of the release `name` as it stands, for pages that show its figure
/// (the ledger is released before they render); `None` without such a release.
pub(crate) async fn coordination_so_far(
    app: &AppState,
    name: &str,
) -> Result<Option<lockstep_core::coordination::CoordinationReport>, ApiError> {
    let ledger = ledger(app).await?;
    let state = app.state.read().await;
    let zones = zones(&state)?;
    Ok(lockstep_core::Name::parse(name)
        .ok()
        .and_then(|release| ledger.coordination(&state, &zones, &release)))
}

/// The time zones of `state`, resolved.
fn zones(
    state: &lockstep_core::State,
) -> Result<std::collections::BTreeMap<String, TimeZone>, ApiError> {
    crate::runs::time_zones(state).map_err(|e| ApiError::unprocessable("timeZone", e))
}

fn no_release(name: &str) -> ApiError {
    ApiError::NotFound {
        kind: "release",
        name: name.to_owned(),
    }
}

/// What `view` reads off the ledger about the release `name`, as JSON; 404 when there
/// is no such release.
async fn release_view<T: serde::Serialize>(
    app: &AppState,
    name: String,
    what: &str,
    view: impl Fn(
        &Ledger,
        &lockstep_core::State,
        &std::collections::BTreeMap<String, TimeZone>,
        &lockstep_core::Name,
    ) -> Option<T>,
) -> Result<Json<Value>, ApiError> {
    let ledger = ledger(app).await?;
    let state = app.state.read().await;
    let release = crate::wire::path_name("release", &name)?;
    let found =
        view(&ledger, &state, &zones(&state)?, &release).ok_or_else(|| no_release(&name))?;
    Ok(Json(
        serde_json::to_value(found).map_err(|e| ApiError::Internal(format!("{what}: {e}")))?,
    ))
}

/// `GET /releases/{name}/coordination` (page): the records, each person's time in
/// Lockstep, the late plan changes, and a form to record a meeting.
pub(crate) async fn coordination_page(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: axum::http::Uri,
    Path(name): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let ledger = ledger(&app).await?;
    render(&app, &caller, &uri, |state| {
        let release = crate::wire::path_name("release", &name)?;
        let report = ledger
            .coordination(state, &zones(state)?, &release)
            .ok_or_else(|| no_release(&name))?;
        let name = escape(release.as_str());
        let mut body = format!(
            r#"<h1>Coordination: {name}</h1><p class="sub">The time this release took to coordinate, in person-minutes: the meetings, calls, e-mail and chats recorded by those who took part, and each person's time in Lockstep, estimated from what they did. The aim is {aim} per deployment. <a href="/releases/{name}">Back to the release</a> · <a href="/releases/{name}/retrospective">Retrospective</a> · <a href="/api/v1/releases/{name}/coordination">As JSON</a></p><div id="live"><div class="kpis">"#,
            aim = report.target_minutes,
        );
        let standing = report
            .entries
            .iter()
            .filter(|e| e.retracted.is_none())
            .count();
        for (value, label) in [
            (
                report.total_minutes.to_string(),
                format!("person-minutes in all (aim: {})", report.target_minutes),
            ),
            (
                report.recorded_minutes.to_string(),
                format!(
                    "recorded ({standing} {})",
                    if standing == 1 { "record" } else { "records" }
                ),
            ),
            (
                report.in_tool_minutes.to_string(),
                format!("in Lockstep, by {} people (estimate)", report.in_tool.len()),
            ),
            (
                report.late_changes.len().to_string(),
                format!(
                    "plan changes in the {LATE_CHANGE_HOURS} h before the deployment"
                ),
            ),
        ] {
            body.push_str(&kpi(&value, &label));
        }
        body.push_str("</div><h2>Recorded</h2>");
        if report.entries.is_empty() {
            body.push_str(r#"<p class="sub">Nothing recorded yet.</p>"#);
        } else {
            body.push_str(r#"<table><thead><tr><th scope="col">#</th><th scope="col">Day</th><th scope="col">Activity</th><th scope="col">Minutes</th><th scope="col">People</th><th scope="col">Person-minutes</th><th scope="col">Note</th><th scope="col">Recorded by</th><th scope="col"></th></tr></thead><tbody>"#);
            for entry in &report.entries {
                let action = match &entry.retracted {
                    Some(retraction) => format!("retracted by {}", escape(&retraction.by)),
                    None => {
                        let retract = lockstep_core::Command::RetractCoordination {
                            release: release.clone(),
                            number: entry.number,
                            by: caller
                                .principal
                                .as_ref()
                                .map(|p| p.user.clone())
                                .unwrap_or_default(),
                        };
                        if crate::pages::allowed(state, &caller, &retract) {
                            format!(
                                r#"<button type="button" data-retract="{name}" data-number="{number}">Retract</button>"#,
                                number = entry.number
                            )
                        } else {
                            String::new()
                        }
                    }
                };
                let _ = write!(
                    body,
                    r#"<tr{class}><td>{number}</td><td>{on}</td><td>{activity}</td><td>{minutes}</td><td>{people}</td><td>{total}</td><td>{note}</td><td>{by}</td><td>{action}</td></tr>"#,
                    class = if entry.retracted.is_some() {
                        r#" class="retracted""#
                    } else {
                        ""
                    },
                    number = entry.number,
                    on = entry.on,
                    activity = entry.activity,
                    minutes = entry.minutes,
                    people = entry.people,
                    total = entry.person_minutes(),
                    note = escape(entry.note.as_deref().unwrap_or_default()),
                    by = escape(&entry.by),
                );
            }
            body.push_str("</tbody></table>");
        }
        body.push_str("<h2>In Lockstep</h2>");
        if report.in_tool.is_empty() {
            body.push_str(r#"<p class="sub">No one has acted on this release yet.</p>"#);
        } else {
            body.push_str(r#"<table><thead><tr><th scope="col">Person</th><th scope="col">Actions</th><th scope="col">Sittings</th><th scope="col">Minutes</th></tr></thead><tbody>"#);
            for person in &report.in_tool {
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&person.actor),
                    person.actions,
                    person.sittings,
                    person.minutes
                );
            }
            body.push_str("</tbody></table>");
        }
        if !report.automation.is_empty() {
            let accounts: Vec<String> = report
                .automation
                .iter()
                .map(|account| {
                    let n = account.actions;
                    let actions = if n == 1 { "action" } else { "actions" };
                    format!("{} ({n} {actions})", escape(&account.actor))
                })
                .collect();
            let _ = write!(
                body,
                r#"<p class="sub" id="automation">Left out, as no one's time: what automation accounts did, {}.</p>"#,
                accounts.join(", ")
            );
        }
        body.push_str("<h2>How it went</h2>");
        match report.satisfaction_line() {
            None => body.push_str(r#"<p class="sub">No one has rated it yet.</p>"#),
            Some(line) => {
                let _ = write!(body, r#"<p>{}</p><ul class="lessons">"#, escape(&line));
                for rating in &report.ratings {
                    let _ = write!(
                        body,
                        r#"<li><b>{score} of {max}</b> {comment} <span class="sub">{by}</span></li>"#,
                        score = rating.score,
                        max = lockstep_core::coordination::MAX_SCORE,
                        comment = escape(rating.comment.as_deref().unwrap_or_default()),
                        by = escape(&rating.by),
                    );
                }
                body.push_str("</ul>");
            }
        }
        let _ = write!(
            body,
            r#"<h2>Late changes</h2><p class="sub">Changes to the plan in the {LATE_CHANGE_HOURS} h before the deployment ({start}).</p>"#,
            start = report.deployment_start.strftime("%Y-%m-%d %H:%M UTC"),
        );
        if report.late_changes.is_empty() {
            body.push_str(r#"<p class="sub">None.</p>"#);
        } else {
            body.push_str("<ul>");
            for change in &report.late_changes {
                let _ = write!(
                    body,
                    "<li>{} <span class=\"sub\">{} · {}</span></li>",
                    escape(&change.change),
                    escape(&change.actor),
                    change.at.strftime("%b %-d %H:%M UTC")
                );
            }
            body.push_str("</ul>");
        }
        body.push_str("</div>");
        if let Some(principal) = &caller.principal {
            let record = lockstep_core::Command::RecordCoordination {
                release: release.clone(),
                activity: Activity::Meeting,
                minutes: 1,
                people: 1,
                on: None,
                note: None,
                by: principal.user.clone(),
            };
            if crate::pages::allowed(state, &caller, &record) {
                let options: String = Activity::ALL
                    .iter()
                    .map(|a| format!(r#"<option value="{a}">{a}</option>"#))
                    .collect();
                let _ = write!(
                    body,
                    r#"<section class="panel"><h2>Record coordination time</h2><form class="inline" data-coordination-form="{name}"><label>Activity <select name="activity">{options}</select></label><label>Minutes <input type="number" name="minutes" min="1" max="{max_minutes}" required></label><label>People <input type="number" name="people" min="1" max="{max_people}" value="1" required></label><label>Day <input type="date" name="on"></label><label class="grow">Note <input type="text" name="note" maxlength="{note_max}" placeholder="what it was about"></label><button type="submit">Record</button></form></section>"#,
                    max_minutes = lockstep_core::coordination::MAX_MINUTES,
                    max_people = lockstep_core::coordination::MAX_PEOPLE,
                    note_max = lockstep_core::limits::MAX_SENTENCE_CHARS,
                );
                let scores: String = (1..=lockstep_core::coordination::MAX_SCORE)
                    .rev()
                    .map(|s| format!(r#"<option value="{s}">{s}</option>"#))
                    .collect();
                let _ = write!(
                    body,
                    r#"<section class="panel"><h2>How did coordinating it go?</h2><form class="inline" data-rating-form="{name}"><label>Score (5: effortless, 1: painful) <select name="score">{scores}</select></label><label class="grow">Why <input type="text" name="comment" maxlength="{max}" placeholder="what helped, what hurt"></label><button type="submit">Rate</button></form></section>"#,
                    max = lockstep_core::limits::MAX_SENTENCE_CHARS,
                );
            }
        }
        Ok((format!("Coordination {release}"), body))
    })
    .await
}

/// `GET /lessons` (page): what the teams would do differently, across releases, newest
/// first, with a search (`?q=`): the knowledge kept for the next release's planning.
pub(crate) async fn lessons_page(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<axum::response::Response, ApiError> {
    let search = crate::extract::form_pairs(uri.query().unwrap_or(""))
        .into_iter()
        .find(|(key, _)| key == "q")
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty());
    render(&app, &caller, &uri, |state| {
        let found = state.lessons(search.as_deref());
        let mut body = format!(
            r#"<h1>Lessons learned</h1><p class="sub">What the teams would do differently, kept with each release's retrospective, newest first. <a href="/api/v1/lessons">As JSON</a></p><form class="inline" method="get" action="/lessons" role="search"><label class="grow">Search <input type="search" name="q" value="{q}" placeholder="contract, buffer, staging…"></label><button type="submit">Search</button></form><div id="live">"#,
            q = escape(search.as_deref().unwrap_or_default()),
        );
        if found.is_empty() {
            body.push_str(&format!(
                r#"<p class="sub">{}</p>"#,
                if search.is_some() {
                    "No lesson says that."
                } else {
                    "No lesson has been kept yet: a release's retrospective page keeps them."
                }
            ));
        } else {
            body.push_str(&lesson_list(&found));
        }
        body.push_str("</div>");
        Ok(("Lessons learned".to_owned(), body))
    })
    .await
}

/// Lessons as a list: the text, then its release, who and when.
pub(crate) fn lesson_list(lessons: &[(&lockstep_core::Name, &lockstep_core::Lesson)]) -> String {
    let mut out = String::from(r#"<ul class="lessons">"#);
    for (release, lesson) in lessons {
        let _ = write!(
            out,
            r#"<li>{text} <span class="sub"><a href="/releases/{release}/retrospective">{release}</a> · {by} · {on}</span></li>"#,
            text = escape(&lesson.text),
            release = escape(release.as_str()),
            by = escape(&lesson.by),
            on = lesson.at.to_zoned_datetime(TimeZone::UTC).date(),
        );
    }
    out.push_str("</ul>");
    out
}

pub(crate) fn query_date(uri: &axum::http::Uri, key: &str) -> Result<Option<Date>, ApiError> {
    crate::extract::form_pairs(uri.query().unwrap_or(""))
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, raw)| {
            lockstep_core::parse_date(&raw).map_err(|detail| ApiError::bad_request(key, detail))
        })
        .transpose()
}

fn kpi(value: &str, label: &str) -> String {
    format!(
        r#"<div class="kpi"><b>{}</b><span>{}</span></div>"#,
        escape(value),
        escape(label)
    )
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

/// Bars of each shipped release's median lead time, drawn as SVG.
fn lead_time_chart(metrics: &Metrics) -> String {
    let bars: Vec<(&str, f64)> = metrics
        .releases
        .iter()
        .filter_map(|r| r.lead_time_days.map(|l| (r.release.as_str(), l.median)))
        .collect();
    if bars.is_empty() {
        return r#"<p class="sub">No shipped item has a known code-complete moment in this period.</p>"#.to_owned();
    }
    bar_chart(
        "Median days from code complete to production, per release",
        &bars,
        |days| format!("{days:.1} d"),
    )
}

/// Bars of each shipped release's coordination, in person-minutes.
fn coordination_chart(metrics: &Metrics) -> String {
    let bars: Vec<(&str, f64)> = metrics
        .releases
        .iter()
        .map(|r| (r.release.as_str(), r.coordination_minutes as f64))
        .collect();
    if bars.is_empty() {
        return r#"<p class="sub">No release shipped in this period.</p>"#.to_owned();
    }
    bar_chart(
        "Person-minutes of coordination, per release",
        &bars,
        |minutes| format!("{minutes:.0} min"),
    )
}

/// A horizontal bar per (label, value), longest bar for the largest value, drawn as SVG.
fn bar_chart(aria: &str, bars: &[(&str, f64)], value: impl Fn(f64) -> String) -> String {
    let longest = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    let (row, label_width, width) = (24.0, 160.0, 420.0);
    let height = row * bars.len() as f64;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{aria}" viewBox="0 0 {total} {height}" width="{total}" height="{height}">"#,
        aria = escape(aria),
        total = label_width + width + 60.0,
    );
    for (index, (label, amount)) in bars.iter().enumerate() {
        let y = row * index as f64;
        let length = if longest > 0.0 {
            width * amount / longest
        } else {
            0.0
        };
        let _ = write!(
            svg,
            r##"<text x="{lx}" y="{ty}" text-anchor="end" font-size="12">{name}</text><rect x="{label_width}" y="{ry}" width="{length:.1}" height="{h}" fill="#2b50c8"/><text x="{vx:.1}" y="{ty}" font-size="12">{shown}</text>"##,
            lx = label_width - 6.0,
            ty = y + 16.0,
            name = escape(label),
            ry = y + 4.0,
            h = row - 8.0,
            vx = label_width + length + 4.0,
            shown = escape(&value(*amount)),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `GET /metrics` (page): the period's figures, a chart of lead times and a row per
/// shipped release; `?from=&to=` as for the API.
pub(crate) async fn page(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<axum::response::Response, ApiError> {
    let (from, to) = period(
        query_date(&uri, "from")?,
        query_date(&uri, "to")?,
        Timestamp::now(),
    )
    .map_err(|(field, detail)| ApiError::bad_request(field, detail))?;
    let ledger = ledger(&app).await?;
    render(&app, &caller, &uri, |state| {
        let m = ledger.metrics(state, &zones(state)?, from, to);
        let day = |t: Timestamp| t.to_zoned_datetime(TimeZone::UTC).date();
        let last = day(to).yesterday().unwrap_or(day(to));
        let lead = |s: Option<lockstep_core::metrics::Summary>| {
            s.map_or_else(|| "n/a".to_owned(), |s| format!("{:.1} d", s.median))
        };
        let mut body = format!(
            r#"<h1>Metrics</h1><p class="sub">Releases shipped from <time datetime="{first}">{first}</time> to <time datetime="{last}">{last}</time> (UTC), read off the event log. <a href="/lessons">Lessons learned</a> · <a href="/api/v1/metrics?from={first}&amp;to={last}">As JSON</a></p><form class="inline" method="get" action="/metrics" aria-label="Period"><label>From <input type="date" name="from" value="{first}" required></label><label>To <input type="date" name="to" value="{last}" required></label><button type="submit">Show</button></form><div id="live"><div class="kpis">"#,
            first = day(from),
        );
        for (value, label) in [
            (
                format!("{} ({:.1}/month)", m.releases_shipped, m.releases_per_month),
                "releases shipped".to_owned(),
            ),
            (
                format!("{} of {}", m.on_time, m.releases_shipped),
                "on or before target".to_owned(),
            ),
            (
                percent(m.deployment_success_rate),
                format!(
                    "deployment success ({} ok, {} rolled back)",
                    m.runs.succeeded, m.runs.rolled_back
                ),
            ),
            (
                lead(m.lead_time_days),
                "median code complete → production".to_owned(),
            ),
            (lead(m.preparation_days), "median planned → shipped".to_owned()),
            (
                format!("{} / {}", m.rollbacks, m.hotfixes),
                "rollbacks / hotfixes".to_owned(),
            ),
            (
                m.incidents.to_string(),
                format!("incidents within {INCIDENT_DAYS} d"),
            ),
            (
                m.surprise_dependencies.to_string(),
                "surprise dependencies".to_owned(),
            ),
            (
                m.coordination.minutes.map_or_else(
                    || "n/a".to_owned(),
                    |s| format!("{:.0} min", s.median),
                ),
                format!(
                    "median coordination per release ({} of {} within {} min)",
                    m.coordination.within_target,
                    m.releases_shipped,
                    m.coordination.target_minutes
                ),
            ),
            (
                m.coordination.satisfaction.map_or_else(
                    || "n/a".to_owned(),
                    |s| format!("{s:.1} of {}", lockstep_core::coordination::MAX_SCORE),
                ),
                "coordination rating by the teams".to_owned(),
            ),
            (
                m.coordination.late_changes.to_string(),
                format!("plan changes in the {LATE_CHANGE_HOURS} h before a deployment"),
            ),
            (
                percent(m.windows.free_rate),
                format!(
                    "of {} open deployment windows free of conflicts",
                    m.windows.total
                ),
            ),
        ] {
            body.push_str(&kpi(&value, &label));
        }
        body.push_str("</div><h2>Code complete to production</h2>");
        body.push_str(&lead_time_chart(&m));
        let _ = write!(
            body,
            "<h2>Coordination per release <span class=\"sub\">person-minutes; the aim is {}</span></h2>",
            m.coordination.target_minutes
        );
        body.push_str(&coordination_chart(&m));
        body.push_str(r#"<h2>Shipped releases</h2>"#);
        if m.releases.is_empty() {
            body.push_str(r#"<p class="sub">None in this period.</p>"#);
        } else {
            body.push_str(r#"<table><thead><tr><th scope="col">Release</th><th scope="col">Target</th><th scope="col">Released</th><th scope="col">Days late</th><th scope="col">Lead time (median)</th><th scope="col">Rollbacks</th><th scope="col">Incidents</th><th scope="col">Surprises</th><th scope="col">Coordination</th><th scope="col">Late changes</th><th scope="col">Review</th></tr></thead><tbody>"#);
            for r in &m.releases {
                let _ = write!(
                    body,
                    r#"<tr><td><a href="/releases/{name}">{name}</a></td><td>{target}</td><td>{released}</td><td>{late}</td><td>{lead}</td><td>{rollbacks}</td><td>{incidents}</td><td>{surprises}</td><td><a href="/releases/{name}/coordination">{coordination} min</a></td><td>{late_changes}</td><td><a href="/releases/{name}/retrospective">Retrospective</a></td></tr>"#,
                    name = escape(r.release.as_str()),
                    target = r.target.map(|d| d.to_string()).unwrap_or_default(),
                    released = r.released,
                    late = r.slip_days,
                    lead = lead(r.lead_time_days),
                    rollbacks = r.rollbacks,
                    incidents = r.incidents,
                    surprises = r.surprise_dependencies,
                    coordination = r.coordination_minutes,
                    late_changes = r.late_changes,
                );
            }
            body.push_str("</tbody></table>");
        }
        body.push_str("</div>");
        Ok(("Metrics".to_owned(), body))
    })
    .await
}

/// `GET /releases/{name}/retrospective` (page): the post-release review to walk through.
pub(crate) async fn retrospective_page(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: axum::http::Uri,
    Path(name): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let ledger = ledger(&app).await?;
    render(&app, &caller, &uri, |state| {
        let release = crate::wire::path_name("release", &name)?;
        let retro = ledger
            .retrospective(state, &zones(state)?, &release)
            .ok_or_else(|| no_release(&name))?;
        let mut body = format!(
            r#"<h1>Retrospective: {name}</h1><p class="sub">The post-release review's questions with what the record shows. <a href="/releases/{name}">Back to the release</a> · <a href="/releases/{name}/coordination">Coordination</a></p><div id="live">"#,
            name = escape(release.as_str()),
        );
        for section in &retro.sections {
            let _ = write!(body, "<h2>{}</h2><dl>", escape(&section.title));
            for question in &section.questions {
                let _ = write!(body, "<dt><b>{}</b></dt>", escape(&question.question));
                if question.facts.is_empty() {
                    body.push_str("<dd><em>For the team to answer.</em></dd>");
                }
                for fact in &question.facts {
                    let _ = write!(body, "<dd>{}</dd>", escape(fact));
                }
            }
            body.push_str("</dl>");
        }
        // Lessons are everyone's: whoever may write keeps one with the release.
        if let Some(principal) = &caller.principal {
            let lesson = lockstep_core::Command::RecordLesson {
                release: release.clone(),
                text: "?".to_owned(),
                by: principal.user.clone(),
            };
            if crate::pages::allowed(state, &caller, &lesson) {
                let _ = write!(
                    body,
                    r#"<p class="actions"><button type="button" data-lesson="{name}">Keep a lesson</button></p>"#,
                    name = escape(release.as_str())
                );
            }
        }
        body.push_str("</div>");
        Ok((format!("Retrospective {}", release), body))
    })
    .await
}
