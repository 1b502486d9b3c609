//! The server-rendered dashboard: release list, release dashboard (board by column,
//! readiness per team, timeline, dependency graph with the critical path and risk, recent
//! activity), team page, item page, calendar, and the login form.
//!
//! HTML is built here with every text escaped; charts are SVG drawn here. The only
//! script is `static/live.js`, which re-renders the `#live` section when the event
//! stream reports a change. Nothing needs a build step.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State as Extract};
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::civil::Date;
use lockstep_core::access::{authorize, role_of};
use lockstep_core::risk::{RiskReport, assess};
use lockstep_core::{Command, Item, ItemStatus, Name, Recorded, ReleaseState, State};

use crate::auth::Caller;
use crate::{ApiError, AppState};

/// Lessons of earlier releases a release page shows while it is planned or built.
const LESSONS_SHOWN: usize = 3;

/// `2030-01-10 10:00 UTC`: an instant as people read it on a page (a `datetime`
/// attribute keeps the instant itself).
pub(crate) fn minute(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes `text` and shows its `code` spans (messages quote names in backticks) as code.
pub(crate) fn code_spans(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

/// A problem answered to a browser's page request becomes a page: the same status, the
/// problem's title and detail inside the site's header, and a way back, instead of a raw
/// JSON document. API paths, and requests that do not ask for HTML first (`fetch`, curl,
/// the CLI), keep the problem document.
pub(crate) async fn html_problems(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let wants_html = !request.uri().path().starts_with("/api/")
        && request
            .headers()
            .get(axum::http::header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.starts_with("text/html"));
    let caller = request.extensions().get::<Caller>().cloned();
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    let Some(caller) = caller.filter(|_| wants_html && is_problem) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let problem: serde_json::Value = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    };
    let title = problem["title"].as_str().unwrap_or("Something went wrong");
    let detail = problem["detail"].as_str().unwrap_or_default();
    let page = layout(
        title,
        &caller,
        None,
        "",
        &format!(
            r#"<h1>{}</h1><p class="sub">{}</p><p><a href="/">Back to the releases</a></p>"#,
            escape(title),
            escape(detail),
        ),
    );
    let mut response = (parts.status, Html(page)).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

/// The page at `path`, with the site's header around `body`.
pub(crate) fn layout(
    title: &str,
    caller: &Caller,
    role: Option<String>,
    path: &str,
    body: &str,
) -> String {
    let csrf = caller.csrf().unwrap_or("");
    let nav: String = [
        ("/", "Releases"),
        ("/calendar", "Calendar"),
        ("/contracts", "Contracts"),
        ("/changes", "Changes"),
        ("/metrics", "Metrics"),
    ]
    .iter()
    .map(|(href, label)| {
        let current = if *href == path {
            r#" aria-current="page""#
        } else {
            ""
        };
        format!(r#"<a href="{href}"{current}>{label}</a>"#)
    })
    .collect();
    let who = match &caller.principal {
        Some(principal) => format!(
            r#"<span>{user}{role}</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="{csrf}"><button type="submit">Log out</button></form>"#,
            user = escape(&principal.user),
            role = role
                .map(|r| format!(" · {}", escape(&r)))
                .unwrap_or_default(),
            csrf = escape(csrf),
        ),
        None => r#"<a href="/login">Log in</a>"#.to_owned(),
    };
    format!(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{csrf}">
<title>{title} · Lockstep</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/live.js" defer></script>
</head><body><a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">Lockstep</a>
<nav aria-label="Main">{nav}</nav>
<div class="who">{who}</div></header>
<main id="main">{body}</main>
<p id="live-status" class="sr-only" aria-live="polite"></p>
<div id="flash" role="alert"></div>
</body></html>"##,
        title = escape(title),
        csrf = escape(csrf),
    )
}

/// Renders a page, or sends an anonymous caller to the login page: every page needs
/// a signed-in user.
pub(crate) async fn render(
    app: &AppState,
    caller: &Caller,
    uri: &Uri,
    build: impl FnOnce(&State) -> Result<(String, String), ApiError>,
) -> Result<Response, ApiError> {
    if caller.principal.is_none() {
        let next = uri.path_and_query().map_or("/", |p| p.as_str());
        return Ok(Redirect::to(&format!("/login?next={}", url_encode(next))).into_response());
    }
    let state = app.state.read().await;
    let role = caller
        .principal
        .as_ref()
        .map(|principal| role_of(&state, principal).label());
    let (title, body) = build(&state)?;
    Ok(Html(layout(&title, caller, role, uri.path(), &body)).into_response())
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The login form; after a refused attempt it keeps the user name and asks for the
/// password again.
pub fn login(error: Option<&str>, username: &str, csrf: &str, next: &str) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    let body = format!(
        r#"<section class="login panel"><h1>Log in</h1>{error}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{next}">
<label for="username">User name</label><input id="username" name="username" value="{username}" autocomplete="username" required{focus_user}>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required{focus_password}>
<button type="submit">Log in</button></form>
<p class="hint">Running the demo? The users and their password are printed by <code>lockstep serve --demo</code>.</p></section>"#,
        csrf = escape(csrf),
        next = escape(next),
        username = escape(username),
        focus_user = if username.is_empty() {
            " autofocus"
        } else {
            ""
        },
        focus_password = if username.is_empty() {
            ""
        } else {
            " autofocus"
        },
    );
    layout(
        "Log in",
        &Caller {
            principal: None,
            via: crate::auth::Via::Anonymous,
        },
        None,
        "/login",
        &body,
    )
}

fn item_finish(item: &Item) -> Option<Date> {
    item.eta.or(item.spec.due)
}

fn short(date: Date) -> String {
    date.strftime("%b %-d").to_string()
}

fn readiness(items: &[&Item]) -> (usize, usize) {
    let ready = items.iter().filter(|i| i.status.is_ready()).count();
    (ready, items.len())
}

fn percent(ready: usize, total: usize) -> usize {
    (ready * 100).checked_div(total).unwrap_or(0)
}

fn risk_class(report: &RiskReport, item: &Item) -> &'static str {
    match report.items.get(&item.name) {
        Some(risk) if risk.upstream => "warn",
        Some(_) => "risk",
        None if item.status == ItemStatus::Released
            || item.status == ItemStatus::ReadyForRelease =>
        {
            "done"
        }
        None => "",
    }
}

/// `GET /`: the release list.
pub(crate) async fn index(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    render(&app, &caller, &uri, |state| {
        let report = assess(state);
        let mut body = String::from(
            r#"<h1>Releases</h1><p class="sub">Every release of the program, its readiness and its risk.</p><div id="live"><table><caption class="sub">Releases by target date</caption><thead><tr><th scope="col">Release</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Target date</th><th scope="col">Ready</th><th scope="col">Go/no-go</th><th scope="col">Risk</th></tr></thead><tbody>"#,
        );
        let mut releases: Vec<_> = state.releases().values().collect();
        releases.sort_by_key(|r| r.spec.target_date);
        for release in releases {
            let items: Vec<&Item> = state.items_of(&release.name).collect();
            let (ready, total) = readiness(&items);
            let risk = match report.releases.get(&release.name) {
                // Shipped or abandoned: there is nothing left to be at risk of.
                None if release.state.is_terminal() => "-".to_owned(),
                Some(r) => format!(
                    r#"<span class="badge risk">at risk</span> <span class="hint">{}</span>"#,
                    escape(r.chain.last().map_or("", String::as_str))
                ),
                None => r#"<span class="badge ok">on track</span>"#.to_owned(),
            };
            // The verdict beside the dates: "on track" says nothing of readiness.
            let verdict = match lockstep_core::checklist::assess(state, &release.name) {
                _ if release.state.is_terminal() => "-".to_owned(),
                Ok(assessment) if assessment.verdict.is_go() => {
                    r#"<span class="badge ok">go</span>"#.to_owned()
                }
                Ok(assessment) => format!(
                    r#"<span class="badge risk">no-go</span> <span class="hint">{} of {} criteria unmet</span>"#,
                    assessment
                        .verdict
                        .criteria
                        .iter()
                        .filter(|c| c.status != lockstep_core::readiness::CriterionStatus::Met)
                        .count(),
                    assessment.verdict.criteria.len()
                ),
                Err(_) => "-".to_owned(),
            };
            let _ = write!(
                body,
                r#"<tr><td><a href="/releases/{name}">{title}</a></td><td>{kind:?}</td><td>{status}</td><td>{date}</td><td>{ready}/{total} <meter min="0" max="100" value="{pct}" aria-label="{pct}% ready">{pct}%</meter></td><td data-verdict>{verdict}</td><td>{risk}</td></tr>"#,
                name = escape(release.name.as_str()),
                title = escape(release.spec.title.as_deref().unwrap_or(release.name.as_str())),
                kind = release.spec.kind,
                status = release.state,
                date = release.spec.target_date,
                pct = percent(ready, total),
            );
        }
        body.push_str("</tbody></table></div>");
        Ok(("Releases".to_owned(), body))
    })
    .await
}

fn recent_activity(history: &[Recorded], filter: impl Fn(&Recorded) -> bool, n: usize) -> String {
    let mut out = String::from(r#"<ul class="activity">"#);
    let mut count = 0;
    for record in history.iter().rev().filter(|r| filter(r)).take(n) {
        count += 1;
        let _ = write!(
            out,
            r#"<li><time datetime="{at}">{when}</time><strong>{actor}</strong> {summary}{reason}</li>"#,
            at = record.meta.at,
            when = record.meta.at.strftime("%b %-d %H:%M"),
            actor = escape(&record.meta.actor),
            summary = escape(&record.event.describe()),
            reason = record
                .meta
                .reason
                .as_deref()
                .map(|r| format!(r#" <span class="hint">— {}</span>"#, escape(r)))
                .unwrap_or_default(),
        );
    }
    if count == 0 {
        out.push_str("<li>No activity yet.</li>");
    }
    out.push_str("</ul>");
    out
}

async fn history_tail(app: &AppState, n: i64) -> Vec<Recorded> {
    let head = app.state.read().await.position();
    app.program
        .history((head - n).max(0), n)
        .await
        .unwrap_or_default()
}

/// `GET /releases/{name}`: the release dashboard.
pub(crate) async fn release(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let history = history_tail(&app, 500).await;
    let coordination = crate::metrics::coordination_so_far(&app, &name).await?;
    let today = app.now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    render(&app, &caller, &uri, |state| {
        let release = state
            .releases()
            .get(name.as_str())
            .ok_or_else(|| ApiError::NotFound {
                kind: "release",
                name: name.clone(),
            })?;
        let report = assess(state);
        let title = release.spec.title.as_deref().unwrap_or(release.name.as_str());
        let items: Vec<&Item> = state.items_of(&release.name).collect();
        let (ready, total) = readiness(&items);
        let n_risk = items.iter().filter(|i| report.items.contains_key(&i.name)).count();
        let mut body = format!(
            r#"<h1>{title}</h1><p class="sub">{kind:?} release{version} · {state} · manager {manager} · <a href="/feeds?release={name}">Subscribe in your calendar</a> · <a href="/releases/{name}/coordination">Coordination</a> · <a href="/releases/{name}/retrospective">Retrospective</a></p><div id="live" data-release="{name}">"#,
            title = escape(title),
            kind = release.spec.kind,
            version = release
                .spec
                .version
                .as_deref()
                .map(|v| format!(" {}", escape(v)))
                .unwrap_or_default(),
            state = release.state,
            manager = escape(release.spec.manager.as_ref().map_or("—", Name::as_str)),
            name = escape(release.name.as_str()),
        );
        let _ = write!(
            body,
            r#"<div class="kpis"><div class="kpi"><b>{date}</b><span>Release date</span></div><div class="kpi"><b>{pct}%</b><span>{ready} of {total} items ready</span></div><div class="kpi"><b>{n_risk}</b><span>items at risk</span></div><div class="kpi"><b>{ff}</b><span>Feature freeze</span></div><div class="kpi"><b>{cf}</b><span>Code freeze</span></div>{coordination}</div>"#,
            coordination = coordination.as_ref().map_or_else(String::new, |c| format!(
                r#"<div class="kpi"><b>{} min</b><span><a href="/releases/{}/coordination">coordination</a> (aim: {})</span></div>"#,
                c.total_minutes,
                escape(release.name.as_str()),
                c.target_minutes
            )),
            date = short(release.spec.target_date),
            pct = percent(ready, total),
            ff = release.spec.feature_freeze.map_or("—".to_owned(), short),
            cf = release.spec.code_freeze.map_or("—".to_owned(), short),
        );
        let _ = write!(
            body,
            r#"<p class="run-link"><a href="/releases/{name}/run">Runbook and deployment run</a>{status}</p>"#,
            name = escape(release.name.as_str()),
            status = state
                .runs()
                .get(&release.name)
                .map(|run| format!(" · run {}: {}", run.number, run.status().as_str()))
                .unwrap_or_default(),
        );
        if let Some(risk) = report.releases.get(&release.name) {
            body.push_str(r#"<section class="panel" aria-labelledby="risk-h"><h2 id="risk-h"><span class="badge risk">At risk</span> Why</h2><ol class="chain">"#);
            for link in &risk.chain {
                let _ = write!(body, "<li>{}</li>", escape(link));
            }
            body.push_str("</ol></section>");
        }
        body.push_str(&calendar_conflicts(state, &caller, release));
        body.push_str(&risk_register(state, &release.name, today));
        // While a release is being planned or built, what earlier ones taught.
        if matches!(
            release.state,
            ReleaseState::Planned | ReleaseState::InProgress
        ) {
            let earlier: Vec<_> = state
                .lessons(None)
                .into_iter()
                .filter(|(other, _)| **other != release.name)
                .take(LESSONS_SHOWN)
                .collect();
            if !earlier.is_empty() {
                let _ = write!(
                    body,
                    r#"<section class="panel" aria-labelledby="lessons-h"><h2 id="lessons-h">Lessons from earlier releases</h2>{}<p class="sub"><a href="/lessons">All lessons</a></p></section>"#,
                    crate::metrics::lesson_list(&earlier)
                );
            }
        }
        // Go/no-go: every criterion with what is missing (signals, items, scenarios).
        if let Ok(assessment) = lockstep_core::checklist::assess(state, &release.name) {
            let verdict = &assessment.verdict;
            let _ = write!(
                body,
                r#"<section class="panel" aria-labelledby="gonogo-h"><h2 id="gonogo-h">Go/no-go <span class="badge {class}">{word}</span></h2><ul class="gonogo">"#,
                class = if verdict.is_go() { "ok" } else { "risk" },
                word = if verdict.is_go() { "Go" } else { "No-go" },
            );
            // One line per criterion, readable at a glance; what is missing is one
            // click away, a line per finding, instead of a paragraph per criterion.
            for criterion in &verdict.criteria {
                let status = criterion.status.as_str();
                let head = format!(
                    r#"<span class="badge {class}">{status}</span> {title}"#,
                    class = if status == "met" { "ok" } else { "risk" },
                    title = escape(criterion.title),
                );
                let _ = write!(
                    body,
                    r#"<li data-criterion="{id}" data-status="{status}">"#,
                    id = criterion.id,
                );
                if criterion.missing.is_empty() {
                    body.push_str(&head);
                } else {
                    let _ = write!(
                        body,
                        "<details><summary>{head} <span class=\"sub\">{n} to resolve</span></summary><ul>",
                        n = criterion.missing.len(),
                    );
                    for line in &criterion.missing {
                        let _ = write!(body, "<li>{}</li>", escape(line));
                    }
                    body.push_str("</ul></details>");
                }
                body.push_str("</li>");
            }
            body.push_str("</ul></section>");
            body.push_str(&crate::checklists::panel(&assessment));
        }
        // Board.
        body.push_str(r#"<h2 id="board-h">Board</h2><div class="board" role="region" aria-labelledby="board-h">"#);
        for column in ItemStatus::COLUMNS {
            let cards: Vec<&&Item> = items.iter().filter(|i| i.status == column).collect();
            let _ = write!(
                body,
                r#"<section class="col" aria-label="{title}" data-column="{slug}"><h3>{title}<span>{n}</span></h3>"#,
                title = column.title(),
                slug = column.as_str(),
                n = cards.len(),
            );
            for item in cards {
                body.push_str(&card(state, &report, item, &caller));
            }
            body.push_str("</section>");
        }
        body.push_str("</div>");
        // Readiness per team, timeline, graph, activity.
        body.push_str(r#"<div class="grid"><section class="panel"><h2>Readiness by team</h2><table><thead><tr><th scope="col">Team</th><th scope="col">Ready</th><th scope="col">At risk</th></tr></thead><tbody>"#);
        let mut by_team: BTreeMap<&Name, Vec<&Item>> = BTreeMap::new();
        for item in &items {
            by_team.entry(&item.spec.team).or_default().push(item);
        }
        for (team, team_items) in &by_team {
            let (r, t) = readiness(team_items);
            let at_risk = team_items.iter().filter(|i| report.items.contains_key(&i.name)).count();
            let _ = write!(
                body,
                r#"<tr><td><a href="/teams/{team}">{team}</a></td><td>{r}/{t}<meter min="0" max="100" value="{pct}" aria-label="{pct}% ready">{pct}%</meter></td><td>{risk}</td></tr>"#,
                team = escape(team.as_str()),
                pct = percent(r, t),
                risk = if at_risk > 0 {
                    format!(r#"<span class="badge risk">{at_risk}</span>"#)
                } else {
                    r#"<span class="badge ok">0</span>"#.to_owned()
                },
            );
        }
        body.push_str("</tbody></table></section>");
        let _ = write!(
            body,
            r#"<section class="panel"><h2>Recent activity</h2>{}</section></div>"#,
            recent_activity(&history, |r| r.stream == format!("release:{}", release.name), 12)
        );
        let _ = write!(
            body,
            r#"<h2>Timeline</h2><div class="panel scroll">{}</div>"#,
            timeline(state, release, &items)
        );
        let _ = write!(
            body,
            r#"<h2>Dependencies and critical path</h2><div class="panel scroll">{}</div>"#,
            graph(state, &report, &items)
        );
        body.push_str("</div>");
        Ok((title.to_owned(), body))
    })
    .await
}

/// The release's live register risks (open or occurred), highest exposure first, with
/// owner, mitigation, status and review date; a review date in the past is marked
/// overdue. Nothing when the release has no live risk.
fn risk_register(state: &State, release: &Name, today: Date) -> String {
    let risks = state.live_risks_of(release);
    if risks.is_empty() {
        return String::new();
    }
    let mut html = format!(
        r#"<section class="panel" aria-labelledby="register-h"><h2 id="register-h">Risk register <span class="sub">{n} open</span></h2><table><thead><tr><th scope="col">Risk</th><th scope="col">Exposure</th><th scope="col">Owner</th><th scope="col">Mitigation</th><th scope="col">Status</th><th scope="col">Review by</th></tr></thead><tbody>"#,
        n = risks.len(),
    );
    for risk in risks {
        let exposure = risk.spec.exposure();
        let review = match risk.spec.review_by {
            Some(date) if risk.review_overdue(today) => format!(
                r#"<span class="badge risk" data-overdue>overdue</span> {}"#,
                short(date)
            ),
            Some(date) => short(date),
            None => "—".to_owned(),
        };
        let flag = risk
            .spec
            .feature_flag
            .as_deref()
            .map(|flag| {
                format!(
                    r#" <span class="hint">flag <code>{}</code></span>"#,
                    escape(flag)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            html,
            r#"<tr data-risk="{name}"><td>{title}{trigger}</td><td><span class="badge {class}">{exposure}</span> <span class="hint">{probability} × {impact}</span></td><td>{owner}</td><td>{mitigation}{flag}</td><td>{status}</td><td>{review}</td></tr>"#,
            name = escape(risk.name.as_str()),
            title = escape(&risk.spec.title),
            trigger = risk
                .spec
                .trigger
                .as_deref()
                .map(|t| format!(
                    r#"<br><span class="hint">escalate when: {}</span>"#,
                    escape(t)
                ))
                .unwrap_or_default(),
            class = match exposure {
                6.. => "risk",
                3.. => "warn",
                _ => "ok",
            },
            probability = risk.spec.probability,
            impact = risk.spec.impact,
            owner = escape(risk.spec.owner.as_str()),
            mitigation = risk
                .spec
                .mitigation
                .as_deref()
                .map_or_else(|| "none yet".to_owned(), escape),
            status = risk.status,
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// Whether the caller may issue `command`. Pages offer a control only where the write it
/// sends would pass the same rule (`access::authorize`) that the write itself checks.
pub(crate) fn allowed(state: &State, caller: &Caller, command: &Command) -> bool {
    caller
        .principal
        .as_ref()
        .is_some_and(|principal| authorize(state, principal, command).is_ok())
}

fn card(state: &State, report: &RiskReport, item: &Item, caller: &Caller) -> String {
    let waits: Vec<String> = state
        .blocked_by(&item.name)
        .map(|d| escape(d.blocker.as_str()))
        .collect();
    let risk = report.items.get(&item.name);
    let mut out = format!(
        r#"<article class="card {class}" data-item="{name}"><a href="/items/{name}">{title}</a><div class="meta">{team} · {when}{waits}</div>"#,
        class = risk_class(report, item),
        name = escape(item.name.as_str()),
        title = escape(&item.spec.title),
        team = escape(item.spec.team.as_str()),
        when = match (item.eta, item.spec.due) {
            (Some(eta), _) => format!("ETA {}", short(eta)),
            (None, Some(due)) => format!("due {}", short(due)),
            (None, None) => "no date".to_owned(),
        },
        waits = if waits.is_empty() {
            String::new()
        } else {
            format!(" · waits on {}", waits.join(", "))
        },
    );
    if let Some(risk) = risk {
        let _ = write!(
            out,
            r#"<div class="meta"><span class="badge {}">{}</span> {}</div>"#,
            if risk.upstream { "warn" } else { "risk" },
            if risk.upstream {
                "buffer consumed"
            } else {
                "at risk"
            },
            escape(&risk.link),
        );
    }
    out.push_str(&move_control(state, caller, item));
    out.push_str("</article>");
    out
}

/// The status select and Move button of an item, for those who may move it and while it
/// can move (released is final); empty otherwise.
fn move_control(state: &State, caller: &Caller, item: &Item) -> String {
    let movable = item.status != ItemStatus::Released
        && allowed(
            state,
            caller,
            &Command::MoveItem {
                item: item.name.clone(),
                to: item.status,
            },
        );
    if !movable {
        return String::new();
    }
    let name = escape(item.name.as_str());
    let title = escape(&item.spec.title);
    // Choosing a status writes nothing (arrow keys on a closed select fire `change` in
    // Chromium); the Move button does, and asks first when the move is final.
    let mut out = format!(
        r#"<div class="move"><label class="sr-only" for="move-{name}">Move {title}</label><select id="move-{name}" data-move="{name}">"#
    );
    for status in ItemStatus::COLUMNS {
        let _ = write!(
            out,
            r#"<option value="{v}"{sel}>{t}{fin}</option>"#,
            v = status.as_str(),
            t = status.title(),
            sel = if status == item.status {
                " selected"
            } else {
                ""
            },
            fin = if status == ItemStatus::Released {
                " (final)"
            } else {
                ""
            },
        );
    }
    let _ = write!(
        out,
        r#"</select><button type="button" id="move-button-{name}" data-move-button="{name}" data-title="{title}">Move</button></div>"#
    );
    out
}

/// The release's conflicts on the release calendar (another release in its window, a
/// blackout, outside the deploy windows), each with its proposed move, as a panel; empty
/// when it has none.
fn calendar_conflicts(state: &State, caller: &Caller, release: &lockstep_core::Release) -> String {
    // Only an open release with a release-day window can be in a conflict.
    if release.spec.deployment.is_none() || release.state.is_terminal() {
        return String::new();
    }
    let Ok(zones) = crate::runs::time_zones(state) else {
        return String::new();
    };
    let this = |r: &lockstep_core::Release| r.name == release.name;
    let between = lockstep_core::conflicts::conflicts_where(state, &zones, this);
    let windows = lockstep_core::conflicts::window_conflicts_where(state, &zones, this);
    let found: Vec<(&str, &Name, Option<jiff::civil::DateTime>)> = between
        .iter()
        .map(|c| (c.explanation.as_str(), &c.moves, Some(c.proposed_start)))
        .chain(
            windows
                .iter()
                .map(|c| (c.explanation.as_str(), &c.release, c.proposed_start)),
        )
        .collect();
    if found.is_empty() {
        return String::new();
    }
    let mut panel = String::from(
        r#"<section class="panel" id="calendar-conflicts" aria-labelledby="calendar-conflicts-h"><h2 id="calendar-conflicts-h"><span class="badge risk">Conflict</span> On the release calendar</h2><ul class="chain">"#,
    );
    for (explanation, moves, to) in found {
        let _ = write!(
            panel,
            "<li>{}{}</li>",
            escape(explanation),
            crate::calendar::move_action(state, caller, moves, to)
        );
    }
    let month = release.spec.target_date.first_of_month();
    let _ = write!(
        panel,
        r#"</ul><p class="sub"><a href="/calendar?from={month}">The calendar around it</a></p></section>"#
    );
    panel
}

/// The blackouts over `[start, end]` where `release` deploys (all, when it declares no
/// deployment), as timeline rows: one-off periods and long recurring ones; short
/// recurring rules (a nightly batch) would only draw a comb, and are on the Calendar.
fn blackout_rows(
    state: &State,
    release: &lockstep_core::Release,
    start: Date,
    end: Date,
) -> Vec<(String, Date, Option<Date>, &'static str)> {
    let Ok(zones) = crate::runs::time_zones(state) else {
        return Vec::new();
    };
    let Ok(after) = end.tomorrow() else {
        return Vec::new();
    };
    let Ok((entries, _)) = lockstep_core::calendar::agenda(state, &zones, start, after) else {
        return Vec::new();
    };
    let environment = release.spec.deployment.as_ref().map(|d| &d.environment);
    entries
        .into_iter()
        .filter(|entry| entry.kind == lockstep_core::calendar::EntryKind::Blackout)
        .filter(|entry| {
            entry.environments.is_empty()
                || environment.is_none_or(|env| entry.environments.contains(env))
        })
        .map(|entry| {
            (
                format!("Blackout: {}", entry.title),
                entry.date.max(start),
                entry.until.map(|until| until.min(end)),
                "#c62828",
            )
        })
        .collect()
}

fn timeline(state: &State, release: &lockstep_core::Release, items: &[&Item]) -> String {
    let mut dates: Vec<Date> = vec![release.spec.target_date];
    dates.extend(release.spec.feature_freeze);
    dates.extend(release.spec.code_freeze);
    for milestone in &release.spec.milestones {
        dates.push(milestone.date);
        dates.extend(milestone.end);
    }
    dates.extend(items.iter().filter_map(|i| item_finish(i)));
    let (Some(&first), Some(&last)) = (dates.iter().min(), dates.iter().max()) else {
        return String::new();
    };
    let start = first
        .checked_sub(jiff::Span::new().days(2))
        .unwrap_or(first);
    let end = last.checked_add(jiff::Span::new().days(2)).unwrap_or(last);
    let n_days = (end - start).get_days().max(1);
    let width = 1100.0_f64;
    let x = |d: Date| 20.0 + (d - start).get_days() as f64 / f64::from(n_days) * (width - 40.0);
    let mut rows: Vec<(String, Date, Option<Date>, &str)> = Vec::new();
    for milestone in &release.spec.milestones {
        rows.push((
            milestone
                .title
                .clone()
                .unwrap_or_else(|| milestone.name.as_str().to_owned()),
            milestone.date,
            milestone.end,
            "#2b50c8",
        ));
    }
    rows.extend(blackout_rows(state, release, start, end));
    if let Some(deployment) = &release.spec.deployment {
        rows.push((
            format!("Deployment window ({})", deployment.environment),
            release.spec.target_date,
            None,
            "#1e7d46",
        ));
    }
    let height = 70 + rows.len() * 26;
    let mut svg = format!(
        r#"<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="Timeline of {name}"><title>Timeline of {name}</title>"#,
        name = escape(release.name.as_str()),
    );
    // Freeze band: from feature freeze to release.
    if let Some(freeze) = release.spec.feature_freeze.or(release.spec.code_freeze) {
        let _ = write!(
            svg,
            r##"<rect x="{x0:.0}" y="20" width="{w:.0}" height="{h}" fill="#eef1fb"/><text x="{x0:.0}" y="14" font-size="11" fill="#5b6577">freeze</text>"##,
            x0 = x(freeze),
            w = (x(release.spec.target_date) - x(freeze)).max(2.0),
            h = height - 30,
        );
    }
    let mut axis = start;
    while axis <= end {
        if axis.weekday() == jiff::civil::Weekday::Monday {
            let _ = write!(
                svg,
                r##"<line x1="{x:.0}" x2="{x:.0}" y1="20" y2="{y}" stroke="#dfe3ea"/><text x="{x:.0}" y="{ty}" font-size="11" fill="#5b6577">{label}</text>"##,
                x = x(axis),
                y = height - 12,
                ty = height - 2,
                label = short(axis),
            );
        }
        axis = match axis.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    for (index, (label, date, end_date, colour)) in rows.iter().enumerate() {
        let y = 34 + index * 26;
        match end_date {
            Some(end_date) => {
                let _ = write!(
                    svg,
                    r#"<rect x="{x0:.0}" y="{y}" width="{w:.0}" height="12" rx="3" fill="{colour}" opacity=".75"/>"#,
                    x0 = x(*date),
                    w = (x(*end_date) - x(*date)).max(4.0),
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r#"<circle cx="{cx:.0}" cy="{cy}" r="6" fill="{colour}"/>"#,
                    cx = x(*date),
                    cy = y + 6,
                );
            }
        }
        // Labels of late dates read leftwards, so that none runs off the right edge.
        let leftwards = x(*date) > width * 0.6;
        let _ = write!(
            svg,
            r##"<text x="{tx:.0}" y="{ty}" font-size="12" fill="#17202e"{anchor}>{label} · {d}</text>"##,
            tx = if leftwards {
                x(*date) - 10.0
            } else {
                x(*date) + 10.0
            },
            anchor = if leftwards {
                r#" text-anchor="end""#
            } else {
                ""
            },
            ty = y + 10,
            label = escape(label),
            d = short(*date),
        );
    }
    let today_marker = release.spec.target_date;
    let _ = write!(
        svg,
        r##"<line x1="{x:.0}" x2="{x:.0}" y1="20" y2="{y}" stroke="#c62828" stroke-width="2"/><text x="{x:.0}" y="{ty}" font-size="12" fill="#c62828" text-anchor="end">release {d} </text>"##,
        x = x(today_marker),
        y = height - 12,
        ty = 30,
        d = short(today_marker),
    );
    svg.push_str("</svg>");
    svg
}

/// The longest chain by projected finish, ending at the latest-finishing item.
fn critical_path(state: &State, items: &[&Item]) -> Vec<Name> {
    let finish: HashMap<&Name, Date> = items
        .iter()
        .filter_map(|i| item_finish(i).map(|d| (&i.name, d)))
        .collect();
    let Some(mut at) = items
        .iter()
        .filter(|i| finish.contains_key(&i.name))
        .max_by_key(|i| (finish.get(&i.name), std::cmp::Reverse(i.name.clone())))
        .map(|i| i.name.clone())
    else {
        return Vec::new();
    };
    let mut path = vec![at.clone()];
    while let Some(prev) = state
        .blocked_by(&at)
        .map(|d| d.blocker.clone())
        .filter(|b| !path.contains(b))
        .max_by_key(|b| finish.get(b).copied())
    {
        path.push(prev.clone());
        at = prev;
    }
    path.reverse();
    path
}

fn graph(state: &State, report: &RiskReport, items: &[&Item]) -> String {
    let names: HashMap<&Name, &Item> = items.iter().map(|i| (&i.name, *i)).collect();
    // Layer each item by its longest distance from a root.
    let mut depth: HashMap<&Name, usize> = HashMap::new();
    fn layer<'a>(
        state: &'a State,
        name: &'a Name,
        names: &HashMap<&'a Name, &'a Item>,
        depth: &mut HashMap<&'a Name, usize>,
        guard: usize,
    ) -> usize {
        if let Some(&d) = depth.get(name) {
            return d;
        }
        let d = if guard > 64 {
            0
        } else {
            state
                .blocked_by(name)
                .filter_map(|dep| names.get_key_value(&dep.blocker).map(|(k, _)| *k))
                .map(|blocker| layer(state, blocker, names, depth, guard + 1) + 1)
                .max()
                .unwrap_or(0)
        };
        depth.insert(name, d);
        d
    }
    for item in items {
        layer(state, &item.name, &names, &mut depth, 0);
    }
    let mut layers: BTreeMap<usize, Vec<&Name>> = BTreeMap::new();
    for item in items {
        layers
            .entry(depth[&item.name])
            .or_default()
            .push(&item.name);
    }
    let (box_w, box_h, gap_x, gap_y) = (220.0_f64, 46.0_f64, 70.0_f64, 18.0_f64);
    let mut position: HashMap<&Name, (f64, f64)> = HashMap::new();
    for (layer_idx, members) in &layers {
        for (row, name) in members.iter().enumerate() {
            position.insert(
                name,
                (
                    10.0 + *layer_idx as f64 * (box_w + gap_x),
                    10.0 + row as f64 * (box_h + gap_y),
                ),
            );
        }
    }
    let width = 20.0 + layers.len() as f64 * (box_w + gap_x);
    let height = 20.0 + layers.values().map(Vec::len).max().unwrap_or(1) as f64 * (box_h + gap_y);
    let critical = critical_path(state, items);
    let on_path = |a: &Name, b: &Name| critical.windows(2).any(|w| &w[0] == a && &w[1] == b);
    let mut svg = format!(
        r##"<svg width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="Dependency graph; the critical path is drawn thick"><title>Dependency graph</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5b6577"/></marker></defs>"##
    );
    for item in items {
        for dependency in state.blocked_by(&item.name) {
            let (Some(&(x1, y1)), Some(&(x2, y2))) =
                (position.get(&dependency.blocker), position.get(&item.name))
            else {
                continue;
            };
            let hot = on_path(&dependency.blocker, &item.name);
            let _ = write!(
                svg,
                r##"<path d="M{sx:.0},{sy:.0} C{c1:.0},{sy:.0} {c2:.0},{ey:.0} {ex:.0},{ey:.0}" fill="none" stroke="{stroke}" stroke-width="{w}"{dash} marker-end="url(#arrow)"/>"##,
                sx = x1 + box_w,
                sy = y1 + box_h / 2.0,
                ex = x2,
                ey = y2 + box_h / 2.0,
                c1 = x1 + box_w + gap_x / 2.0,
                c2 = x2 - gap_x / 2.0,
                stroke = if hot { "#17202e" } else { "#9aa3b2" },
                w = if hot { 3 } else { 1 },
                dash = if dependency.late {
                    r#" stroke-dasharray="5 4""#
                } else {
                    ""
                },
            );
        }
    }
    for item in items {
        let Some(&(x, y)) = position.get(&item.name) else {
            continue;
        };
        let (fill, stroke) = match risk_class(report, item) {
            "risk" => ("#fde7e7", "#c62828"),
            "warn" => ("#fff1dc", "#b26a00"),
            "done" => ("#e2f4e9", "#1e7d46"),
            _ => ("#ffffff", "#9aa3b2"),
        };
        let on_critical = critical.contains(&item.name);
        let mut title = item.spec.title.clone();
        if title.chars().count() > 28 {
            title = title.chars().take(27).collect::<String>() + "…";
        }
        let _ = write!(
            svg,
            // A nested <svg> clips its text to the box, whatever the reader's font measures.
            r##"<a href="/items/{name}"><svg x="{x:.0}" y="{y:.0}" width="{box_w:.0}" height="{box_h:.0}"><rect x="1.5" y="1.5" width="{rect_w:.0}" height="{rect_h:.0}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/><text x="9" y="19" font-size="12" font-weight="600" fill="#17202e">{title}</text><text x="9" y="36" font-size="11" fill="#5b6577">{team} · {status}{when}</text></svg><title>{full}</title></a>"##,
            name = escape(item.name.as_str()),
            sw = if on_critical { 3 } else { 1 },
            rect_w = box_w - 3.0,
            rect_h = box_h - 3.0,
            title = escape(&title),
            full = escape(&item.spec.title),
            team = escape(item.spec.team.as_str()),
            status = item.status,
            when = item_finish(item)
                .map(|d| format!(" · {}", short(d)))
                .unwrap_or_default(),
        );
    }
    svg.push_str("</svg>");
    svg.push_str(r#"<p class="hint">Thick outline and arrows: the critical path (longest chain by ETA or due date). Red: at risk. Amber: a blocker consumed the buffer. Green: ready. Dashed: added after feature freeze.</p>"#);
    svg
}

/// `GET /teams/{name}`: what blocks us, what we block, our items.
pub(crate) async fn team(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    render(&app, &caller, &uri, |state| {
        let team = state.teams().get(name.as_str()).ok_or_else(|| ApiError::NotFound {
            kind: "team",
            name: name.clone(),
        })?;
        let report = assess(state);
        let title = team.spec.title.clone().unwrap_or_else(|| team.name.as_str().to_owned());
        let ours: Vec<&Item> = state.items().values().filter(|i| i.spec.team == team.name).collect();
        let mut body = format!(
            r#"<h1>{}</h1><p class="sub">{} · {} members · <a href="/feeds?team={}">Subscribe in your calendar</a></p><div id="live"><div class="grid">"#,
            escape(&title),
            escape(&team.spec.time_zone),
            team.spec.members.len(),
            escape(team.name.as_str())
        );
        let mut blocks_us = String::new();
        let mut we_block = String::new();
        for item in &ours {
            for dependency in state.blocked_by(&item.name) {
                if let Some(other) = state.items().get(&dependency.blocker)
                    && other.spec.team != team.name
                {
                    let _ = write!(
                        blocks_us,
                        r#"<li><a href="/items/{b}">{bt}</a> ({bteam}) → <a href="/items/{o}">{ot}</a>{need}</li>"#,
                        b = escape(other.name.as_str()),
                        bt = escape(&other.spec.title),
                        bteam = escape(other.spec.team.as_str()),
                        o = escape(item.name.as_str()),
                        ot = escape(&item.spec.title),
                        need = dependency.need_by.map(|d| format!(", needed by {}", short(d))).unwrap_or_default(),
                    );
                }
            }
            for dependency in state.blocks(&item.name) {
                if let Some(other) = state.items().get(&dependency.blocked)
                    && other.spec.team != team.name
                {
                    let _ = write!(
                        we_block,
                        r#"<li><a href="/items/{o}">{ot}</a> → <a href="/items/{b}">{bt}</a> ({bteam}){need}</li>"#,
                        b = escape(other.name.as_str()),
                        bt = escape(&other.spec.title),
                        bteam = escape(other.spec.team.as_str()),
                        o = escape(item.name.as_str()),
                        ot = escape(&item.spec.title),
                        need = dependency.need_by.map(|d| format!(", needed by {}", short(d))).unwrap_or_default(),
                    );
                }
            }
        }
        let or_none = |list: String| if list.is_empty() { "<li>Nothing.</li>".to_owned() } else { list };
        let _ = write!(
            body,
            r#"<section class="panel"><h2>What blocks us</h2><ul>{}</ul></section><section class="panel"><h2>What we block</h2><ul>{}</ul></section></div><h2>Our items</h2><div class="grid">"#,
            or_none(blocks_us),
            or_none(we_block)
        );
        for item in &ours {
            body.push_str(&card(state, &report, item, &caller));
        }
        body.push_str("</div></div>");
        Ok((title, body))
    })
    .await
}

/// `GET /items/{name}`: an item, its dependencies, notes and history.
pub(crate) async fn item(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    uri: Uri,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let history = history_tail(&app, 2000).await;
    render(&app, &caller, &uri, |state| {
        let item = state.items().get(name.as_str()).ok_or_else(|| ApiError::NotFound {
            kind: "item",
            name: name.clone(),
        })?;
        let report = assess(state);
        let mut body = format!(
            r#"<h1>{title}</h1><p class="sub"><a href="/teams/{team}">{team}</a> · release <a href="/releases/{release}">{release}</a></p><div id="live" data-release="{release}"><div class="kpis"><div class="kpi"><b>{status}</b><span>Status</span></div><div class="kpi"><b>{eta}</b><span>ETA</span></div><div class="kpi"><b>{due}</b><span>Due</span></div></div>"#,
            title = escape(&item.spec.title),
            team = escape(item.spec.team.as_str()),
            release = escape(item.release.as_str()),
            status = item.status.title(),
            eta = item.eta.map_or("—".to_owned(), short),
            due = item.spec.due.map_or("—".to_owned(), short),
        );
        if report.items.contains_key(&item.name) {
            body.push_str(r#"<section class="panel"><h2><span class="badge risk">At risk</span> Why</h2><ol class="chain">"#);
            for link in &report.chain(&item.name) {
                let _ = write!(body, "<li>{}</li>", escape(link));
            }
            body.push_str("</ol></section>");
        }
        body.push_str(&update_panel(state, &caller, item));
        body.push_str(r#"<div class="grid"><section class="panel"><h2>Blocked by</h2><ul>"#);
        for d in state.blocked_by(&item.name) {
            let _ = write!(body, r#"<li><a href="/items/{0}">{0}</a>{1}</li>"#, escape(d.blocker.as_str()), d.need_by.map(|n| format!(" — needed by {}, {} day buffer", short(n), d.buffer_days)).unwrap_or_default());
        }
        body.push_str(r#"</ul></section><section class="panel"><h2>Blocks</h2><ul>"#);
        for d in state.blocks(&item.name) {
            let _ = write!(body, r#"<li><a href="/items/{0}">{0}</a></li>"#, escape(d.blocked.as_str()));
        }
        body.push_str(r#"</ul></section><section class="panel"><h2>Status notes</h2><ul class="activity">"#);
        for update in item.updates.iter().rev() {
            let _ = write!(body, "<li><time>{}</time>{}</li>", short(update.date), escape(&update.text));
        }
        body.push_str("</ul></section></div>");
        let item_name = item.name.as_str();
        let _ = write!(
            body,
            r#"<h2>History</h2><div class="panel">{}</div></div>"#,
            recent_activity(
                &history,
                |r| {
                    let text = r.event.describe();
                    text.split(|c: char| c.is_whitespace() || c == ':')
                        .any(|word| word == item_name)
                },
                50
            )
        );
        Ok((item.spec.title.clone(), body))
    })
    .await
}

/// The item page's controls for those who may use them: move the status, move the ETA
/// (with a preview of what it would put at risk) and post a status note. The live refresh keeps the section
/// (`data-keep`) so that nothing typed is lost when someone else changes the program.
fn update_panel(state: &State, caller: &Caller, item: &Item) -> String {
    let may_move = allowed(
        state,
        caller,
        &Command::SetEta {
            item: item.name.clone(),
            eta: item.eta,
        },
    );
    let may_note = allowed(
        state,
        caller,
        &Command::PostUpdate {
            item: item.name.clone(),
            update: lockstep_core::StatusUpdate {
                date: item.spec.due.unwrap_or_default(),
                text: "note".to_owned(),
            },
        },
    );
    let status = move_control(state, caller, item);
    if !may_move && !may_note && status.is_empty() {
        return String::new();
    }
    let name = escape(item.name.as_str());
    // The status control is rendered afresh on every refresh (the board's select keeps
    // its choice); the forms below it are kept as typed.
    let mut out = format!(
        r#"<section class="panel update"><h2>Update</h2>{status}<div id="item-update" data-keep>"#
    );
    if may_move {
        let _ = write!(
            out,
            r#"<form class="inline" data-eta-form="{name}"><label>ETA <input type="date" name="eta" value="{eta}"></label><label class="grow">Why <input type="text" name="reason" maxlength="{reason_max}" placeholder="what changed"></label><button type="button" data-eta-preview>Preview</button><button type="submit">Move the ETA</button></form><div class="preview" data-eta-impact role="status" hidden></div>"#,
            eta = item.eta.map(|d| d.to_string()).unwrap_or_default(),
            reason_max = crate::wire::MAX_REASON_CHARS,
        );
    }
    if may_note {
        let _ = write!(
            out,
            r#"<form class="inline" data-note-form="{name}"><label class="grow">Status note <input type="text" name="text" required maxlength="{text_max}" placeholder="what happened today"></label><button type="submit">Post</button></form>"#,
            text_max = crate::wire::MAX_UPDATE_CHARS,
        );
    }
    out.push_str("</div></section>");
    out
}
